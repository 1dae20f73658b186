# tests/reliability: the cross-cutting proof of issue 10 - hostile input end
# to end, mount escapes, faults that kill processes or fill disks, TLS, the
# secret scan of every gateway log, valgrind and the soak. They start a real
# ProFTPD and the emulator through tests/integration/gateway-env.sh.
rel_tests = \
	tests/reliability/test-hostile-names.sh \
	tests/reliability/test-hostile-names-chroot.sh \
	tests/reliability/test-mount-escape.sh \
	tests/reliability/test-mount-escape-chroot.sh \
	tests/reliability/test-hostile-broker.sh \
	tests/reliability/test-faults-kill.sh \
	tests/reliability/test-spool-full.sh \
	tests/reliability/test-tls.sh \
	tests/reliability/test-valgrind.sh \
	tests/reliability/test-soak.sh
TESTS += $(rel_tests)
dist_noinst_SCRIPTS += $(rel_tests) tests/reliability/sftp_probe.py
dist_noinst_DATA += tests/reliability/rel-env.sh

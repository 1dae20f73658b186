# SFTP clients of our own, for protocol-level integration test cases.
check_PROGRAMS += tests/clients/ab-sftp-probe
tests_clients_ab_sftp_probe_SOURCES = tests/clients/ab_sftp_probe.c
tests_clients_ab_sftp_probe_CFLAGS = $(AM_CFLAGS) $(LIBSSH_CFLAGS)
tests_clients_ab_sftp_probe_LDADD = $(LIBSSH_LIBS)

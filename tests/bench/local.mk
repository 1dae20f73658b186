# tests/bench: benchmarks against plain SFTP (DESIGN.md "Bars"). Not part of
# `make check`: `make bench` (about 15 minutes on 2 cores) and
# `make bench-long` (adds 10 GiB files and the concurrency run at Altinn's
# rate limits). The client is built with the check programs so it keeps
# compiling.
check_PROGRAMS += tests/bench/ab-bench-sftp
tests_bench_ab_bench_sftp_SOURCES = tests/bench/ab_bench_sftp.c
tests_bench_ab_bench_sftp_CFLAGS = $(AM_CFLAGS) $(LIBSSH_CFLAGS)
tests_bench_ab_bench_sftp_LDADD = $(LIBSSH_LIBS)

EXTRA_DIST += tests/bench/README.md tests/bench/bench.sh tests/bench/bench-lib.sh \
	tests/bench/phase-throughput.sh tests/bench/phase-memory.sh \
	tests/bench/phase-listing.sh tests/bench/phase-concurrency.sh \
	tests/bench/report.py tests/bench/seed-transfers.py tests/bench/profile.sh \
	tests/bench/profile-report.py

BENCH_ENV = top_srcdir='$(abs_top_srcdir)' top_builddir='$(abs_top_builddir)' \
	SANITIZERS='$(SANITIZERS_ON)'

bench: all tests/bench/ab-bench-sftp$(EXEEXT)
	$(BENCH_ENV) bash $(abs_top_srcdir)/tests/bench/bench.sh $(BENCH_ARGS)

bench-long: all tests/bench/ab-bench-sftp$(EXEEXT)
	$(BENCH_ENV) bash $(abs_top_srcdir)/tests/bench/bench.sh --long $(BENCH_ARGS)

bench-profile: all tests/bench/ab-bench-sftp$(EXEEXT)
	$(BENCH_ENV) bash $(abs_top_srcdir)/tests/bench/profile.sh $(BENCH_ARGS)

.PHONY: bench bench-long bench-profile

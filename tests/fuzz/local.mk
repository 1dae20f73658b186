# tests/fuzz: libFuzzer targets for everything that parses untrusted input.
# They are built with clang (FUZZ_CC, found by configure) whatever CC is, with
# ASan+UBSan, from the core's own sources compiled again into a private
# archive; test-fuzz.sh runs each for a bounded time in `make check` (longer
# with `make fuzz-long`). Without a libFuzzer-capable clang the test SKIPs.

# Every core source is compiled again with the fuzzer's instrumentation into
# a private archive; ab_http.c's requests and ab_auth.c's token source are
# replaced by tests/fuzz/fuzz_fake_http.c, linked first.
fuzz_core = plugin/ab_error.c plugin/ab_error.h $(ab_client_sources) $(ab_core_sources)
fuzz_srcs = tests/fuzz/fuzz_broker_reply.c tests/fuzz/fuzz_problem.c tests/fuzz/fuzz_auth_reply.c \
	tests/fuzz/fuzz_json.c tests/fuzz/fuzz_names.c tests/fuzz/fuzz_config.c
fuzz_common = tests/fuzz/fuzz_fake_http.c tests/fuzz/fuzz_fake_http.h
FUZZ_CFLAGS = -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined \
	-fno-sanitize-recover=undefined -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror \
	-I$(top_srcdir)/plugin -I$(top_srcdir)/tests/fuzz $(CJSON_CFLAGS) $(OPENSSL_CFLAGS) $(CURL_CFLAGS)
FUZZ_LIBS = $(CJSON_LIBS) $(OPENSSL_LIBS) $(CURL_LIBS) -lm

TESTS += tests/fuzz/test-fuzz.sh
dist_noinst_SCRIPTS += tests/fuzz/test-fuzz.sh
EXTRA_DIST += $(fuzz_srcs) $(fuzz_common) tests/fuzz/json.dict tests/fuzz/corpus

if HAVE_LIBFUZZER
fuzz_bins = tests/fuzz/fuzz_broker_reply tests/fuzz/fuzz_problem tests/fuzz/fuzz_auth_reply \
	tests/fuzz/fuzz_json tests/fuzz/fuzz_names tests/fuzz/fuzz_config
check_SCRIPTS = $(fuzz_bins)
CLEANFILES += $(fuzz_bins) tests/fuzz/libabfuzz.a tests/fuzz/obj/*.o

# The core, compiled again with the fuzzer's coverage instrumentation.
tests/fuzz/libabfuzz.a: $(fuzz_core)
	@mkdir -p tests/fuzz/obj
	$(AM_V_GEN)set -e; objs=; for src in $(fuzz_core); do \
	  case $$src in *.c) ;; *) continue ;; esac; \
	  obj=tests/fuzz/obj/`basename $$src .c`.o; objs="$$objs $$obj"; \
	  $(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $(top_srcdir)/$$src -o $$obj; \
	done; rm -f $@; $(AR) rcs $@ $$objs

# One target: its file, the fake HTTP layer, then the archive (so the fakes
# win over ab_http.o/ab_auth.o, which are then never pulled in).
FUZZ_LINK = $(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $(top_srcdir)/$@.c \
	$(top_srcdir)/tests/fuzz/fuzz_fake_http.c tests/fuzz/libabfuzz.a $(FUZZ_LIBS)
tests/fuzz/fuzz_broker_reply: tests/fuzz/fuzz_broker_reply.c $(fuzz_common) tests/fuzz/libabfuzz.a
	$(AM_V_GEN)$(FUZZ_LINK)
tests/fuzz/fuzz_problem: tests/fuzz/fuzz_problem.c $(fuzz_common) tests/fuzz/libabfuzz.a
	$(AM_V_GEN)$(FUZZ_LINK)
tests/fuzz/fuzz_auth_reply: tests/fuzz/fuzz_auth_reply.c $(fuzz_common) tests/fuzz/libabfuzz.a
	$(AM_V_GEN)$(FUZZ_LINK)
tests/fuzz/fuzz_json: tests/fuzz/fuzz_json.c $(fuzz_common) tests/fuzz/libabfuzz.a
	$(AM_V_GEN)$(FUZZ_LINK)
tests/fuzz/fuzz_names: tests/fuzz/fuzz_names.c $(fuzz_common) tests/fuzz/libabfuzz.a
	$(AM_V_GEN)$(FUZZ_LINK)
# The config target sandboxes file access (see fuzz_config.c).
tests/fuzz/fuzz_config: tests/fuzz/fuzz_config.c $(fuzz_common) tests/fuzz/libabfuzz.a
	$(AM_V_GEN)$(FUZZ_LINK) -Wl,--wrap=open,--wrap=stat,--wrap=glob
endif

# Every target for FUZZ_SECONDS (default 300) instead of make check's 10 s.
fuzz-long: $(fuzz_bins)
	FUZZ_SECONDS=$${FUZZ_SECONDS:-300} top_srcdir='$(abs_top_srcdir)' \
	  top_builddir='$(abs_top_builddir)' $(SHELL) $(top_srcdir)/tests/fuzz/test-fuzz.sh
.PHONY: fuzz-long

# tests/emulator: the Altinn emulator (Maskinporten + token exchange + Broker API v1
# + Events) and the scripts that set up its PKI and demo config. Paths are relative
# to the top. See tests/emulator/README.md.

noinst_PROGRAMS += tests/emulator/altinn-emulator
tests_emulator_altinn_emulator_SOURCES = \
	tests/emulator/emu_main.c \
	tests/emulator/emu_config.c tests/emulator/emu_config.h \
	tests/emulator/emu_clock.c tests/emulator/emu_clock.h \
	tests/emulator/emu_util.c tests/emulator/emu_util.h \
	tests/emulator/emu_jwt.c tests/emulator/emu_jwt.h \
	tests/emulator/emu_auth.c tests/emulator/emu_auth.h \
	tests/emulator/emu_http.c tests/emulator/emu_http.h tests/emulator/emu_endpoints.h \
	tests/emulator/emu_problem.c tests/emulator/emu_problem.h \
	tests/emulator/emu_stats.c tests/emulator/emu_stats.h \
	tests/emulator/emu_ratelimit.c tests/emulator/emu_ratelimit.h \
	tests/emulator/emu_faults.c tests/emulator/emu_faults.h \
	tests/emulator/emu_hostile.c tests/emulator/emu_hostile.h \
	tests/emulator/emu_store.c tests/emulator/emu_store.h \
	tests/emulator/emu_registry.c tests/emulator/emu_registry.h \
	tests/emulator/emu_worker.c tests/emulator/emu_worker.h \
	tests/emulator/emu_maskinporten.c \
	tests/emulator/emu_x5c.c tests/emulator/emu_x5c.h \
	tests/emulator/emu_exchange.c \
	tests/emulator/emu_broker.c tests/emulator/emu_broker.h \
	tests/emulator/emu_broker_init.c \
	tests/emulator/emu_broker_upload.c \
	tests/emulator/emu_broker_multipart.c \
	tests/emulator/emu_broker_query.c \
	tests/emulator/emu_broker_download.c \
	tests/emulator/emu_tus.c tests/emulator/emu_tus.h \
	tests/emulator/emu_serviceowner.c \
	tests/emulator/emu_resource_api.c \
	tests/emulator/emu_statistics.c \
	tests/emulator/emu_events.c tests/emulator/emu_events.h \
	tests/emulator/emu_events_api.c tests/emulator/emu_events_http.h \
	tests/emulator/emu_events_pull.c \
	tests/emulator/emu_inspect.c \
	tests/emulator/emu_seed.c \
	tests/emulator/emu_tokens.c tests/emulator/emu_tokens.h
tests_emulator_altinn_emulator_CFLAGS = $(AM_CFLAGS) $(MHD_CFLAGS) $(CJSON_CFLAGS) $(OPENSSL_CFLAGS) $(CURL_CFLAGS)
tests_emulator_altinn_emulator_LDADD = $(MHD_LIBS) $(CJSON_LIBS) $(OPENSSL_LIBS) $(CURL_LIBS) -lpthread

dist_noinst_SCRIPTS += \
	tests/emulator/make-test-pki.sh \
	tests/emulator/demo-config.sh

TESTS += tests/emulator/test-emulator.sh tests/emulator/test-emulator-docs.sh
dist_noinst_SCRIPTS += tests/emulator/test-emulator.sh tests/emulator/webhook-receiver.py \
	tests/emulator/emu-test-lib.sh tests/emulator/test-emulator-docs.sh \
	tests/emulator/make-enterprise-cert.sh
EXTRA_DIST += tests/emulator/README.md

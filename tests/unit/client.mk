# Unit tests of the Broker/Maskinporten client (cmocka, TAP via CMOCKA_MESSAGE_OUTPUT).
client_test_cflags = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(CJSON_CFLAGS) $(OPENSSL_CFLAGS) $(CURL_CFLAGS)
client_test_ldadd = plugin/libabcore.la $(CMOCKA_LIBS) $(CJSON_LIBS) $(OPENSSL_LIBS) $(CURL_LIBS)

check_PROGRAMS += tests/unit/test_base64
TESTS += tests/unit/test_base64
tests_unit_test_base64_SOURCES = tests/unit/test_base64.c
tests_unit_test_base64_CFLAGS = $(client_test_cflags)
tests_unit_test_base64_LDADD = $(client_test_ldadd)

check_PROGRAMS += tests/unit/test_jwt
TESTS += tests/unit/test_jwt
tests_unit_test_jwt_SOURCES = tests/unit/test_jwt.c \
	tests/unit/client_fixtures.c tests/unit/client_fixtures.h
tests_unit_test_jwt_CFLAGS = $(client_test_cflags)
tests_unit_test_jwt_LDADD = $(client_test_ldadd)

check_PROGRAMS += tests/unit/test_key
TESTS += tests/unit/test_key
tests_unit_test_key_SOURCES = tests/unit/test_key.c
tests_unit_test_key_CFLAGS = $(client_test_cflags)
tests_unit_test_key_LDADD = $(client_test_ldadd)

check_PROGRAMS += tests/unit/test_onboarding
TESTS += tests/unit/test_onboarding
tests_unit_test_onboarding_SOURCES = tests/unit/test_onboarding.c \
	tests/unit/client_fixtures.c tests/unit/client_fixtures.h
tests_unit_test_onboarding_CFLAGS = $(client_test_cflags)
tests_unit_test_onboarding_LDADD = $(client_test_ldadd)

check_PROGRAMS += tests/unit/test_problem
TESTS += tests/unit/test_problem
tests_unit_test_problem_SOURCES = tests/unit/test_problem.c
tests_unit_test_problem_CFLAGS = $(client_test_cflags)
tests_unit_test_problem_LDADD = $(client_test_ldadd)

check_PROGRAMS += tests/unit/test_broker_wire
TESTS += tests/unit/test_broker_wire
tests_unit_test_broker_wire_SOURCES = tests/unit/test_broker_wire.c
tests_unit_test_broker_wire_CFLAGS = $(client_test_cflags)
tests_unit_test_broker_wire_LDADD = $(client_test_ldadd)

# HTTP-level tests against a local libmicrohttpd server (client_httpd.c).
client_httpd_sources = tests/unit/client_httpd.c tests/unit/client_httpd.h \
	tests/unit/client_fixtures.c tests/unit/client_fixtures.h

check_PROGRAMS += tests/unit/test_http
TESTS += tests/unit/test_http
tests_unit_test_http_SOURCES = tests/unit/test_http.c $(client_httpd_sources)
tests_unit_test_http_CFLAGS = $(client_test_cflags) $(MHD_CFLAGS)
tests_unit_test_http_LDADD = $(client_test_ldadd) $(MHD_LIBS)

check_PROGRAMS += tests/unit/test_broker_http
TESTS += tests/unit/test_broker_http
tests_unit_test_broker_http_SOURCES = tests/unit/test_broker_http.c $(client_httpd_sources)
tests_unit_test_broker_http_CFLAGS = $(client_test_cflags) $(MHD_CFLAGS)
tests_unit_test_broker_http_LDADD = $(client_test_ldadd) $(MHD_LIBS)

# ab_send/ab_tus retry rules against a scripted Broker (libmicrohttpd).
check_PROGRAMS += tests/unit/test_send
TESTS += tests/unit/test_send
tests_unit_test_send_SOURCES = tests/unit/test_send.c
tests_unit_test_send_CFLAGS = $(client_test_cflags) $(MHD_CFLAGS)
tests_unit_test_send_LDADD = $(client_test_ldadd) $(MHD_LIBS)

# ab_multi_thread: uploads driven by the helper thread reach a local server.
check_PROGRAMS += tests/unit/test_multi_thread
TESTS += tests/unit/test_multi_thread
tests_unit_test_multi_thread_SOURCES = tests/unit/test_multi_thread.c
tests_unit_test_multi_thread_CFLAGS = $(client_test_cflags) $(MHD_CFLAGS) -pthread
tests_unit_test_multi_thread_LDADD = $(client_test_ldadd) $(MHD_LIBS) -lpthread

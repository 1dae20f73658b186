# Unit tests of the VFS core: config directives, name mapping.
check_PROGRAMS += tests/unit/test_config tests/unit/test_names tests/unit/test_audience tests/unit/test_metrics
TESTS += tests/unit/test_config tests/unit/test_names tests/unit/test_audience tests/unit/test_metrics
tests_unit_test_config_SOURCES = tests/unit/test_config.c
tests_unit_test_config_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_config_LDADD = plugin/libabcore.la $(CMOCKA_LIBS)
tests_unit_test_names_SOURCES = tests/unit/test_names.c
tests_unit_test_names_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_names_LDADD = plugin/libabcore.la $(CMOCKA_LIBS)
tests_unit_test_audience_SOURCES = tests/unit/test_audience.c
tests_unit_test_audience_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_audience_LDADD = plugin/libabcore.la $(CMOCKA_LIBS)
# The state store, both backends (a real redis-server for the Redis one).
check_PROGRAMS += tests/unit/test_store
TESTS += tests/unit/test_store
tests_unit_test_store_SOURCES = tests/unit/test_store.c
tests_unit_test_store_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(HIREDIS_CFLAGS)
tests_unit_test_store_LDADD = plugin/libabcore.la $(CMOCKA_LIBS)

# The inbox listing model: states, stable unique names, persistence.
check_PROGRAMS += tests/unit/test_listing
TESTS += tests/unit/test_listing
tests_unit_test_listing_SOURCES = tests/unit/test_listing.c
tests_unit_test_listing_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(CJSON_CFLAGS)
tests_unit_test_listing_LDADD = plugin/libabcore.la $(CMOCKA_LIBS) $(CJSON_LIBS)

# The inbox freshness engine against a scripted Broker and Events.
check_PROGRAMS += tests/unit/test_feed
TESTS += tests/unit/test_feed
tests_unit_test_feed_SOURCES = tests/unit/test_feed.c
tests_unit_test_feed_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(CJSON_CFLAGS)
tests_unit_test_feed_LDADD = plugin/libabcore.la $(CMOCKA_LIBS) $(CJSON_LIBS)
tests_unit_test_metrics_SOURCES = tests/unit/test_metrics.c
tests_unit_test_metrics_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(CJSON_CFLAGS)
tests_unit_test_metrics_LDADD = plugin/libabcore.la $(CMOCKA_LIBS) $(CJSON_LIBS)

# Outbox core: spool, upload settings, naming conventions, retries, journal and receipts.
outbox_test_cflags = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(OPENSSL_CFLAGS) $(CJSON_CFLAGS)
outbox_test_ldadd = plugin/libabcore.la $(CMOCKA_LIBS) $(OPENSSL_LIBS)
check_PROGRAMS += tests/unit/test_spool
TESTS += tests/unit/test_spool
tests_unit_test_spool_SOURCES = tests/unit/test_spool.c
tests_unit_test_spool_CFLAGS = $(outbox_test_cflags)
tests_unit_test_spool_LDADD = $(outbox_test_ldadd)
check_PROGRAMS += tests/unit/test_outbox_rules
TESTS += tests/unit/test_outbox_rules
tests_unit_test_outbox_rules_SOURCES = tests/unit/test_outbox_rules.c
tests_unit_test_outbox_rules_CFLAGS = $(outbox_test_cflags)
tests_unit_test_outbox_rules_LDADD = $(outbox_test_ldadd) $(CJSON_LIBS)

# The agent process and its protocol (a real agent forked by the test).
check_PROGRAMS += tests/unit/test_agent
TESTS += tests/unit/test_agent
tests_unit_test_agent_SOURCES = tests/unit/test_agent.c
tests_unit_test_agent_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(CJSON_CFLAGS)
tests_unit_test_agent_LDADD = plugin/libabcore.la $(CMOCKA_LIBS) $(CJSON_LIBS)

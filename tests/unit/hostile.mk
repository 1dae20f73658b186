# Unit tests pinning what the fuzz targets (tests/fuzz) found.
check_PROGRAMS += tests/unit/test_hostile_input
TESTS += tests/unit/test_hostile_input
tests_unit_test_hostile_input_SOURCES = tests/unit/test_hostile_input.c
tests_unit_test_hostile_input_CFLAGS = $(client_test_cflags)
tests_unit_test_hostile_input_LDADD = $(client_test_ldadd)

# Unit tests (cmocka, TAP output). client.mk: HTTP/auth/Broker client tests; core.mk: VFS core tests.
include $(srcdir)/tests/unit/client.mk
include $(srcdir)/tests/unit/core.mk
include $(srcdir)/tests/unit/hostile.mk

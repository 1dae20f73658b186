# The gateway-agnostic core, built once as a PIC convenience library that is
# linked into the ProFTPD module, the admin CLI and the tests.
noinst_LTLIBRARIES += plugin/libabcore.la

# Broker/Maskinporten client files (HTTP, JWT, auth, Broker API) live in
# plugin/client.mk; the virtual-directory core is listed here.
include $(srcdir)/plugin/client.mk
include $(srcdir)/plugin/state.mk

plugin_libabcore_la_SOURCES = \
	plugin/ab_error.c plugin/ab_error.h plugin/ab_log.h \
	$(ab_client_sources) \
	$(ab_core_sources) \
	$(ab_state_sources)
plugin_libabcore_la_CFLAGS = $(AM_CFLAGS) $(CURL_CFLAGS) $(CJSON_CFLAGS) $(OPENSSL_CFLAGS) \
	$(HIREDIS_CFLAGS) -pthread
plugin_libabcore_la_LIBADD = $(CURL_LIBS) $(CJSON_LIBS) $(OPENSSL_LIBS) $(HIREDIS_LIBS) -lpthread

include $(srcdir)/plugin/core.mk

# mod_altinn_broker.so: the ProFTPD glue, linked with the core. ProFTPD's own
# symbols resolve at load time against the proftpd binary (built -rdynamic).
proftpd_module_LTLIBRARIES = gateway-glue/proftpd/mod_altinn_broker.la
proftpd_moduledir = @proftpd_moduledir@
gateway_glue_proftpd_mod_altinn_broker_la_SOURCES = \
	gateway-glue/proftpd/mod_altinn_broker.c \
	gateway-glue/proftpd/mod_altinn_broker.h \
	gateway-glue/proftpd/fsio.c
# ProFTPD's headers are not C11-clean (they use GNU extensions and unused
# parameters), so they are included as system headers.
gateway_glue_proftpd_mod_altinn_broker_la_CFLAGS = $(AM_CFLAGS) -std=gnu11 \
	$(subst -I,-isystem ,$(PROFTPD_CFLAGS)) $(CURL_CFLAGS) -DPR_SHARED_MODULE
gateway_glue_proftpd_mod_altinn_broker_la_LDFLAGS = -module -avoid-version -shared $(AM_LDFLAGS)
gateway_glue_proftpd_mod_altinn_broker_la_LIBADD = plugin/libabcore.la

# mod_altinn_broker.so: the ProFTPD glue, linked with the core. ProFTPD's own
# symbols resolve at load time against the proftpd binary (built -rdynamic).
proftpd_module_LTLIBRARIES = gateway-glue/proftpd/mod_altinn_broker.la
proftpd_moduledir = @proftpd_moduledir@
gateway_glue_proftpd_mod_altinn_broker_la_SOURCES = \
	gateway-glue/proftpd/mod_altinn_broker.c \
	gateway-glue/proftpd/mod_altinn_broker.h \
	gateway-glue/proftpd/fsio.c \
	gateway-glue/proftpd/config_source.c \
	gateway-glue/proftpd/ftp.c \
	gateway-glue/proftpd/notes.c
# ProFTPD's headers need GNU C and are included as system headers.
gateway_glue_proftpd_mod_altinn_broker_la_CFLAGS = $(AM_CFLAGS) -std=gnu11 \
	$(PROFTPD_ISYSTEM_CFLAGS) $(CURL_CFLAGS) -DPR_SHARED_MODULE
gateway_glue_proftpd_mod_altinn_broker_la_LDFLAGS = -module -avoid-version -shared $(AM_LDFLAGS)
gateway_glue_proftpd_mod_altinn_broker_la_LIBADD = plugin/libabcore.la

ab_client_sources = \
	plugin/ab_http.c plugin/ab_http.h \
	plugin/ab_auth.c plugin/ab_auth.h \
	plugin/ab_broker.c plugin/ab_broker.h

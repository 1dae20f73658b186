# Broker/Maskinporten client: HTTP context, JWT grant, token cache, Broker API
# calls, streamed download, Altinn Events, and the wire-format helpers they share.
ab_client_sources = \
	plugin/ab_base64.c plugin/ab_base64.h \
	plugin/ab_json.c plugin/ab_json.h \
	plugin/ab_jwt.c plugin/ab_jwt.h \
	plugin/ab_http.c plugin/ab_http.h plugin/ab_http_internal.h \
	plugin/ab_secret.c plugin/ab_secret.h \
	plugin/ab_key.c plugin/ab_key.h \
	plugin/ab_grant.c plugin/ab_grant.h \
	plugin/ab_maskinporten.c plugin/ab_maskinporten.h \
	plugin/ab_auth.c plugin/ab_auth.h \
	plugin/ab_problem.c plugin/ab_problem.h \
	plugin/ab_broker_wire.c plugin/ab_broker_wire.h \
	plugin/ab_broker.c plugin/ab_broker.h plugin/ab_broker_internal.h \
	plugin/ab_download.c \
	plugin/ab_events.c plugin/ab_events.h \
	plugin/ab_retry.c plugin/ab_retry.h \
	plugin/ab_multi_thread.c plugin/ab_multi_thread.h \
	plugin/ab_tus.c plugin/ab_tus.h \
	plugin/ab_send.c plugin/ab_send.h

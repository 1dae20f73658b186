# Shared state: the key/value store (embedded and Redis backends).
ab_state_sources = \
	plugin/ab_store.h \
	plugin/ab_store_local.c \
	plugin/ab_redis.c plugin/ab_redis.h \
	plugin/ab_store_redis.c

# Shared state: the key/value store (embedded and Redis backends).
ab_state_sources = \
	plugin/ab_store.h \
	plugin/ab_store_local.c \
	plugin/ab_redis.c plugin/ab_redis.h \
	plugin/ab_store_redis.c
# The shared-state services over the store (tokens, budget, inbox, journal).
ab_state_sources += \
	plugin/ab_hub.c plugin/ab_hub.h plugin/ab_hub_internal.h \
	plugin/ab_hub_token.c \
	plugin/ab_hub_budget.c \
	plugin/ab_hub_inbox.c \
	plugin/ab_hub_feed.c \
	plugin/ab_hub_journal.c \
	plugin/ab_hub_metrics.c
# The agent process and its client (sessions, the CLI).
ab_state_sources += \
	plugin/ab_agent.c plugin/ab_agent.h \
	plugin/ab_agent_client.c

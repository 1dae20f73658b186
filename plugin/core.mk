ab_core_sources = \
	plugin/ab_config.c plugin/ab_config.h \
	plugin/ab_audience.c plugin/ab_audience.h \
	plugin/ab_onboarding.c plugin/ab_onboarding.h \
	plugin/ab_metrics.c plugin/ab_metrics.h \
	plugin/ab_report.c \
	plugin/ab_config_outbox.c plugin/ab_config_outbox.h \
	plugin/ab_spool.c plugin/ab_spool.h \
	plugin/ab_status.c plugin/ab_status.h \
	plugin/ab_resource.c plugin/ab_resource.h \
	plugin/ab_names.c plugin/ab_names.h \
	plugin/ab_strmap.c plugin/ab_strmap.h \
	plugin/ab_listing.c plugin/ab_listing.h \
	plugin/ab_inbox_wire.c plugin/ab_inbox_wire.h \
	plugin/ab_feed.c plugin/ab_feed.h \
	plugin/ab_ranges.c plugin/ab_ranges.h \
	plugin/ab_inbox_admin.c plugin/ab_inbox_admin.h \
	plugin/ab_vfs.c plugin/ab_vfs.h plugin/ab_vfs_internal.h \
	plugin/ab_addressing.c plugin/ab_addressing.h \
	plugin/ab_journal.h plugin/ab_journal_shared.c \
	plugin/ab_receipts.c plugin/ab_receipts.h \
	plugin/ab_outbox.c plugin/ab_outbox_internal.h \
	plugin/ab_outbox_commit.c plugin/ab_outbox_receipts.c plugin/ab_outbox_stream.c \
	plugin/ab_inbox.c

# The admin CLI
bin_PROGRAMS += plugin/altinn-broker
plugin_altinn_broker_SOURCES = plugin/altinn_broker_cli.c plugin/cli.h \
	plugin/cli_check.c plugin/cli_check_events.c plugin/cli_transfer.c \
	plugin/cli_metrics.c plugin/cli_status.c plugin/cli_resource.c plugin/cli_agent.c \
	plugin/cli_output.c plugin/cli_events.c plugin/cli_events_serve.c
plugin_altinn_broker_CFLAGS = $(AM_CFLAGS) $(CURL_CFLAGS) $(CJSON_CFLAGS) $(MHD_CFLAGS)
plugin_altinn_broker_LDADD = plugin/libabcore.la $(CJSON_LIBS) $(MHD_LIBS)

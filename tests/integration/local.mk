# Integration tests: a real ProFTPD with the module, real SFTP clients, the emulator.
TESTS += tests/integration/test-walking-skeleton.sh \
	tests/integration/test-walking-skeleton-chroot.sh \
	tests/integration/test-config-errors.sh \
	tests/integration/test-multi-org.sh \
	tests/integration/test-ftp.sh \
	tests/integration/test-logs-metrics.sh \
	tests/integration/test-cli.sh \
	tests/integration/test-debian-package.sh \
	tests/integration/test-nonroot.sh \
	tests/integration/test-docs.sh
dist_noinst_SCRIPTS += tests/integration/test-walking-skeleton.sh \
	tests/integration/test-walking-skeleton-chroot.sh \
	tests/integration/test-config-errors.sh \
	tests/integration/test-multi-org.sh \
	tests/integration/test-ftp.sh \
	tests/integration/test-logs-metrics.sh \
	tests/integration/test-cli.sh \
	tests/integration/test-debian-package.sh \
	tests/integration/test-nonroot.sh \
	tests/integration/test-docs.sh
dist_noinst_DATA += tests/integration/gateway-env.sh tests/integration/tap.sh \
	tests/integration/multi-org-env.sh tests/integration/ftp-env.sh

# Authentication: credentials, `altinn-broker check`, tokens inside sessions.
TESTS += tests/integration/test-auth-check.sh tests/integration/test-auth-session.sh
dist_noinst_SCRIPTS += tests/integration/test-auth-check.sh tests/integration/test-auth-session.sh \
	tests/integration/make-auth-pki.sh
dist_noinst_DATA += tests/integration/auth-env.sh

# Shared state: the agent, the embedded store, Redis.
TESTS += tests/integration/test-agent-logins.sh tests/integration/test-agent-restart.sh \
	tests/integration/test-redis-nodes.sh tests/integration/test-redis-outage.sh
dist_noinst_SCRIPTS += tests/integration/test-agent-logins.sh tests/integration/test-agent-restart.sh \
	tests/integration/test-redis-nodes.sh tests/integration/test-redis-outage.sh
dist_noinst_DATA += tests/integration/redis-env.sh

# Outbox: Broker faults, real clients and their habits, receipts and conventions.
TESTS += tests/integration/test-outbox-faults.sh tests/integration/test-outbox-clients.sh \
	tests/integration/test-outbox-conventions.sh tests/integration/test-outbox-pipeline.sh
dist_noinst_SCRIPTS += tests/integration/test-outbox-faults.sh tests/integration/test-outbox-clients.sh \
	tests/integration/test-outbox-conventions.sh tests/integration/test-outbox-pipeline.sh
dist_noinst_DATA += tests/integration/outbox-env.sh

# The inbox end to end: every client gets and confirms, partial reads and
# broken downloads are never confirmed, name collisions, a batch job at
# Altinn's rate limits, 150 and 5,000 transfers, a purge while listed;
# pushed events (events serve, subscribe/list/delete), duplicates, late and forged ones.
TESTS += tests/integration/test-inbox.sh tests/integration/test-inbox-webhook.sh
dist_noinst_SCRIPTS += tests/integration/test-inbox.sh tests/integration/test-inbox-webhook.sh

# tests/emulator: the Altinn emulator (Maskinporten + token exchange + Broker API v1)
# and the scripts that set up its PKI and demo config. Paths are relative to the top.

dist_noinst_SCRIPTS += \
	tests/emulator/make-test-pki.sh \
	tests/emulator/demo-config.sh

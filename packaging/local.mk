# Quick start and packaging files.
dist_noinst_SCRIPTS += packaging/quickstart.sh packaging/build-deb.sh
dist_noinst_DATA += packaging/build-deps.txt packaging/altinn-broker.conf
# Reference manuals (make install puts them in $(mandir); so does the package).
dist_man_MANS = packaging/man/mod_altinn_broker.5 packaging/man/altinn-broker.1
# The Debian package (packaging/build-deb.sh puts this in place as debian/).
EXTRA_DIST += packaging/debian/control packaging/debian/rules packaging/debian/changelog \
	packaging/debian/copyright packaging/debian/source/format \
	packaging/debian/proftpd-mod-altinn-broker.install \
	packaging/debian/proftpd-mod-altinn-broker.dirs \
	packaging/debian/proftpd-mod-altinn-broker.docs \
	packaging/debian/proftpd-mod-altinn-broker.examples \
	packaging/debian/proftpd-mod-altinn-broker.postrm \
	packaging/debian/proftpd-mod-altinn-broker.altinn-broker-agent.service \
	packaging/debian/proftpd-mod-altinn-broker.altinn-broker-events.service

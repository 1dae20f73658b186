# Quick start and packaging files.
dist_noinst_SCRIPTS += packaging/quickstart.sh
dist_noinst_DATA += packaging/build-deps.txt

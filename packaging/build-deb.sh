#!/bin/sh
# packaging/build-deb.sh [OUTDIR] - builds the Debian package
# proftpd-mod-altinn-broker from this source tree:
#
#   the tree's distribution (make distdir: exactly what a release tarball
#   holds) is unpacked in a scratch directory, packaging/debian is put in
#   place as debian/, and dpkg-buildpackage -us -uc -b builds it there. The
#   .deb (and .buildinfo/.changes) land in OUTDIR (default _build/deb).
#
# Needs what debian/control's Build-Depends name (apt-get build-dep is not
# available for an unpublished package; packaging/build-deps.txt lists them
# too). DEB_BUILD_OPTIONS=nocheck skips the unit tests during the build.
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$src/_build/deb}
mkdir -p "$out"
out=$(cd "$out" && pwd)
scratch=$(mktemp -d /tmp/altinn-broker-deb.XXXXXX)
trap 'rm -rf "$scratch"' EXIT

if ! command -v dpkg-buildpackage >/dev/null || ! dpkg -s debhelper >/dev/null 2>&1; then
  echo "build-deb: needs dpkg-dev and debhelper (apt-get install -y dpkg-dev debhelper)" >&2
  exit 1
fi
[ -x "$src/configure" ] || (cd "$src" && autoreconf -fi)
version=$(sed -n 's/^PACKAGE_VERSION=.\(.*\).$/\1/p' "$src/configure")
tree=$scratch/proftpd-mod-altinn-broker-$version
mkdir -p "$scratch/config"
(cd "$scratch/config" && "$src/configure" --quiet >/dev/null && make -s distdir distdir="$tree" >/dev/null)
cp -R "$src/packaging/debian" "$tree/debian"
(cd "$tree" && dpkg-buildpackage -us -uc -b) > "$scratch/build.log" 2>&1 || {
  tail -n 40 "$scratch/build.log" >&2
  echo "build-deb: dpkg-buildpackage failed (log above)" >&2
  exit 1
}
mv "$scratch"/*.deb "$scratch"/*.buildinfo "$scratch"/*.changes "$out"/
ls "$out"/proftpd-mod-altinn-broker_"$version"_*.deb

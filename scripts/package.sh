#!/usr/bin/env bash
# Builds the Debian package of Gyre from the release build with dpkg-deb (docs/packaging.md):
#   /usr/bin/gyre (stripped), /usr/lib/systemd/system/gyre.service, the man page, docs,
#   maintainer scripts from deploy/deb/ (gyre system user, /etc/gyre/config.json generated
#   with fresh secrets on first install). Version: the binary's own (`gyre version`, the CMake
#   project version). Depends: computed by dpkg-shlibdeps from the libraries the binary links.
# Usage: scripts/package.sh [binary] [output dir]   (defaults: build/gyre, build/)
# Prints the path of the .deb on its last line.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
bin=${1:-build/gyre}
out=${2:-build}

if [ "$bin" = build/gyre ]; then scripts/build.sh release gyre >/dev/null; fi
[ -x "$bin" ] || { echo "package: no executable $bin (run scripts/build.sh release)" >&2; exit 1; }

version=$("$bin" version | sed -n 's/^Gyre v\([0-9][0-9A-Za-z.+~-]*\).*/\1/p')
[ -n "$version" ] || { echo "package: cannot read the version from '$bin version'" >&2; exit 1; }
cmake_version=$(sed -n 's/^project(gyre VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
if [ "$version" != "$cmake_version" ]; then
  echo "package: $bin is version $version but CMakeLists.txt says $cmake_version (stale build?)" >&2
  exit 1
fi
arch=$(dpkg --print-architecture)
deb="$out/gyre_${version}_${arch}.deb"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
pkg=$work/pkg
install -d -m 0755 "$pkg/DEBIAN" "$pkg/usr/bin" "$pkg/usr/lib/systemd/system" \
  "$pkg/usr/share/doc/gyre" "$pkg/usr/share/man/man1" "$pkg/etc/gyre"

# The release build keeps debug info (RelWithDebInfo); the package ships the binary without.
install -m 0755 "$bin" "$pkg/usr/bin/gyre"
strip --strip-unneeded --remove-section=.comment --remove-section=.note "$pkg/usr/bin/gyre"
install -m 0644 deploy/deb/gyre.service "$pkg/usr/lib/systemd/system/gyre.service"
for s in postinst prerm postrm; do install -m 0755 "deploy/deb/$s" "$pkg/DEBIAN/$s"; done

install -m 0644 deploy/deb/copyright "$pkg/usr/share/doc/gyre/copyright"
gzip -9n <deploy/deb/gyre.1 >"$pkg/usr/share/man/man1/gyre.1.gz"
chmod 0644 "$pkg/usr/share/man/man1/gyre.1.gz"
install -m 0644 docs/packaging.md "$pkg/usr/share/doc/gyre/packaging.md"
# A one-entry changelog (a native package: built from the tree, no Debian revision).
when=$(date -u -R -d "@$(git log -1 --format=%ct 2>/dev/null || date +%s)")
{
  echo "gyre ($version) unstable; urgency=medium"
  echo
  echo "  * Built from the Gyre source tree by scripts/package.sh."
  echo
  echo " -- Gyre maintainers <maintainers@users.noreply.b-seed-3798413b.example>  $when"
} | gzip -9n >"$pkg/usr/share/doc/gyre/changelog.gz"
chmod 0644 "$pkg/usr/share/doc/gyre/changelog.gz"

# dpkg-shlibdeps reads debian/control of a source tree: give it a minimal one.
mkdir -p "$work/src/debian"
printf 'Source: gyre\n\nPackage: gyre\nArchitecture: any\n' >"$work/src/debian/control"
shlibs=$(cd "$work/src" && dpkg-shlibdeps -O "$pkg/usr/bin/gyre" 2>"$work/shlibdeps.err") || {
  cat "$work/shlibdeps.err" >&2
  exit 1
}
depends=${shlibs#shlibs:Depends=}
# adduser: the postinst creates the gyre user with it; procps: /bin/kill of ExecReload.
depends="adduser, procps, $depends"
size=$(du -k -s --exclude=DEBIAN "$pkg" | cut -f1)

cat >"$pkg/DEBIAN/control" <<EOF
Package: gyre
Version: $version
Architecture: $arch
Maintainer: Gyre maintainers <maintainers@users.noreply.b-seed-3798413b.example>
Installed-Size: $size
Depends: $depends
Section: net
Priority: optional
Description: real-time messaging server compatible with Centrifugo v6
 Gyre lets browsers and mobile apps connect over WebSocket, subscribe to
 channels and receive messages in real time, while the application backend
 publishes through an HTTP API. It is wire-compatible with Centrifugo v6
 (client protocol, server API, JWT claims, configuration file layout), so
 Centrifugo SDKs and API clients work unchanged.
 .
 The server runs as the gyre system user under systemd. Its configuration,
 /etc/gyre/config.json, is generated with random secrets on first install.
EOF

mkdir -p "$out"
rm -f "$out"/gyre_*_"$arch".deb
dpkg-deb --build -Zxz --root-owner-group "$pkg" "$deb" >/dev/null
echo "package: built $deb ($(du -h "$deb" | cut -f1)), Depends: $depends" >&2
echo "$deb"

#!/usr/bin/env bash
# Tests the Debian package (docs/packaging.md), run by scripts/test.sh after the release build:
#   1. builds the .deb (scripts/package.sh) and runs lintian on it,
#   2. installs it with `dpkg -i` into a clean Debian 12 minbase root (mmdebstrap, with the
#      package's Depends preinstalled; the root is cached as a tarball, see below),
#   3. checks `gyre version`, the gyre user, the generated /etc/gyre/config.json (owner, mode,
#      secrets), `systemd-analyze verify` and `systemd-analyze security` of the installed unit,
#   4. starts the installed binary with the unit's ExecStart (packaged config, user gyre, the
#      unit's LimitNOFILE, no new privileges, no capabilities) on a loopback port, checks that
#      /health answers, reloads it with SIGHUP (ExecReload), stops it with SIGTERM,
#   5. reinstalls (the config and its secrets are kept) and purges (the config goes).
# Usage: scripts/package-test.sh [binary] (default build/gyre). Needs root (chroot, mount).
# The cached root lives in $GYRE_PACKAGE_ROOT_CACHE (default /var/cache/gyre-package-test),
# keyed by the Depends list; it is rebuilt after 30 days.
# Building it takes a few minutes and the machine's apt sources (the network, as deps.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)
step() { echo "package-test: $* ($(($(date +%s) - started))s)"; }
fail() {
  echo "package-test: FAILED: $*" >&2
  exit 1
}
[ "$(id -u)" -eq 0 ] || fail "needs root (chroot and mount)"

work=$(mktemp -d /tmp/gyre-package-test.XXXXXX)
root=$work/root
pid=""
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
  for m in proc dev; do
    if mountpoint -q "$root/$m" 2>/dev/null; then umount -l "$root/$m" || true; fi
  done
  # Never follow a mount into the host: remove only when nothing is mounted below.
  if ! grep -q " $work/" /proc/mounts; then rm -rf "$work"; fi
}
trap cleanup EXIT

# ---------------------------------------------------------------------------- build + lint
deb=$(scripts/package.sh "$@" | tail -n1)
step "built $deb"
if command -v lintian >/dev/null; then
  lintian --fail-on error,warning "$deb" >"$work/lintian.log" 2>&1 || {
    cat "$work/lintian.log" >&2
    fail "lintian reports errors or warnings"
  }
  step "lintian clean"
fi

# ---------------------------------------------------------------------------- clean root
# The Depends list without versions, first alternative of each, and systemd (for
# systemd-analyze verify, which needs the root's own units: sysinit.target, ...).
depends=$( (dpkg-deb -f "$deb" Depends | tr ',' '\n' | sed 's/|.*//; s/(.*)//; s/ //g' && echo systemd) |
  grep -v '^$' | sort -u)
key=$(printf 'bookworm minbase\n%s\n' "$depends" | sha256sum | cut -c1-16)
cache=${GYRE_PACKAGE_ROOT_CACHE:-/var/cache/gyre-package-test}
tarball=$cache/root-$key.tar
mkdir -p "$cache"
find "$cache" -maxdepth 1 -name 'root-*.tar' -mtime +30 -delete
if [ ! -f "$tarball" ]; then
  step "building the clean root (mmdebstrap minbase + $(echo "$depends" | wc -l) packages)"
  rm -rf "$cache"/root-*.tar "$cache"/building.tar
  sources=()
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] && sources+=("$f")
  done
  [ ${#sources[@]} -gt 0 ] || fail "no apt sources on this machine for mmdebstrap"
  timeout 900 mmdebstrap --quiet --variant=minbase --mode=root \
    --include="$(echo "$depends" | paste -sd,)" bookworm "$cache/building.tar" "${sources[@]}" \
    </dev/null || fail "mmdebstrap could not build the clean root"
  mv "$cache/building.tar" "$tarball"
fi
mkdir "$root"
tar -xf "$tarball" -C "$root"
mount -t proc proc "$root/proc"
mount --bind /dev "$root/dev"
step "clean root ready"

# ---------------------------------------------------------------------------- install
cp "$deb" "$root/tmp/gyre.deb"
in_root() { env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 chroot "$root" "$@"; }
in_root dpkg -i /tmp/gyre.deb >"$work/dpkg.log" 2>&1 || {
  cat "$work/dpkg.log" >&2
  fail "dpkg -i"
}
step "installed with dpkg -i"

expected="Gyre v$(dpkg-deb -f "$deb" Version) "
got=$(in_root gyre version) || fail "gyre version failed"
[[ $got == "$expected"* ]] || fail "gyre version: $got (want $expected...)"
got=$(in_root getent passwd gyre) || fail "no gyre user"
[[ $got == *:/nonexistent:/usr/sbin/nologin ]] || fail "gyre is not a system user: $got"
conf=$root/etc/gyre/config.json
# Numeric ids: the host's user database does not know the root's gyre user.
[ "$(stat -c '%u:%g %a' "$conf")" = "0:$(in_root id -g gyre) 640" ] ||
  fail "config owner/mode: $(stat -c '%u:%g %a' "$conf") (want root:gyre 640)"
for k in .http_api.key .client.token.hmac_secret_key .admin.password .admin.secret; do
  [ "$(jq -r "$k | length" "$conf")" -ge 16 ] || fail "config has no secret $k"
done
in_root setpriv --reuid=gyre --regid=gyre --init-groups gyre checkconfig --config /etc/gyre/config.json >/dev/null ||
  fail "the gyre user cannot read or validate /etc/gyre/config.json"
[ -L "$root/etc/systemd/system/multi-user.target.wants/gyre.service" ] || fail "unit not enabled"
step "version, user, config and enablement ok"

unit=$root/usr/lib/systemd/system/gyre.service
in_root systemd-analyze verify /usr/lib/systemd/system/gyre.service >"$work/verify.log" 2>&1 || {
  cat "$work/verify.log" >&2
  fail "systemd-analyze verify"
}
if [ -s "$work/verify.log" ]; then
  cat "$work/verify.log" >&2
  fail "systemd-analyze verify printed warnings"
fi
# The sandboxing stays tight: systemd's exposure score (0 = fully locked, 10 = none) of the
# unit file, 1.2 today; fail above 2.0.
in_root systemd-analyze security --offline=yes --threshold=20 gyre.service >"$work/security.log" 2>&1 || {
  cat "$work/security.log" >&2
  fail "systemd-analyze security: exposure above 2.0"
}
step "systemd-analyze verify ok, $(grep -o 'exposure level.*' "$work/security.log")"

# ---------------------------------------------------------------------------- run
exec_start=$(sed -n 's/^ExecStart=//p' "$unit")
nofile=$(sed -n 's/^LimitNOFILE=//p' "$unit")
port=""
for _ in $(seq 1 20); do
  p=$((20000 + RANDOM % 20000))
  if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then port=$p && break; fi
done
[ -n "$port" ] || fail "no free loopback port"
# Loopback only and /health on: the rest is the packaged config as generated. The unit's
# LimitNOFILE, or this machine's hard limit when it is lower and cannot be raised (container).
env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin CENTRIFUGO_HTTP_SERVER_ADDRESS=127.0.0.1 \
  CENTRIFUGO_HTTP_SERVER_PORT="$port" CENTRIFUGO_HEALTH_ENABLED=true \
  chroot "$root" sh -c "ulimit -n $nofile 2>/dev/null || ulimit -n \$(ulimit -Hn) && exec setpriv --reuid=gyre --regid=gyre --init-groups \
    --no-new-privs --bounding-set=-all --inh-caps=-all $exec_start" >"$work/server.log" 2>&1 &
pid=$!
health() { curl -fsS --max-time 2 "http://127.0.0.1:$port/health" 2>/dev/null; }
wait_health() {
  for _ in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || return 1
    if health >/dev/null; then return 0; fi
    sleep 0.1
  done
  return 1
}
wait_health || {
  cat "$work/server.log" >&2
  fail "the installed server did not answer /health on port $port"
}
[ "$(stat -c %u "/proc/$pid")" = "$(in_root id -u gyre)" ] || fail "the server does not run as gyre"
step "installed server answers /health on 127.0.0.1:$port"

kill -HUP "$pid" # ExecReload: the server logs that it reloaded the packaged config.
for _ in $(seq 1 100); do
  grep -qE 'config reload: (reloaded|nothing changed|keeping)' "$work/server.log" && break
  sleep 0.1
done
# Success is "config reload: reloaded: <keys>" or "... nothing changed"; a refusal says
# "config reload: keeping the running configuration: <why>" (docs/design/config-reload.md).
grep -qE 'config reload: (reloaded|nothing changed)' "$work/server.log" &&
  ! grep -q 'keeping the running configuration' "$work/server.log" || {
  cat "$work/server.log" >&2
  fail "no successful reload logged after SIGHUP"
}
wait_health || {
  cat "$work/server.log" >&2
  fail "the server did not survive SIGHUP"
}
kill -TERM "$pid"
for _ in $(seq 1 150); do
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
kill -0 "$pid" 2>/dev/null && fail "the server did not stop within 15 s of SIGTERM"
rc=0
wait "$pid" || rc=$?
pid=""
[ "$rc" -eq 0 ] || {
  cat "$work/server.log" >&2
  fail "the server exited with $rc after SIGTERM"
}
step "SIGHUP reload and SIGTERM stop ok"

# ---------------------------------------------------------------------------- upgrade, purge
key_before=$(jq -r .http_api.key "$conf")
in_root dpkg -i /tmp/gyre.deb >"$work/dpkg.log" 2>&1 || {
  cat "$work/dpkg.log" >&2
  fail "reinstall"
}
[ "$(jq -r .http_api.key "$conf")" = "$key_before" ] || fail "reinstall replaced the config"
in_root dpkg --purge gyre >"$work/dpkg.log" 2>&1 || {
  cat "$work/dpkg.log" >&2
  fail "dpkg --purge"
}
[ ! -e "$root/etc/gyre" ] || fail "purge left /etc/gyre behind"
[ ! -e "$root/usr/bin/gyre" ] || fail "purge left /usr/bin/gyre behind"
step "reinstall keeps the config, purge removes it"
step "all checks passed"

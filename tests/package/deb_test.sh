#!/usr/bin/env bash
# The Debian package (scripts/make-deb, `make package`): builds it from BUILD_DIR, checks what it
# contains, verifies the systemd unit (where systemd-analyze exists), installs it with dpkg into a
# throwaway root and starts the installed heraldd with the installed default config.
# usage: deb_test.sh SOURCE_DIR BUILD_DIR WORK_DIR
set -euo pipefail
src=$1 build=$2 work=$3
rm -rf "$work"
mkdir -p "$work"
fail() { echo "deb_test: $*" >&2; exit 1; }

deb=$("$src/scripts/make-deb" "$build" "$work/out")
[[ -f $deb ]] || fail "no package built"
contents=$(dpkg-deb --contents "$deb" | awk '{print $6}')
for f in ./usr/bin/heraldd ./usr/bin/herald ./usr/bin/herald-sim ./usr/lib/libherald.so.0.1.0 \
    ./usr/lib/libherald.so ./usr/include/herald/herald.h ./usr/lib/cmake/herald/herald-config.cmake \
    ./usr/lib/pkgconfig/herald.pc ./lib/systemd/system/heraldd.service ./etc/herald/heraldd.toml \
    ./usr/share/doc/herald/install.md; do
    grep -qxF "$f" <<<"$contents" || fail "the package lacks $f"
done
dpkg-deb --field "$deb" Depends | grep -q adduser || fail "Depends lacks adduser"
[[ $(dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./conffiles) == /etc/herald/heraldd.toml ]] ||
    fail "heraldd.toml is not a conffile"

root=$work/root
mkdir -p "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates"
touch "$root/var/lib/dpkg/status"
# Maintainer scripts run outside a chroot with DPKG_ROOT set: postinst then leaves this system's
# users alone. Depends are the host's business, not the throwaway root's.
dpkg --root="$root" --force-script-chrootless --force-depends --force-not-root --log=/dev/null \
    -i "$deb" >"$work/dpkg.log" 2>&1 || { cat "$work/dpkg.log"; fail "dpkg -i failed"; }
for f in usr/bin/heraldd usr/lib/libherald.so.0.1 etc/herald/heraldd.toml \
    lib/systemd/system/heraldd.service; do
    [[ -e $root/$f ]] || fail "dpkg did not place /$f"
done
dpkg --root="$root" --status herald | grep -q "Status: install ok installed" ||
    fail "dpkg does not list herald as installed"

unit=$root/lib/systemd/system/heraldd.service
for line in User=herald Restart=on-failure NoNewPrivileges=yes ProtectSystem=strict \
    StateDirectory=herald "ExecStart=/usr/bin/heraldd --config /etc/herald/heraldd.toml --data-dir /var/lib/herald"; do
    grep -qxF "$line" "$unit" || fail "the unit lacks '$line'"
done
if command -v systemd-analyze >/dev/null; then
    # The unit as installed in the throwaway root (ExecStart pointing there).
    sed "s|/usr/bin/heraldd|$root/usr/bin/heraldd|" "$unit" >"$work/heraldd.service"
    systemd-analyze verify "$work/heraldd.service" || fail "systemd-analyze verify refused the unit"
else
    echo "deb_test: systemd-analyze not installed: the unit was not verified (skipped)"
fi

# The default config is the embedded default, and the installed daemon starts with it.
cmp -s "$root/etc/herald/heraldd.toml" <("$root/usr/bin/heraldd" --print-default-config) ||
    fail "etc/herald/heraldd.toml differs from heraldd --print-default-config"
"$root/usr/bin/heraldd" --config "$root/etc/herald/heraldd.toml" --listen udp://127.0.0.1:0 \
    --data-dir "$work/data" >"$work/heraldd.out" 2>&1 &
pid=$!
for _ in $(seq 100); do
    grep -q "listening on" "$work/heraldd.out" && break
    sleep 0.1
done
kill "$pid" 2>/dev/null || true
wait "$pid" || true
grep -q "listening on" "$work/heraldd.out" || { cat "$work/heraldd.out"; fail "installed heraldd did not start"; }
echo "deb_test: $deb ok"

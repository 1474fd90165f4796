#!/usr/bin/env bash
# The station package's life in a throwaway Debian 12 root (an mmdebstrap customize hook):
# install, check what it put where, verify its units, upgrade with the configuration and the data
# changed by hand, remove (data kept), purge (data gone).
#   deb-lifecycle.sh ROOT OLD.deb NEW.deb
set -euo pipefail
root=$1 old=$2 new=$3
in_root() { chroot "$root" env DEBIAN_FRONTEND=noninteractive "$@"; }
fail() { echo "deb-lifecycle: FALHOU / FAILED: $*" >&2; exit 1; }
step() { echo "deb-lifecycle: $*"; }

cp "$old" "$root/tmp/vistoria-old.deb"
cp "$new" "$root/tmp/vistoria-new.deb"

step "install $(basename "$old")"
in_root apt-get install -y -q --no-install-recommends /tmp/vistoria-old.deb
in_root vistoria --version
getent_root() { in_root getent "$@"; }
getent_root passwd vistoria >/dev/null || fail "no vistoria user"
for group in video plugdev render; do
  if getent_root group "$group" >/dev/null; then
    in_root id -nG vistoria | tr ' ' '\n' | grep -qx "$group" || fail "vistoria not in $group"
  fi
done

# Owners as the root's own users see them (the host's names for those ids may differ).
data_mode=$(in_root stat -c '%a %U' /var/lib/vistoria)
[ "$data_mode" = "700 vistoria" ] || fail "data folder: $data_mode"
config_mode=$(in_root stat -c '%a %U:%G' /etc/vistoria/vistoria.toml)
[ "$config_mode" = "640 root:vistoria" ] || fail "configuration: $config_mode"
grep -qx '/etc/vistoria/vistoria.toml' "$root/var/lib/dpkg/info/vistoria.conffiles" || fail "config is not a conffile"
key_mode=$(in_root stat -c '%a %U %s' /etc/vistoria/biometria.key)
[ "$key_mode" = "600 vistoria 32" ] || fail "template key: $key_mode"
key_sum=$(sha256sum < "$root/etc/vistoria/biometria.key")
[ -f "$root/lib/modprobe.d/vistoria-usb-storage.conf" ] || fail "usb storage rule missing"
[ -L "$root/etc/systemd/system/multi-user.target.wants/vistoria-usb-policy.path" ] || fail "usb policy path unit not enabled"
[ -L "$root/etc/systemd/system/multi-user.target.wants/vistoria-usb-policy.service" ] || fail "usb policy service not enabled"
[ -f "$root/lib/udev/rules.d/60-vistoria-fingerprint.rules" ] || fail "udev rule missing"
[ -L "$root/etc/systemd/system/graphical.target.wants/vistoria-kiosk.service" ] || fail "kiosk unit not enabled"
[ -L "$root/etc/systemd/system/multi-user.target.wants/vistoria-update.path" ] || fail "update path unit not enabled"
[ -f "$root/lib/systemd/system/vistoria-update.service" ] || fail "update service missing"

step "systemd-analyze verify"
SYSTEMD_LOG_LEVEL=notice systemd-analyze verify --root="$root" vistoria-kiosk.service \
  vistoria-update.path vistoria-update.service vistoria-usb-policy.path \
  vistoria-usb-policy.service 2>&1 | tee /tmp/deb-lifecycle-verify.txt
if grep -v -e '^$' /tmp/deb-lifecycle-verify.txt | grep -qv -e 'Failed to .* ignoring' -e 'dbus'; then
  fail "systemd-analyze verify: $(cat /tmp/deb-lifecycle-verify.txt)"
fi
exposure=$(systemd-analyze security --offline=true --root="$root" vistoria-kiosk.service 2>/dev/null \
  | sed -n 's/.*Overall exposure level for vistoria-kiosk.service: \([0-9.]*\).*/\1/p')
echo "deb-lifecycle: systemd-analyze security: exposure $exposure"
awk -v e="$exposure" 'BEGIN { exit !(e != "" && e <= 3.0) }' || fail "exposure $exposure > 3.0"

step "a technician's changes: configuration edited, data written"
echo '# editado pelo técnico' >> "$root/etc/vistoria/vistoria.toml"
config_sum=$(sha256sum < "$root/etc/vistoria/vistoria.toml")
echo "dados da estação" > "$root/var/lib/vistoria/marker"
in_root chown vistoria:vistoria /var/lib/vistoria/marker

step "upgrade to $(basename "$new")"
in_root apt-get install -y -q --no-install-recommends -o Dpkg::Options::=--force-confold /tmp/vistoria-new.deb
[ "$(sha256sum < "$root/etc/vistoria/vistoria.toml")" = "$config_sum" ] || fail "upgrade changed the configuration"
[ -f "$root/var/lib/vistoria/marker" ] || fail "upgrade lost the data"
[ "$(sha256sum < "$root/etc/vistoria/biometria.key")" = "$key_sum" ] || fail "upgrade changed the template key"
new_version=$(dpkg-deb -f "$new" Version)
[ "$(in_root dpkg-query -W -f '${Version}' vistoria)" = "$new_version" ] || fail "not upgraded"

step "remove: data kept"
in_root apt-get remove -y -q vistoria 2>&1 | tee /tmp/deb-lifecycle-remove.txt
[ -f "$root/var/lib/vistoria/marker" ] || fail "remove deleted the data"
grep -q "foram mantidos" /tmp/deb-lifecycle-remove.txt || fail "remove did not say the data was kept"

step "purge: data gone, and said so"
in_root apt-get purge -y -q vistoria 2>&1 | tee /tmp/deb-lifecycle-purge.txt
[ ! -e "$root/var/lib/vistoria" ] || fail "purge kept /var/lib/vistoria"
[ ! -e "$root/etc/vistoria" ] || fail "purge kept /etc/vistoria"
grep -q "apagando os dados da estação" /tmp/deb-lifecycle-purge.txt || fail "purge did not say it deleted the data"
step "ok"

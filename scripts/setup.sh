#!/usr/bin/env bash
# Set up everything factory_twin needs on Debian 12 (run as root, or with sudo available):
# the Debian packages Qt/VTK need to run headless (Xvfb, GL/EGL, xcb), Node.js for the
# interoperability, glTF-validator and HTML-validator tests, Chromium and poppler for export
# checks, a virtual environment in .venv with the package and its test and dev tools (exact
# versions from constraints.txt), and the pinned npm packages. Safe to run again: it installs
# only what is missing or differs from the pins.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  python3 python3-venv python3-pip
  xvfb xauth libgl1 libegl1 libegl-mesa0 libglx-mesa0 libgl1-mesa-dri libxkbcommon-x11-0
  libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0 libxcb-shape0
  libxcb-randr0 libxcb-xfixes0 libxcb-xkb1 libxrender1 libxi6 libsm6 libice6 libdbus-1-3
  libfontconfig1 fonts-dejavu-core libglib2.0-0 nodejs npm chromium poppler-utils
)

PY=${PYTHON:-python3}
skip=" "
# Node.js/npm may come from elsewhere than Debian (a preinstalled Node): accept those.
if command -v node >/dev/null && command -v npm >/dev/null; then skip+="nodejs npm "; fi
# Likewise a suitable Python (>= 3.11 with venv and pip) already on PATH.
if "$PY" -c 'import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  skip+="python3 python3-venv python3-pip "
fi
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  [[ "$skip" == *" $pkg "* ]] && continue
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv"
  "$PY" -m venv .venv
fi
# Exact versions from constraints.txt (refresh it with scripts/lock.sh); pip >= 25.1 reads
# the dependency groups of pyproject.toml.
.venv/bin/python -m pip install -q -c constraints.txt "pip>=25.1"
echo "setup: installing factory_twin, its test and dev tools into .venv (pinned: constraints.txt)"
.venv/bin/python -m pip install -q -c constraints.txt -e . --group test --group dev

# npm packages used by tests (node-opcua interop, companion nodesets, gltf-validator,
# html-validate).
for dir in tests/interop tests/ar tests/html; do
  if [ -f "$dir/package-lock.json" ] && command -v npm >/dev/null; then
    if [ ! -d "$dir/node_modules" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules" ]; then
      echo "setup: npm ci in $dir"
      (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
    fi
  fi
done
echo "setup: done"

#!/usr/bin/env bash
# The one list of MLOps Studio's dependencies. Idempotent: when everything is
# present it only checks (a few hundred milliseconds) and exits.
set -euo pipefail

APT_PACKAGES=(
  build-essential cmake ninja-build pkg-config ccache git
  libcpp-httplib-dev nlohmann-json3-dev libsqlite3-dev sqlite3 libsoci-dev libpq-dev
  libspdlog-dev libfmt-dev libcli11-dev libyaml-cpp-dev libssl-dev libcurl4-openssl-dev
  libxgboost-dev xgboost libonnx-dev libprotobuf-dev protobuf-compiler
  libargon2-dev libgtest-dev libgmock-dev libbenchmark-dev libsimdjson-dev libzstd-dev
  postgresql prometheus curl wrk hyperfine
  libboost-dev libonnx-testdata
  python3-scipy python3-xgboost python3-onnx python3-flask python3-gunicorn python3-requests python3-sqlalchemy
  python3-fastapi python3-uvicorn python3-uvloop python3-httptools python3-pandas
  awscli python3-botocore
  chromium
)
# Added by the issues that first need them: chromium (browser tests). awscli and
# python3-botocore: the S3 interoperability tests and the SigV4 cross-check.
# node/npm run s3rver (and later the web UI build). Use the node already on PATH when there is
# one (it may be newer than Debian's); a fresh Debian 12 gets apt's.
command -v node >/dev/null 2>&1 || APT_PACKAGES+=(nodejs npm)

# One dpkg-query for the whole list; only packages not fully installed are handed to apt.
installed=" $(dpkg-query -W -f='${db:Status-Status} ${Package}\n' "${APT_PACKAGES[@]}" 2>/dev/null |
  awk '$1 == "installed" { printf "%s ", $2 }') "
missing=()
for p in "${APT_PACKAGES[@]}"; do
  case "$installed" in *" $p "*) ;; *) missing+=("$p") ;; esac
done

if [ "${#missing[@]}" -gt 0 ]; then
  echo "install-deps: installing ${#missing[@]} apt packages: ${missing[*]}" >&2
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm packages (frontend + test tools), pinned by package-lock.json. onnxruntime-node (the
# reference evaluator for the ONNX-ML conformance tests) bundles its CPU library; its postinstall
# would download a GPU variant from the network, so it is skipped.
root="$(cd "$(dirname "$0")/.." && pwd)"
if [ -f "$root/package-lock.json" ]; then
  stamp="$root/node_modules/.install-stamp"
  if [ ! -f "$stamp" ] || [ "$root/package-lock.json" -nt "$stamp" ]; then
    (cd "$root" && ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund --loglevel=error)
    touch "$stamp"
  fi
fi

# The web console (frontend/): its own package.json and lock; built by CMake (frontend/dist).
if [ -f "$root/frontend/package-lock.json" ]; then
  stamp="$root/frontend/node_modules/.install-stamp"
  if [ ! -f "$stamp" ] || [ "$root/frontend/package-lock.json" -nt "$stamp" ]; then
    (cd "$root/frontend" && npm ci --no-audit --no-fund --loglevel=error)
    touch "$stamp"
  fi
fi

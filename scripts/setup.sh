#!/usr/bin/env bash
# Installs the Debian 12 packages crypta builds, tests and runs with (DESIGN.md §6).
# Idempotent: when every package is present it only runs dpkg-query and exits.
# Needs root (or sudo) only when something is missing.
set -euo pipefail

packages=(
  build-essential cmake pkg-config ccache git ca-certificates curl
  libssl-dev openssl
  nlohmann-json3-dev libyaml-cpp-dev libcpp-httplib-dev libcli11-dev libspdlog-dev
  libsqlite3-dev libexpected-dev libcbor-dev
  libxmlsec1-dev  # XML-DSig of NVIDIA RIMs (xmlsec1 with its OpenSSL engine)
  libpq-dev postgresql-15  # the HA store: libpq client; the tests start their own PostgreSQL 15
  libgtest-dev libgmock-dev libbenchmark-dev
  libtorch-dev libopencv-dnn-dev libonnx-dev pybind11-dev libboost-dev
  python3 python3-torch python3-torchvision python3-jwt python3-cryptography
  python3-dev python3-numpy python3-pytest python3-flask python3-venv python3-pip  # Python SDK
  python3-jsonschema python3-yaml  # tests/k8s: rendered Kubernetes objects against their schemas
  clang-14 libclang-rt-14-dev llvm-14  # make fuzz, scripts/sanitize.sh: libFuzzer, ASan, UBSan, llvm-symbolizer
)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ $status == "install ok installed" ]] || missing+=("$p")
done

# The Node.js SDK (js/) needs node and its Node-API headers. A node already installed with its
# headers (e.g. NodeSource's nodejs, which ships them) is used as is; otherwise Debian's.
if ! command -v node >/dev/null || [[ ! -f /usr/include/node/node_api.h ]]; then
  for p in nodejs libnode-dev; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    [[ $status == "install ok installed" ]] || missing+=("$p")
  done
fi
# npm for the JS interop test's packages below (NodeSource's nodejs ships it; Debian's does not).
if ! command -v npm >/dev/null; then
  status=$(dpkg-query -W -f='${Status}' npm 2>/dev/null || true)
  [[ $status == "install ok installed" ]] || missing+=(npm)
fi

# The independent chunked OHTTP client of tests/interop/ohttp_js_interop_test.sh: its npm
# packages, exactly as package-lock.json pins them, when node_modules is missing.
js_interop_deps() {
  local dir
  dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/tests/interop/ohttp-js
  [[ -d $dir/node_modules ]] && return 0
  echo "setup: installing the npm packages of tests/interop/ohttp-js"
  local log
  log=$(mktemp "${TMPDIR:-/tmp}/crypta-setup-npm.XXXXXX.log")
  if ! npm ci --prefix "$dir" --no-audit --no-fund >"$log" 2>&1; then
    tail -n 30 "$log" >&2
    echo "setup: npm ci failed (full log: $log)" >&2
    exit 1
  fi
  rm -f "$log"
}

if ((${#missing[@]} == 0)); then
  js_interop_deps
  exit 0
fi

echo "setup: installing ${#missing[@]} missing Debian package(s): ${missing[*]}"
sudo=()
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || {
    echo "setup: not root and no sudo; install as root: apt-get install ${missing[*]}" >&2
    exit 1
  }
  sudo=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
log=$(mktemp "${TMPDIR:-/tmp}/crypta-setup.XXXXXX.log")
if ! { "${sudo[@]}" apt-get update -q && "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
  tail -n 30 "$log" >&2
  echo "setup: apt-get failed (full log: $log)" >&2
  exit 1
fi
rm -f "$log"
js_interop_deps
echo "setup: done"

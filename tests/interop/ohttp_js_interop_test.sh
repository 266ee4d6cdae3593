#!/usr/bin/env bash
# Interoperability: an independent chunked Oblivious HTTP client (ohttp-js/
# chunked_ohttp_interop.js: Node.js, HPKE from @hpke/core and @hpke/dhkem-x25519, BHTTP and the
# chunked framing written from draft-ietf-ohai-chunked-ohttp-08, RFC 9458, RFC 9292 only,
# sharing no crypta code) against crypta-runtime under `crypta sim launch`. It first reproduces
# the draft's Appendix A example offline, then sends chunked requests to generate_stream (the
# streamed indeterminate-length BHTTP response opened chunk by chunk, the receipt in its
# trailer) and generate, whose text must equal torch's greedy output for the tiny GPT.
# Needs tests/interop/ohttp-js/node_modules (scripts/setup.sh runs npm ci there).
# Usage: ohttp_js_interop_test.sh CRYPTA CRYPTA_RUNTIME MODELS_DIR
set -uo pipefail
crypta=$1
runtime=$(realpath "$2")
models=$(realpath "$3")
here=$(cd "$(dirname "$0")" && pwd)
js_dir=$here/ohttp-js
kat=$(realpath "$here/../../testdata/ohttp/chunked-draft-08-example.json")
node=$(command -v node) || { echo "FAIL: node is not installed (run scripts/setup.sh)"; exit 1; }
[[ -d $js_dir/node_modules/@hpke/core && -d $js_dir/node_modules/@hpke/dhkem-x25519 ]] || {
  echo "FAIL: $js_dir/node_modules is missing: run scripts/setup.sh" \
    "(or npm ci --prefix tests/interop/ohttp-js)"
  exit 1
}
source "$here/../control_plane_lib.sh"

serve_tiny_gpt "$models"

if ! "$node" "$js_dir/chunked_ohttp_interop.js" --kat "$kat" --url "$rurl" \
  --expected "$models/tiny_gpt.expected.json" >js.out 2>js.err; then
  fail "chunked_ohttp_interop.js: $(cat js.out js.err)"
else
  cat js.out
  grep -qx PASS js.out || fail "chunked_ohttp_interop.js printed no PASS: $(cat js.out js.err)"
fi

stop_runtime
finish

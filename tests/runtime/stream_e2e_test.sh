#!/usr/bin/env bash
# Streamed confidential generation end to end (issue 18), real processes on loopback: `crypta
# up`, the tiny GPT (scripts/make_models.py) sealed and pushed, crypta-runtime under `crypta sim
# launch`; `crypta generate` streams tokens through chunked OHTTP. The streamed text equals the
# non-streamed one and torch's own greedy output; the stream's receipt (in the BHTTP trailer)
# verifies offline; a stream whose final chunk is dropped, or with one byte flipped, by a man in
# the middle that keeps the HTTP framing intact, is an error — never a shorter answer taken as
# whole; requests the model cannot take are refused inside the encrypted channel.
# Usage: stream_e2e_test.sh CRYPTA CRYPTA_RUNTIME MODELS_DIR
set -uo pipefail
crypta=$1
runtime=$(realpath "$2")
models=$(realpath "$3")
proxy_py=$(realpath "$(dirname "$0")/ohttp_stream_proxy.py")
source "$(dirname "$0")/../control_plane_lib.sh"

expected() {  # expected PROMPT_INDEX FIELD
  /usr/bin/python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[int(sys.argv[2])][sys.argv[3]])" \
    "$models/tiny_gpt.expected.json" "$1" "$2"
}

serve_tiny_gpt "$models"
v=(--allow-simulated "${dd[@]}" --expect-measurement "$m")

for i in 0 1 2; do
  prompt=$(expected "$i" prompt)
  want=$(expected "$i" text_output)
  n=$(expected "$i" max_tokens)
  expect_ok "stream-$i" "$crypta" generate "$rurl" --model tiny_gpt --prompt "$prompt" \
    --max-tokens "$n" "${v[@]}" --receipt "stream-$i.json"
  [[ $(cat out.txt) == "$want" ]] || fail "stream-$i: got '$(cat out.txt)', torch's greedy '$want'"
  grep -q "$n token(s), stream complete, receipt verified" err.txt || fail "stream-$i: $(cat err.txt)"
  expect_ok "whole-$i" "$crypta" generate "$rurl" --model tiny_gpt --prompt "$prompt" \
    --max-tokens "$n" "${v[@]}" --no-stream
  [[ $(cat out.txt) == "$want" ]] || fail "whole-$i: got '$(cat out.txt)', want '$want'"
done
expect_ok verify-receipt "$crypta" receipt verify stream-0.json --allow-simulated "${dd[@]}"
contains verify-receipt '"verified": true'

# Refused inside the encrypted channel, with the model's reason.
g=("$crypta" generate "$rurl" --model tiny_gpt "${v[@]}")
expect_error bad-char 'not printable ASCII' "${g[@]}" --prompt $'caf\xc3\xa9'
expect_error bad-model 'unknown model' "$crypta" generate "$rurl" --model other "${v[@]}" --prompt hi

# A man in the middle that keeps HTTP framing whole but damages the chunked OHTTP stream.
port=${rurl##*:}
for mode in cut flip; do
  /usr/bin/python3 "$proxy_py" "$port" "$mode" >"proxy-$mode.port" &
  proxy_pid=$!
  for _ in $(seq 1 50); do [[ -s proxy-$mode.port ]] && break; sleep 0.1; done
  purl="http://127.0.0.1:$(cat "proxy-$mode.port")"
  case $mode in
    cut) want='truncated|final chunk' ;;
    flip) want='authenticat|does not open|tag' ;;
  esac
  expect_error "mitm-$mode" "did not complete.*($want)" "$crypta" generate "$purl" \
    --model tiny_gpt --prompt "Hello" --max-tokens 8 "${v[@]}"
  kill "$proxy_pid" 2>/dev/null
  wait "$proxy_pid" 2>/dev/null
done

stop_runtime
finish

#!/usr/bin/env bash
# Confidential inference benchmarks (issue 5): the same crypta-runtime serving the same model
# through OHTTP and as plain OIP (--allow-plaintext-infer), measured by bench/runtime_load.
# Builds nothing: needs BUILD_DIR/bin/{crypta,crypta-runtime}, BUILD_DIR/bench/runtime_load and
# the generated models (targets crypta_test_models and crypta_resnet18_models).
#
# Starts `crypta up --insecure-http` on loopback in a temporary data dir, creates a tenant,
# key and key-release policy for the runtimes' sim measurements, pushes resnet18.pt and
# tiny_cnn.pt (TorchScript, sealed), launches three runtimes with `crypta sim launch`:
#   resnet18   --max-batch 1 (batch 1: no batch-fill wait in either path)
#   tiny       --max-batch 1 (server-side overhead without model compute)
#   tiny-batch default batching (--max-batch 8 --batch-delay-us 2000): the concurrent runs
#   gpt        the tiny GPT (scripts/make_models.py tiny_gpt) for streamed generation
# and runs runtime_load: ResNet-18 interleaved rounds (one-shot OHTTP, then chunked OHTTP, issue
# 18) and 16 concurrent clients, the tiny model's interleaved rounds and 16 clients (one-shot
# and chunked), streamed generation (time to first token, inter-token latency), and the load run
# (200 kept-alive connections, 60 s, confidential path, zero errors required). Everything is
# stopped on exit.
#
# Usage: scripts/bench_runtime.sh BUILD_DIR [OUT_DIR]   (OUT_DIR default BUILD_DIR/bench/results)
# Environment (defaults are the recorded run):
#   RUNTIME_BENCH_RESNET_ROUNDS=100  RUNTIME_BENCH_TINY_ROUNDS=2000  RUNTIME_BENCH_CLIENTS=16
#   RUNTIME_BENCH_RESNET_REQUESTS=160  RUNTIME_BENCH_TINY_REQUESTS=4000  (per path, C clients)
#   RUNTIME_BENCH_HOLD=200  RUNTIME_BENCH_HOLD_SECONDS=60  (RUNTIME_BENCH_HOLD=0 skips it)
#   RUNTIME_BENCH_GEN_ROUNDS=30  RUNTIME_BENCH_GEN_TOKENS=32  streamed generations per path
#   RUNTIME_BENCH_SKIP_RESNET=1  skips ResNet-18 (the slowest to load and run)
#   RUNTIME_BENCH_ENCODING=binary  OIP body of both paths: binary (the binary tensor data
#                                  extension, what the SDK sends) or json
#   DEVICE=cuda (or RUNTIME_BENCH_DEVICE)  every runtime gets --device DEVICE (auto|cpu|cuda)
#                                  and runtime_load requires it (cpu|cuda) of the runtime's
#                                  model metadata; unset: the runtime's default (auto) and
#                                  no flag, as in the recorded run. cuda needs a build with
#                                  -DCRYPTA_TORCH_DIR=<CUDA libtorch> and a visible GPU.
set -uo pipefail
build=$(realpath "${1:?usage: bench_runtime.sh BUILD_DIR [OUT_DIR]}")
out=$(realpath -m "${2:-$build/bench/results}")
crypta=$build/bin/crypta
runtime=$build/bin/crypta-runtime
load=$build/bench/runtime_load
models=$build/models
resnet_rounds=${RUNTIME_BENCH_RESNET_ROUNDS:-100}
tiny_rounds=${RUNTIME_BENCH_TINY_ROUNDS:-2000}
clients=${RUNTIME_BENCH_CLIENTS:-16}
resnet_requests=${RUNTIME_BENCH_RESNET_REQUESTS:-160}
tiny_requests=${RUNTIME_BENCH_TINY_REQUESTS:-4000}
hold=${RUNTIME_BENCH_HOLD:-200}
hold_seconds=${RUNTIME_BENCH_HOLD_SECONDS:-60}
skip_resnet=${RUNTIME_BENCH_SKIP_RESNET:-0}
encoding=${RUNTIME_BENCH_ENCODING:-binary}
gen_rounds=${RUNTIME_BENCH_GEN_ROUNDS:-30}
gen_tokens=${RUNTIME_BENCH_GEN_TOKENS:-32}
device=${DEVICE:-${RUNTIME_BENCH_DEVICE:-}}
case $device in
  '' | auto | cpu | cuda) ;;
  *) echo "bench_runtime: DEVICE must be auto, cpu or cuda (got $device)" >&2; exit 1 ;;
esac
device_args=()
[[ -n $device ]] && device_args=(--device "$device")

need=("$crypta" "$runtime" "$load" "$models/tiny_cnn.pt" "$models/tiny_cnn.input.npy"
  "$models/tiny_gpt.pt")
[[ $skip_resnet == 1 ]] || need+=("$models/resnet18.pt" "$models/resnet18.input.npy")
for f in "${need[@]}"; do
  [[ -e $f ]] || { echo "bench_runtime: missing $f (build crypta crypta-runtime runtime_load" \
    "crypta_test_models crypta_resnet18_models)" >&2; exit 1; }
done
mkdir -p "$out"

work=$(mktemp -d)
server_pid=
launchers=()
cleanup() {
  for p in "${launchers[@]}"; do kill -TERM "$p" 2>/dev/null; done
  for p in "${launchers[@]}"; do wait "$p" 2>/dev/null; done
  if [[ -n $server_pid ]]; then
    kill -TERM "$server_pid" 2>/dev/null
    wait "$server_pid" 2>/dev/null
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
die() { echo "bench_runtime: $*" >&2; exit 1; }
# ok CMD...: runs it, stdout's last line in $last; dies with its stderr on failure.
ok() { "$@" >"$work/cmd.out" 2>"$work/cmd.err" || die "$* failed: $(cat "$work/cmd.err")"; last=$(tail -n 1 "$work/cmd.out"); }

echo "== runtime benchmarks (issue 5): $(date -u +%FT%TZ)"
lscpu | head -n 20
if [[ -n $device ]]; then
  echo "device: --device $device"
  [[ $device == cpu ]] || nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>/dev/null
fi
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"

data=$work/data
dd=(--data-dir "$data")
# The runtimes' /metrics detail of the requests inside OHTTP (the gateway time) needs a token.
export CRYPTA_METRICS_TOKEN=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
printf '%s' "$CRYPTA_METRICS_TOKEN" >"$work/metrics.token"
"$crypta" up --listen 127.0.0.1:0 --insecure-http "${dd[@]}" >"$work/up.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 200); do [[ -s $data/url ]] && break; sleep 0.05; done
[[ -s $data/url ]] || die "crypta up did not start: $(cat "$work/up.log")"
url=$(cat "$data/url")
ok "$crypta" tenant create bench "${dd[@]}"
ok "$crypta" key create --tenant bench models "${dd[@]}"

# push NAME FILE: the sealed model's store:// reference in ref_NAME.
push() {
  ok "$crypta" model push --tenant bench --key models --name "$1" -f "$2" \
    --signature "${2%.*}.signature.json" "${dd[@]}"
  [[ $last =~ ^store://bench/$1@sha256:[0-9a-f]{64}$ ]] || die "push $1: $last"
  printf -v "ref_$1" '%s' "$last"
}
push tiny_cnn "$models/tiny_cnn.pt"
push tiny_gpt "$models/tiny_gpt.pt"
[[ $skip_resnet == 1 ]] || push resnet18 "$models/resnet18.pt"

# Runtime command lines (the sim measurement covers each one), then one policy for all.
# rt_args NAME MODEL EXTRA...: the runtime's arguments in rt_NAME (an array).
declare -A measurement
names=()
rt_args() {
  local name=$1 model=$2 ref_var=ref_$2
  shift 2
  local args=("$runtime" --broker "$url" --model "${!ref_var}" --backend torchscript
    --model-name "$model" --signature "$models/$model.signature.json" --listen 127.0.0.1:0
    --tee sim --allow-plaintext-infer --metrics-token-file "$work/metrics.token"
    "${device_args[@]}" "$@")
  eval "rt_${name//-/_}=(\"\${args[@]}\")"
  ok "$crypta" sim measure "${dd[@]}" -- "${args[@]}"
  [[ $last =~ ^[0-9a-f]{96}$ ]] || die "sim measure $name: $last"
  measurement[$name]=$last
  names+=("$name")
}
[[ $skip_resnet == 1 ]] || rt_args resnet18 resnet18 --max-batch 1
rt_args tiny tiny_cnn --max-batch 1
rt_args tiny-batch tiny_cnn
rt_args gpt tiny_gpt --threads 1
list=$(IFS=,; echo "${measurement[*]}")
printf 'tee: [sim]\nallow_simulated: true\nmeasurements: [%s]\n' "$list" >"$work/policy.yaml"
ok "$crypta" policy set --tenant bench --key models -f "$work/policy.yaml" "${dd[@]}"

# Launch every runtime; their URLs in rurl[NAME].
declare -A rurl
for name in "${names[@]}"; do
  var=rt_${name//-/_}[@]
  "$crypta" sim launch "${dd[@]}" -- "${!var}" >"$work/$name.out" 2>"$work/$name.err" &
  launchers+=($!)
done
for name in "${names[@]}"; do
  for _ in $(seq 1 1200); do
    u=$(sed -n 's|^crypta-runtime: serving \(http://127\.0\.0\.1:[0-9]*\)$|\1|p' "$work/$name.out")
    [[ -n $u ]] && break
    sleep 0.1
  done
  [[ -n $u ]] || die "runtime $name did not start: $(cat "$work/$name.err")"
  rurl[$name]=$u
done

# The kernel's count of connections dropped because a listen queue was full (all sockets of
# this network namespace): crypta-runtime's cpp-httplib listens with a backlog of 5.
listen_overflows() {
  awk '/^TcpExt:/ { if (!h) { for (i = 1; i <= NF; i++) k[i] = $i; h = 1 } else {
    for (i = 1; i <= NF; i++) if (k[i] == "ListenOverflows") print $i } }' /proc/net/netstat
}

# run NAME MODEL LABEL ARGS...: runtime_load against runtime NAME, JSON in OUT/runtime_LABEL.json.
status=0
run() {
  local name=$1 model=$2 label=$3
  shift 3
  echo
  echo "== runtime_load $label (load average before: $(cut -d' ' -f1-3 /proc/loadavg))"
  local overflows=$(listen_overflows)
  "$load" --url "${rurl[$name]}" --model "$model" --input "$models/$model.input.npy" \
    --sim-root "$data/sim/ca.pem" --measurement "${measurement[$name]}" --label "$label" \
    --out "$out/runtime_$label.json" --encoding "$encoding" "${device_args[@]}" "$@" || { echo "runtime_load $label: FAILED (exit $?)"; status=1; }
  echo "   load average after: $(cut -d' ' -f1-3 /proc/loadavg);" \
    "listen queue overflows during the run: $(($(listen_overflows) - overflows))"
}
if [[ $skip_resnet != 1 ]]; then
  run resnet18 resnet18 resnet18 --rounds "$resnet_rounds"
  run resnet18 resnet18 resnet18_chunked --rounds "$resnet_rounds" --ohttp chunked
  run resnet18 resnet18 resnet18_clients --rounds 0 --clients "$clients" --requests "$resnet_requests"
fi
run tiny tiny_cnn tiny --rounds "$tiny_rounds" --rows 1
run tiny-batch tiny_cnn tiny_batch_clients --rounds 0 --clients "$clients" --requests "$tiny_requests" --rows 1
run tiny-batch tiny_cnn tiny_batch_clients_chunked --rounds 0 --clients "$clients" \
  --requests "$tiny_requests" --rows 1 --ohttp chunked
run gpt tiny_gpt generate --rounds "$gen_rounds" --prompt "Hello, confidential world" \
  --max-tokens "$gen_tokens"
if [[ $hold -gt 0 ]]; then
  # Sample the load average during the run (the machine is shared).
  (while sleep 10; do cut -d' ' -f1 /proc/loadavg; done) >"$work/loadavg.txt" &
  sampler=$!
  run tiny-batch tiny_cnn hold --rounds 0 --hold "$hold" --duration "$hold_seconds" --rows 1
  kill "$sampler" 2>/dev/null
  wait "$sampler" 2>/dev/null
  echo "   load average (1 min) every 10 s during the load run: $(tr '\n' ' ' <"$work/loadavg.txt")"
fi

# The runtimes must still be up (no crash under load), then stop cleanly.
for name in "${names[@]}"; do
  curl -sf "${rurl[$name]}/v2/health/live" >/dev/null || { echo "runtime $name is down"; status=1; }
done
echo
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
exit $status

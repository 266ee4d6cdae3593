'use strict';
// Node.js SDK predict latency (issue 11, "Node predict vs the C++ SDK <= 1.15 at p50"):
// verifies the crypta-runtime at $CRYPTA_TEST_SERVICE once (tests/sdk/with_service.sh sets
// up everything: CRYPTA_TEST_MEASUREMENT, CRYPTA_TEST_DATA_DIR, CRYPTA_TEST_MODELS), warms
// up, then times N sequential `predict` calls of tiny_cnn (OIP binary tensors through OHTTP)
// and prints one JSON line {"p50_ms", "p90_ms", "p99_ms", "mean_ms", "n", "warmup"}.
//
//   tests/sdk/with_service.sh build/bin/crypta build/bin/crypta-runtime build/models -- \
//     node bench/js_predict_bench.js [N]
// CRYPTA_NODE_ADDON picks the addon (default build/js/crypta.node).
const fs = require('node:fs');
const path = require('node:path');
const crypta = require(path.resolve(__dirname, '..', 'js'));

function readNpyFloat32(file) {
  const raw = fs.readFileSync(file);
  const major = raw[6];
  const headerLength = major === 1 ? raw.readUInt16LE(8) : raw.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const header = raw.subarray(start, start + headerLength).toString('latin1');
  if (!/'descr':\s*'<f4'/.test(header)) throw new Error(`${file}: not float32`);
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header)[1].split(',').map((s) => s.trim())
    .filter((s) => s).map(Number);
  const count = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(count);
  new Uint8Array(data.buffer).set(raw.subarray(start + headerLength, start + headerLength + 4 * count));
  return { data, shape };
}

function percentile(sorted, p) {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

async function main() {
  const n = Number(process.argv[2] || process.env.BENCH_N || 200);
  const warmup = 20;
  const env = process.env;
  for (const v of ['CRYPTA_TEST_SERVICE', 'CRYPTA_TEST_MEASUREMENT', 'CRYPTA_TEST_DATA_DIR',
                   'CRYPTA_TEST_MODELS']) {
    if (!env[v]) throw new Error(`${v} is not set: run under tests/sdk/with_service.sh`);
  }
  const svc = await crypta.verifyService(env.CRYPTA_TEST_SERVICE, {
    expectedMeasurements: [env.CRYPTA_TEST_MEASUREMENT],
    allowSimulated: true,
    dataDir: env.CRYPTA_TEST_DATA_DIR,
  });
  const input = readNpyFloat32(path.join(env.CRYPTA_TEST_MODELS, 'tiny_cnn.input.npy'));
  const inputs = { input: { data: input.data, shape: input.shape } };
  for (let i = 0; i < warmup; ++i) await svc.predict('tiny_cnn', inputs);
  const times = [];
  for (let i = 0; i < n; ++i) {
    const t0 = process.hrtime.bigint();
    await svc.predict('tiny_cnn', inputs);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  const sorted = times.slice().sort((a, b) => a - b);
  const round = (x) => Math.round(x * 1000) / 1000;
  console.log(JSON.stringify({
    p50_ms: round(percentile(sorted, 50)),
    p90_ms: round(percentile(sorted, 90)),
    p99_ms: round(percentile(sorted, 99)),
    mean_ms: round(times.reduce((a, b) => a + b, 0) / n),
    n,
    warmup,
  }));
}

main().catch((e) => {
  console.error(`js_predict_bench: ${e.name}: ${e.message}`);
  process.exit(1);
});

'use strict';
// Shared by js/test/*.test.js (kept outside js/test, where `node --test` would run it as a
// test file). The environment comes from tests/sdk/with_service.sh.
const assert = require('node:assert/strict');
const { execFile, spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

/** The variables tests/sdk/with_service.sh exports; throws when one is missing. */
function serviceEnv() {
  const names = ['CRYPTA_TEST_SERVICE', 'CRYPTA_TEST_MEASUREMENT', 'CRYPTA_TEST_DATA_DIR',
                 'CRYPTA_TEST_PLATFORM', 'CRYPTA_TEST_MODEL_REF', 'CRYPTA_TEST_MODELS',
                 'CRYPTA_TEST_CRYPTA', 'CRYPTA_TEST_RUNTIME'];
  const out = {};
  for (const n of names) {
    if (!process.env[n]) throw new Error(`${n} is not set: run under tests/sdk/with_service.sh`);
    out[n.replace('CRYPTA_TEST_', '').toLowerCase()] = process.env[n];
  }
  return out;
}

const NPY_TYPES = {
  '<f4': [Float32Array, 'float32'],
  '<f8': [Float64Array, 'float64'],
  '<i8': [BigInt64Array, 'int64'],
  '<i4': [Int32Array, 'int32'],
  '|u1': [Uint8Array, 'uint8'],
  '|b1': [Uint8Array, 'bool'],
};

/** A tiny .npy reader (version 1/2, C order, little-endian): {data, shape, dtype}. */
function readNpy(file) {
  const raw = fs.readFileSync(file);
  assert.equal(raw.subarray(0, 6).toString('latin1'), '\x93NUMPY', `${file}: not .npy`);
  const major = raw[6];
  const headerLength = major === 1 ? raw.readUInt16LE(8) : raw.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const header = raw.subarray(start, start + headerLength).toString('latin1');
  const descr = /'descr':\s*'([^']+)'/.exec(header)[1];
  assert.ok(/'fortran_order':\s*False/.test(header), `${file}: Fortran order`);
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header)[1].split(',').map((s) => s.trim())
    .filter((s) => s.length > 0).map(Number);
  const [Ctor, dtype] = NPY_TYPES[descr] || [];
  assert.ok(Ctor, `${file}: dtype ${descr}`);
  const count = shape.reduce((a, b) => a * b, 1);
  const bytes = raw.subarray(start + headerLength, start + headerLength + count * Ctor.BYTES_PER_ELEMENT);
  const data = new Ctor(count);  // a copy: aligned, and owned by this typed array
  new Uint8Array(data.buffer).set(bytes);
  return { data, shape, dtype };
}

/** Largest absolute difference between two numeric arrays of equal length. */
function maxAbsDiff(a, b) {
  assert.equal(a.length, b.length, 'lengths differ');
  let d = 0;
  for (let i = 0; i < a.length; ++i) d = Math.max(d, Math.abs(Number(a[i]) - Number(b[i])));
  return d;
}

function assertClose(actual, expected, tolerance = 1e-5, what = 'prediction') {
  const d = maxAbsDiff(actual, expected);
  assert.ok(d <= tolerance, `${what} differs from the expected output by ${d}`);
}

/** Requests that reached the runtime's OHTTP gateway, from its /metrics (as
 * tests/client/predict_e2e_test.sh counts them). */
async function ohttpCount(url) {
  const text = await (await fetch(`${url}/metrics`)).text();
  let n = 0;
  for (const line of text.split('\n')) {
    if (/^crypta_runtime_http_requests_total\{/.test(line) &&
        (line.includes('route="/v1/ohttp"') || line.includes('channel="ohttp"'))) {
      n += Number(line.trim().split(/\s+/).pop());
    }
  }
  return n;
}

/** Runs a program; resolves to its stdout, rejects with its stderr. */
function run(file, args, options = {}) {
  return new Promise((resolve, reject) => {
    execFile(file, args, { maxBuffer: 16 << 20, ...options }, (err, stdout, stderr) => {
      if (err) {
        err.message += `\n${stderr}`;
        reject(err);
      } else {
        resolve(stdout);
      }
    });
  });
}

/** `crypta sim launch -- argv...` in the background; resolves when its stdout has a line
 * matching `ready` (the match is returned), rejects when it exits first or after `ms`. */
function simLaunch(crypta, dataDir, argv, ready, ms = 120000, env = process.env) {
  const proc = spawn(crypta, ['sim', 'launch', '--data-dir', dataDir, '--', ...argv],
                     { stdio: ['ignore', 'pipe', 'pipe'], env });
  let out = '';
  let err = '';
  const done = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not ready after ${ms} ms:\n${out}\n${err}`)), ms);
    proc.stdout.on('data', (chunk) => {
      out += chunk;
      const m = ready.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m);
      }
    });
    proc.stderr.on('data', (chunk) => { err += chunk; });
    // 'close': after the exit and the last of its output.
    proc.on('close', (code) => {
      clearTimeout(timer);
      reject(new Error(`sim launch exited ${code} before it was ready:\n${out}\n${err}`));
    });
  });
  return {
    proc,
    ready: done,
    output: () => ({ stdout: out, stderr: err }),
    exited: new Promise((resolve) => proc.on('close', (code, signal) => resolve({ code, signal }))),
    stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      return this.exited;
    },
  };
}

/** crypta-runtime's command line for `ref` in the sim TEE; the backend and signature are the
 * ones pushed with the model unless `withSignature` (then tiny_cnn's, as
 * tests/sdk/with_service.sh passes them). */
function runtimeArgs(env, ref, workload, withSignature = false) {
  const args = ['--broker', env.platform, '--model', ref, '--workload', workload,
                '--listen', '127.0.0.1:0', '--tee', 'sim'];
  if (withSignature) {
    args.push('--backend', 'torchscript', '--signature',
              path.join(env.models, 'tiny_cnn.signature.json'));
  }
  return args;
}

const SERVING = /^crypta-runtime: serving (http:\/\/127\.0\.0\.1:\d+)$/m;

module.exports = { serviceEnv, readNpy, maxAbsDiff, assertClose, ohttpCount, run, simLaunch,
                   runtimeArgs, SERVING };

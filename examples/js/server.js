#!/usr/bin/env node
'use strict';
// A plain node:http server (no Express) in front of a confidential model: it verifies the
// crypta-runtime once at start (attestation, expected measurement), then forwards each
// POST /predict through the crypta SDK, end-to-end encrypted to the TEE, and answers JSON.
//
//   node examples/js/server.js --service http://127.0.0.1:PORT --measurement HEX \
//     [--data-dir DIR --allow-simulated] [--model tiny_cnn] [--port 8080] [--host 127.0.0.1]
// or the same through CRYPTA_SERVICE, CRYPTA_MEASUREMENT, CRYPTA_DATA_DIR, CRYPTA_MODEL, PORT.
//
//   curl -s localhost:8080/predict -H 'content-type: application/json' \
//     -d '{"input": [0.1, 0.2, ...], "shape": [1, 3, 32, 32]}'
//   -> {"model":"tiny_cnn","outputs":{"logits":{"shape":[1,10],"dtype":"float32","data":[...]}}}
// GET /healthz -> what was verified. Errors: 400 (bad input, or the model refused it),
// 502 (the service failed or its answer did not authenticate), 503 (unreachable).
const http = require('node:http');
const path = require('node:path');
const { parseArgs } = require('node:util');
// In your project: require('crypta'). Here: the package in this repository.
const crypta = require(path.resolve(__dirname, '..', '..', 'js'));

const MAX_BODY = 16 << 20;

const { values: args } = parseArgs({
  options: {
    service: { type: 'string', default: process.env.CRYPTA_SERVICE },
    measurement: { type: 'string', default: process.env.CRYPTA_MEASUREMENT },
    'data-dir': { type: 'string', default: process.env.CRYPTA_DATA_DIR },
    'sim-root': { type: 'string' },
    'allow-simulated': { type: 'boolean', default: false },
    model: { type: 'string', default: process.env.CRYPTA_MODEL || 'tiny_cnn' },
    port: { type: 'string', default: process.env.PORT || '8080' },
    host: { type: 'string', default: '127.0.0.1' },
  },
});

const TYPED = {
  float32: (v) => Float32Array.from(v),
  float64: (v) => Float64Array.from(v),
  int32: (v) => Int32Array.from(v),
  int64: (v) => BigInt64Array.from(v, (x) => BigInt(x)),
  uint8: (v) => Uint8Array.from(v),
  bool: (v) => Uint8Array.from(v, (x) => (x ? 1 : 0)),
};

// The shape of a nested array ([[1, 2], [3, 4]] -> [2, 2]).
function shapeOf(value) {
  const shape = [];
  for (let v = value; Array.isArray(v); v = v[0]) shape.push(v.length);
  return shape;
}

// {input, shape?, dtype?, name?} -> the tensor predict() takes.
function tensorFrom(body) {
  if (body === null || typeof body !== 'object' || !Array.isArray(body.input)) {
    throw new crypta.InvalidArgumentError('want {"input": [numbers], "shape": [dims]}');
  }
  const dtype = body.dtype || 'float32';
  if (!TYPED[dtype]) throw new crypta.InvalidArgumentError(`dtype: one of ${Object.keys(TYPED)}`);
  const shape = body.shape || shapeOf(body.input);
  const flat = body.input.flat(Infinity);
  if (!flat.every((x) => typeof x === 'number' || typeof x === 'boolean')) {
    throw new crypta.InvalidArgumentError('input: numbers only');
  }
  return { data: TYPED[dtype](flat), shape, dtype: dtype === 'bool' ? 'bool' : undefined };
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (chunk) => {
      size += chunk.length;
      if (size > MAX_BODY) {
        reject(new crypta.InvalidArgumentError('request body larger than 16 MiB'));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function reply(res, status, doc) {
  const text = JSON.stringify(doc);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function statusFor(e) {
  if (e instanceof crypta.InvalidArgumentError || e instanceof crypta.NotFoundError) return 400;
  if (e instanceof crypta.UnavailableError) return 503;
  if (e instanceof crypta.CryptaError) return 502;
  return 500;
}

async function main() {
  if (!args.service) throw new Error('--service URL (or CRYPTA_SERVICE) is required');
  if (!args.measurement) throw new Error('--measurement HEX (or CRYPTA_MEASUREMENT) is required');
  const simulated = args['allow-simulated'] || Boolean(args['data-dir'] || args['sim-root']);
  const svc = await crypta.verifyService(args.service, {
    expectedMeasurements: args.measurement.split(','),
    allowSimulated: simulated,
    dataDir: args['data-dir'],
    simRoot: args['sim-root'],
  });
  if (svc.simulated) {
    console.error('crypta example: SIMULATED TEE — no hardware isolation (accepted: --allow-simulated)');
  }
  const meta = await svc.metadata(args.model);
  const inputName = meta.inputs[0].name;

  const server = http.createServer(async (req, res) => {
    try {
      if (req.method === 'GET' && req.url === '/healthz') {
        return reply(res, 200, { verified: svc.isValid, service: svc.url, tee: svc.tee,
                                 simulated: svc.simulated, measurement: svc.measurement,
                                 model: args.model });
      }
      if (req.url !== '/predict') return reply(res, 404, { error: 'POST /predict or GET /healthz' });
      if (req.method !== 'POST') return reply(res, 405, { error: 'POST /predict' });
      let body;
      try {
        body = JSON.parse((await readBody(req)).toString('utf8'));
      } catch (e) {
        throw e instanceof crypta.CryptaError ? e : new crypta.InvalidArgumentError(`request body: ${e.message}`);
      }
      const outputs = await svc.predict(args.model, { [body.name || inputName]: tensorFrom(body) });
      const result = {};
      for (const [name, t] of Object.entries(outputs)) {
        result[name] = {
          shape: t.shape,
          dtype: t.dtype,
          data: t.dtype === 'int64' ? Array.from(t.data, (x) => x.toString()) : Array.from(t.data),
        };
      }
      return reply(res, 200, { model: args.model, outputs: result });
    } catch (e) {
      return reply(res, statusFor(e), { error: e.message, code: e.code || 'INTERNAL' });
    }
  });
  server.listen(Number(args.port), args.host, () => {
    const { address, port } = server.address();
    console.log(`crypta example: serving http://${address}:${port} -> ${args.model} at ${svc.url} ` +
                `(${svc.tee}, measurement ${svc.measurement.slice(0, 16)}…)`);
  });
  const stop = () => server.close(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((e) => {
  console.error(`crypta example: ${e.name}: ${e.message}`);
  process.exit(1);
});

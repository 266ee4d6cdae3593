'use strict';
// The Node.js SDK against a real crypta-runtime in the sim TEE (tests/sdk/with_service.sh
// starts `crypta up`, pushes tiny_cnn and launches the runtime): verification, predictions
// equal to scripts/make_models.py's expected output, interoperability with the C++ SDK and
// the runtime's /predict, tampered/replayed messages, concurrency.
const { describe, it, before } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const crypta = require('..');
const { serviceEnv, readNpy, assertClose, maxAbsDiff, run, ohttpCount } =
  require('../test-support/helpers');

const env = serviceEnv();
const input = readNpy(path.join(env.models, 'tiny_cnn.input.npy'));
const expected = readNpy(path.join(env.models, 'tiny_cnn.expected.npy'));
const trust = { expectedMeasurements: [env.measurement], allowSimulated: true, dataDir: env.data_dir };

async function postOhttp(data) {
  const r = await fetch(`${env.service}/v1/ohttp`, {
    method: 'POST', headers: { 'content-type': 'message/ohttp-req' }, body: data,
  });
  return { status: r.status, body: Buffer.from(await r.arrayBuffer()) };
}

async function postPredict(body) {
  const r = await fetch(`${env.service}/predict`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
  });
  return { status: r.status, json: await r.json() };
}

function oipRequest(data, shape) {
  return { inputs: [{ name: 'input', shape, datatype: 'FP32', data: Array.from(data) }] };
}

// Input i of the concurrency tests: tiny_cnn's sample scaled and shifted.
function variant(i) {
  return Float32Array.from(input.data, (v) => v * (1 + 0.25 * i) + 0.05 * i);
}

describe('verifyService', () => {
  it('verifies the sim runtime and exposes what it attested', async () => {
    const svc = await crypta.verifyService(env.service, trust);
    assert.ok(svc instanceof crypta.VerifiedService);
    assert.equal(svc.isValid, true);
    assert.equal(svc.tee, 'sim');
    assert.equal(svc.simulated, true);
    assert.equal(svc.measurement, env.measurement);
    assert.equal(svc.runtimeData.workload, 'radiology-demo');
    assert.equal(`store://radiology/tiny_cnn@${svc.runtimeData['model-digest']}`, env.model_ref);
    assert.equal(svc.claims.measurement, env.measurement);
    assert.equal(typeof svc.ohttpKeyId, 'number');
    assert.match(require('node:util').inspect(svc), /SIMULATED TEE/);
    assert.equal(svc.published, null);  // no transparency log asked for
  });

  it('accepts the sim root as a path or as PEM text, and a policy instead of a measurement',
     async () => {
       const simRoot = path.join(env.data_dir, 'sim', 'ca.pem');
       const pem = require('node:fs').readFileSync(simRoot, 'utf8');
       for (const root of [simRoot, pem, Buffer.from(pem)]) {
         const svc = await crypta.verifyService(env.service, {
           expectedMeasurements: env.measurement, allowSimulated: true, simRoot: root,
         });
         assert.equal(svc.measurement, env.measurement);
       }
       const svc = await crypta.verifyService(env.service, {
         policy: { tee: ['sim'], allow_simulated: true, measurements: [env.measurement] },
         allowSimulated: true, dataDir: env.data_dir,
       });
       assert.equal(svc.measurement, env.measurement);
       const digest = svc.runtimeData['model-digest'];
       await crypta.verifyService(env.service, { ...trust, modelDigest: digest, workload: 'radiology-demo' });
     });

  it('rejects a wrong measurement with VerificationError naming it', async () => {
    await assert.rejects(
      crypta.verifyService(env.service, { ...trust, expectedMeasurements: ['0'.repeat(96)] }),
      (e) => e instanceof crypta.VerificationError && e instanceof crypta.CryptaError &&
        e instanceof Error && e.role === 'verification' && e.code === 'PERMISSION_DENIED' &&
        e.message.includes(`measurement ${env.measurement} is not an expected measurement`));
  });

  it('refuses the simulated TEE unless allowed, and unpinned code', async () => {
    await assert.rejects(
      crypta.verifyService(env.service, { expectedMeasurements: [env.measurement] }),
      (e) => e instanceof crypta.VerificationError && /SIMULATED TEE/.test(e.message));
    await assert.rejects(
      crypta.verifyService(env.service, { allowSimulated: true, dataDir: env.data_dir }),
      (e) => e instanceof crypta.VerificationError && /no expected measurement/.test(e.message));
    await assert.rejects(
      crypta.verifyService(env.service, { ...trust, modelDigest: `sha256:${'0'.repeat(64)}` }),
      (e) => e instanceof crypta.VerificationError && /model-digest/.test(e.message));
  });

  it('rejects bad options with InvalidArgumentError before any I/O', async () => {
    await assert.rejects(crypta.verifyService(env.service, { ...trust, expectedMeasurements: ['xyz'] }),
                         crypta.InvalidArgumentError);
    await assert.rejects(crypta.verifyService(env.service, { expectedMeasurements: [env.measurement],
                                                             allowSimulated: true }),
                         (e) => e instanceof crypta.InvalidArgumentError && e.code === 'INVALID_ARGUMENT');
    await assert.rejects(crypta.verifyService(env.service, { ...trust, policy: 'tee: [' }),
                         crypta.InvalidArgumentError);
    await assert.rejects(crypta.verifyService(env.service, { ...trust, expectedMeasurments: [] }),
                         /unknown option "expectedMeasurments"/);
    await assert.rejects(crypta.verifyService(42, trust), crypta.InvalidArgumentError);
  });

  it('reports an unreachable service as UnavailableError', async () => {
    await assert.rejects(crypta.verifyService('http://127.0.0.1:9', { ...trust, timeout: 2 }),
                         (e) => e instanceof crypta.UnavailableError && e.code === 'UNAVAILABLE');
  });
});

describe('predict', () => {
  let svc;
  before(async () => { svc = await crypta.verifyService(env.service, trust); });

  it('equals the expected output', async () => {
    const out = await svc.predict('tiny_cnn', { input: { data: input.data, shape: input.shape } });
    assert.deepEqual(Object.keys(out), ['logits']);
    assert.ok(out.logits.data instanceof Float32Array);
    assert.equal(out.logits.dtype, 'float32');
    assert.deepEqual(out.logits.shape, expected.shape);
    assertClose(out.logits.data, expected.data);
  });

  it('takes one tensor (named by the metadata or inputName) and typed arrays with .shape', async () => {
    const one = await svc.predict('tiny_cnn', { data: input.data, shape: input.shape });
    assertClose(one.logits.data, expected.data);
    const shaped = Object.assign(Float32Array.from(input.data), { shape: input.shape });
    const two = await svc.predict('tiny_cnn', shaped, { inputName: 'input' });
    assertClose(two.logits.data, expected.data);
    const three = await svc.predict('tiny_cnn', { input: shaped });
    assertClose(three.logits.data, expected.data);
  });

  it('reads a typed array at an offset into a larger buffer', async () => {
    const big = new Float32Array(input.data.length + 7);
    big.set(input.data, 7);
    const view = big.subarray(7);
    const out = await svc.predict('tiny_cnn', { input: { data: view, shape: input.shape } });
    assertClose(out.logits.data, expected.data);
  });

  it('infer (OIP JSON) and metadata', async () => {
    const meta = await svc.metadata('tiny_cnn');
    assert.equal(meta.name, 'tiny_cnn');
    assert.equal(meta.inputs[0].name, 'input');
    const res = await svc.infer('tiny_cnn', oipRequest(input.data, input.shape));
    assert.equal(res.outputs[0].name, 'logits');
    assertClose(res.outputs[0].data, expected.data);
    const again = await svc.infer('tiny_cnn', JSON.stringify(oipRequest(input.data, input.shape)));
    assertClose(again.outputs[0].data, expected.data);
  });

  it('does not block the event loop', async () => {
    let ticks = 0;
    const timer = setInterval(() => { ticks += 1; }, 0);
    const pending = svc.predict('tiny_cnn', { input: { data: input.data, shape: input.shape } });
    await new Promise((resolve) => setImmediate(resolve));
    await pending;
    clearInterval(timer);
    assert.ok(ticks >= 1, 'no timer ran while the prediction was in flight');
  });

  it('rejects bad inputs with the reason', async () => {
    await assert.rejects(svc.predict('tiny_cnn', { input: { data: input.data, shape: [1, 3, 32] } }),
                         (e) => e instanceof crypta.InvalidArgumentError && /shape holds/.test(e.message));
    await assert.rejects(svc.predict('tiny_cnn', { input: { data: new Int16Array(4), shape: [4] } }),
                         (e) => e instanceof crypta.InvalidArgumentError && /Int16Array/.test(e.message));
    await assert.rejects(svc.predict('tiny_cnn', { input: { data: input.data } }),
                         /shape is required/);
    await assert.rejects(svc.predict('tiny_cnn', { input: { data: new Uint8Array(4), shape: [4], dtype: 'float32' } }),
                         /does not match/);
    // The model server's 4xx answers, decrypted: its message.
    await assert.rejects(svc.predict('tiny_cnn', { wrong: { data: input.data, shape: input.shape } }),
                         (e) => e instanceof crypta.InvalidArgumentError && e.code === 'INVALID_ARGUMENT' &&
                           /answered 400/.test(e.message));
    await assert.rejects(svc.predict('tiny_cnn', { input: { data: new Float64Array(input.data), shape: input.shape } }),
                         (e) => e instanceof crypta.InvalidArgumentError && /answered 400/.test(e.message));
    await assert.rejects(svc.predict('no_such_model', { input: { data: input.data, shape: input.shape } }),
                         (e) => e instanceof crypta.CryptaError && /answered 404/.test(e.message));
  });

  it('gives many concurrent predictions each their own result', async () => {
    const n = 16;
    const inputs = Array.from({ length: n }, (_, i) => variant(i));
    const alone = [];
    for (let i = 0; i < n; ++i) {
      alone.push((await svc.predict('tiny_cnn', { input: { data: inputs[i], shape: input.shape } })).logits.data);
    }
    for (let i = 1; i < n; ++i) {
      assert.ok(maxAbsDiff(alone[i], alone[0]) > 1e-3, `inputs 0 and ${i} give the same output`);
    }
    // One shared service, and one service per caller.
    const others = await Promise.all(Array.from({ length: 4 }, () => crypta.verifyService(env.service, trust)));
    const results = await Promise.all(inputs.map((data, i) =>
      (i % 2 ? svc : others[i % others.length]).predict('tiny_cnn', { input: { data, shape: input.shape } })));
    results.forEach((r, i) => assertClose(r.logits.data, alone[i], 1e-5, `concurrent prediction ${i}`));
  });

  it('equals the C++ SDK (`crypta predict`) on the same input', async () => {
    const stdout = await run(env.crypta, [
      'predict', env.service, '--model', 'tiny_cnn', '--input', path.join(env.models, 'tiny_cnn.input.npy'),
      '--expect-measurement', env.measurement, '--allow-simulated', '--data-dir', env.data_dir]);
    const cpp = JSON.parse(stdout);
    const js = await svc.predict('tiny_cnn', { input: { data: input.data, shape: input.shape } });
    assert.deepEqual(cpp.outputs[0].shape, js.logits.shape);
    assertClose(js.logits.data, cpp.outputs[0].data, 1e-6, 'JS vs C++ SDK');
  });
});

// Issue 17: the runtime signs a receipt into each answer; the C++ SDK verifies it, the Node
// SDK hands it back with the result, and verifyReceipt re-checks its bundle offline.
describe('receipts', () => {
  let svc;
  const simRoot = path.join(env.data_dir, 'sim', 'ca.pem');
  const sim = { allowSimulated: true, simRoot };
  before(async () => { svc = await crypta.verifyService(env.service, trust); });

  // Another base64url character at `index`.
  function flip(text, index) {
    return text.slice(0, index) + (text[index] === 'A' ? 'B' : 'A') + text.slice(index + 1);
  }

  it('predict carries a verified receipt whose bundle verifies offline', async () => {
    assert.equal(svc.issuesReceipts, true);
    const out = await svc.predict('tiny_cnn', { input: { data: input.data, shape: input.shape } },
                                  { withReceipt: true });
    assert.deepEqual(Object.keys(out), ['logits']);  // the receipt is not an output
    assertClose(out.logits.data, expected.data);
    const r = out.receipt;
    assert.ok(r instanceof crypta.Receipt);
    assert.equal(r.jws.split('.').length, 3);
    assert.equal(r.claims.measurement, env.measurement);
    assert.equal(r.claims.workload, 'radiology-demo');
    assert.match(r.claims.request_digest, /^sha256:[0-9a-f]{64}$/);
    assert.equal(JSON.parse(r.bundle).receipt, r.jws);
    const v = await crypta.verifyReceipt(r.bundle, sim);
    assert.equal(v.verified, true);
    assert.equal(v.simulated, true);
    assert.equal(v.measurement, env.measurement);
    assert.deepEqual(v.receipt, r.claims);
    // A Receipt, an object, a Buffer, a saved file (0600, also `crypta receipt verify`'s), at a time.
    assert.equal((await crypta.verifyReceipt(r, sim)).verified, true);
    assert.equal((await crypta.verifyReceipt(JSON.parse(r.bundle), sim)).verified, true);
    const file = path.join(process.cwd(), 'js-receipt.json');
    await r.save(file);
    assert.equal(require('node:fs').statSync(file).mode & 0o777, 0o600);
    assert.equal((await crypta.verifyReceipt(file, { ...sim, at: new Date() })).verified, true);
    const cli = JSON.parse(await run(env.crypta, ['receipt', 'verify', file, '--allow-simulated',
                                                  '--data-dir', env.data_dir]));
    assert.deepEqual(cli.receipt, v.receipt);
    // infer (OIP JSON) carries one too.
    const answer = await svc.infer('tiny_cnn', oipRequest(input.data, input.shape),
                                   { withReceipt: true });
    assert.equal(answer.outputs[0].name, 'logits');
    assert.notEqual(answer.receipt.claims.sequence, r.claims.sequence);
    assert.equal((await crypta.verifyReceipt(answer.receipt.bundle, sim)).verified, true);
    // Without receipts asked for, nothing changes.
    assert.equal((await svc.predict('tiny_cnn', { input: { data: input.data, shape: input.shape } }))
      .receipt, undefined);
  });

  it('refuses a flipped character of the receipt and a flipped byte of the request or response',
     async () => {
       const out = await svc.predict('tiny_cnn', { input: { data: input.data, shape: input.shape } },
                                     { withReceipt: true });
       const doc = JSON.parse(out.receipt.bundle);
       const refused = (pattern) => (e) => e instanceof crypta.VerificationError &&
         e.role === 'verification' && pattern.test(e.message);
       await assert.rejects(crypta.verifyReceipt(doc), refused(/^attestation: /));
       await assert.rejects(crypta.verifyReceipt(doc, { allowSimulated: true }),
                            (e) => e instanceof crypta.InvalidArgumentError);
       const dots = [...doc.receipt].flatMap((c, i) => (c === '.' ? [i] : []));
       for (const index of [5, dots[0] + 10, dots[1] + 10]) {
         await assert.rejects(crypta.verifyReceipt({ ...doc, receipt: flip(doc.receipt, index) }, sim),
                              refused(/^receipt: /));
       }
       for (const [field, check] of [['response_b64', /response_digest/],
                                     ['request_b64', /request_digest/]]) {
         const raw = Buffer.from(doc[field], 'base64');
         raw[raw.length >> 1] ^= 1;
         await assert.rejects(
           crypta.verifyReceipt({ ...doc, [field]: raw.toString('base64') }, sim),
           (e) => refused(check)(e) && e.code === 'UNAUTHENTICATED');
       }
       await assert.rejects(crypta.verifyReceipt(out.receipt.bundle.slice(0, -2), sim),
                            refused(/receipt bundle/));
     });
});

// Issue 17: with `transparency` (the control plane's URL), the service's measurement and model
// digest must be published in the release log, checked by the C++ SDK before anything is sent.
describe('release transparency', () => {
  const fs = require('node:fs');
  const crypto = require('node:crypto');
  const log = fs.readFileSync(path.join(env.data_dir, 'url'), 'utf8').trim();
  const vkey = path.join(env.data_dir, 'release-log.vkey');
  let dir;
  let state;
  let platform;
  before(() => {
    dir = fs.mkdtempSync(path.join(process.cwd(), 'transparency-'));  // a scratch dir
    state = path.join(dir, 'state.json');
    platform = new crypta.Platform({ dataDir: env.data_dir });
  });
  const refused = (pattern, code = 'PERMISSION_DENIED') => (e) =>
    e instanceof crypta.VerificationError && e.code === code && pattern.test(e.message);
  // A well-formed signed-note verifier key named `name` that is not the log's.
  function otherVerifierKey(name) {
    const { publicKey } = crypto.generateKeyPairSync('ed25519');
    const pub = Buffer.from(publicKey.export({ format: 'jwk' }).x, 'base64url');
    const blob = Buffer.concat([Buffer.from([1]), pub]);
    const id = crypto.createHash('sha256').update(Buffer.concat([Buffer.from(`${name}\n`), blob]))
      .digest().subarray(0, 4).toString('hex');
    return `${name}+${id}+${blob.toString('base64')}`;
  }

  it('accepts a published service, exposes the release, refuses forks and rollbacks', async () => {
    const digest = env.model_ref.split('@')[1];
    const before = await ohttpCount(env.service);
    await assert.rejects(
      crypta.verifyService(env.service, { ...trust, transparency: log, transparencyState: state }),
      refused(/not published/));
    assert.equal(fs.existsSync(state), false);

    const published = await platform.request('POST', '/v1/transparency/releases', {
      tenant: 'radiology', workload: 'radiology-demo', measurement: env.measurement,
      model_digest: digest, note: 'sdk.js',
    });
    const { origin } = await platform.request('GET', '/v1/transparency/key');
    const s = await crypta.verifyService(env.service, {
      ...trust, tenant: 'radiology', transparency: log, transparencyState: state,
    });
    const p = s.published;
    assert.equal(p.index, published.index);
    assert.equal(p.tenant, 'radiology');
    assert.equal(p.workload, 'radiology-demo');
    assert.equal(p.measurement, env.measurement);
    assert.equal(p.modelDigest, digest);
    assert.equal(p.hostData, '');
    assert.equal(p.note, 'sdk.js');
    assert.ok(p.time > 0);
    assert.equal(p.origin, origin);
    assert.ok(p.checkpointSize > p.index);
    assert.equal(p.stateFile, state);
    assert.ok(Object.isFrozen(p));
    const remembered = JSON.parse(fs.readFileSync(state, 'utf8'));
    assert.equal(remembered.size, p.checkpointSize);
    // The log key from a file, and the log as the reference list of a policy with
    // require_published (no measurements).
    const policy = { tee: ['sim'], allow_simulated: true, require_published: true };
    const byPolicy = await crypta.verifyService(env.service, {
      policy, allowSimulated: true, dataDir: env.data_dir, transparency: log, logKey: vkey,
      transparencyState: state,
    });
    assert.equal(byPolicy.published.index, p.index);

    // Refused: another tenant's release; a log key that did not sign the checkpoint; a
    // remembered checkpoint of the same size with another root (fork) or a larger one
    // (rollback); require_published without a log.
    await assert.rejects(
      crypta.verifyService(env.service, {
        ...trust, tenant: 'cardiology', transparency: log, transparencyState: state,
      }),
      refused(/not published/));
    await assert.rejects(
      crypta.verifyService(env.service, {
        ...trust, transparency: log, logKey: otherVerifierKey(origin), transparencyState: state,
      }),
      refused(/transparency: checkpoint signature/, 'UNAUTHENTICATED'));
    const forged = path.join(dir, 'forged.json');
    for (const [size, what] of [[remembered.size, /fork:/], [remembered.size + 5, /rollback:/]]) {
      fs.writeFileSync(forged, JSON.stringify({
        origin, root: crypto.randomBytes(32).toString('base64'), size, v: 1,
      }));
      await assert.rejects(
        crypta.verifyService(env.service, { ...trust, transparency: log, transparencyState: forged }),
        refused(what));
    }
    await assert.rejects(
      crypta.verifyService(env.service, { policy, allowSimulated: true, dataDir: env.data_dir }),
      refused(/require_published/));
    assert.equal(await ohttpCount(env.service), before);
    // Eight fresh attestations just now: let the runtime's limit (10/s, burst 20) refill.
    await new Promise((resolve) => setTimeout(resolve, 1000));
  });

  it('rejects the log\'s companions without the log, and tenant without workload or log',
     async () => {
       const invalidNaming = (pattern) => (e) =>
         e instanceof crypta.InvalidArgumentError && e.code === 'INVALID_ARGUMENT' &&
         pattern.test(e.message);
       await assert.rejects(crypta.verifyService(env.service, { ...trust, logKey: vkey }),
                            invalidNaming(/transparency/));
       await assert.rejects(
         crypta.verifyService(env.service, { ...trust, transparencyState: state }),
         invalidNaming(/transparency/));
       await assert.rejects(crypta.verifyService(env.service, { ...trust, tenant: 'radiology' }),
                            invalidNaming(/workload/));
       await assert.rejects(crypta.verifyService(env.service, { ...trust, transparency: 42 }),
                            invalidNaming(/transparency/));
     });
});

describe('encrypt / decrypt', () => {
  let svc;
  let other;
  before(async () => {
    svc = await crypta.verifyService(env.service, trust);
    other = await crypta.verifyService(env.service, trust);
  });

  it('round-trips through the runtime\'s /predict (JSON + base64), and a replay is refused', async () => {
    const body = JSON.stringify(oipRequest(input.data, input.shape));
    const req = await svc.encrypt(body, { path: '/v2/models/tiny_cnn/infer', contentType: 'application/json' });
    assert.ok(Buffer.isBuffer(req.data));
    assert.equal(req.predictBody().encrypted_input, req.data.toString('base64'));
    const answer = await postPredict(req.predictBody());
    assert.equal(answer.status, 200);
    assert.equal(answer.json.success, true);
    const res = await req.readPredictResult(answer.json);
    assert.equal(res.status, 200);
    assert.ok(res.ok);
    assertClose(res.json().outputs[0].data, expected.data);
    // The same text, as a string and as a Buffer.
    const text = JSON.stringify(answer.json);
    assertClose((await req.readPredictResult(text)).json().outputs[0].data, expected.data);
    assertClose((await req.readPredictResult(Buffer.from(text))).json().outputs[0].data, expected.data);

    // The runtime refuses a reused encapsulated key.
    const replay = await postPredict(req.predictBody());
    assert.equal(replay.status, 400);
    assert.equal(replay.json.success, false);
    assert.match(replay.json.error, /replay/);
    await assert.rejects(req.readPredictResult(replay.json),
                         (e) => e instanceof crypta.ServerError && /replay/.test(e.message));
  });

  it('send() is encrypt + POST /v1/ohttp + decrypt', async () => {
    const res = await svc.send(null, { method: 'GET', path: '/v2/models/tiny_cnn' });
    assert.ok(res instanceof crypta.Response);
    assert.equal(res.status, 200);
    assert.equal(res.json().name, 'tiny_cnn');
    const missing = await svc.send('', { method: 'GET', path: '/v2/models/nope' });
    assert.equal(missing.status, 404);
    assert.throws(() => missing.raiseForStatus(), crypta.InvalidArgumentError);
  });

  it('rejects tampered, replayed and other requests\' responses', async () => {
    const meta = { method: 'GET', path: '/v2/models/tiny_cnn' };
    const spoiled = await svc.encrypt('', meta);
    const req = await svc.encrypt('', meta);
    const bobs = await other.encrypt('', meta);
    assert.notDeepEqual(spoiled.data, req.data);

    // A tampered request (one bit of the AEAD ciphertext) is refused by the gateway.
    const tampered = Buffer.from(spoiled.data);
    tampered[tampered.length - 1] ^= 1;
    assert.equal((await postOhttp(tampered)).status, 400);

    const reply = await postOhttp(req.data);
    assert.equal(reply.status, 200);
    const opened = await svc.decrypt(req, reply.body);
    assert.equal(opened.json().name, 'tiny_cnn');

    // Another request's context does not open it.
    await assert.rejects(bobs.decrypt(reply.body),
                         (e) => e instanceof crypta.ResponseError && e.code === 'UNAUTHENTICATED' &&
                           e.role === 'response');
    // Nor one of the same service.
    await assert.rejects(spoiled.decrypt(reply.body), crypta.ResponseError);
    // A tampered response does not authenticate.
    const flipped = Buffer.from(reply.body);
    flipped[flipped.length >> 1] ^= 0x40;
    await assert.rejects(req.decrypt(flipped), crypta.ResponseError);
    await assert.rejects(req.decrypt(reply.body.subarray(0, 10)), crypta.CryptaError);
    // The genuine response still opens with its own context.
    assert.equal((await req.decrypt(reply.body)).status, 200);

    // The same encapsulated request again is a replay.
    const replay = await postOhttp(req.data);
    assert.equal(replay.status, 400);
    assert.match(replay.body.toString(), /replay/);
  });

  it('answers concurrent encrypt/decrypt pairs each with its own context', async () => {
    const reqs = await Promise.all(Array.from({ length: 8 }, (_, i) =>
      svc.encrypt(JSON.stringify(oipRequest(variant(i), input.shape)),
                  { path: '/v2/models/tiny_cnn/infer', contentType: 'application/json' })));
    const replies = await Promise.all(reqs.map((r) => postOhttp(r.data)));
    const opened = await Promise.all(reqs.map((r, i) => r.decrypt(replies[i].body)));
    for (let i = 0; i < reqs.length; ++i) {
      const want = (await svc.predict('tiny_cnn', { input: { data: variant(i), shape: input.shape } })).logits.data;
      assertClose(opened[i].json().outputs[0].data, want, 1e-5, `request ${i}`);
    }
    // Swapped contexts never open.
    await assert.rejects(reqs[0].decrypt(replies[1].body), crypta.ResponseError);
  });

  it('validates its arguments', async () => {
    await assert.rejects(svc.encrypt(42), crypta.InvalidArgumentError);
    await assert.rejects(svc.encrypt('', { path: 'no-slash' }), crypta.InvalidArgumentError);
    await assert.rejects(svc.decrypt({}, Buffer.alloc(1)), crypta.InvalidArgumentError);
    const req = await svc.encrypt('x', { path: '/v2/models/tiny_cnn' });
    await assert.rejects(req.readPredictResult({ success: true, encrypted_result: '!!' }),
                         crypta.InvalidArgumentError);
    await assert.rejects(req.readPredictResult('not json'), crypta.InvalidArgumentError);
  });
});

'use strict';
// Platform.encryptModel -> launch a crypta-runtime on the sealed model -> verify + predict,
// on a runtime of its own (so that its /metrics count only this file's requests): a client
// expecting another measurement sends nothing; TEEEnvironment inside `crypta sim launch`
// opens the same model and data sealed by Platform.encryptData.
const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const crypta = require('..');
const {
  serviceEnv, readNpy, assertClose, ohttpCount, run, simLaunch, runtimeArgs, SERVING,
} = require('../test-support/helpers');

const env = serviceEnv();
const dd = ['--data-dir', env.data_dir];
const modelFile = path.join(env.models, 'tiny_cnn.pt');
const signatureFile = path.join(env.models, 'tiny_cnn.signature.json');
const input = readNpy(path.join(env.models, 'tiny_cnn.input.npy'));
const expected = readNpy(path.join(env.models, 'tiny_cnn.expected.npy'));
const KEY = 'models-js';

describe('Platform', () => {
  let platform;
  let ref;
  let runtime;
  let runtimeUrl;
  let measurement;
  let sealed;
  const secret = Buffer.from(`patient records ${crypto.randomUUID()}`);

  before(async () => {
    platform = new crypta.Platform({ dataDir: env.data_dir });
    // A key of this file's own, whose release policy names this file's workloads.
    await run(env.crypta, ['key', 'create', '--tenant', 'radiology', KEY, ...dd]);
  });

  after(async () => {
    if (runtime) await runtime.stop();
  });

  it('finds the control plane from the data dir, or from url + token', async () => {
    assert.equal(platform.url.replace(/\/$/, ''), env.platform.replace(/\/$/, ''));
    const token = fs.readFileSync(path.join(env.data_dir, 'admin.token'), 'utf8').trim();
    const explicit = new crypta.Platform({ url: env.platform, token });
    assert.ok((await explicit.tenants()).some((t) => t.name === 'radiology' || t.id === 'radiology'));
    assert.throws(() => new crypta.Platform({ dataDir: path.join(env.data_dir, 'missing') }),
                  crypta.UnavailableError);
    const wrong = new crypta.Platform({ url: env.platform, token: 'not-a-token' });
    await assert.rejects(wrong.models('radiology'), crypta.UnauthenticatedError);
    assert.throws(() => new crypta.Platform({ url: 'ftp://x', token }), crypta.InvalidArgumentError);
  });

  it('encryptModel seals and pushes a model: a store:// reference', async () => {
    ref = await platform.encryptModel(modelFile, {
      tenant: 'radiology', key: KEY, name: 'tiny_cnn_js', signature: signatureFile,
    });
    assert.match(ref, /^store:\/\/radiology\/tiny_cnn_js@sha256:[0-9a-f]{64}$/);
    // The signature as an object, and the whole answer.
    const pushed = await platform.pushModel(modelFile, {
      tenant: 'radiology', key: KEY, name: 'tiny_cnn_js2',
      signature: JSON.parse(fs.readFileSync(signatureFile, 'utf8')), backend: 'torchscript',
    });
    assert.match(pushed.reference, /^store:\/\/radiology\/tiny_cnn_js2@sha256:[0-9a-f]{64}$/);
    assert.ok(pushed.size > 0);
    assert.equal(typeof pushed.kekVersion, 'number');
    assert.equal(typeof pushed.record, 'object');
    const models = await platform.models('radiology');
    assert.ok(JSON.stringify(models).includes('tiny_cnn_js'), JSON.stringify(models));
    const keys = await platform.keys('radiology');
    assert.ok(JSON.stringify(keys).includes(KEY), JSON.stringify(keys));
    const audit = await platform.auditTail(50);
    assert.ok(Array.isArray(audit) && audit.length > 0);
    await assert.rejects(platform.encryptModel(modelFile, { tenant: 'no-such-tenant', key: KEY,
                                                            signature: signatureFile }),
                         (e) => e instanceof crypta.CryptaError && !(e instanceof crypta.VerificationError));
    await assert.rejects(platform.encryptModel(modelFile, { key: KEY }), crypta.InvalidArgumentError);
    await assert.rejects(platform.keys('no-such-tenant'), crypta.NotFoundError);
    await assert.rejects(platform.request('POST', '/v1/tenants', { name: 'radiology' }),
                         crypta.AlreadyExistsError);
  });

  it('encryptModel checks the model before sealing it (crypta-model-check)', async (t) => {
    const checker = path.join(path.dirname(env.crypta), 'crypta-model-check');
    if (!fs.existsSync(checker)) {
      t.skip(`${checker} was not built`);
      return;
    }
    const saved = process.env.CRYPTA_MODEL_CHECK;
    process.env.CRYPTA_MODEL_CHECK = checker;
    try {
      fs.writeFileSync('random.pt', crypto.randomBytes(4096));
      await assert.rejects(
        platform.encryptModel(path.resolve('random.pt'), {
          tenant: 'radiology', key: KEY, signature: signatureFile, check: true,
        }),
        (e) => e instanceof crypta.InvalidArgumentError && e.code === 'INVALID_ARGUMENT');
      assert.ok(!JSON.stringify(await platform.models('radiology')).includes('"random"'));
      await assert.rejects(platform.encryptModel(modelFile, { tenant: 'radiology', key: KEY, check: 'yes' }),
                           crypta.InvalidArgumentError);
    } finally {
      if (saved === undefined) delete process.env.CRYPTA_MODEL_CHECK;
      else process.env.CRYPTA_MODEL_CHECK = saved;
    }
  });

  it('encryptData seals data for attested workloads', async () => {
    sealed = await platform.encryptData(secret, { tenant: 'radiology', key: KEY });
    assert.ok(Buffer.isBuffer(sealed.blob));
    assert.ok(!sealed.blob.includes(secret));
    assert.equal(typeof sealed.objectId, 'string');
    assert.ok(sealed.objectId.length > 0);
  });

  it('launches a runtime on the sealed model; a wrong measurement sends nothing', async () => {
    const args = runtimeArgs(env, ref, 'radiology-js');
    measurement = (await run(env.crypta, ['sim', 'measure', ...dd, '--', env.runtime, ...args]))
      .trim().split('\n').pop();
    assert.match(measurement, /^[0-9a-f]{96}$/);
    fs.writeFileSync('policy-js.yaml',
                     `tee: [sim]\nallow_simulated: true\nmeasurements: [${measurement}]\n`);
    await run(env.crypta, ['policy', 'set', '--tenant', 'radiology', '--key', KEY, '-f',
                           'policy-js.yaml', ...dd]);
    runtime = simLaunch(env.crypta, env.data_dir, [env.runtime, ...args], SERVING);
    runtimeUrl = (await runtime.ready)[1];

    assert.equal(await ohttpCount(runtimeUrl), 0);
    await assert.rejects(
      crypta.verifyService(runtimeUrl, { expectedMeasurements: [env.measurement], allowSimulated: true,
                                         dataDir: env.data_dir }),
      (e) => e instanceof crypta.VerificationError &&
        e.message.includes(`measurement ${measurement} is not an expected measurement`));
    await assert.rejects(crypta.verifyService(runtimeUrl, { expectedMeasurements: [measurement] }),
                         crypta.VerificationError);
    assert.equal(await ohttpCount(runtimeUrl), 0, 'an OHTTP request reached the runtime');
  });

  it('verify + predict on the runtime serving the model encryptModel pushed', async () => {
    const svc = await crypta.verifyService(runtimeUrl, {
      expectedMeasurements: [measurement], allowSimulated: true, dataDir: env.data_dir,
      modelDigest: ref.slice(ref.indexOf('@') + 1), workload: 'radiology-js',
    });
    assert.equal(svc.measurement, measurement);
    const out = await svc.predict('tiny_cnn_js', { input: { data: input.data, shape: input.shape } });
    assertClose(out.logits.data, expected.data);
    assert.ok(await ohttpCount(runtimeUrl) > 0);
  });

  it('TEEEnvironment inside `crypta sim launch` opens the model and the sealed data', async () => {
    // A Node workload in the sim TEE: its measurement (node, the script path, its arguments)
    // joins the key's release policy.
    const script = path.resolve('tee-workload.js');
    fs.writeFileSync(script, `'use strict';
const crypto = require('node:crypto');
const fs = require('node:fs');
const crypta = require(${JSON.stringify(path.resolve(__dirname, '..'))});
(async () => {
  const [broker, ref, blobFile, objectId] = process.argv.slice(2);
  const tee = new crypta.TEEEnvironment({ brokerUrl: broker });
  const model = await tee.loadEncryptedModel(ref);
  const data = await tee.decryptData(fs.readFileSync(blobFile), objectId);
  const resealed = await tee.encryptData(Buffer.from('answer'), fs.readFileSync(blobFile), objectId);
  console.log(JSON.stringify({
    tee: tee.tee, simulated: tee.simulated, ear: tee.earToken.length > 0,
    model: crypto.createHash('sha256').update(model).digest('hex'),
    name: tee.lastModelMetadata && tee.lastModelMetadata.name,
    data: data.toString('base64'), resealed: resealed.toString('base64'),
  }));
})().catch((e) => { console.error(e.name, e.code, e.message); process.exit(3); });
`);
    fs.writeFileSync('sealed.bin', sealed.blob);
    const argv = [process.execPath, script, env.platform, ref, path.resolve('sealed.bin'), sealed.objectId];
    const nodeMeasurement = (await run(env.crypta, ['sim', 'measure', ...dd, '--', ...argv]))
      .trim().split('\n').pop();
    fs.writeFileSync('policy-js.yaml', 'tee: [sim]\nallow_simulated: true\n' +
                     `measurements: [${measurement}, ${nodeMeasurement}]\n`);
    await run(env.crypta, ['policy', 'set', '--tenant', 'radiology', '--key', KEY, '-f',
                           'policy-js.yaml', ...dd]);
    const workload = simLaunch(env.crypta, env.data_dir, argv, /^(\{.*\})$/m);
    let result;
    try {
      result = JSON.parse((await workload.ready)[1]);
    } finally {
      await workload.stop();
    }
    assert.equal(result.tee, 'sim');
    assert.equal(result.simulated, true);
    assert.equal(result.ear, true);
    assert.equal(result.model, crypto.createHash('sha256').update(fs.readFileSync(modelFile)).digest('hex'));
    assert.equal(Buffer.from(result.data, 'base64').toString(), secret.toString());
    assert.ok(Buffer.from(result.resealed, 'base64').length > 0);

    // Outside a TEE there is no attester.
    const saved = process.env.CRYPTA_SIM_SOCKET;
    delete process.env.CRYPTA_SIM_SOCKET;
    try {
      assert.throws(() => new crypta.TEEEnvironment({ brokerUrl: env.platform }), crypta.CryptaError);
    } finally {
      if (saved !== undefined) process.env.CRYPTA_SIM_SOCKET = saved;
    }
  });
});

'use strict';
// Text generation through the Node.js SDK (issue 18) against the second runtime of
// tests/sdk/with_service.sh, which serves the tiny GPT (scripts/make_models.py): streamed tokens
// equal generate()'s text and torch's own greedy continuation, the stream's receipt verifies
// with `crypta receipt verify`, errors reject with the SDK's classes, a stream damaged in
// transit rejects instead of ending, and leaving a stream early does not hang.
const { describe, it, before } = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const readline = require('node:readline');
const crypta = require('..');
const { serviceEnv, run } = require('../test-support/helpers');

const env = serviceEnv();
for (const n of ['CRYPTA_TEST_GEN_SERVICE', 'CRYPTA_TEST_GEN_MEASUREMENT']) {
  if (!process.env[n]) throw new Error(`${n} is not set: run under tests/sdk/with_service.sh`);
}
const genUrl = process.env.CRYPTA_TEST_GEN_SERVICE;
const genMeasurement = process.env.CRYPTA_TEST_GEN_MEASUREMENT;
const cases = JSON.parse(fs.readFileSync(path.join(env.models, 'tiny_gpt.expected.json'), 'utf8'));
const trust = { expectedMeasurements: [genMeasurement], allowSimulated: true, dataDir: env.data_dir };
const STREAM_PROXY = path.join(__dirname, '..', '..', 'tests', 'runtime', 'ohttp_stream_proxy.py');

async function collect(stream) {
  const tokens = [];
  for await (const token of stream) tokens.push(token);
  return tokens;
}

describe('generate and generateStream', () => {
  let svc;
  before(async () => { svc = await crypta.verifyService(genUrl, trust); });

  it('streams torch\'s greedy text token by token, with a receipt that verifies', async () => {
    assert.equal(svc.issuesReceipts, true);
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'crypta-gen-'));
    try {
      for (const [i, c] of cases.entries()) {
        const stream = svc.generateStream('tiny_gpt', c.prompt, { maxTokens: c.max_tokens });
        assert.ok(stream instanceof crypta.GenerationStream);
        assert.equal(stream.receipt, null);
        assert.throws(() => stream.receiptBundle(),
                      (e) => e instanceof crypta.FailedPreconditionError && /not ended/.test(e.message));
        // The event loop turns while the stream waits for its first token on a worker thread
        // (a blocking next() would settle before a setImmediate callback could run).
        let turned = false;
        setImmediate(() => { turned = true; });
        const first = await stream.next();
        assert.equal(turned, true);
        assert.equal(first.done, false);
        const tokens = [first.value, ...await collect(stream)];
        assert.ok(tokens.every((t) => typeof t === 'string' && t.length > 0));
        assert.ok(tokens.length > 1, `one event per token, got ${JSON.stringify(tokens)}`);
        assert.equal(tokens.join(''), c.text_output);
        assert.equal(await svc.generate('tiny_gpt', c.prompt, { maxTokens: c.max_tokens }),
                     c.text_output);
        // Ended whole: the runtime's receipt over the request and every event.
        assert.equal(stream.done, true);
        assert.deepEqual(await stream.next(), { value: undefined, done: true });
        assert.equal(stream.receipt.split('.').length, 3);
        const bundle = stream.receiptBundle();
        assert.equal(JSON.parse(bundle).receipt, stream.receipt);
        const file = path.join(tmp, `stream-${i}.json`);
        fs.writeFileSync(file, bundle);
        const cli = JSON.parse(await run(env.crypta, ['receipt', 'verify', file, '--allow-simulated',
                                                      '--data-dir', env.data_dir]));
        assert.equal(cli.verified, true);
        assert.equal(cli.receipt.measurement, genMeasurement);
        assert.equal(cli.receipt.workload, 'radiology-gen');
        const sdk = await crypta.verifyReceipt(bundle, {
          allowSimulated: true, simRoot: path.join(env.data_dir, 'sim', 'ca.pem'),
        });
        assert.deepEqual(sdk.receipt, cli.receipt);
      }
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
    // maxTokens defaults to 16: a prefix of the 24-token continuation.
    assert.equal(await svc.generate('tiny_gpt', cases[0].prompt), cases[0].text_output.slice(0, 16));
  });

  it('rejects with the SDK\'s error classes', async () => {
    const ascii = (e) => e instanceof crypta.InvalidArgumentError &&
      e.code === 'INVALID_ARGUMENT' && /printable ASCII/.test(e.message);
    await assert.rejects(svc.generate('tiny_gpt', 'café'), ascii);
    const stream = svc.generateStream('tiny_gpt', 'café');
    await assert.rejects(collect(stream), ascii);
    await assert.rejects(stream.next(), ascii);  // and again: never a quiet end
    assert.equal(stream.receipt, null);
    const missing = (e) => e instanceof crypta.NotFoundError && e.code === 'NOT_FOUND' &&
      /no_such_model/.test(e.message);
    await assert.rejects(svc.generate('no_such_model', 'hi'), missing);
    await assert.rejects(collect(svc.generateStream('no_such_model', 'hi')), missing);
    await assert.rejects(collect(svc.generateStream('no/such model', 'hi')),
                         (e) => e instanceof crypta.InvalidArgumentError && /model/.test(e.message));
    await assert.rejects(svc.generate('tiny_gpt', 'hi', { maxTokens: 5000 }),
                         (e) => e instanceof crypta.InvalidArgumentError && /max_tokens/.test(e.message));
    await assert.rejects(collect(svc.generateStream('tiny_gpt', 'hi', { maxTokens: 0 })),
                         (e) => e instanceof crypta.InvalidArgumentError && /maxTokens/.test(e.message));
    await assert.rejects(svc.generate('tiny_gpt', 42), crypta.InvalidArgumentError);
    await assert.rejects(svc.generate('tiny_gpt', 'hi', { maxTokes: 3 }), /unknown option "maxTokes"/);
    await assert.rejects(svc.generate('tiny_cnn', 'hi'), crypta.CryptaError);
  });

  it('closes early without hanging, and serves on', async () => {
    const c = cases[2];
    const stream = svc.generateStream('tiny_gpt', c.prompt, { maxTokens: 200 });
    let first = null;
    const start = Date.now();
    for await (const token of stream) {
      first = token;
      break;  // calls return(): closes the stream
    }
    assert.ok(Date.now() - start < 30000);
    assert.equal(first, c.text_output[0]);
    assert.deepEqual(await stream.next(), { value: undefined, done: true });
    assert.equal(stream.receipt, null);
    assert.equal(stream.done, false);
    assert.throws(() => stream.receiptBundle(), crypta.FailedPreconditionError);
    await stream.close();  // twice is fine
    const other = svc.generateStream('tiny_gpt', c.prompt, { maxTokens: 200 });
    assert.equal((await other.next()).value, c.text_output[0]);
    await other.close();
    svc.generateStream('tiny_gpt', c.prompt, { maxTokens: 200 });  // dropped unread
    assert.equal(await svc.generate('tiny_gpt', c.prompt, { maxTokens: c.max_tokens }), c.text_output);
  });

  it('runs streams concurrently', async () => {
    const all = await Promise.all([0, 1, 2, 3, 4, 5].map(async (i) => {
      const c = cases[i % cases.length];
      return (await collect(svc.generateStream('tiny_gpt', c.prompt, { maxTokens: c.max_tokens })))
        .join('') === c.text_output;
    }));
    assert.deepEqual(all, [true, true, true, true, true, true]);
  });

  for (const [mode, want, codes] of [
    // Cut inside the final chunk: it does not open (cut at a chunk boundary: DATA_LOSS).
    ['cut', /truncated|final chunk/, ['UNAUTHENTICATED', 'DATA_LOSS']],
    ['flip', /authenticat|does not open|tag/, ['UNAUTHENTICATED']],
  ]) {
    it(`rejects a stream damaged in transit (${mode}) instead of ending it`, async () => {
      const port = genUrl.split(':').pop();
      const proxy = spawn('/usr/bin/python3', [STREAM_PROXY, port, mode],
                          { stdio: ['ignore', 'pipe', 'inherit'] });
      try {
        const line = await new Promise((resolve, reject) => {
          readline.createInterface({ input: proxy.stdout }).once('line', resolve);
          proxy.once('exit', (code) => reject(new Error(`proxy exited ${code}`)));
        });
        const through = await crypta.verifyService(`http://127.0.0.1:${line.trim()}`, trust);
        const stream = through.generateStream('tiny_gpt', 'Hello', { maxTokens: 8 });
        const tokens = [];
        await assert.rejects((async () => {
          for await (const token of stream) tokens.push(token);
        })(), (e) => e instanceof crypta.CryptaError && codes.includes(e.code) &&
          (e.code !== 'UNAUTHENTICATED' || e instanceof crypta.ResponseError) &&
          want.test(e.message));
        assert.ok(tokens.length <= 8);
        assert.equal(stream.done, false);
        assert.equal(stream.receipt, null);
      } finally {
        proxy.kill();
      }
    });
  }
});

'use strict';
/**
 * crypta — call confidential AI models from Node.js.
 *
 * The protocol and every security check live in crypta's C++ client SDK; this package binds
 * it (crypta.node, a Node-API addon). Entry points:
 *
 *   const crypta = require('crypta');
 *   const svc = await crypta.verifyService('http://10.0.0.5:8443', {
 *     expectedMeasurements: ['9f2c...'],
 *   });
 *   const out = await svc.predict('resnet', { input: { data: image, shape: [1, 3, 224, 224] } });
 *
 * - verifyService: verify a crypta-runtime's attestation (fresh nonce, evidence against
 *   pinned vendor roots, report_data binding its OHTTP key, your expectations) and get a
 *   VerifiedService that sends requests only that TEE can read.
 * - Platform: the control plane's admin side (seal and push models, seal data, list models,
 *   keys, audit).
 * - TEEEnvironment: inside a TEE, load sealed models and data by attestation.
 *
 * Text generation: `await svc.generate('tiny_gpt', 'Hello')`, or streamed,
 * `for await (const token of svc.generateStream('tiny_gpt', 'Hello')) ...`.
 *
 * Every network or cryptographic call returns a Promise and runs off the event loop. Errors
 * are CryptaError subclasses with `.code` (the C++ error code, e.g. "UNAUTHENTICATED") and
 * `.role`.
 */

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { fileURLToPath } = require('node:url');

// ---------------------------------------------------------------------------------------------
// Errors.

/** Base class of every crypta error. */
class CryptaError extends Error {
  constructor(message, options) {
    super(message, options && options.cause !== undefined ? { cause: options.cause } : undefined);
    this.name = new.target.name;
    const role = (options && options.role) || ROLE_OF.get(new.target) || 'error';
    /** The C++ SDK's error code name, e.g. "UNAUTHENTICATED", "INVALID_ARGUMENT". */
    this.code = (options && options.code) || DEFAULT_CODE[role] || 'UNKNOWN';
    /** What kind of failure this is (the class's role, as in the Python SDK). */
    this.role = role;
  }
}
/** The service was refused: its attestation did not verify or did not meet your
 * expectations. Nothing was sent to it. */
class VerificationError extends CryptaError {}
/** A server could not be reached, timed out or is overloaded. */
class UnavailableError extends CryptaError {}
/** A response did not authenticate: tampered with, replayed, or another request's answer. */
class ResponseError extends CryptaError {}
/** The model server (inside the TEE) answered an error (5xx), e.g. the model failed. */
class ServerError extends CryptaError {}
/** Malformed input: a bad option, a tensor the model does not take (the model server's 4xx
 * answers too, with its message). */
class InvalidArgumentError extends CryptaError {}
/** Authenticated but not allowed, e.g. a key release refused by policy. */
class PermissionDeniedError extends CryptaError {}
/** Missing or bad credentials (API token), or evidence the key broker did not accept. */
class UnauthenticatedError extends CryptaError {}
/** The tenant, key, model or object does not exist. */
class NotFoundError extends CryptaError {}
/** The object exists already. */
class AlreadyExistsError extends CryptaError {}
/** Well-formed but not acceptable now, e.g. not inside a TEE. */
class FailedPreconditionError extends CryptaError {}
/** A size cap or rate limit was hit. */
class ResourceExhaustedError extends CryptaError {}

const ROLES = {
  error: CryptaError,
  verification: VerificationError,
  unavailable: UnavailableError,
  response: ResponseError,
  server: ServerError,
  invalid_argument: InvalidArgumentError,
  permission_denied: PermissionDeniedError,
  unauthenticated: UnauthenticatedError,
  not_found: NotFoundError,
  already_exists: AlreadyExistsError,
  failed_precondition: FailedPreconditionError,
  resource_exhausted: ResourceExhaustedError,
};
const ROLE_OF = new Map(Object.entries(ROLES).map(([role, cls]) => [cls, role]));
// The code an error made in JavaScript carries when none is given.
const DEFAULT_CODE = {
  error: 'UNKNOWN',
  verification: 'PERMISSION_DENIED',
  unavailable: 'UNAVAILABLE',
  response: 'UNAUTHENTICATED',
  server: 'INTERNAL',
  invalid_argument: 'INVALID_ARGUMENT',
  permission_denied: 'PERMISSION_DENIED',
  unauthenticated: 'UNAUTHENTICATED',
  not_found: 'NOT_FOUND',
  already_exists: 'ALREADY_EXISTS',
  failed_precondition: 'FAILED_PRECONDITION',
  resource_exhausted: 'RESOURCE_EXHAUSTED',
};

function makeError(cls, message, code) {
  return new cls(message, { code });
}
function invalid(message) {
  return new InvalidArgumentError(message);
}

// ---------------------------------------------------------------------------------------------
// The addon.

const ADDON_FILE = process.env.CRYPTA_NODE_ADDON
  ? path.resolve(process.env.CRYPTA_NODE_ADDON)
  : path.resolve(__dirname, '..', 'build', 'js', 'crypta.node');

function loadAddon() {
  const file = ADDON_FILE;
  if (!fs.existsSync(file)) {
    throw new Error(
      `crypta: the native addon ${file} does not exist. Build it first: run \`make build\` ` +
        'in the crypta repository (it writes build/js/crypta.node), or point CRYPTA_NODE_ADDON ' +
        'at a crypta.node.');
  }
  return require(file);
}
const native = loadAddon();
native.setErrorClasses(ROLES);

// ---------------------------------------------------------------------------------------------
// Options: text given directly, or read from a path.

const MAX_FILE = 1 << 20;

function isPathLike(value) {
  return value instanceof URL;
}

/** Text given directly (string, Buffer, Uint8Array), or read from a path (a URL, or a string
 * naming an existing file). */
async function readText(value, what) {
  if (value === undefined || value === null) return '';
  let file = null;
  if (isPathLike(value)) {
    file = fileURLToPath(value);
  } else if (typeof value === 'string' && !value.includes('\n') && value.length < 4096) {
    try {
      if ((await fs.promises.stat(value)).isFile()) file = value;
    } catch (_) {
      file = null;
    }
  }
  if (file !== null) {
    let stat;
    try {
      stat = await fs.promises.stat(file);
    } catch (e) {
      throw invalid(`${what}: cannot read ${file}: ${e.message}`);
    }
    if (stat.size > MAX_FILE) throw invalid(`${what}: ${file} is larger than 1 MiB`);
    return fs.promises.readFile(file, 'utf8');
  }
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) {
    return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('utf8');
  }
  if (typeof value === 'string') return value;
  throw invalid(`${what}: want text, a Buffer or a path, got ${typeof value}`);
}

async function readJsonOrText(value, what) {
  if (value !== null && typeof value === 'object' && !isPathLike(value) &&
      !(value instanceof Uint8Array)) {
    return JSON.stringify(value);
  }
  return readText(value, what);
}

// A directory or file path option (a path, not contents): a string or file: URL; a leading
// "~/" is the home directory.
function dirPath(value) {
  if (value === undefined || value === null || value === '') return '';
  const p = value instanceof URL ? fileURLToPath(value) : String(value);
  return p === '~' || p.startsWith('~/') ? path.join(os.homedir(), p.slice(1)) : p;
}

function stringList(value, what) {
  if (value === undefined || value === null) return [];
  const list = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(list) || !list.every((s) => typeof s === 'string')) {
    throw invalid(`${what}: want a string or an array of strings`);
  }
  return list.slice();
}

function toBytes(value, what) {
  if (value === undefined || value === null) return Buffer.alloc(0);
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  if (Buffer.isBuffer(value)) return value;
  if (ArrayBuffer.isView(value)) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (value instanceof ArrayBuffer) return Buffer.from(value);
  throw invalid(`${what}: want a Buffer, Uint8Array, ArrayBuffer or string`);
}

// ---------------------------------------------------------------------------------------------
// Responses and encrypted requests.

/** A decrypted HTTP response from inside the TEE. */
class Response {
  constructor(raw) {
    /** HTTP status. */
    this.status = raw.status;
    /** Lowercase header names to values. */
    this.headers = raw.headers;
    /** The body, a Buffer. */
    this.body = raw.body;
  }

  /** True for 2xx. */
  get ok() {
    return this.status >= 200 && this.status < 300;
  }

  /** The body as UTF-8 text. */
  text() {
    return this.body.toString('utf8');
  }

  /** The body parsed as JSON. */
  json() {
    return JSON.parse(this.text());
  }

  /** Returns this response when 2xx; throws InvalidArgumentError (4xx) or ServerError
   * (5xx) with the body's start otherwise. */
  raiseForStatus() {
    if (this.ok) return this;
    const text = this.body.subarray(0, 512).toString('utf8');
    const cls = this.status < 500 ? InvalidArgumentError : ServerError;
    throw makeError(cls, `the service answered HTTP ${this.status}: ${text}`,
                    this.status < 500 ? 'INVALID_ARGUMENT' : 'INTERNAL');
  }
}

/** One request sealed to the service's attested OHTTP key (RFC 9458). `data` is what travels
 * (to POST /v1/ohttp, or base64 in /predict's `encrypted_input`); only this object can open
 * the answer (decrypt). */
class EncryptedRequest {
  constructor(nativeRequest) {
    Object.defineProperty(this, '_native', { value: nativeRequest });
    /** The encapsulated request (a Buffer). */
    this.data = nativeRequest.data;
  }

  /** Opens the encapsulated response to this request. Rejects with ResponseError when it
   * does not authenticate (tampered, replayed, another request's answer). */
  async decrypt(response) {
    return new Response(await this._native.decrypt(toBytes(response, 'response')));
  }

  /** The JSON body of the runtime's POST /predict: {encrypted_input: base64}. */
  predictBody() {
    return { encrypted_input: this.data.toString('base64') };
  }

  /** Opens POST /predict's answer {success: true, encrypted_result: base64} (an object, or
   * its JSON text as a string or Buffer). */
  async readPredictResult(body) {
    let doc = body;
    if (typeof body === 'string' || body instanceof Uint8Array) {
      try {
        doc = JSON.parse(toBytes(body).toString('utf8'));
      } catch (e) {
        throw invalid(`/predict answer: not JSON (${e.message})`);
      }
    }
    if (doc === null || typeof doc !== 'object' || !doc.success) {
      const reason = doc !== null && typeof doc === 'object' ? doc.error : undefined;
      throw makeError(ServerError, `/predict failed: ${reason || 'no encrypted_result'}`,
                      'INTERNAL');
    }
    const result = doc.encrypted_result;
    if (typeof result !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(result)) {
      throw invalid('/predict answer: "encrypted_result" must be a base64 string');
    }
    return this.decrypt(Buffer.from(result, 'base64'));
  }
}

// ---------------------------------------------------------------------------------------------
// Tensors.

const TYPED_ARRAYS = [Float32Array, Float64Array, BigInt64Array, Int32Array, Uint8Array,
                      Uint8ClampedArray];

function isTypedArray(v) {
  return ArrayBuffer.isView(v) && !(v instanceof DataView);
}

function isTensorLike(v) {
  if (v === null || typeof v !== 'object') return false;
  if (isTypedArray(v)) return true;
  return isTypedArray(v.data) && Array.isArray(v.shape);
}

// {data, shape, dtype?} or a typed array carrying .shape (and optionally .dtype).
function normalizeTensor(name, t) {
  if (t === null || typeof t !== 'object') {
    throw invalid(`input "${name}": want {data: TypedArray, shape: number[]}`);
  }
  const data = isTypedArray(t) ? t : t.data;
  const shape = t.shape;
  const dtype = t.dtype;
  if (!isTypedArray(data)) throw invalid(`input "${name}": data must be a typed array`);
  if (!TYPED_ARRAYS.some((c) => data instanceof c)) {
    throw invalid(`input "${name}": ${data.constructor.name} is not served (Float32Array, ` +
                  'Float64Array, BigInt64Array, Int32Array, Uint8Array; Uint8Array with dtype ' +
                  "'bool')");
  }
  if (!Array.isArray(shape)) throw invalid(`input "${name}": shape is required (an array)`);
  if (dtype !== undefined && typeof dtype !== 'string') {
    throw invalid(`input "${name}": dtype must be a string`);
  }
  return { name, data, shape, dtype };
}

// ---------------------------------------------------------------------------------------------
// Text generation (issue 18).

function generationArgs(model, prompt, options) {
  if (typeof model !== 'string') throw invalid('model: want a string');
  if (typeof prompt !== 'string') throw invalid('prompt: want a string');
  const o = options || {};
  if (typeof o !== 'object') throw invalid('options: want an object');
  for (const k of Object.keys(o)) {
    if (k !== 'maxTokens') throw invalid(`unknown option "${k}"`);
  }
  const n = o.maxTokens === undefined || o.maxTokens === null ? 16 : o.maxTokens;
  if (!Number.isInteger(n) || n < 1) throw invalid('maxTokens: want a positive integer');
  return [model, prompt, n];
}

/**
 * A streamed text generation (VerifiedService.generateStream): an async iterable of each
 * token's text as the runtime produces it, decrypted and authenticated chunk by chunk. Each
 * step waits on a worker thread, never on the event loop.
 *
 * The iteration ends only when the stream ended WHOLE: the final chunk authenticated and, from
 * a runtime that signs receipts, its receipt over this request and every token verified. A
 * stream cut off or tampered with rejects instead (tokens already yielded are then not a
 * whole answer): ResponseError for one that does not authenticate (a chunk tampered with or
 * cut) or whose receipt does not verify, CryptaError (code "DATA_LOSS") for one that ends
 * without its final chunk, ServerError for a model that failed mid-stream, and the request's
 * own errors (NotFoundError for an unknown model,
 * InvalidArgumentError for a prompt the model cannot take) from the first step. Leaving a
 * `for await` early (break, throw) closes the stream; so does close().
 */
class GenerationStream {
  constructor(nativeStream, error) {
    Object.defineProperty(this, '_native', { value: nativeStream });
    Object.defineProperty(this, '_state', {
      value: { error, done: false, closed: false, receipt: null, tail: Promise.resolve() },
    });
  }

  [Symbol.asyncIterator]() {
    return this;
  }

  /** The async iterator protocol: resolves to {value: token text, done: false}, then
   * {value: undefined, done: true} once the stream ended whole (or was closed). Calls are
   * served in order. */
  next() {
    const st = this._state;
    const step = st.tail.then(() => this._step());
    st.tail = step.then(() => undefined, () => undefined);
    return step;
  }

  async _step() {
    const st = this._state;
    if (st.error) throw st.error;
    if (st.done || st.closed) return { value: undefined, done: true };
    let token;
    try {
      token = await this._native.next();
    } catch (e) {
      st.error = e;
      throw e;
    }
    if (token === null) {
      st.done = true;
      const r = this._native.receipt();
      if (r.ended) st.receipt = r;
      return { value: undefined, done: true };
    }
    return { value: token, done: false };
  }

  /** Called by `for await` when the loop is left early: closes the stream. */
  async return(value) {
    await this.close();
    return { value, done: true };
  }

  /** Stops reading the stream (off the event loop; it waits at most until the stream's next
   * piece arrives, or the read timeout). The iteration then ends; a stream that had not ended
   * has no receipt. */
  async close() {
    const st = this._state;
    if (st.closed) return;
    st.closed = true;
    if (this._native) await this._native.close();
  }

  /** True once the stream ended whole (the iteration completed). */
  get done() {
    return this._state.receipt !== null;
  }

  /** Once the stream ended whole: the runtime's receipt of it (JWS compact), already
   * verified over this request and the whole event stream; null before the end, after an
   * early close, or from a runtime that issues no receipts. */
  get receipt() {
    const r = this._state.receipt;
    return r && r.jws ? r.jws : null;
  }

  /** The receipt bundle, JSON text (as Receipt.bundle; `crypta receipt verify` and
   * verifyReceipt check it offline). Throws FailedPreconditionError before the stream ended
   * whole or without a receipt. */
  receiptBundle() {
    const r = this._state.receipt;
    if (!r || !r.bundle) {
      throw makeError(FailedPreconditionError,
                      `no receipt: ${r ? 'the service issues no receipts'
                                       : 'the stream has not ended whole'}`,
                      'FAILED_PRECONDITION');
    }
    return r.bundle;
  }
}

// ---------------------------------------------------------------------------------------------
// VerifiedService.

/** A crypta-runtime whose attestation verified against your expectations. Immutable; share
 * it freely: concurrent calls each have their own OHTTP context. */
class VerifiedService {
  constructor(nativeService, url) {
    Object.defineProperty(this, '_native', { value: nativeService });
    const info = nativeService.info();
    /** The service URL. */
    this.url = url;
    /** Always true: a service that does not verify rejects with VerificationError. */
    this.isValid = true;
    /** "sev-snp", "tdx", "sgx" or "sim". */
    this.tee = info.tee;
    /** True for the SIMULATED TEE, which isolates nothing. */
    this.simulated = info.simulated;
    /** The attested code measurement, hex. */
    this.measurement = info.measurement;
    /** Everything verified: TEE claims, runtime_data, the OHTTP key config. */
    this.claims = info.claims;
    /** The attested runtime_data (nonce, ohttp-key-config, workload, model-digest, ...). */
    this.runtimeData = info.runtimeData;
    /** The attested OHTTP key id. */
    this.ohttpKeyId = info.ohttpKeyId;
    /** Whether the runtime signs receipts (its runtime_data binds a receipt key). When it
     * does, every answer's receipt is verified, whether kept (withReceipt) or not. */
    this.issuesReceipts = info.issuesReceipts;
    /** The release the transparency log proved for this service (verifyService's
     * `transparency` option), or null when no log was checked: {index, tenant, workload,
     * measurement, modelDigest, hostData, note, time (Unix seconds), origin (the log's),
     * checkpointSize (the checkpoint it was proved in), stateFile (where that checkpoint is
     * remembered)}. */
    this.published = info.published === null ? null : Object.freeze(info.published);
  }

  /**
   * Runs `model` on `inputs` through OHTTP + the Open Inference Protocol (binary tensor data).
   * inputs: {name: {data: TypedArray, shape: number[], dtype?: 'bool'}}, or one tensor (then
   * named options.inputName, or the model's first input from its metadata). Typed arrays are
   * read in place: do not modify, transfer or resize them until the promise settles.
   * Resolves to {outputName: {data: TypedArray, shape: number[], dtype}}. With
   * options.withReceipt, the result also carries `receipt` (not enumerable): the runtime's
   * verified Receipt of this prediction (FailedPreconditionError, before anything is sent,
   * from a runtime that issues none).
   */
  async predict(model, inputs, options = {}) {
    if (typeof model !== 'string') throw invalid('model: want a string');
    let named = inputs;
    if (isTensorLike(inputs)) {
      let inputName = options && options.inputName;
      if (!inputName) {
        const meta = await this.metadata(model);
        inputName = meta && Array.isArray(meta.inputs) && meta.inputs[0] && meta.inputs[0].name;
        if (typeof inputName !== 'string') {
          throw invalid(`model "${model}" names no input in its metadata: pass inputName`);
        }
      }
      named = { [inputName]: inputs };
    }
    if (named === null || typeof named !== 'object') {
      throw invalid('inputs: want {name: {data, shape}} or one {data, shape}');
    }
    const list = Object.entries(named).map(([name, t]) => normalizeTensor(name, t));
    if (options && options.withReceipt) {
      return attachReceipt(await this._native.predict(model, list, true));
    }
    return this._native.predict(model, list);
  }

  /** Sends an Open Inference Protocol JSON request (object or text) as is; resolves to the
   * JSON response (with options.withReceipt carrying `receipt`, as predict()). */
  async infer(model, request, options = {}) {
    if (typeof model !== 'string') throw invalid('model: want a string');
    const body = typeof request === 'string' ? request : JSON.stringify(request);
    if (options && options.withReceipt) {
      return attachReceipt(await this._native.inferJson(model, body, true));
    }
    return this._native.inferJson(model, body);
  }

  /** The model's OIP metadata (inputs, outputs, platform), fetched through OHTTP. */
  async metadata(model) {
    if (typeof model !== 'string') throw invalid('model: want a string');
    return this._native.metadata(model);
  }

  /**
   * Generates text (models whose signature declares "generate", e.g. the tiny GPT): POST
   * /v2/models/<model>/generate through OHTTP. Resolves to the whole continuation of `prompt`
   * (options.maxTokens tokens at most, default 16). The runtime's 4xx answers (a prompt it
   * cannot take, e.g. not printable ASCII for an ASCII tokenizer; maxTokens out of range)
   * reject with InvalidArgumentError, an unknown model with NotFoundError.
   */
  async generate(model, prompt, options = {}) {
    const [m, p, n] = generationArgs(model, prompt, options);
    return this._native.generate(m, p, n);
  }

  /**
   * As generate(), streamed: the request is sent now, and the returned GenerationStream is an
   * async iterable of each token's text as it arrives (end to end encrypted, chunked OHTTP),
   * with the runtime's receipt of the whole stream at its end:
   *
   *   const stream = svc.generateStream('tiny_gpt', 'Hello', { maxTokens: 32 });
   *   for await (const token of stream) process.stdout.write(token);
   *   stream.receiptBundle();
   *
   * Errors (of the request too) reject the iteration: see GenerationStream.
   */
  generateStream(model, prompt, options = {}) {
    try {
      const [m, p, n] = generationArgs(model, prompt, options);
      return new GenerationStream(this._native.generateStream(m, p, n), null);
    } catch (e) {
      return new GenerationStream(null, e);  // rejects its first step
    }
  }

  /** Seals an HTTP request (Binary HTTP, RFC 9292) to the attested key. Send `.data` any way
   * you like (see EncryptedRequest.predictBody), then open the answer with its decrypt().
   * options: {path = '/', method = 'POST', contentType = 'application/octet-stream',
   * headers}. */
  async encrypt(payload, options = {}) {
    const o = httpOptions(options);
    const r = await this._native.encrypt(toBytes(payload, 'payload'), o.method, o.path,
                                         o.contentType, o.headers);
    return new EncryptedRequest(r);
  }

  /** Opens the encapsulated `response` to `request` (request.decrypt(response)). */
  async decrypt(request, response) {
    if (!(request instanceof EncryptedRequest)) {
      throw invalid('request: want the EncryptedRequest that encrypt() returned');
    }
    return request.decrypt(response);
  }

  /** encrypt + POST /v1/ohttp + decrypt in one call; resolves to a Response. Same options as
   * encrypt(). */
  async send(payload, options = {}) {
    const o = httpOptions(options);
    return new Response(await this._native.send(toBytes(payload, 'payload'), o.method, o.path,
                                                o.contentType, o.headers));
  }

  toJSON() {
    return { url: this.url, isValid: true, tee: this.tee, simulated: this.simulated,
             measurement: this.measurement, claims: this.claims };
  }

  [Symbol.for('nodejs.util.inspect.custom')]() {
    const sim = this.simulated ? ' SIMULATED TEE — no hardware isolation' : '';
    return `VerifiedService <${this.url} ${this.tee} ${this.measurement.slice(0, 16)}…${sim}>`;
  }
}

// ---------------------------------------------------------------------------------------------
// Receipts (issue 17): made and verified by the C++ SDK (client/receipt.h).

/** The runtime's signed receipt of one prediction: a JWS by the receipt key its attestation
 * binds, over the encrypted request, the response, the model, the measurement and the
 * attestation. Verified before the answer was returned; keep `bundle` to prove the answer
 * later (verifyReceipt, or `crypta receipt verify FILE`). */
class Receipt {
  constructor(native) {
    /** The receipt, JWS compact serialization (RFC 7515). */
    this.jws = native.jws;
    /** The verified payload: alg, kid, request_digest, response_digest, model_digest,
     * measurement, attestation_digest, workload, time, sequence. */
    this.claims = native.claims;
    /** The receipt bundle, JSON text (what `crypta predict --receipt FILE` writes). It holds
     * the decrypted response: store it as you would the answer. */
    this.bundle = native.bundle;
    Object.freeze(this);
  }

  /** Writes the bundle to `file` (mode 0600, as the CLI does). */
  async save(file) {
    const p = file instanceof URL ? fileURLToPath(file) : String(file);
    await fs.promises.writeFile(p, this.bundle, { mode: 0o600 });
  }

  toJSON() {
    return { jws: this.jws, claims: this.claims };
  }
}

function attachReceipt({ value, receipt }) {
  Object.defineProperty(value, 'receipt', { value: new Receipt(receipt), enumerable: false });
  return value;
}

const MAX_BUNDLE = 192 * 1024 * 1024;  // client::kMaxReceiptBundleBytes

/**
 * Verifies a receipt bundle offline (the C++ SDK's VerifyReceiptBundle, as `crypta receipt
 * verify`): the attestation evidence against pinned roots, report_data binding runtime_data
 * and its receipt key, the receipt's signature by that key, and its digests of the request,
 * the response and the evidence. Resolves to what was verified ({verified: true, receipt,
 * tee, simulated, measurement, host_data, workload, model_digest, receipt_key_kid}); rejects
 * with VerificationError naming the failed check ("attestation: ..." or "receipt: ...").
 *
 * bundle: JSON text, a Buffer, an object, a path (string or file: URL) or a Receipt.
 * options: {allowSimulated, simRoot (the platform's sim root CA: PEM or path; required with
 * allowSimulated), at (a Date, Unix seconds or RFC 3339 text: the evidence certificates'
 * verification time; default now)}.
 */
async function verifyReceipt(bundle, options = {}) {
  const o = options || {};
  if (typeof o !== 'object') throw invalid('options: want an object');
  for (const k of Object.keys(o)) {
    if (!['allowSimulated', 'simRoot', 'at'].includes(k)) {
      throw invalid(`verifyReceipt: unknown option "${k}"`);
    }
  }
  let data;
  if (bundle instanceof Receipt) {
    data = Buffer.from(bundle.bundle, 'utf8');
  } else if (Buffer.isBuffer(bundle) || bundle instanceof Uint8Array) {
    data = toBytes(bundle, 'bundle');
  } else if (isPathLike(bundle) ||
             (typeof bundle === 'string' && !bundle.trimStart().startsWith('{'))) {
    const file = isPathLike(bundle) ? fileURLToPath(bundle) : bundle;
    let stat;
    try {
      stat = await fs.promises.stat(file);
    } catch (e) {
      throw invalid(`receipt bundle: cannot read ${file}: ${e.message}`);
    }
    if (stat.size > MAX_BUNDLE) {
      throw makeError(VerificationError, `receipt bundle: ${file} is larger than 192 MiB`,
                      'INVALID_ARGUMENT');
    }
    data = await fs.promises.readFile(file);
  } else if (typeof bundle === 'string') {
    data = Buffer.from(bundle, 'utf8');
  } else if (bundle !== null && typeof bundle === 'object') {
    data = Buffer.from(JSON.stringify(bundle), 'utf8');
  } else {
    throw invalid('bundle: want JSON text, a Buffer, an object or a path');
  }
  let at = 0;
  let atText = '';
  if (o.at !== undefined && o.at !== null) {
    if (o.at instanceof Date) {
      at = Math.floor(o.at.getTime() / 1000);
    } else if (typeof o.at === 'number') {
      at = Math.floor(o.at);
    } else if (typeof o.at === 'string') {
      atText = o.at;
    } else {
      throw invalid('at: want a Date, Unix seconds or RFC 3339 text');
    }
    if (!atText && !(at > 0)) throw invalid('at: want a time after 1970');
  }
  return native.verifyReceipt(data, Boolean(o.allowSimulated),
                              await readText(o.simRoot, 'simRoot'), at, atText);
}

function httpOptions(options) {
  const o = options || {};
  const method = (o.method || 'POST').toUpperCase();
  const p = o.path === undefined ? '/' : o.path;
  const contentType = o.contentType === undefined ? 'application/octet-stream' : o.contentType;
  if (typeof p !== 'string' || !p.startsWith('/')) throw invalid("path: must start with '/'");
  if (typeof contentType !== 'string') throw invalid('contentType: want a string');
  return { method, path: p, contentType, headers: o.headers || {} };
}

/**
 * Verifies the crypta-runtime at `url` (http:// or https://HOST:PORT) and resolves to a
 * VerifiedService, or rejects with VerificationError naming every violation. Nothing is sent
 * to the model before this succeeds.
 *
 * What pins the code (at least one): expectedMeasurements (hex, any one matches), policy (an
 * appraisal policy: YAML/JSON text, an object or a path), ear + jwks (a platform EAR token and
 * the platform's JWKS). Further: expectedHostData, modelDigest ("sha256:<hex>"), workload,
 * acceptTcb, allowDebug, allowMissingRevocation. Simulated TEE: allowSimulated plus dataDir
 * (the control plane's data dir) or simRoot (PEM or path). https: ca, spiffeIds, trustDomain,
 * clientCert, clientKey. timeout: seconds (default 60).
 *
 * Release transparency (issue 17; docs/transparency.md): `transparency` (the control plane's
 * URL, which serves the release log) requires the service's measurement and model digest to
 * be published there: the inclusion proof, the log key's signature on the checkpoint and its
 * consistency with the last checkpoint seen are checked, a rollback or fork is refused.
 * logKey: the log's verifier key (the text, or a path to a file holding it; default:
 * release-log.vkey of dataDir). transparencyCa: the CA file of an https:// log (default:
 * tls/ca.pem of dataDir). transparencyState: the file remembering the last accepted
 * checkpoint (default: under $XDG_STATE_HOME or ~/.local/state/crypta/transparency/).
 * tenant: the release must be this tenant's (tenant without workload is allowed with
 * transparency). An unpublished service rejects with VerificationError ("not published");
 * what the log proved is VerifiedService.published. A policy with `require_published: true`
 * (and no measurements) takes a published measurement as the reference value.
 */
async function verifyService(url, options = {}) {
  if (typeof url !== 'string') throw invalid('url: want a string');
  const o = options || {};
  if (typeof o !== 'object') throw invalid('options: want an object');
  const known = new Set(['expectedMeasurements', 'expectedMeasurement', 'policy', 'ear', 'jwks',
                         'expectedHostData', 'modelDigest', 'workload', 'allowSimulated',
                         'allowDebug', 'allowMissingRevocation', 'acceptTcb', 'dataDir',
                         'simRoot', 'ca', 'spiffeIds', 'trustDomain', 'clientCert', 'clientKey',
                         'timeout', 'tenant', 'platform', 'transparency', 'logKey',
                         'transparencyCa', 'transparencyState']);
  for (const k of Object.keys(o)) {
    if (!known.has(k)) throw invalid(`verifyService: unknown option "${k}"`);
  }
  const timeout = o.timeout === undefined ? 60 : Number(o.timeout);
  if (!Number.isFinite(timeout) || timeout <= 0) throw invalid('timeout: want seconds > 0');
  const dataDir = dirPath(o.dataDir);
  // {tenant, workload}: the control plane's signed reference values for that deployment
  // (verified with its JWKS by the C++ core) stand for expectedMeasurements.
  let referenceValuesToken = '';
  let platformJwks = '';
  if (o.tenant !== undefined && o.tenant !== null && typeof o.tenant !== 'string') {
    throw invalid('tenant: want a string');
  }
  if (o.transparency !== undefined && o.transparency !== null &&
      typeof o.transparency !== 'string') {
    throw invalid('transparency: want the log\'s URL (a string)');
  }
  const transparency = o.transparency || '';
  if (o.tenant !== undefined && !o.workload && !transparency) {
    throw invalid('tenant: give the workload (a deployment name) or the transparency log too');
  }
  if (o.tenant !== undefined && o.workload) {
    const platform = o.platform || new Platform(dataDir ? { dataDir } : {});
    const rv = await platform.request(
        'GET', `/v1/tenants/${seg(o.tenant)}/workloads/${seg(o.workload)}/reference-values`);
    referenceValuesToken = String(rv.token || '');
    platformJwks = JSON.stringify(await platform.request('GET', '/.well-known/jwks.json'));
  }
  const nativeOptions = {
    measurements: stringList(o.expectedMeasurements !== undefined ? o.expectedMeasurements
                                                                  : o.expectedMeasurement,
                             'expectedMeasurements'),
    hostData: stringList(o.expectedHostData, 'expectedHostData'),
    policyText: await readJsonOrText(o.policy, 'policy'),
    earToken: (await readText(o.ear, 'ear')).trim(),
    jwksJson: platformJwks || await readJsonOrText(o.jwks, 'jwks'),
    referenceValuesToken,
    modelDigest: o.modelDigest || '',
    workload: o.workload || '',
    allowSimulated: Boolean(o.allowSimulated),
    allowDebug: Boolean(o.allowDebug),
    allowMissingRevocation: Boolean(o.allowMissingRevocation),
    acceptTcb: o.acceptTcb || 'UpToDate',
    dataDir,
    simRootPem: await readText(o.simRoot, 'simRoot'),
    caBundlePem: await readText(o.ca, 'ca'),
    spiffeIds: stringList(o.spiffeIds, 'spiffeIds'),
    trustDomain: o.trustDomain || 'crypta.local',
    clientCertPem: await readText(o.clientCert, 'clientCert'),
    clientKeyPem: await readText(o.clientKey, 'clientKey'),
    transparencyUrl: transparency,
    logKey: (await readText(o.logKey, 'logKey')).trim(),
    transparencyCa: dirPath(o.transparencyCa),
    transparencyState: dirPath(o.transparencyState),
    transparencyTenant: transparency && o.tenant ? o.tenant : '',
    timeoutS: Math.max(1, Math.round(timeout)),
  };
  const s = await native.verifyService(url, nativeOptions);
  return new VerifiedService(s, url);
}

// ---------------------------------------------------------------------------------------------
// Platform.

function defaultDataDir() {
  const xdg = process.env.XDG_DATA_HOME;
  return xdg ? path.join(xdg, 'crypta') : path.join(os.homedir(), '.local', 'share', 'crypta');
}

const seg = (s) => encodeURIComponent(String(s));

function isExecutable(file) {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch (_) {
    return false;
  }
}

/** crypta-model-check: $CRYPTA_MODEL_CHECK, else the build tree's (<build>/bin, next to
 * <build>/js/crypta.node), else on PATH; '' when none is found. */
function findModelChecker() {
  if (process.env.CRYPTA_MODEL_CHECK) return process.env.CRYPTA_MODEL_CHECK;
  const beside = path.join(path.dirname(ADDON_FILE), '..', 'bin', 'crypta-model-check');
  if (isExecutable(beside)) return beside;
  for (const dir of (process.env.PATH || '').split(path.delimiter)) {
    if (dir && isExecutable(path.join(dir, 'crypta-model-check'))) {
      return path.join(dir, 'crypta-model-check');
    }
  }
  return '';
}

/** The control plane's admin API, as the `crypta` CLI finds it: url/token/ca given, else
 * CRYPTA_URL/CRYPTA_TOKEN/CRYPTA_CA_CERT, else the data dir of a local `crypta up` (dataDir or
 * ~/.local/share/crypta: its url, admin.token, tls/ca.pem). */
class Platform {
  constructor(options = {}) {
    const o = options || {};
    let { url, token, ca } = o;
    const dataDirGiven = o.dataDir !== undefined && o.dataDir !== null && o.dataDir !== '';
    if (!dataDirGiven) {
      url = url || process.env.CRYPTA_URL;
      token = token || process.env.CRYPTA_TOKEN;
      ca = ca || process.env.CRYPTA_CA_CERT;
    }
    const dir = dataDirGiven ? dirPath(o.dataDir) : defaultDataDir();
    try {
      if (!url) url = fs.readFileSync(path.join(dir, 'url'), 'utf8').trim();
      if (!token) token = fs.readFileSync(path.join(dir, 'admin.token'), 'utf8').trim();
    } catch (e) {
      throw makeError(UnavailableError,
                      'no control plane: pass url and token, set CRYPTA_URL/CRYPTA_TOKEN, or run ' +
                        `\`crypta up\` (${e.message})`, 'UNAVAILABLE');
    }
    if (!ca && url.startsWith('https://') && fs.existsSync(path.join(dir, 'tls', 'ca.pem'))) {
      ca = path.join(dir, 'tls', 'ca.pem');
    }
    if (ca instanceof URL) ca = fileURLToPath(ca);
    Object.defineProperty(this, '_native', { value: new native.NativePlatform(url, token, ca || '') });
  }

  /** The control plane's URL. */
  get url() {
    return this._native.url();
  }

  /** One admin API call (JSON in and out): method GET, POST, PUT or DELETE; path with query. */
  async request(method, p, body) {
    if (typeof method !== 'string') throw invalid('method: want a string');
    let text;
    if (body !== undefined && body !== null) text = typeof body === 'string' ? body : JSON.stringify(body);
    return this._native.request(method.toUpperCase(), p, text);
  }

  /** Seals the model file at `file` locally with a fresh data key that the key broker wraps
   * under tenant/key, uploads only the sealed blob, and resolves to its
   * store://tenant/name@sha256:... reference. Options: {tenant, key, name (default: the file
   * name without extension), recipientTee (e.g. ['sev-snp', 'tdx']), keyRotationDays,
   * signature (the model's inputs and outputs: an object, JSON text or a path; required for
   * TorchScript, read from the graph for ONNX; stored with the model and served by
   * crypta-runtime), backend ('torchscript' | 'onnx'; default inferred), check ('auto'
   * (default): load and run the model with crypta-model-check before sealing when the checker
   * is found; true: require it; false: skip)}. */
  async encryptModel(file, options = {}) {
    return (await this.pushModel(file, options)).reference;
  }

  /** encryptModel with the control plane's whole answer:
   * {reference, size, kekVersion, record}. */
  async pushModel(file, options = {}) {
    const o = options || {};
    const f = file instanceof URL ? fileURLToPath(file) : file;
    if (typeof f !== 'string') throw invalid('file: want a path');
    if (typeof o.tenant !== 'string' || typeof o.key !== 'string') {
      throw invalid('encryptModel: tenant and key are required');
    }
    const check = o.check === undefined ? 'auto' : o.check;
    if (check !== 'auto' && typeof check !== 'boolean') {
      throw invalid("check: want 'auto', true or false");
    }
    let modelChecker = '';
    if (check) {
      modelChecker = findModelChecker();
      if (!modelChecker && check === true) {
        throw new FailedPreconditionError(
          'cannot check the model: crypta-model-check not found (set CRYPTA_MODEL_CHECK, put ' +
            'it on PATH, or pass check: false)');
      }
    }
    return this._native.pushModel({
      tenant: o.tenant,
      key: o.key,
      name: o.name || path.basename(f, path.extname(f)),
      file: f,
      tees: stringList(o.recipientTee, 'recipientTee'),
      rotateDays: o.keyRotationDays ? Number(o.keyRotationDays) : 0,
      tmpDir: o.tmpDir || '',
      backend: o.backend || '',
      signatureJson: await readJsonOrText(o.signature, 'signature'),
      modelChecker,
    });
  }

  /** Seals `data` so that only attested workloads that tenant/key's release policy accepts
   * can open it (TEEEnvironment.decryptData with the returned objectId). Options: {tenant,
   * key, objectId (default: a fresh random one)}. Resolves to {blob: Buffer, objectId}. */
  async encryptData(data, options = {}) {
    const o = options || {};
    if (typeof o.tenant !== 'string' || typeof o.key !== 'string') {
      throw invalid('encryptData: tenant and key are required');
    }
    return this._native.sealData(o.tenant, o.key, toBytes(data, 'data'), o.objectId || '');
  }

  /** The tenant's models. */
  async models(tenant) {
    return (await this.request('GET', `/v1/tenants/${seg(tenant)}/models`)).models || [];
  }

  /** The tenant's keys. */
  async keys(tenant) {
    return (await this.request('GET', `/v1/tenants/${seg(tenant)}/keys`)).keys || [];
  }

  /** The tenants (admin token). */
  async tenants() {
    return (await this.request('GET', '/v1/tenants')).tenants || [];
  }

  /** The newest `tail` audit entries (as `crypta audit tail`); options.tenant filters. */
  async auditTail(tail = 20, options = {}) {
    const n = Math.max(0, Math.floor(Number(tail)));
    const entries = (await this.request('GET', `/v1/audit?tail=${n}`)).entries || [];
    const tenant = options && options.tenant;
    return entries.filter((e) => !tenant || e.tenant === tenant);
  }

  [Symbol.for('nodejs.util.inspect.custom')]() {
    return `Platform <${this.url}>`;
  }
}

// ---------------------------------------------------------------------------------------------
// TEEEnvironment.

/** Inside a TEE: obtain secrets by attestation, as crypta-runtime does (RCAR with the key
 * broker, key release to an ephemeral key the evidence binds). Options: {brokerUrl (default
 * $CRYPTA_BROKER_URL), brokerCa ($CRYPTA_BROKER_CA), tee: 'auto' | 'sim', maxModelBytes,
 * gpuEvidence: 'none' | 'nvml' | 'sim' (GPUs attested with the TEE)}.
 * Throws FailedPreconditionError when not inside a TEE. Calls are serialized. */
class TEEEnvironment {
  constructor(options = {}) {
    const o = options || {};
    Object.defineProperty(this, '_native', {
      value: new native.NativeTeeEnvironment({
        brokerUrl: o.brokerUrl || '',
        brokerCaPath: o.brokerCa || '',
        tee: o.tee || 'auto',
        simSocket: o.simSocket || '',
        gpuEvidence: o.gpuEvidence || 'none',
        maxModelBytes: o.maxModelBytes === undefined ? 4 * 2 ** 30 : Number(o.maxModelBytes),
      }),
    });
    /** The control plane's record of the last model loadEncryptedModel loaded. */
    this.lastModelMetadata = null;
  }

  /** The attester: "sim", "sev-snp", "tdx", "sgx", "configfs-tsm". */
  get tee() {
    return this._native.info().tee;
  }

  /** True under the SIMULATED TEE (no hardware isolation). */
  get simulated() {
    return this._native.info().simulated;
  }

  /** The most recent RCAR session's EAR token ("" before the first call). */
  get earToken() {
    return this._native.info().earToken;
  }

  /** The model store://tenant/name@sha256:..., unsealed in memory only (a Buffer). Rejects
   * with PermissionDeniedError when the key's policy refuses this TEE. */
  async loadEncryptedModel(reference) {
    const { model, metadata } = await this._native.loadModel(reference);
    this.lastModelMetadata = metadata;
    return model;
  }

  /** Opens data sealed by Platform.encryptData (or encryptData). */
  async decryptData(blob, objectId) {
    return this._native.decryptData(toBytes(blob, 'blob'), objectId);
  }

  /** Seals `data` under the same key as `like` (a blob of objectId). */
  async encryptData(data, like, objectId) {
    return this._native.encryptData(toBytes(data, 'data'), toBytes(like, 'like'), objectId);
  }
}

module.exports = {
  verifyService,
  verifyReceipt,
  VerifiedService,
  GenerationStream,
  Receipt,
  EncryptedRequest,
  Response,
  Platform,
  TEEEnvironment,
  CryptaError,
  VerificationError,
  UnavailableError,
  ResponseError,
  ServerError,
  InvalidArgumentError,
  PermissionDeniedError,
  UnauthenticatedError,
  NotFoundError,
  AlreadyExistsError,
  FailedPreconditionError,
  ResourceExhaustedError,
  version: '0.1.0',
};

// Type declarations of the `crypta` package (js/index.js). docs/sdk-js.md describes every
// function, option and error.

/// <reference types="node" />

/** Text given directly (string, Buffer, Uint8Array) or a path to read it from (a URL, or a
 * string naming an existing file). */
export type TextOrPath = string | Buffer | Uint8Array | URL;

/** Error roles (the same as the Python SDK's). */
export type ErrorRole =
  | 'error'
  | 'verification'
  | 'unavailable'
  | 'response'
  | 'server'
  | 'invalid_argument'
  | 'permission_denied'
  | 'unauthenticated'
  | 'not_found'
  | 'already_exists'
  | 'failed_precondition'
  | 'resource_exhausted';

/** Base class of every crypta error. */
export class CryptaError extends Error {
  constructor(message?: string, options?: { code?: string; role?: ErrorRole; cause?: unknown });
  /** The C++ SDK's error code name: "INVALID_ARGUMENT", "UNAUTHENTICATED", "PERMISSION_DENIED",
   * "UNAVAILABLE", "NOT_FOUND", "INTERNAL", ... */
  code: string;
  role: ErrorRole;
}
/** The service was refused (attestation did not verify or did not meet your expectations).
 * Nothing was sent to it. */
export class VerificationError extends CryptaError {}
/** A server could not be reached, timed out or is overloaded. */
export class UnavailableError extends CryptaError {}
/** A response did not authenticate: tampered with, replayed, or another request's answer. */
export class ResponseError extends CryptaError {}
/** The model server (inside the TEE) answered a 5xx error. */
export class ServerError extends CryptaError {}
/** Malformed input, or the model server's 4xx answer. */
export class InvalidArgumentError extends CryptaError {}
export class PermissionDeniedError extends CryptaError {}
export class UnauthenticatedError extends CryptaError {}
export class NotFoundError extends CryptaError {}
export class AlreadyExistsError extends CryptaError {}
export class FailedPreconditionError extends CryptaError {}
export class ResourceExhaustedError extends CryptaError {}

/** Input typed arrays and the OIP datatype each one is sent as. */
export type TensorData =
  | Float32Array // FP32
  | Float64Array // FP64
  | BigInt64Array // INT64
  | Int32Array // INT32
  | Uint8Array; // UINT8, or BOOL with dtype 'bool'

export type DType = 'float32' | 'float64' | 'int64' | 'int32' | 'uint8' | 'bool';

/** An input tensor: dense, row-major. `dtype` is needed only for 'bool' (a Uint8Array of 0/1);
 * otherwise it must match the typed array when given. */
export interface TensorInput {
  data: TensorData;
  shape: number[];
  dtype?: DType | 'FP32' | 'FP64' | 'INT64' | 'INT32' | 'UINT8' | 'BOOL';
}

/** A typed array carrying its shape. */
export type ShapedArray = TensorData & { shape: number[]; dtype?: DType };

/** An output tensor: Float32Array for float32, Float64Array for float64, BigInt64Array for
 * int64, Int32Array for int32, Uint8Array for uint8 and bool. */
export interface Tensor<T extends TensorData = TensorData> {
  data: T;
  shape: number[];
  dtype: DType;
}

export interface VerifyOptions {
  /** Accepted measurements (hex; any one matches). */
  expectedMeasurements?: string | string[];
  /** Alias of expectedMeasurements. */
  expectedMeasurement?: string | string[];
  /** An appraisal policy: YAML/JSON text, an object, or a path. */
  policy?: TextOrPath | Record<string, unknown>;
  /** A platform EAR token vouching for the measurement (text or path) ... */
  ear?: TextOrPath;
  /** ... and the platform's JWKS (/.well-known/jwks.json) it verifies with. */
  jwks?: TextOrPath | Record<string, unknown>;
  /** Accepted host data (hex); empty = any. */
  expectedHostData?: string | string[];
  /** "sha256:<hex>": the model digest the service must serve. */
  modelDigest?: string;
  /** The workload name the service must attest. */
  workload?: string;
  /** Accept the SIMULATED TEE (no isolation). Needs dataDir or simRoot. */
  allowSimulated?: boolean;
  allowDebug?: boolean;
  /** Accept Intel evidence without CRLs. */
  allowMissingRevocation?: boolean;
  /** Worst accepted TCB status: "UpToDate" (default), "SWHardeningNeeded", ..., "Unknown". */
  acceptTcb?: string;
  /** The control plane's data dir (its sim/ca.pem is the sim root). */
  dataDir?: string | URL;
  /** The platform's sim root CA: PEM or path. */
  simRoot?: TextOrPath;
  /** https:// services: the platform trust bundle (PEM or path) for SVID-TLS. */
  ca?: TextOrPath;
  /** SPIFFE IDs the service's SVID may have (with ca). */
  spiffeIds?: string | string[];
  trustDomain?: string;
  /** mTLS client certificate chain and key (PEM or paths). */
  clientCert?: TextOrPath;
  clientKey?: TextOrPath;
  /** Seconds for connects, reads and writes (default 60). */
  timeout?: number;
  /** With workload: the control plane's signed reference values of that deployment stand
   * for expectedMeasurements. With transparency: the release must be this tenant's (no
   * workload needed). */
  tenant?: string;
  /** Where tenant + workload's reference values are fetched (default: new Platform({dataDir})). */
  platform?: Platform;
  /** Release transparency (issue 17): the control plane's URL, whose release log must hold
   * the service's measurement and model digest (inclusion proof, signed checkpoint,
   * consistency with the remembered one; rollback and fork refused). */
  transparency?: string;
  /** The log's verifier key (name+id+key), or a path to a file holding it. Default: the
   * release-log.vkey of dataDir. Needs transparency. */
  logKey?: TextOrPath;
  /** Path of the CA certificate of an https:// log. Default: tls/ca.pem of dataDir. */
  transparencyCa?: string | URL;
  /** Path of the file remembering the last accepted checkpoint. Default: under
   * $XDG_STATE_HOME (or ~/.local/state)/crypta/transparency/. */
  transparencyState?: string | URL;
}

/** What the transparency log proved for a verified service (VerifiedService.published). */
export interface PublishedRelease {
  /** The release's index in the log. */
  index: number;
  tenant: string;
  workload: string;
  /** Hex. */
  measurement: string;
  /** "sha256:<hex>". */
  modelDigest: string;
  /** Hex, or "" for none. */
  hostData: string;
  note: string;
  /** When it was published, Unix seconds. */
  time: number;
  /** The log's checkpoint origin, e.g. "crypta.local/releases". */
  origin: string;
  /** The size of the checkpoint the release was proved in. */
  checkpointSize: number;
  /** Where that checkpoint is remembered. */
  stateFile: string;
}

export interface HttpOptions {
  /** Default '/'. */
  path?: string;
  /** Default 'POST'. */
  method?: string;
  /** Default 'application/octet-stream'; '' for none. */
  contentType?: string;
  headers?: Record<string, string>;
}

export type Bytes = Buffer | Uint8Array | ArrayBuffer | ArrayBufferView | string;

/** A decrypted HTTP response from inside the TEE. */
export class Response {
  status: number;
  /** Lowercase header names to values. */
  headers: Record<string, string>;
  body: Buffer;
  readonly ok: boolean;
  text(): string;
  json(): any;
  /** This response when 2xx; throws InvalidArgumentError (4xx) or ServerError (5xx). */
  raiseForStatus(): this;
}

/** One request sealed to the service's attested OHTTP key; only it opens its answer. */
export class EncryptedRequest {
  private constructor();
  /** The encapsulated request: POST it to /v1/ohttp, or base64 in /predict. */
  readonly data: Buffer;
  /** Opens the encapsulated response. Rejects with ResponseError when it does not
   * authenticate. */
  decrypt(response: Bytes): Promise<Response>;
  /** {encrypted_input: base64(data)}: the JSON body of the runtime's POST /predict. */
  predictBody(): { encrypted_input: string };
  /** Opens POST /predict's answer {success: true, encrypted_result: base64}. Rejects with
   * ServerError when success is false. */
  readPredictResult(body: { success?: boolean; encrypted_result?: string; error?: string } | string | Buffer): Promise<Response>;
}

export interface GenerateOptions {
  /** Tokens to generate at most (default 16; the runtime accepts 1..1024). */
  maxTokens?: number;
}

/** A streamed text generation (VerifiedService.generateStream): an async iterable of each
 * token's text as it arrives, each step waiting on a worker thread. The iteration ends only
 * when the stream ended whole (final chunk authenticated, receipt verified); a stream cut off,
 * tampered with or failed rejects (ResponseError, CryptaError "DATA_LOSS", ServerError), and
 * the request's own errors (NotFoundError, InvalidArgumentError) reject its first step.
 * Leaving a `for await` early closes it. */
export class GenerationStream implements AsyncIterableIterator<string> {
  private constructor();
  [Symbol.asyncIterator](): this;
  next(): Promise<IteratorResult<string, undefined>>;
  /** Closes the stream (what `break` in a `for await` calls). */
  return(value?: any): Promise<IteratorResult<string, any>>;
  /** Stops reading the stream; the iteration then ends, without a receipt. */
  close(): Promise<void>;
  /** True once the stream ended whole. */
  readonly done: boolean;
  /** Once ended whole: the runtime's verified receipt (JWS compact); null before, after an
   * early close, or from a runtime without receipts. */
  readonly receipt: string | null;
  /** The receipt bundle JSON (`crypta receipt verify`, verifyReceipt). Throws
   * FailedPreconditionError before the stream ended whole or without a receipt. */
  receiptBundle(): string;
}

/** A crypta-runtime whose attestation verified. Immutable and safe to share. */
export class VerifiedService {
  private constructor();
  readonly url: string;
  /** Always true. */
  readonly isValid: true;
  /** "sev-snp" | "tdx" | "sgx" | "sim". */
  readonly tee: string;
  readonly simulated: boolean;
  /** The attested measurement, hex. */
  readonly measurement: string;
  /** Everything verified: claims, runtime_data, the OHTTP key config. */
  readonly claims: Record<string, any>;
  /** The attested runtime_data: nonce, ohttp-key-config, workload, model-digest, ... */
  readonly runtimeData: Record<string, any>;
  readonly ohttpKeyId: number;
  /** Whether the runtime signs receipts (issue 17); every answer's receipt is then verified. */
  readonly issuesReceipts: boolean;
  /** The release the transparency log proved (verifyService's `transparency`), or null when
   * no log was checked. */
  readonly published: Readonly<PublishedRelease> | null;

  /** Runs the model on named input tensors, or on one tensor (named options.inputName or the
   * model's first input). Resolves to {outputName: Tensor}. Input typed arrays are read in
   * place: do not modify, transfer or resize them until the promise settles. */
  predict(
    model: string,
    inputs: Record<string, TensorInput | ShapedArray> | TensorInput | ShapedArray,
    options?: { inputName?: string },
  ): Promise<Record<string, Tensor>>;
  /** The same, the result carrying (not enumerable) the runtime's verified receipt.
   * Rejects with FailedPreconditionError, before sending, when the runtime issues none. */
  predict(
    model: string,
    inputs: Record<string, TensorInput | ShapedArray> | TensorInput | ShapedArray,
    options: { inputName?: string; withReceipt: true },
  ): Promise<Record<string, Tensor> & { readonly receipt: Receipt }>;
  /** An Open Inference Protocol JSON request sent as is; resolves to the JSON response
   * (with withReceipt, carrying `receipt` as predict()). */
  infer(model: string, request: Record<string, unknown> | string,
        options?: { withReceipt?: boolean }): Promise<any>;
  /** The model's OIP metadata. */
  metadata(model: string): Promise<any>;
  /** Text generation (models whose signature declares "generate"): resolves to the whole
   * continuation of `prompt`. A prompt the model cannot take rejects with
   * InvalidArgumentError, an unknown model with NotFoundError. */
  generate(model: string, prompt: string, options?: GenerateOptions): Promise<string>;
  /** generate(), streamed token by token (chunked OHTTP); the request is sent now. */
  generateStream(model: string, prompt: string, options?: GenerateOptions): GenerationStream;
  /** Seals an HTTP request to the attested key. */
  encrypt(payload: Bytes | null, options?: HttpOptions): Promise<EncryptedRequest>;
  /** request.decrypt(response). */
  decrypt(request: EncryptedRequest, response: Bytes): Promise<Response>;
  /** encrypt + POST /v1/ohttp + decrypt. */
  send(payload?: Bytes | null, options?: HttpOptions): Promise<Response>;
  toJSON(): Record<string, unknown>;
}

/** Verifies the crypta-runtime at `url`; rejects with VerificationError naming every
 * violation (nothing is sent to the model before this succeeds). */
export function verifyService(url: string, options?: VerifyOptions): Promise<VerifiedService>;

/** The verified payload of a receipt (issue 17). */
export interface ReceiptClaims {
  alg: 'EdDSA' | 'ES256';
  kid: string;
  request_digest: string;
  response_digest: string;
  model_digest: string;
  measurement: string;
  attestation_digest: string;
  workload: string;
  time: number;
  sequence: number;
}

/** The runtime's signed receipt of one prediction, verified before the answer was returned. */
export class Receipt {
  private constructor();
  /** JWS compact serialization (RFC 7515). */
  readonly jws: string;
  readonly claims: ReceiptClaims;
  /** The receipt bundle JSON (what `crypta predict --receipt FILE` writes); it holds the
   * decrypted response. */
  readonly bundle: string;
  /** Writes the bundle to `file`, mode 0600. */
  save(file: string | URL): Promise<void>;
  toJSON(): { jws: string; claims: ReceiptClaims };
}

export interface VerifyReceiptOptions {
  /** Accept the SIMULATED TEE's evidence (needs simRoot). */
  allowSimulated?: boolean;
  /** The platform's sim root CA: PEM or a path (e.g. <data dir>/sim/ca.pem). */
  simRoot?: TextOrPath;
  /** Verification time of the evidence's certificates (default now). */
  at?: Date | number | string;
}

/** What verifyReceipt verified. */
export interface VerifiedReceipt {
  verified: true;
  receipt: ReceiptClaims;
  tee: string;
  simulated: boolean;
  measurement: string;
  host_data: string;
  workload: string;
  model_digest: string;
  receipt_key_kid: string;
}

/** Verifies a receipt bundle (JSON text, Buffer, object, path or Receipt) offline; rejects
 * with VerificationError naming the failed check ("attestation: ..." or "receipt: ..."). */
export function verifyReceipt(
  bundle: string | Buffer | Uint8Array | URL | Record<string, unknown> | Receipt,
  options?: VerifyReceiptOptions,
): Promise<VerifiedReceipt>;

export interface PlatformOptions {
  url?: string;
  token?: string;
  /** The control plane's CA (path) for https://. */
  ca?: string | URL;
  /** A `crypta up` data dir: its url, admin.token, tls/ca.pem. */
  dataDir?: string | URL;
}

export interface EncryptModelOptions {
  tenant: string;
  key: string;
  /** Default: the file name without extension. */
  name?: string;
  /** Release the key only to these TEEs, e.g. ['sev-snp', 'tdx']. */
  recipientTee?: string | string[];
  /** Require the key to rotate at least this often. */
  keyRotationDays?: number;
  /** Where the sealed copy is written (removed after); default $TMPDIR or /tmp. */
  tmpDir?: string;
  /** The model's inputs and outputs ({inputs: [{name, datatype, shape}], outputs: [...]}):
   * an object, JSON text or a path. Required for TorchScript; read from the graph for ONNX.
   * Stored with the model; crypta-runtime serves the model with it. */
  signature?: TextOrPath | Record<string, unknown>;
  /** 'torchscript' or 'onnx' (default: inferred by the check). */
  backend?: 'torchscript' | 'onnx';
  /** Load and run the model with crypta-model-check before sealing: 'auto' (default) when
   * the checker is found ($CRYPTA_MODEL_CHECK, the build tree's bin/, PATH), true to require
   * it, false to skip. */
  check?: boolean | 'auto';
}

export interface PushedModel {
  /** store://tenant/name@sha256:<hex> */
  reference: string;
  size: number;
  kekVersion: number;
  record: Record<string, any>;
}

export interface SealedData {
  blob: Buffer;
  objectId: string;
}

/** The control plane's admin API. */
export class Platform {
  /** url/token/ca, else CRYPTA_URL/CRYPTA_TOKEN/CRYPTA_CA_CERT, else the data dir
   * (default ~/.local/share/crypta). Throws UnavailableError when none is found. */
  constructor(options?: PlatformOptions);
  readonly url: string;
  request(method: 'GET' | 'POST' | 'PUT' | 'DELETE' | string, path: string, body?: unknown): Promise<any>;
  /** Seals and pushes a model file; resolves to its store:// reference. */
  encryptModel(file: string | URL, options: EncryptModelOptions): Promise<string>;
  /** encryptModel with the control plane's whole answer. */
  pushModel(file: string | URL, options: EncryptModelOptions): Promise<PushedModel>;
  /** Seals data for attested workloads (TEEEnvironment.decryptData). */
  encryptData(data: Bytes, options: { tenant: string; key: string; objectId?: string }): Promise<SealedData>;
  models(tenant: string): Promise<Record<string, any>[]>;
  keys(tenant: string): Promise<Record<string, any>[]>;
  tenants(): Promise<Record<string, any>[]>;
  auditTail(tail?: number, options?: { tenant?: string }): Promise<Record<string, any>[]>;
}

export interface TEEEnvironmentOptions {
  /** Default $CRYPTA_BROKER_URL. */
  brokerUrl?: string;
  /** The broker's CA for https:// (path; default $CRYPTA_BROKER_CA). */
  brokerCa?: string;
  /** 'auto' (default) or 'sim'. */
  tee?: 'auto' | 'sim';
  /** Default $CRYPTA_SIM_SOCKET. */
  simSocket?: string;
  /** GPUs attested with the TEE, bound to its evidence: 'none' (default), 'nvml' (NVIDIA's
   * NVML, loaded at run time) or 'sim' (`crypta sim launch --gpus N`). */
  gpuEvidence?: 'none' | 'nvml' | 'sim';
  /** Default 4 GiB. */
  maxModelBytes?: number;
}

/** Inside a TEE: secrets by attestation. Throws FailedPreconditionError outside one. */
export class TEEEnvironment {
  constructor(options?: TEEEnvironmentOptions);
  readonly tee: string;
  readonly simulated: boolean;
  readonly earToken: string;
  lastModelMetadata: Record<string, any> | null;
  loadEncryptedModel(reference: string): Promise<Buffer>;
  decryptData(blob: Bytes, objectId: string): Promise<Buffer>;
  encryptData(data: Bytes, like: Bytes, objectId: string): Promise<Buffer>;
}

export const version: string;

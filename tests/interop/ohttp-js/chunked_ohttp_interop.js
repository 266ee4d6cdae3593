#!/usr/bin/env node
// Interoperability: an independent chunked Oblivious HTTP client against crypta-runtime.
//
// Written from the specifications only, sharing no code with crypta:
//   draft-ietf-ohai-chunked-ohttp-08 (chunked OHTTP), RFC 9458 (OHTTP: key config, response
//   keys), RFC 9180 (HPKE, here @hpke/core with @hpke/dhkem-x25519, whose X25519 is noble's
//   pure JavaScript, not OpenSSL), RFC 9292 (Binary HTTP), RFC 9000 §16 (varints).
// The response side (key/nonce derivation, per-chunk nonces, AES-GCM) uses node's crypto.
//
// 1. Offline self-check against the draft's Appendix A example (testdata/ohttp/
//    chunked-draft-08-example.json): the request sealed with the example's ephemeral key
//    must give the example's request bytes; the gateway side (HPKE recipient) opens them;
//    the response sealed with the example's response nonce must give the example's response
//    chunks and chunk nonces; and this client's response opener opens them.
// 2. With --url: fetches the runtime's OHTTP key config from GET /v1/attestation (the
//    evidence is NOT verified here: this test is about the OHTTP layer only; crypta's own
//    tests and the client SDK verify attestation), then sends chunked OHTTP requests to
//    POST /v1/ohttp for generate_stream (indeterminate-length BHTTP response with the
//    receipt in its trailer section) and generate (known-length BHTTP response).
//
// Usage: node chunked_ohttp_interop.js --kat KAT.json [--url RUNTIME_URL --expected EXPECTED.json]
// Exit 0 on success; 1 with "FAIL: ..." lines otherwise.
"use strict";

const crypto = require("node:crypto");
const fs = require("node:fs");
const { Aes128Gcm, Aes256Gcm, CipherSuite, HkdfSha256 } = require("@hpke/core");
const { DhkemX25519HkdfSha256 } = require("@hpke/dhkem-x25519");

const CHUNKED_REQUEST_LABEL = "message/bhttp chunked request";
const CHUNKED_RESPONSE_LABEL = "message/bhttp chunked response";
const FINAL_AAD = Buffer.from("final");
const enc = (s) => Buffer.from(s, "utf8");
const hex = (b) => Buffer.from(b).toString("hex");

class Fail extends Error {}
function check(cond, what) {
  if (!cond) throw new Fail(what);
}

// ------------------------------------------------------------------ varints (RFC 9000 §16)

function encodeVarint(n) {
  if (n < 0x40) return Buffer.from([n]);
  if (n < 0x4000) return Buffer.from([0x40 | (n >> 8), n & 0xff]);
  if (n < 0x40000000) {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n);
    b[0] |= 0x80;
    return b;
  }
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  b[0] |= 0xc0;
  return b;
}

// Returns [value, size] or null when `buf` at `pos` does not hold a whole varint yet.
function decodeVarint(buf, pos) {
  if (pos >= buf.length) return null;
  const size = 1 << (buf[pos] >> 6);
  if (pos + size > buf.length) return null;
  let v = BigInt(buf[pos] & 0x3f);
  for (let i = 1; i < size; i++) v = (v << 8n) | BigInt(buf[pos + i]);
  check(v <= BigInt(Number.MAX_SAFE_INTEGER), "varint too large");
  return [Number(v), size];
}

class Reader {
  constructor(buf, what) {
    this.buf = buf;
    this.pos = 0;
    this.what = what;
  }
  atEnd() {
    return this.pos >= this.buf.length;
  }
  varint(field) {
    const r = decodeVarint(this.buf, this.pos);
    check(r !== null, `${this.what}: truncated at ${field}`);
    this.pos += r[1];
    return r[0];
  }
  bytes(n, field) {
    check(this.pos + n <= this.buf.length, `${this.what}: truncated in ${field}`);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  lengthPrefixed(field) {
    return this.bytes(this.varint(field + " length"), field);
  }
}

// ------------------------------------------------------------------ key config (RFC 9458 §3)

const AEADS = {
  1: { name: "AES-128-GCM", cipher: "aes-128-gcm", nk: 16, nn: 12, hpke: () => new Aes128Gcm() },
  2: { name: "AES-256-GCM", cipher: "aes-256-gcm", nk: 32, nn: 12, hpke: () => new Aes256Gcm() },
};
const KEM_X25519 = 0x0020;
const KDF_HKDF_SHA256 = 0x0001;

function parseKeyConfig(bytes) {
  const r = new Reader(Buffer.from(bytes), "key config");
  const keyId = r.bytes(1, "key_id")[0];
  const kemId = r.bytes(2, "kem_id").readUInt16BE();
  check(kemId === KEM_X25519, `key config: kem_id 0x${kemId.toString(16)}, this client has X25519 only`);
  const publicKey = r.bytes(32, "public_key");
  const algLength = r.bytes(2, "symmetric algorithms length").readUInt16BE();
  check(algLength > 0 && algLength % 4 === 0, "key config: bad symmetric algorithms length");
  const algs = new Reader(r.bytes(algLength, "symmetric algorithms"), "key config algorithms");
  const algorithms = [];
  while (!algs.atEnd()) {
    algorithms.push({ kdf: algs.bytes(2, "kdf_id").readUInt16BE(), aead: algs.bytes(2, "aead_id").readUInt16BE() });
  }
  check(r.atEnd(), "key config: trailing bytes");
  return { keyId, kemId, publicKey, algorithms };
}

// The first KDF/AEAD pair of the config that this client implements.
function chooseSuite(config) {
  const a = config.algorithms.find((x) => x.kdf === KDF_HKDF_SHA256 && AEADS[x.aead]);
  check(a, "key config offers no HKDF-SHA256 with AES-GCM: " + JSON.stringify(config.algorithms));
  const aead = AEADS[a.aead];
  return {
    kdfId: a.kdf,
    aeadId: a.aead,
    aead,
    hpke: new CipherSuite({ kem: new DhkemX25519HkdfSha256(), kdf: new HkdfSha256(), aead: aead.hpke() }),
  };
}

// hdr = key_id || kem_id || kdf_id || aead_id (RFC 9458 §4.3).
function requestHeader(config, suite) {
  const h = Buffer.alloc(7);
  h[0] = config.keyId;
  h.writeUInt16BE(config.kemId, 1);
  h.writeUInt16BE(suite.kdfId, 3);
  h.writeUInt16BE(suite.aeadId, 5);
  return h;
}

// ------------------------------------------------------------------ chunked OHTTP (draft-08)

// A request: header() first, then sealChunk() for each non-final piece, sealFinal() last.
class ChunkedRequest {
  static async create(config, suite, ekm) {
    const hdr = requestHeader(config, suite);
    const info = Buffer.concat([enc(CHUNKED_REQUEST_LABEL), Buffer.from([0]), hdr]);
    const pkR = await suite.hpke.kem.deserializePublicKey(config.publicKey);
    const params = { recipientPublicKey: pkR, info };
    if (ekm) params.ekm = ekm;
    const ctx = await suite.hpke.createSenderContext(params);
    const nr = Math.max(suite.aead.nn, suite.aead.nk);
    const secret = Buffer.from(await ctx.export(enc(CHUNKED_RESPONSE_LABEL), nr));
    return new ChunkedRequest(suite, hdr, Buffer.from(ctx.enc), ctx, secret);
  }
  constructor(suite, hdr, encapsulated, ctx, secret) {
    Object.assign(this, { suite, hdr, enc: encapsulated, ctx, secret });
  }
  header() {
    return Buffer.concat([this.hdr, this.enc]);
  }
  async sealChunk(piece) {
    check(piece.length > 0, "a non-final chunk must not be empty");
    const ct = Buffer.from(await this.ctx.seal(piece));
    return Buffer.concat([encodeVarint(ct.length), ct]);
  }
  async sealFinal(piece) {
    const ct = Buffer.from(await this.ctx.seal(piece, FINAL_AAD));
    return Buffer.concat([encodeVarint(0), ct]);
  }
  responseOpener() {
    return new ChunkedResponseOpener(this.suite, this.enc, this.secret);
  }
}

// RFC 9458 §4.4 with the chunked label's secret: salt = enc || response_nonce,
// prk = Extract(salt, secret), key = Expand(prk, "key", Nk), nonce = Expand(prk, "nonce", Nn).
function responseKeys(suite, encapsulated, secret, responseNonce) {
  const salt = Buffer.concat([encapsulated, responseNonce]);
  const key = Buffer.from(crypto.hkdfSync("sha256", secret, salt, enc("key"), suite.aead.nk));
  const nonce = Buffer.from(crypto.hkdfSync("sha256", secret, salt, enc("nonce"), suite.aead.nn));
  return { key, nonce };
}

// Chunk i's nonce: aead_nonce XOR i, i big-endian in Nn bytes (draft §6.2).
function chunkNonce(base, counter) {
  const n = Buffer.from(base);
  let c = BigInt(counter);
  for (let i = n.length - 1; i >= 0 && c > 0n; i--) {
    n[i] ^= Number(c & 0xffn);
    c >>= 8n;
  }
  return n;
}

function aeadSeal(suite, key, nonce, aad, plaintext) {
  const c = crypto.createCipheriv(suite.aead.cipher, key, nonce, { authTagLength: 16 });
  c.setAAD(aad);
  return Buffer.concat([c.update(plaintext), c.final(), c.getAuthTag()]);
}

function aeadOpen(suite, key, nonce, aad, sealed, what) {
  check(sealed.length >= 16, `${what}: shorter than the AEAD tag`);
  const d = crypto.createDecipheriv(suite.aead.cipher, key, nonce, { authTagLength: 16 });
  d.setAAD(aad);
  d.setAuthTag(sealed.subarray(sealed.length - 16));
  try {
    return Buffer.concat([d.update(sealed.subarray(0, sealed.length - 16)), d.final()]);
  } catch (e) {
    throw new Fail(`${what} does not open (AEAD authentication failed)`);
  }
}

// A push parser of message/ohttp-chunked-res: feed() whatever bytes arrived, get the
// plaintext of every chunk they completed; finish() at the end of the stream opens the
// final chunk (AAD "final"), which runs to the end.
class ChunkedResponseOpener {
  constructor(suite, encapsulated, secret) {
    Object.assign(this, { suite, enc: encapsulated, secret });
    this.buf = Buffer.alloc(0);
    this.keys = null;
    this.counter = 0;
    this.inFinal = false;
    this.nonces = []; // the chunk nonces used, for the known-answer check
  }
  feed(data) {
    this.buf = Buffer.concat([this.buf, data]);
    const out = [];
    if (!this.keys) {
      const nr = Math.max(this.suite.aead.nn, this.suite.aead.nk);
      if (this.buf.length < nr) return out;
      this.responseNonce = this.buf.subarray(0, nr);
      this.keys = responseKeys(this.suite, this.enc, this.secret, this.responseNonce);
      this.buf = this.buf.subarray(nr);
    }
    while (!this.inFinal) {
      const v = decodeVarint(this.buf, 0);
      if (!v) break;
      const [length, size] = v;
      if (length === 0) {
        this.inFinal = true;
        this.buf = this.buf.subarray(size);
        break;
      }
      if (this.buf.length < size + length) break;
      const sealed = this.buf.subarray(size, size + length);
      this.buf = this.buf.subarray(size + length);
      const pt = this.open(sealed, false);
      check(pt.length > 0, `response chunk ${this.counter - 1} is empty (draft §6: non-final chunks are not)`);
      out.push(pt);
    }
    return out;
  }
  finish() {
    check(this.keys && this.inFinal, "response truncated: the stream ended without its final chunk");
    return this.open(this.buf, true);
  }
  open(sealed, final) {
    const nonce = chunkNonce(this.keys.nonce, this.counter++);
    this.nonces.push(hex(nonce));
    return aeadOpen(this.suite, this.keys.key, nonce, final ? FINAL_AAD : Buffer.alloc(0), sealed,
      final ? "the final response chunk" : `response chunk ${this.counter - 1}`);
  }
}

// ------------------------------------------------------------------ Binary HTTP (RFC 9292)

function encodeKnownLengthFields(fields) {
  const lines = fields.map(([n, v]) => Buffer.concat([encodeVarint(enc(n).length), enc(n), encodeVarint(enc(v).length), enc(v)]));
  const body = Buffer.concat(lines);
  return Buffer.concat([encodeVarint(body.length), body]);
}

// A known-length request (framing indicator 0, §3.1): control data, header section, content
// and an empty trailer section.
function encodeBhttpRequest({ method, scheme, authority, path, headers, content }) {
  const lp = (b) => Buffer.concat([encodeVarint(b.length), b]);
  return Buffer.concat([
    encodeVarint(0),
    lp(enc(method)), lp(enc(scheme)), lp(enc(authority)), lp(enc(path)),
    encodeKnownLengthFields(headers),
    lp(Buffer.from(content)),
    encodeKnownLengthFields([]),
  ]);
}

function readFieldSection(r, known, what) {
  const fields = [];
  const line = (src) => {
    const name = src.lengthPrefixed(`${what} field name`).toString("latin1");
    const value = src.lengthPrefixed(`${what} field value`).toString("latin1");
    check(/^[!#$%&'*+\-.^_`|~0-9a-z]+$/.test(name), `${what}: field name ${JSON.stringify(name)} is not a lowercase token`);
    fields.push([name, value]);
  };
  if (known) {
    const section = new Reader(r.lengthPrefixed(what), what);
    while (!section.atEnd()) line(section);
  } else {
    for (;;) {
      const save = r.pos;
      if (r.varint(`${what} field name length`) === 0) break;
      r.pos = save;
      line(r);
    }
  }
  return fields;
}

// A response, known-length (framing indicator 1) or indeterminate-length (3), with
// informational responses, truncation at a section boundary and zero padding (§3.8).
function decodeBhttpResponse(buf) {
  const r = new Reader(buf, "bhttp response");
  const framing = r.varint("framing indicator");
  check(framing === 1 || framing === 3, `bhttp response: framing indicator ${framing} is not a response's`);
  const known = framing === 1;
  const msg = { framing, informational: [], headers: [], content: Buffer.alloc(0), trailers: [] };
  let status;
  for (;;) {
    status = r.varint("status");
    if (status < 100 || status > 199) break;
    msg.informational.push({ status, headers: readFieldSection(r, known, "informational header") });
  }
  check(status >= 200 && status <= 599, `bhttp response: status ${status}`);
  msg.status = status;
  if (r.atEnd()) return msg;
  msg.headers = readFieldSection(r, known, "header section");
  if (r.atEnd()) return msg;
  if (known) {
    msg.content = Buffer.from(r.lengthPrefixed("content"));
  } else {
    const parts = [];
    for (;;) {
      const n = r.varint("content chunk length");
      if (n === 0) break;
      parts.push(r.bytes(n, "content chunk"));
    }
    msg.contentChunks = parts.length;
    msg.content = Buffer.concat(parts);
  }
  if (r.atEnd()) return msg;
  msg.trailers = readFieldSection(r, known, "trailer section");
  while (!r.atEnd()) check(r.bytes(1, "padding")[0] === 0, "bhttp response: non-zero padding");
  return msg;
}

const field = (fields, name) => (fields.find(([n]) => n === name) || [])[1];

// ------------------------------------------------------------------ the draft's example

async function knownAnswerCheck(katPath) {
  const kat = JSON.parse(fs.readFileSync(katPath, "utf8"));
  const b = (h) => Buffer.from(h, "hex");
  const config = parseKeyConfig(b(kat.key_config));
  const suite = chooseSuite(config);
  const kem = suite.hpke.kem;

  // Client: the request sealed with the example's ephemeral key.
  const ekm = {
    privateKey: await kem.deserializePrivateKey(b(kat.client_ephemeral_secret_key)),
    publicKey: await kem.deserializePublicKey(b(kat.client_ephemeral_public_key)),
  };
  const req = await ChunkedRequest.create(config, suite, ekm);
  check(hex(req.header()) === kat.request_header, `KAT: request header ${hex(req.header())}, want ${kat.request_header}`);
  const bhttp = b(kat.request_bhttp);
  const pieces = [];
  let at = 0;
  for (const n of kat.request_split) {
    pieces.push(bhttp.subarray(at, at + n));
    at += n;
  }
  const sealed = [];
  for (const p of pieces) sealed.push(await req.sealChunk(p));
  sealed.push(await req.sealFinal(bhttp.subarray(at)));
  sealed.forEach((s, i) => check(hex(s) === kat.request_chunks[i], `KAT: request chunk ${i} is ${hex(s)}, want ${kat.request_chunks[i]}`));

  // Gateway: open the example's request with the example's gateway key (HPKE recipient).
  const hdr = b(kat.request_header);
  const info = Buffer.concat([enc(CHUNKED_REQUEST_LABEL), Buffer.from([0]), hdr.subarray(0, 7)]);
  check(hex(info) === kat.hpke_info, "KAT: hpke info differs");
  const rctx = await suite.hpke.createRecipientContext({
    recipientKey: await kem.deserializePrivateKey(b(kat.gateway_x25519_secret_key)),
    enc: hdr.subarray(7),
    info,
  });
  const opened = [];
  kat.request_chunks.forEach((h, i) => {
    const c = b(h);
    const [length, size] = decodeVarint(c, 0);
    const final = i === kat.request_chunks.length - 1;
    check(final ? length === 0 : length === c.length - size, `KAT: request chunk ${i} length field`);
    opened.push([c.subarray(size), final]);
  });
  const plain = [];
  for (const [ct, final] of opened) plain.push(Buffer.from(await rctx.open(ct, final ? FINAL_AAD : undefined)));
  check(hex(Buffer.concat(plain)) === kat.request_bhttp, "KAT: the opened request differs from the example's");

  // Gateway: the response sealed with the example's response nonce.
  const nr = Math.max(suite.aead.nn, suite.aead.nk);
  const gwSecret = Buffer.from(await rctx.export(enc(CHUNKED_RESPONSE_LABEL), nr));
  check(gwSecret.equals(req.secret), "KAT: client and gateway exported different response secrets");
  // The draft's text lists the exported secret too (not in the JSON file).
  if (kat.response_nonce === "bcce7f4cb921309ba5d62edf1769ef09") {
    check(hex(gwSecret) === "1d4484834ae36102a6ac42a5523454d9", `KAT: exported secret ${hex(gwSecret)}`);
  }
  const responseNonce = b(kat.response_nonce);
  const keys = responseKeys(suite, hdr.subarray(7), gwSecret, responseNonce);
  const rbhttp = b(kat.response_bhttp);
  const rpieces = [];
  at = 0;
  for (const n of kat.response_split) {
    rpieces.push(rbhttp.subarray(at, at + n));
    at += n;
  }
  rpieces.push(rbhttp.subarray(at));
  rpieces.forEach((p, i) => {
    const final = i === rpieces.length - 1;
    const nonce = chunkNonce(keys.nonce, i);
    check(hex(nonce) === kat.response_chunk_nonces[i], `KAT: response chunk nonce ${i} is ${hex(nonce)}, want ${kat.response_chunk_nonces[i]}`);
    const ct = aeadSeal(suite, keys.key, nonce, final ? FINAL_AAD : Buffer.alloc(0), p);
    const framed = Buffer.concat([encodeVarint(final ? 0 : ct.length), ct]);
    check(hex(framed) === kat.response_chunks[i], `KAT: response chunk ${i} is ${hex(framed)}, want ${kat.response_chunks[i]}`);
  });

  // Client: open the example's response, fed one byte at a time.
  const opener = req.responseOpener();
  const stream = Buffer.concat([responseNonce, ...kat.response_chunks.map(b)]);
  const got = [];
  for (let i = 0; i < stream.length; i++) got.push(...opener.feed(stream.subarray(i, i + 1)));
  got.push(opener.finish());
  check(hex(Buffer.concat(got)) === kat.response_bhttp, "KAT: the opened response differs from the example's");
  check(JSON.stringify(opener.nonces) === JSON.stringify(kat.response_chunk_nonces), "KAT: the opener's chunk nonces differ");
  check(decodeBhttpResponse(Buffer.concat(got)).status === 200, "KAT: the example's response is not a 200");

  // This opener refuses damaged responses: a flipped bit, chunks swapped, the final chunk
  // dropped, and a non-final chunk re-framed as the final one (a truncation that keeps the
  // framing valid: sealed without the "final" AAD, it does not open as final).
  const chunks = kat.response_chunks.map(b);
  const flipped = chunks.map((c) => Buffer.from(c));
  flipped[1][5] ^= 1;
  const asFinal = Buffer.concat([encodeVarint(0), chunks[1].subarray(decodeVarint(chunks[1], 0)[1])]);
  const damaged = {
    "a flipped bit": flipped,
    "swapped chunks": [chunks[1], chunks[0], chunks[2]],
    "no final chunk": [chunks[0], chunks[1]],
    "a non-final chunk framed as final": [chunks[0], asFinal],
  };
  for (const [what, parts] of Object.entries(damaged)) {
    const o = req.responseOpener();
    let refused = null;
    try {
      o.feed(Buffer.concat([responseNonce, ...parts]));
      o.finish();
    } catch (e) {
      if (!(e instanceof Fail)) throw e;
      refused = e.message;
    }
    check(refused, `KAT: the opener accepted a response with ${what}`);
    if (process.env.VERBOSE) console.log(`KAT: ${what}: refused: ${refused}`);
  }
  console.log(`KAT: draft-ietf-ohai-chunked-ohttp-08 Appendix A reproduced (${sealed.length} request chunks, ` +
    `${got.length} response chunks, ${suite.aead.name})`);
}

// ------------------------------------------------------------------ against crypta-runtime

async function fetchKeyConfig(url) {
  // NOTE: the attestation evidence is deliberately not verified: this interop test checks the
  // OHTTP layer only (crypta's SDK and e2e tests verify attestation).
  const nonce = crypto.randomBytes(32).toString("hex");
  const res = await fetch(`${url}/v1/attestation?nonce=${nonce}`, { signal: AbortSignal.timeout(30000) });
  const text = await res.text();
  check(res.status === 200, `GET /v1/attestation: HTTP ${res.status}: ${text}`);
  const body = JSON.parse(text);
  check(body.runtime_data && body.runtime_data.nonce === nonce, "attestation: runtime_data.nonce is not ours");
  const kc = body.runtime_data["ohttp-key-config"];
  check(typeof kc === "string", "attestation: no runtime_data[\"ohttp-key-config\"]");
  return parseKeyConfig(Buffer.from(kc, "base64url"));
}

function postChunked(url, body) {
  return fetch(`${url}/v1/ohttp`, {
    method: "POST",
    headers: { "content-type": "message/ohttp-chunked-req" },
    body,
    signal: AbortSignal.timeout(120000),
  });
}

// Sends `bhttp` sealed as the given pieces (the last one final) and returns the response's
// opened chunks and its decoded BHTTP message.
async function exchange(url, config, suite, bhttp, cuts) {
  const req = await ChunkedRequest.create(config, suite);
  const parts = [req.header()];
  let at = 0;
  for (const cut of cuts) {
    parts.push(await req.sealChunk(bhttp.subarray(at, cut)));
    at = cut;
  }
  parts.push(await req.sealFinal(bhttp.subarray(at)));
  const res = await postChunked(url, Buffer.concat(parts));
  if (res.status !== 200) throw new Fail(`POST /v1/ohttp: HTTP ${res.status}: ${await res.text()}`);
  const ctype = res.headers.get("content-type");
  check(ctype === "message/ohttp-chunked-res", `POST /v1/ohttp: content-type ${ctype}`);
  const opener = req.responseOpener();
  const chunks = [];
  let reads = 0;
  for await (const data of res.body) {
    reads++;
    chunks.push(...opener.feed(Buffer.from(data)));
  }
  const last = opener.finish();
  chunks.push(last);
  return { chunks, reads, message: decodeBhttpResponse(Buffer.concat(chunks)) };
}

function generateRequest(path, prompt, maxTokens) {
  return encodeBhttpRequest({
    method: "POST",
    scheme: "https",
    authority: "crypta-runtime",
    path,
    headers: [["content-type", "application/json"]],
    content: enc(JSON.stringify({ text_input: prompt, parameters: { max_tokens: maxTokens } })),
  });
}

async function live(url, expectedPath) {
  const PROMPT = "Hello, confidential world";
  const MAX_TOKENS = 24;
  const expected = JSON.parse(fs.readFileSync(expectedPath, "utf8"))
    .find((e) => e.prompt === PROMPT && e.max_tokens === MAX_TOKENS);
  check(expected, `${expectedPath} has no entry for ${JSON.stringify(PROMPT)} with ${MAX_TOKENS} tokens`);
  const want = expected.text_output;

  const config = await fetchKeyConfig(url);
  const suite = chooseSuite(config);
  console.log(`key config: key_id ${config.keyId}, X25519, HKDF-SHA256, ${suite.aead.name}`);

  // generate_stream: three request chunks (two non-final, one final, none empty).
  const sreq = generateRequest("/v2/models/tiny_gpt/generate_stream", PROMPT, MAX_TOKENS);
  const n = sreq.length;
  const s = await exchange(url, config, suite, sreq, [Math.floor(n / 3), Math.floor((2 * n) / 3)]);
  const m = s.message;
  check(m.status === 200, `generate_stream: status ${m.status}: ${m.content.toString()}`);
  check(m.framing === 3, `generate_stream: BHTTP framing indicator ${m.framing}, want 3 (indeterminate length)`);
  const ct = field(m.headers, "content-type") || "";
  check(ct.split(";")[0].trim() === "text/event-stream", `generate_stream: content-type ${JSON.stringify(ct)}`);
  const events = m.content.toString("utf8").split(/\r?\n\r?\n/).filter((e) => e.trim() !== "");
  let text = "";
  events.forEach((e, i) => {
    const data = e.split(/\r?\n/).filter((l) => l.startsWith("data:")).map((l) => l.slice(5).replace(/^ /, "")).join("\n");
    let ev;
    try {
      ev = JSON.parse(data);
    } catch (err) {
      throw new Fail(`generate_stream: event ${i} data is not JSON: ${JSON.stringify(e)}`);
    }
    check(ev.model_name === "tiny_gpt", `generate_stream: event ${i} model_name ${JSON.stringify(ev.model_name)}`);
    check(typeof ev.text_output === "string" && ev.text_output.length === 1,
      `generate_stream: event ${i} text_output ${JSON.stringify(ev.text_output)} is not one character`);
    text += ev.text_output;
  });
  check(events.length === MAX_TOKENS, `generate_stream: ${events.length} events, want ${MAX_TOKENS}`);
  check(text === want, `generate_stream: text ${JSON.stringify(text)}, want ${JSON.stringify(want)}`);
  // More OHTTP chunks than the head and the final one: the tokens came in chunks of their own.
  check(s.chunks.length > 2, `generate_stream: only ${s.chunks.length} OHTTP response chunks`);
  const receipt = field(m.trailers, "crypta-receipt");
  check(typeof receipt === "string", `generate_stream: no crypta-receipt in the trailer section (${JSON.stringify(m.trailers.map(([k]) => k))})`);
  check(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(receipt), "generate_stream: crypta-receipt is not a JWS compact string");
  console.log(`generate_stream: ${JSON.stringify(text)} (${events.length} events in ${s.message.contentChunks} BHTTP content chunks, ` +
    `${s.chunks.length} OHTTP response chunks over ${s.reads} reads; receipt in the trailer)`);

  // generate: two non-final request chunks and an empty final one (as the draft's example).
  const wreq = generateRequest("/v2/models/tiny_gpt/generate", PROMPT, MAX_TOKENS);
  const w = await exchange(url, config, suite, wreq, [Math.floor(wreq.length / 2), wreq.length]);
  check(w.message.status === 200, `generate: status ${w.message.status}: ${w.message.content.toString()}`);
  check(w.message.framing === 1, `generate: BHTTP framing indicator ${w.message.framing}, want 1 (known length)`);
  let body;
  try {
    body = JSON.parse(w.message.content.toString("utf8"));
  } catch (err) {
    throw new Fail(`generate: content is not JSON: ${w.message.content.toString()}`);
  }
  check(body.model_name === "tiny_gpt", `generate: model_name ${JSON.stringify(body.model_name)}`);
  check(body.text_output === want, `generate: text_output ${JSON.stringify(body.text_output)}, want ${JSON.stringify(want)}`);
  console.log(`generate: ${JSON.stringify(body.text_output)} (${w.chunks.length} OHTTP response chunks)`);

  // The gateway refuses damaged requests in the clear (400) before any model output: one whose
  // final chunk never came (truncated), and one whose last chunk is framed as final but sealed
  // without the "final" AAD.
  const pieces = [wreq.subarray(0, 10), wreq.subarray(10)];
  for (const what of ["truncated", "final chunk without the final AAD"]) {
    const req = await ChunkedRequest.create(config, suite);
    const parts = [req.header(), await req.sealChunk(pieces[0])];
    if (what === "truncated") {
      parts.push(await req.sealChunk(pieces[1]));
    } else {
      const c = await req.sealChunk(pieces[1]);
      parts.push(encodeVarint(0), c.subarray(decodeVarint(c, 0)[1]));
    }
    const res = await postChunked(url, Buffer.concat(parts));
    const body = await res.text();
    check(res.status === 400, `a ${what} request: HTTP ${res.status}, want 400: ${body}`);
    check(!body.includes(want), `a ${what} request: the answer holds the model's output`);
  }
  console.log("damaged requests: refused with 400 (truncated; final chunk without the \"final\" AAD)");
  console.log(`decrypted text: ${text}`);
}

// ------------------------------------------------------------------ main

async function main() {
  const args = {};
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i += 2) {
    check(["--kat", "--url", "--expected"].includes(argv[i]) && i + 1 < argv.length, `usage: ${argv[i]}?`);
    args[argv[i].slice(2)] = argv[i + 1];
  }
  check(args.kat, "usage: chunked_ohttp_interop.js --kat KAT.json [--url RUNTIME_URL --expected EXPECTED.json]");
  check(!args.url === !args.expected, "--url and --expected go together");
  await knownAnswerCheck(args.kat);
  if (args.url) await live(args.url.replace(/\/$/, ""), args.expected);
  console.log("PASS");
}

main().catch((e) => {
  console.error(`FAIL: ${e instanceof Fail ? e.message : e.stack || e}`);
  process.exit(1);
});

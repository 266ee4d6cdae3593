// Oblivious HTTP (RFC 9458): key configurations, request and response encapsulation.
//
// A client fetches a gateway's key configuration (§3), encapsulates a Binary HTTP
// request to it (§4.3) and keeps the returned OhttpClientContext to open the response.
// The gateway (crypta-runtime, inside the TEE) decapsulates with its private key and
// answers through the OhttpResponseContext it got back (§4.4).
//
// Failures: malformed input → kInvalidArgument naming the field; a request for a key
// id the gateway does not hold → kNotFound; a KEM/KDF/AEAD the gateway or crypta does
// not offer → kUnimplemented; a request or response that does not authenticate →
// kUnauthenticated; a size cap exceeded → kResourceExhausted.
//
// Thread-safety: OhttpGateway is immutable after creation and safe to share. The
// contexts are immutable too (each request gets its own), so they are thread-safe.
#ifndef CRYPTA_CRYPTO_OHTTP_H_
#define CRYPTA_CRYPTO_OHTTP_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "common/bytes.h"
#include "common/secret_bytes.h"
#include "common/status.h"
#include "crypto/aead.h"
#include "crypto/hpke.h"
#include "crypto/keys.h"

namespace crypta {

// §3.1 HPKE Symmetric Algorithms entry.
struct OhttpSymmetricAlgorithm {
  HpkeKdf kdf;
  HpkeAead aead;
  bool operator==(const OhttpSymmetricAlgorithm&) const = default;
};

// §3.1 Key Config. Identifiers the parser does not know are kept as their numeric value
// (the enums have fixed underlying types), so a parsed config re-encodes identically.
struct OhttpKeyConfig {
  uint8_t key_id = 0;
  HpkeKem kem = HpkeKem::kX25519HkdfSha256;
  Bytes public_key;  // the KEM's SerializePublicKey form, Npk bytes
  std::vector<OhttpSymmetricAlgorithm> algorithms;
  bool operator==(const OhttpKeyConfig&) const = default;
};

struct OhttpLimits {
  size_t max_request_bytes = (64u << 20) + 4096;   // encapsulated request
  size_t max_response_bytes = (64u << 20) + 4096;  // encapsulated response
  size_t max_key_configs = 64;                     // entries in application/ohttp-keys
};

// §3.1 encoding. Fails when the public key has the wrong length for the KEM or the
// algorithm list is empty or too long for its 2-byte length.
Result<Bytes> EncodeOhttpKeyConfig(const OhttpKeyConfig& config);
// Parses exactly one config (no trailing bytes). An unsupported KEM is kUnimplemented
// (its key length is unknown); a supported KEM's key must deserialize (EC: on the curve).
Result<OhttpKeyConfig> ParseOhttpKeyConfig(ByteSpan encoded);

// §3.2 application/ohttp-keys: each config prefixed by its 2-byte length.
Result<Bytes> EncodeOhttpKeyConfigList(std::span<const OhttpKeyConfig> configs);
// Skips configs whose KEM is unsupported (the length prefix allows it); fails when the
// list is malformed, longer than limits.max_key_configs, or holds no usable config.
Result<std::vector<OhttpKeyConfig>> ParseOhttpKeyConfigList(ByteSpan encoded,
                                                            const OhttpLimits& limits = {});

// §4.3 info = "message/bhttp request" || 0x00 || hdr, hdr = key_id || kem || kdf || aead.
// `label` is "message/bhttp request" (RFC 9458) or "message/bhttp chunked request"
// (draft-ietf-ohai-chunked-ohttp §6.1).
Bytes OhttpRequestInfo(uint8_t key_id, const HpkeSuite& suite,
                       std::string_view label = "message/bhttp request");

// §4.4 response keys: prk = Extract(enc || response_nonce, secret); key = Expand(prk,
// "key", Nk); nonce = Expand(prk, "nonce", Nn). Exposed for known-answer tests.
struct OhttpResponseKeys {
  SecretBytes prk;
  SecretBytes key;
  SecretBytes nonce;
};
Result<OhttpResponseKeys> DeriveOhttpResponseKeys(const HpkeSuite& suite, ByteSpan secret,
                                                  ByteSpan enc, ByteSpan response_nonce);

// ---------------------------------------------------------------- client

// What the client keeps to open the response: the suite, enc and the exported
// response secret (§4.4), wiped on destruction.
class OhttpClientContext {
 public:
  // §4.4 in reverse: splits response_nonce || ct, derives the keys and opens.
  Result<Bytes> DecapsulateResponse(ByteSpan encapsulated_response,
                                    const OhttpLimits& limits = {}) const;
  const HpkeSuite& suite() const { return suite_; }
  ByteSpan response_secret_for_testing() const { return secret_.Reveal(); }

 private:
  friend class OhttpAccess;
  OhttpClientContext(const HpkeSuite& suite, Bytes enc, SecretBytes secret)
      : suite_(suite), enc_(std::move(enc)), secret_(std::move(secret)) {}
  HpkeSuite suite_;
  Bytes enc_;
  SecretBytes secret_;
};

struct OhttpRequestOptions {
  // The (KDF, AEAD) to use; it must be listed in the config. Default: the first listed
  // pair crypta supports (export-only never qualifies).
  std::optional<OhttpSymmetricAlgorithm> algorithm;
  // Fixed HPKE ephemeral key, for known-answer tests only (never reuse one).
  const PrivateKey* ephemeral_key_for_testing = nullptr;
};

// The suite a client uses: options.algorithm if the config offers it, else the first pair
// crypta supports. kUnimplemented when there is none.
Result<HpkeSuite> ChooseOhttpSuite(const OhttpKeyConfig& config,
                                   const OhttpRequestOptions& options = {});
// §4.4: max(Nn, Nk), the length of the exported secret and of the response nonce; and the
// AEAD of an HPKE AEAD id, for the response.
size_t OhttpResponseNonceSize(HpkeAead aead);
AeadAlg OhttpAeadAlg(HpkeAead aead);

struct OhttpEncapsulatedRequest {
  Bytes encapsulated_request;  // hdr || enc || ct
  OhttpClientContext context;
};

Result<OhttpEncapsulatedRequest> EncapsulateOhttpRequest(const OhttpKeyConfig& config,
                                                         ByteSpan bhttp_request,
                                                         const OhttpRequestOptions& options = {});

// In-place encapsulation, for callers that build the Binary HTTP message straight into the
// buffer it is sent from: `buffer` is hdr || enc || bhttp_request || tag, with the first
// OhttpRequestPrefixSize(config.kem) and the last kAeadTagSize bytes reserved (any value).
// On success the buffer holds the encapsulated request (§4.3). Same errors as above, plus
// kInvalidArgument for a buffer shorter than prefix + tag.
size_t OhttpRequestPrefixSize(HpkeKem kem);  // 7 + Nenc; 0 for an unsupported KEM
Result<OhttpClientContext> EncapsulateOhttpRequestInPlace(const OhttpKeyConfig& config,
                                                          MutableByteSpan buffer,
                                                          const OhttpRequestOptions& options = {});

// ---------------------------------------------------------------- gateway

// What the gateway keeps to answer one request.
class OhttpResponseContext {
 public:
  // §4.4 with a fresh random response nonce.
  Result<Bytes> EncapsulateResponse(ByteSpan bhttp_response) const;
  // The same with a caller-chosen nonce of max(Nn, Nk) bytes: known-answer tests only.
  Result<Bytes> EncapsulateResponseWithNonceForTesting(ByteSpan bhttp_response,
                                                       ByteSpan response_nonce) const;
  // In place: `buffer` is response_nonce || bhttp_response || tag, with the first
  // ResponseNonceSize() and the last kAeadTagSize bytes reserved; on success it holds the
  // encapsulated response (a fresh random nonce). kInvalidArgument for a short buffer.
  Status EncapsulateResponseInPlace(MutableByteSpan buffer) const;
  size_t ResponseNonceSize() const;  // max(Nn, Nk)
  const HpkeSuite& suite() const { return suite_; }
  ByteSpan response_secret_for_testing() const { return secret_.Reveal(); }

 private:
  friend class OhttpAccess;
  OhttpResponseContext(const HpkeSuite& suite, Bytes enc, SecretBytes secret)
      : suite_(suite), enc_(std::move(enc)), secret_(std::move(secret)) {}
  HpkeSuite suite_;
  Bytes enc_;
  SecretBytes secret_;
};

struct OhttpDecapsulatedRequest {
  Bytes request;  // the Binary HTTP request
  OhttpResponseContext context;
};

class OhttpGateway {
 public:
  // Checks that `private_key` matches config.public_key and that the config lists at
  // least one supported (KDF, AEAD) pair.
  static Result<OhttpGateway> Create(OhttpKeyConfig config, PrivateKey private_key);
  // A fresh key pair for `kem` under `key_id`.
  static Result<OhttpGateway> Generate(uint8_t key_id, HpkeKem kem,
                                       std::vector<OhttpSymmetricAlgorithm> algorithms);

  const OhttpKeyConfig& key_config() const { return config_; }
  Result<Bytes> EncodedKeyConfig() const { return EncodeOhttpKeyConfig(config_); }

  // §4.3 decapsulation: checks key id, KEM and that (KDF, AEAD) is offered, then opens.
  Result<OhttpDecapsulatedRequest> DecapsulateRequest(ByteSpan encapsulated_request,
                                                      const OhttpLimits& limits = {}) const;
  // The same, decrypting in place: on success `request` points into `encapsulated_request`
  // (whose ciphertext it overwrote); on failure the ciphertext part may be zeroed.
  struct InPlace {
    MutableByteSpan request;
    OhttpResponseContext context;
  };
  Result<InPlace> DecapsulateRequestInPlace(MutableByteSpan encapsulated_request,
                                            const OhttpLimits& limits = {}) const;
  // The same, decrypting into `out` (at least the ciphertext's size less 16 bytes), leaving
  // `encapsulated_request` as it was: `request` points into `out`.
  Result<InPlace> DecapsulateRequestInto(ByteSpan encapsulated_request, MutableByteSpan out,
                                         const OhttpLimits& limits = {}) const;

  // §4.3's checks of hdr (key id, KEM, an offered KDF/AEAD) and the HPKE recipient setup
  // with `enc`, for a message starting with hdr || enc (`prefix`; more may follow) whose
  // HPKE info uses `label` (OhttpRequestInfo). What a chunked request opener builds on.
  struct Recipient {
    HpkeSuite suite;
    Bytes enc;
    HpkeRecipientContext context;
  };
  Result<Recipient> SetupRecipient(ByteSpan prefix, std::string_view label) const;

 private:
  // Both: `out` null decrypts in place (the span's memory is the caller's mutable buffer).
  Result<InPlace> Decapsulate(ByteSpan encapsulated_request, const MutableByteSpan* out,
                              const OhttpLimits& limits) const;
  OhttpGateway(OhttpKeyConfig config, PrivateKey key)
      : config_(std::move(config)), key_(std::move(key)) {}
  OhttpKeyConfig config_;
  PrivateKey key_;
};

}  // namespace crypta

#endif  // CRYPTA_CRYPTO_OHTTP_H_

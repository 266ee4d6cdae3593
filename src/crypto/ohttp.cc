#include "crypto/ohttp.h"

#include <algorithm>
#include <string>

#include "common/byte_reader.h"
#include "common/byte_writer.h"
#include "common/constant_time.h"
#include "crypto/aead.h"
#include "crypto/hash.h"
#include "crypto/random.h"

namespace crypta {

namespace {

constexpr std::string_view kRequestLabel = "message/bhttp request";    // RFC 9458 §4.3
constexpr std::string_view kResponseLabel = "message/bhttp response";  // RFC 9458 §4.4
constexpr size_t kRequestHeaderSize = 7;  // key_id(8) kem_id(16) kdf_id(16) aead_id(16)

std::string Hex4(uint16_t v) {
  static const char kDigits[] = "0123456789abcdef";
  std::string s = "0x";
  for (int shift = 12; shift >= 0; shift -= 4) s.push_back(kDigits[(v >> shift) & 0xF]);
  return s;
}

// A (KDF, AEAD) pair OHTTP can use: supported, and a real AEAD (not export-only).
bool Usable(const OhttpSymmetricAlgorithm& a) {
  return HpkeIsSupported(a.kdf) && HpkeIsSupported(a.aead) && a.aead != HpkeAead::kExportOnly;
}

HashAlg KdfHash(HpkeKdf kdf) {
  return kdf == HpkeKdf::kHkdfSha384   ? HashAlg::kSha384
         : kdf == HpkeKdf::kHkdfSha512 ? HashAlg::kSha512
                                       : HashAlg::kSha256;
}
AeadAlg AeadOf(HpkeAead aead) {
  return aead == HpkeAead::kAes256Gcm          ? AeadAlg::kAes256Gcm
         : aead == HpkeAead::kChaCha20Poly1305 ? AeadAlg::kChaCha20Poly1305
                                               : AeadAlg::kAes128Gcm;
}

// §4.4: max(Nn, Nk), the length of both the exported secret and the response nonce.
size_t ResponseNonceSize(HpkeAead aead) {
  return std::max(HpkeAeadNonceSize(aead), HpkeAeadKeySize(aead));
}

Result<SecretBytes> ExportResponseSecret(const HpkeContext& ctx) {
  return ctx.Export(AsBytes(kResponseLabel), ResponseNonceSize(ctx.suite().aead));
}

SecretBytes ToSecret(Bytes&& b) {
  SecretBytes s(b);
  SecureWipe(b);
  return s;
}

}  // namespace

Result<HpkeSuite> ChooseOhttpSuite(const OhttpKeyConfig& config,
                                   const OhttpRequestOptions& options) {
  std::optional<OhttpSymmetricAlgorithm> alg;
  for (const OhttpSymmetricAlgorithm& a : config.algorithms) {
    if (options.algorithm ? a == *options.algorithm && Usable(a) : Usable(a)) {
      alg = a;
      break;
    }
  }
  if (!alg) {
    return MakeError(ErrorCode::kUnimplemented,
                     options.algorithm
                         ? "ohttp: the requested KDF/AEAD is not offered by the key config"
                         : "ohttp: the key config offers no supported KDF/AEAD");
  }
  const HpkeSuite suite{config.kem, alg->kdf, alg->aead};
  CRYPTA_RETURN_IF_ERROR(ValidateHpkeSuite(suite));
  return suite;
}

size_t OhttpResponseNonceSize(HpkeAead aead) { return ResponseNonceSize(aead); }
AeadAlg OhttpAeadAlg(HpkeAead aead) { return AeadOf(aead); }

// Builds the contexts, whose constructors are private.
class OhttpAccess {
 public:
  static OhttpClientContext Client(const HpkeSuite& s, Bytes enc, SecretBytes secret) {
    return OhttpClientContext(s, std::move(enc), std::move(secret));
  }
  static OhttpResponseContext Response(const HpkeSuite& s, Bytes enc, SecretBytes secret) {
    return OhttpResponseContext(s, std::move(enc), std::move(secret));
  }
};

// ---------------------------------------------------------------- key configs (§3)

Result<Bytes> EncodeOhttpKeyConfig(const OhttpKeyConfig& config) {
  const size_t npk = HpkeEncSize(config.kem);
  if (npk != 0 && config.public_key.size() != npk) {
    return MakeError(ErrorCode::kInvalidArgument, "ohttp key config public_key: got " +
                                                      std::to_string(config.public_key.size()) +
                                                      " bytes, want " + std::to_string(npk));
  }
  if (config.algorithms.empty() || config.algorithms.size() > 0xFFFF / 4) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "ohttp key config: want 1 to 16383 symmetric algorithms, got " +
                         std::to_string(config.algorithms.size()));
  }
  ByteWriter w;
  w.WriteU8(config.key_id);
  w.WriteU16BE(static_cast<uint16_t>(config.kem));
  w.WriteBytes(config.public_key);
  w.WriteU16BE(static_cast<uint16_t>(4 * config.algorithms.size()));
  for (const OhttpSymmetricAlgorithm& a : config.algorithms) {
    w.WriteU16BE(static_cast<uint16_t>(a.kdf));
    w.WriteU16BE(static_cast<uint16_t>(a.aead));
  }
  return w.Take();
}

Result<OhttpKeyConfig> ParseOhttpKeyConfig(ByteSpan encoded) {
  ByteReader r(encoded);
  OhttpKeyConfig c;
  CRYPTA_ASSIGN_OR_RETURN(c.key_id, r.ReadU8("ohttp key config key_id"));
  CRYPTA_ASSIGN_OR_RETURN(uint16_t kem, r.ReadU16BE("ohttp key config kem_id"));
  c.kem = static_cast<HpkeKem>(kem);
  const size_t npk = HpkeEncSize(c.kem);
  if (npk == 0) {
    return MakeError(ErrorCode::kUnimplemented,
                     "ohttp key config kem_id " + Hex4(kem) + " is not supported");
  }
  CRYPTA_ASSIGN_OR_RETURN(ByteSpan pk, r.ReadBytes(npk, "ohttp key config public_key"));
  Result<PublicKey> key = DeserializeHpkePublicKey(c.kem, pk);
  if (!key) return MakeError(key.error().WithContext("ohttp key config public_key"));
  c.public_key.assign(pk.begin(), pk.end());
  CRYPTA_ASSIGN_OR_RETURN(ByteSpan algs,
                          r.ReadLengthPrefixed(2, "ohttp key config symmetric_algorithms"));
  if (algs.empty() || algs.size() % 4 != 0) {
    return MakeError(ErrorCode::kInvalidArgument, "ohttp key config symmetric_algorithms: length " +
                                                      std::to_string(algs.size()) +
                                                      " is not a positive multiple of 4");
  }
  ByteReader ar(algs);
  while (!ar.empty()) {
    CRYPTA_ASSIGN_OR_RETURN(uint16_t kdf, ar.ReadU16BE("kdf_id"));
    CRYPTA_ASSIGN_OR_RETURN(uint16_t aead, ar.ReadU16BE("aead_id"));
    c.algorithms.push_back({static_cast<HpkeKdf>(kdf), static_cast<HpkeAead>(aead)});
  }
  CRYPTA_RETURN_IF_ERROR(r.Finish("ohttp key config"));
  return c;
}

Result<Bytes> EncodeOhttpKeyConfigList(std::span<const OhttpKeyConfig> configs) {
  ByteWriter w;
  for (const OhttpKeyConfig& c : configs) {
    CRYPTA_ASSIGN_OR_RETURN(Bytes one, EncodeOhttpKeyConfig(c));
    CRYPTA_RETURN_IF_ERROR(w.WriteLengthPrefixed(2, one));
  }
  return w.Take();
}

Result<std::vector<OhttpKeyConfig>> ParseOhttpKeyConfigList(ByteSpan encoded,
                                                            const OhttpLimits& limits) {
  ByteReader r(encoded);
  std::vector<OhttpKeyConfig> out;
  size_t index = 0;
  while (!r.empty()) {
    if (++index > limits.max_key_configs) {
      return MakeError(ErrorCode::kResourceExhausted, "ohttp key config list: more than " +
                                                          std::to_string(limits.max_key_configs) +
                                                          " entries");
    }
    const std::string where = "ohttp key config list entry " + std::to_string(index);
    CRYPTA_ASSIGN_OR_RETURN(ByteSpan one, r.ReadLengthPrefixed(2, where));
    Result<OhttpKeyConfig> c = ParseOhttpKeyConfig(one);
    if (!c) {
      // §3.2: a client ignores configurations it does not support.
      if (c.error().code() == ErrorCode::kUnimplemented) continue;
      return MakeError(c.error().WithContext(where));
    }
    out.push_back(std::move(*c));
  }
  if (out.empty()) {
    return MakeError(ErrorCode::kNotFound, "ohttp key config list: no supported configuration");
  }
  return out;
}

// ---------------------------------------------------------------- key derivation (§4)

Bytes OhttpRequestInfo(uint8_t key_id, const HpkeSuite& suite, std::string_view label) {
  ByteWriter w;
  w.WriteString(label);
  w.WriteU8(0);
  w.WriteU8(key_id);
  w.WriteU16BE(static_cast<uint16_t>(suite.kem));
  w.WriteU16BE(static_cast<uint16_t>(suite.kdf));
  w.WriteU16BE(static_cast<uint16_t>(suite.aead));
  return w.Take();
}

Result<OhttpResponseKeys> DeriveOhttpResponseKeys(const HpkeSuite& suite, ByteSpan secret,
                                                  ByteSpan enc, ByteSpan response_nonce) {
  if (!Usable({suite.kdf, suite.aead})) {
    return MakeError(ErrorCode::kUnimplemented, "ohttp: unsupported KDF/AEAD for responses");
  }
  const HashAlg h = KdfHash(suite.kdf);
  Bytes salt = Concat(enc, response_nonce);
  OhttpResponseKeys keys;
  keys.prk = ToSecret(HkdfExtract(h, salt, secret));
  CRYPTA_ASSIGN_OR_RETURN(
      Bytes key, HkdfExpand(h, keys.prk.Reveal(), AsBytes("key"), HpkeAeadKeySize(suite.aead)));
  keys.key = ToSecret(std::move(key));
  CRYPTA_ASSIGN_OR_RETURN(Bytes nonce, HkdfExpand(h, keys.prk.Reveal(), AsBytes("nonce"),
                                                  HpkeAeadNonceSize(suite.aead)));
  keys.nonce = ToSecret(std::move(nonce));
  return keys;
}

// ---------------------------------------------------------------- client

Result<OhttpEncapsulatedRequest> EncapsulateOhttpRequest(const OhttpKeyConfig& config,
                                                         ByteSpan bhttp_request,
                                                         const OhttpRequestOptions& options) {
  CRYPTA_ASSIGN_OR_RETURN(HpkeSuite suite, ChooseOhttpSuite(config, options));
  CRYPTA_ASSIGN_OR_RETURN(PublicKey pk_r, DeserializeHpkePublicKey(config.kem, config.public_key));
  // §4.3: hdr, info, then SetupBaseS and one Seal with empty aad.
  const Bytes info = OhttpRequestInfo(config.key_id, suite, kRequestLabel);
  HpkeSenderOptions hpke_options;
  hpke_options.ephemeral_key = options.ephemeral_key_for_testing;
  CRYPTA_ASSIGN_OR_RETURN(HpkeSenderSetup setup, SetupHpkeSender(suite, pk_r, info, hpke_options));
  CRYPTA_ASSIGN_OR_RETURN(Bytes ct, setup.context.Seal({}, bhttp_request));
  CRYPTA_ASSIGN_OR_RETURN(SecretBytes secret, ExportResponseSecret(setup.context));
  ByteSpan hdr = ByteSpan(info).subspan(kRequestLabel.size() + 1);
  Bytes request = Concat(hdr, setup.enc, ct);
  return OhttpEncapsulatedRequest{
      std::move(request), OhttpAccess::Client(suite, std::move(setup.enc), std::move(secret))};
}

size_t OhttpRequestPrefixSize(HpkeKem kem) {
  const size_t n_enc = HpkeEncSize(kem);
  return n_enc == 0 ? 0 : kRequestHeaderSize + n_enc;
}

Result<OhttpClientContext> EncapsulateOhttpRequestInPlace(const OhttpKeyConfig& config,
                                                          MutableByteSpan buffer,
                                                          const OhttpRequestOptions& options) {
  CRYPTA_ASSIGN_OR_RETURN(HpkeSuite suite, ChooseOhttpSuite(config, options));
  const size_t prefix = OhttpRequestPrefixSize(config.kem);
  if (buffer.size() < prefix + kAeadTagSize) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "ohttp request buffer: shorter than hdr, enc and tag");
  }
  CRYPTA_ASSIGN_OR_RETURN(PublicKey pk_r, DeserializeHpkePublicKey(config.kem, config.public_key));
  const Bytes info = OhttpRequestInfo(config.key_id, suite, kRequestLabel);
  HpkeSenderOptions hpke_options;
  hpke_options.ephemeral_key = options.ephemeral_key_for_testing;
  CRYPTA_ASSIGN_OR_RETURN(HpkeSenderSetup setup, SetupHpkeSender(suite, pk_r, info, hpke_options));
  MutableByteSpan body = buffer.subspan(prefix, buffer.size() - prefix - kAeadTagSize);
  CRYPTA_RETURN_IF_ERROR(setup.context.SealInPlace({}, body, buffer.last(kAeadTagSize)));
  CRYPTA_ASSIGN_OR_RETURN(SecretBytes secret, ExportResponseSecret(setup.context));
  const ByteSpan hdr = ByteSpan(info).subspan(kRequestLabel.size() + 1);
  std::copy(hdr.begin(), hdr.end(), buffer.begin());
  std::copy(setup.enc.begin(), setup.enc.end(), buffer.begin() + hdr.size());
  return OhttpAccess::Client(suite, std::move(setup.enc), std::move(secret));
}

Result<Bytes> OhttpClientContext::DecapsulateResponse(ByteSpan encapsulated_response,
                                                      const OhttpLimits& limits) const {
  if (encapsulated_response.size() > limits.max_response_bytes) {
    return MakeError(ErrorCode::kResourceExhausted,
                     "ohttp response: " + std::to_string(encapsulated_response.size()) +
                         " bytes exceeds the cap");
  }
  const size_t nonce_size = ResponseNonceSize(suite_.aead);
  if (encapsulated_response.size() < nonce_size + kAeadTagSize) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "ohttp response: " + std::to_string(encapsulated_response.size()) +
                         " bytes is shorter than response_nonce and tag");
  }
  ByteSpan nonce = encapsulated_response.first(nonce_size);
  CRYPTA_ASSIGN_OR_RETURN(OhttpResponseKeys keys,
                          DeriveOhttpResponseKeys(suite_, secret_.Reveal(), enc_, nonce));
  CRYPTA_ASSIGN_OR_RETURN(
      Aead aead, Aead::Create(AeadOf(suite_.aead), keys.key.Reveal(), AeadDirection::kOpenOnly));
  Result<Bytes> pt = aead.Open(keys.nonce.Reveal(), {}, encapsulated_response.subspan(nonce_size));
  if (!pt) return MakeError(pt.error().WithContext("ohttp response"));
  return pt;
}

// ---------------------------------------------------------------- gateway

Result<Bytes> OhttpResponseContext::EncapsulateResponse(ByteSpan bhttp_response) const {
  CRYPTA_ASSIGN_OR_RETURN(Bytes nonce, RandomBytes(ResponseNonceSize()));
  return EncapsulateResponseWithNonceForTesting(bhttp_response, nonce);
}

Result<Bytes> OhttpResponseContext::EncapsulateResponseWithNonceForTesting(
    ByteSpan bhttp_response, ByteSpan response_nonce) const {
  if (response_nonce.size() != ResponseNonceSize()) {
    return MakeError(ErrorCode::kInvalidArgument, "ohttp response_nonce: want max(Nn, Nk) bytes");
  }
  CRYPTA_ASSIGN_OR_RETURN(OhttpResponseKeys keys,
                          DeriveOhttpResponseKeys(suite_, secret_.Reveal(), enc_, response_nonce));
  CRYPTA_ASSIGN_OR_RETURN(
      Aead aead, Aead::Create(AeadOf(suite_.aead), keys.key.Reveal(), AeadDirection::kSealOnly));
  CRYPTA_ASSIGN_OR_RETURN(Bytes ct, aead.Seal(keys.nonce.Reveal(), {}, bhttp_response));
  return Concat(response_nonce, ct);
}

size_t OhttpResponseContext::ResponseNonceSize() const {
  return crypta::ResponseNonceSize(suite_.aead);
}

Status OhttpResponseContext::EncapsulateResponseInPlace(MutableByteSpan buffer) const {
  const size_t nonce_size = ResponseNonceSize();
  if (buffer.size() < nonce_size + kAeadTagSize) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "ohttp response buffer: shorter than response_nonce and tag");
  }
  MutableByteSpan nonce = buffer.first(nonce_size);
  CRYPTA_RETURN_IF_ERROR(RandomFill(nonce));
  CRYPTA_ASSIGN_OR_RETURN(OhttpResponseKeys keys,
                          DeriveOhttpResponseKeys(suite_, secret_.Reveal(), enc_, nonce));
  CRYPTA_ASSIGN_OR_RETURN(
      Aead aead, Aead::Create(AeadOf(suite_.aead), keys.key.Reveal(), AeadDirection::kSealOnly));
  const size_t n = buffer.size() - nonce_size - kAeadTagSize;
  MutableByteSpan body = buffer.subspan(nonce_size, n);
  return aead.SealInPlace(keys.nonce.Reveal(), {}, body, body, buffer.last(kAeadTagSize));
}

Result<OhttpGateway> OhttpGateway::Create(OhttpKeyConfig config, PrivateKey private_key) {
  CRYPTA_ASSIGN_OR_RETURN(Bytes pk, SerializeHpkePublicKey(config.kem, private_key.GetPublicKey()));
  if (!ConstantTimeEquals(pk, config.public_key)) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "ohttp gateway: private key does not match the key config's public_key");
  }
  if (std::none_of(config.algorithms.begin(), config.algorithms.end(), Usable)) {
    return MakeError(ErrorCode::kUnimplemented,
                     "ohttp gateway: key config offers no supported KDF/AEAD");
  }
  CRYPTA_RETURN_IF_ERROR(EncodeOhttpKeyConfig(config));  // well-formed
  return OhttpGateway(std::move(config), std::move(private_key));
}

Result<OhttpGateway> OhttpGateway::Generate(uint8_t key_id, HpkeKem kem,
                                            std::vector<OhttpSymmetricAlgorithm> algorithms) {
  CRYPTA_ASSIGN_OR_RETURN(PrivateKey key, GenerateHpkeKeyPair(kem));
  OhttpKeyConfig config;
  config.key_id = key_id;
  config.kem = kem;
  CRYPTA_ASSIGN_OR_RETURN(config.public_key, SerializeHpkePublicKey(kem, key.GetPublicKey()));
  config.algorithms = std::move(algorithms);
  return Create(std::move(config), std::move(key));
}

Result<OhttpDecapsulatedRequest> OhttpGateway::DecapsulateRequest(ByteSpan encapsulated_request,
                                                                  const OhttpLimits& limits) const {
  if (encapsulated_request.size() > limits.max_request_bytes) {
    return MakeError(
        ErrorCode::kResourceExhausted,
        "ohttp request: " + std::to_string(encapsulated_request.size()) + " bytes exceeds the cap");
  }
  Bytes copy(encapsulated_request.begin(), encapsulated_request.end());
  CRYPTA_ASSIGN_OR_RETURN(InPlace opened, DecapsulateRequestInPlace(copy, limits));
  Bytes request(opened.request.begin(), opened.request.end());
  SecureWipe(copy);
  return OhttpDecapsulatedRequest{std::move(request), std::move(opened.context)};
}

Result<OhttpGateway::InPlace> OhttpGateway::DecapsulateRequestInPlace(
    MutableByteSpan encapsulated_request, const OhttpLimits& limits) const {
  return Decapsulate(encapsulated_request, nullptr, limits);
}

Result<OhttpGateway::InPlace> OhttpGateway::DecapsulateRequestInto(
    ByteSpan encapsulated_request, MutableByteSpan out, const OhttpLimits& limits) const {
  return Decapsulate(encapsulated_request, &out, limits);
}

Result<OhttpGateway::InPlace> OhttpGateway::Decapsulate(ByteSpan encapsulated_request,
                                                        const MutableByteSpan* out,
                                                        const OhttpLimits& limits) const {
  if (encapsulated_request.size() > limits.max_request_bytes) {
    return MakeError(
        ErrorCode::kResourceExhausted,
        "ohttp request: " + std::to_string(encapsulated_request.size()) + " bytes exceeds the cap");
  }
  CRYPTA_ASSIGN_OR_RETURN(Recipient recipient, SetupRecipient(encapsulated_request, kRequestLabel));
  const ByteSpan ct = encapsulated_request.subspan(kRequestHeaderSize + recipient.enc.size());
  // In place: the plaintext overwrites the ciphertext (the caller's buffer is mutable).
  const MutableByteSpan target =
      out != nullptr ? *out : MutableByteSpan(const_cast<uint8_t*>(ct.data()), ct.size());
  HpkeRecipientContext& ctx = recipient.context;
  const HpkeSuite suite = recipient.suite;
  Result<MutableByteSpan> request = ctx.OpenInto({}, ct, target);
  if (!request) return MakeError(request.error().WithContext("ohttp request"));
  CRYPTA_ASSIGN_OR_RETURN(SecretBytes secret, ExportResponseSecret(ctx));
  return InPlace{*request,
                 OhttpAccess::Response(suite, std::move(recipient.enc), std::move(secret))};
}

Result<OhttpGateway::Recipient> OhttpGateway::SetupRecipient(ByteSpan prefix,
                                                             std::string_view label) const {
  ByteReader r(prefix);
  CRYPTA_ASSIGN_OR_RETURN(uint8_t key_id, r.ReadU8("ohttp request key_id"));
  CRYPTA_ASSIGN_OR_RETURN(uint16_t kem, r.ReadU16BE("ohttp request kem_id"));
  CRYPTA_ASSIGN_OR_RETURN(uint16_t kdf, r.ReadU16BE("ohttp request kdf_id"));
  CRYPTA_ASSIGN_OR_RETURN(uint16_t aead, r.ReadU16BE("ohttp request aead_id"));
  // §4.3: the gateway checks it holds the key and offers the suite before anything else.
  if (key_id != config_.key_id) {
    return MakeError(ErrorCode::kNotFound,
                     "ohttp request key_id: " + std::to_string(key_id) + " is not a known key");
  }
  if (static_cast<HpkeKem>(kem) != config_.kem) {
    return MakeError(ErrorCode::kUnimplemented,
                     "ohttp request kem_id " + Hex4(kem) + " does not match the key config");
  }
  const OhttpSymmetricAlgorithm alg{static_cast<HpkeKdf>(kdf), static_cast<HpkeAead>(aead)};
  if (!Usable(alg) || std::find(config_.algorithms.begin(), config_.algorithms.end(), alg) ==
                          config_.algorithms.end()) {
    return MakeError(ErrorCode::kUnimplemented, "ohttp request: kdf_id " + Hex4(kdf) +
                                                    " / aead_id " + Hex4(aead) +
                                                    " is not offered by this gateway");
  }
  const HpkeSuite suite{config_.kem, alg.kdf, alg.aead};
  CRYPTA_ASSIGN_OR_RETURN(ByteSpan enc, r.ReadBytes(HpkeEncSize(suite.kem), "ohttp request enc"));
  const Bytes info = OhttpRequestInfo(key_id, suite, label);
  // The serialized public key is the config's own (checked in Create): no per-request
  // re-serialization for the KEM context.
  HpkeRecipientOptions hpke_options;
  hpke_options.recipient_public_key = config_.public_key;
  CRYPTA_ASSIGN_OR_RETURN(HpkeRecipientContext ctx,
                          SetupHpkeRecipient(suite, enc, key_, info, hpke_options));
  return Recipient{suite, Bytes(enc.begin(), enc.end()), std::move(ctx)};
}

}  // namespace crypta

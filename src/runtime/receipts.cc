#include "runtime/receipts.h"

#include "common/encoding.h"
#include "common/json_canonical.h"
#include "crypto/hash.h"
#include "crypto/jwk.h"

namespace crypta::runtime {

using nlohmann::json;

Result<ReceiptAlg> ParseReceiptAlg(std::string_view name) {
  if (name == "ed25519") return ReceiptAlg::kEd25519;
  if (name == "p256") return ReceiptAlg::kP256;
  return MakeError(ErrorCode::kInvalidArgument,
                   "receipt algorithm: want ed25519 or p256, got \"" + std::string(name) + "\"");
}

std::string FormatSha256Digest(ByteSpan sha256) { return "sha256:" + HexEncode(sha256); }

std::string Sha256Digest(ByteSpan data) { return FormatSha256Digest(Sha256(data)); }

Result<std::string> MeasurementFromEarToken(std::string_view ear_token) {
  // JWS compact: header.payload.signature (RFC 7515 §7.1); only the payload is read.
  const size_t first = ear_token.find('.');
  const size_t second = first == std::string_view::npos ? first : ear_token.find('.', first + 1);
  if (second == std::string_view::npos || ear_token.size() > (1u << 20)) {
    return MakeError(ErrorCode::kInvalidArgument, "EAR token: not a compact JWS");
  }
  Result<Bytes> payload = Base64UrlDecode(ear_token.substr(first + 1, second - first - 1));
  if (!payload) return MakeError(ErrorCode::kInvalidArgument, "EAR token: payload not base64url");
  JsonParseLimits limits;
  limits.max_bytes = 1u << 20;
  CRYPTA_ASSIGN_OR_RETURN(json claims, ParseJsonStrict(AsStringView(*payload), limits));
  const json* m = nullptr;
  if (claims.is_object() && claims.contains("submods") && claims["submods"].is_object() &&
      claims["submods"].contains("cpu0") && claims["submods"]["cpu0"].is_object()) {
    const json& cpu0 = claims["submods"]["cpu0"];
    auto annotated = cpu0.find("ear.crypta.annotated-evidence");
    if (annotated != cpu0.end() && annotated->is_object()) {
      auto it = annotated->find("measurement");
      if (it != annotated->end() && it->is_string()) m = &*it;
    }
  }
  if (m == nullptr || m->get_ref<const std::string&>().empty()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "EAR token: no submods.cpu0[\"ear.crypta.annotated-evidence\"].measurement");
  }
  Result<Bytes> bytes = HexDecode(m->get_ref<const std::string&>());
  if (!bytes) return MakeError(ErrorCode::kInvalidArgument, "EAR token: measurement is not hex");
  return HexEncode(*bytes);
}

Result<std::unique_ptr<ReceiptSigner>> ReceiptSigner::Generate(ReceiptAlg alg,
                                                               ReceiptSignerOptions options) {
  CRYPTA_ASSIGN_OR_RETURN(
      PrivateKey key,
      PrivateKey::Generate(alg == ReceiptAlg::kEd25519 ? KeyType::kEd25519 : KeyType::kEcP256));
  return FromKey(std::move(key), std::move(options));
}

Result<std::unique_ptr<ReceiptSigner>> ReceiptSigner::FromKey(PrivateKey key,
                                                              ReceiptSignerOptions options) {
  if (key.type() != KeyType::kEd25519 && key.type() != KeyType::kEcP256) {
    return MakeError(ErrorCode::kInvalidArgument, "receipt key: want Ed25519 or P-256, got " +
                                                      std::string(KeyTypeName(key.type())));
  }
  if (!options.clock || !options.attestation_digest) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "receipt signer: a clock and an attestation digest source are required");
  }
  CRYPTA_ASSIGN_OR_RETURN(JwsAlg alg, JwsAlgForKeyType(key.type()));
  const PublicKey public_key = key.GetPublicKey();
  CRYPTA_ASSIGN_OR_RETURN(std::string kid, JwkThumbprint(public_key));
  CRYPTA_ASSIGN_OR_RETURN(json jwk, PublicKeyToJwk(public_key, kid));
  jwk["alg"] = std::string(JwsAlgName(alg));
  jwk["use"] = "sig";
  return std::unique_ptr<ReceiptSigner>(
      new ReceiptSigner(std::move(key), alg, std::move(jwk), std::move(kid), std::move(options)));
}

Result<EcdsaPresignature> ReceiptSigner::PrepareSignature() const {
  if (alg_ != JwsAlg::kEs256) return EcdsaPresignature();
  return PresignEcdsa(key_);
}

Result<std::string> ReceiptSigner::Sign(ByteSpan request_sha256, ByteSpan response_content,
                                        EcdsaPresignature* presignature) const {
  return SignDigests(request_sha256, Sha256(response_content), presignature);
}

Result<std::string> ReceiptSigner::SignDigests(ByteSpan request_sha256, ByteSpan response_sha256,
                                               EcdsaPresignature* presignature) const {
  if (request_sha256.size() != 32 || response_sha256.size() != 32) {
    return MakeError(ErrorCode::kInvalidArgument, "receipt: digests must be 32 bytes");
  }
  CRYPTA_ASSIGN_OR_RETURN(std::string attestation_digest, options_.attestation_digest());
  const uint64_t sequence = sequence_.fetch_add(1, std::memory_order_relaxed) + 1;
  const json payload = {{"v", kReceiptVersion},
                        {"request_digest", FormatSha256Digest(request_sha256)},
                        {"response_digest", FormatSha256Digest(response_sha256)},
                        {"model_digest", options_.model_digest},
                        {"measurement", options_.measurement_hex},
                        {"attestation_digest", std::move(attestation_digest)},
                        {"time", options_.clock()},
                        {"sequence", sequence},
                        {"workload", options_.workload}};
  CRYPTA_ASSIGN_OR_RETURN(std::string text, CanonicalizeJson(payload));
  // JWS compact (RFC 7515 §7.1): {"alg","kid","typ"} canonical, over the exact payload text.
  const bool prepared = presignature != nullptr && !presignature->empty();
  return JwsSignCompact(key_, AsBytes(text), header_, prepared ? presignature : nullptr);
}

}  // namespace crypta::runtime

#include "crypto/jws.h"

#include <algorithm>
#include <set>
#include <utility>

#include "common/encoding.h"
#include "common/json_canonical.h"
#include "crypto/ecdsa_presign.h"
#include "crypto/hash.h"
#include "crypto/signature.h"

namespace crypta {
namespace {

using Json = nlohmann::json;

// The three segments of a compact JWS, still encoded.
struct CompactParts {
  std::string_view header_b64;
  std::string_view payload_b64;
  std::string_view signature_b64;
  Json header;
};

std::string Quoted(std::string_view s) { return "\"" + std::string(s.substr(0, 32)) + "\""; }

// RFC 7515 §7.1 / §5.2 steps 1-4: split, decode and parse the protected header.
Result<CompactParts> SplitCompact(std::string_view token, size_t max_bytes) {
  if (token.size() > max_bytes) {
    return MakeError(ErrorCode::kResourceExhausted, "JWS: " + std::to_string(token.size()) +
                                                        " bytes exceeds the cap of " +
                                                        std::to_string(max_bytes));
  }
  size_t dot1 = token.find('.');
  size_t dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos) {
    return MakeError(ErrorCode::kInvalidArgument, "JWS: compact form needs exactly 3 segments");
  }
  CompactParts parts;
  parts.header_b64 = token.substr(0, dot1);
  parts.payload_b64 = token.substr(dot1 + 1, dot2 - dot1 - 1);
  parts.signature_b64 = token.substr(dot2 + 1);
  Result<Bytes> header = Base64UrlDecode(parts.header_b64);
  if (!header) return MakeError(header.error().WithContext("JWS protected header"));
  JsonParseLimits limits;
  limits.max_bytes = max_bytes;
  limits.max_depth = 16;
  Result<Json> parsed = ParseJsonStrict(AsStringView(*header), limits);
  if (!parsed) return MakeError(parsed.error().WithContext("JWS protected header"));
  if (!parsed->is_object()) {
    return MakeError(ErrorCode::kInvalidArgument, "JWS protected header: not a JSON object");
  }
  parts.header = std::move(*parsed);
  return parts;
}

// RFC 7515 §4.1.11. Names defined by RFC 7515/7518 may not appear in "crit".
Status CheckCrit(const Json& header, const std::vector<std::string>& understood) {
  auto it = header.find("crit");
  if (it == header.end()) return OkStatus();
  if (!it->is_array() || it->empty()) {
    return MakeError(ErrorCode::kInvalidArgument, "JWS \"crit\": want a non-empty array");
  }
  static const std::set<std::string> kRegistered = {"alg", "jku",      "jwk", "kid", "x5u", "x5c",
                                                    "x5t", "x5t#S256", "typ", "cty", "crit"};
  std::set<std::string> seen;
  for (const Json& name : *it) {
    if (!name.is_string()) {
      return MakeError(ErrorCode::kInvalidArgument, "JWS \"crit\": entries must be strings");
    }
    const std::string& n = name.get_ref<const std::string&>();
    if (kRegistered.count(n) || !seen.insert(n).second || !header.contains(n)) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "JWS \"crit\": " + Quoted(n) + " is registered, repeated or absent");
    }
    if (std::find(understood.begin(), understood.end(), n) == understood.end()) {
      return MakeError(ErrorCode::kPermissionDenied,
                       "JWS \"crit\": extension " + Quoted(n) + " is not understood");
    }
  }
  return OkStatus();
}

// Reads "alg" and applies the allow-list and key-match rules.
Result<JwsAlg> CheckAlg(const Json& header, const PublicKey& key,
                        const std::vector<JwsAlg>& allowed) {
  auto it = header.find("alg");
  if (it == header.end() || !it->is_string()) {
    return MakeError(ErrorCode::kInvalidArgument, "JWS header: \"alg\" missing or not a string");
  }
  const std::string& name = it->get_ref<const std::string&>();
  CRYPTA_ASSIGN_OR_RETURN(JwsAlg alg, ParseJwsAlg(name));
  if (std::find(allowed.begin(), allowed.end(), alg) == allowed.end()) {
    return MakeError(ErrorCode::kPermissionDenied,
                     "JWS: alg " + std::string(JwsAlgName(alg)) + " is not in the allow-list");
  }
  Result<JwsAlg> key_alg = JwsAlgForKeyType(key.type());
  if (!key_alg || *key_alg != alg) {
    return MakeError(ErrorCode::kPermissionDenied,
                     "JWS: alg " + std::string(JwsAlgName(alg)) + " does not match a " +
                         std::string(KeyTypeName(key.type())) + " key");
  }
  return alg;
}

HashAlg EcdsaHash(JwsAlg alg) {
  return alg == JwsAlg::kEs256   ? HashAlg::kSha256
         : alg == JwsAlg::kEs384 ? HashAlg::kSha384
                                 : HashAlg::kSha512;
}

}  // namespace

std::string_view JwsAlgName(JwsAlg alg) {
  switch (alg) {
    case JwsAlg::kEs256:
      return "ES256";
    case JwsAlg::kEs384:
      return "ES384";
    case JwsAlg::kEs512:
      return "ES512";
    case JwsAlg::kEdDsa:
      return "EdDSA";
  }
  return "?";
}

Result<JwsAlg> ParseJwsAlg(std::string_view name) {
  if (name == "ES256") return JwsAlg::kEs256;
  if (name == "ES384") return JwsAlg::kEs384;
  if (name == "ES512") return JwsAlg::kEs512;
  if (name == "EdDSA") return JwsAlg::kEdDsa;
  if (name == "none") {
    return MakeError(ErrorCode::kPermissionDenied, "JWS: alg \"none\" is always refused");
  }
  if (name.substr(0, 2) == "HS") {
    return MakeError(ErrorCode::kPermissionDenied,
                     "JWS: HMAC alg " + Quoted(name) + " is never accepted with a public key");
  }
  return MakeError(ErrorCode::kPermissionDenied, "JWS: unsupported alg " + Quoted(name));
}

Result<JwsAlg> JwsAlgForKeyType(KeyType type) {
  switch (type) {
    case KeyType::kEcP256:
      return JwsAlg::kEs256;
    case KeyType::kEcP384:
      return JwsAlg::kEs384;
    case KeyType::kEcP521:
      return JwsAlg::kEs512;
    case KeyType::kEd25519:
      return JwsAlg::kEdDsa;
    default:
      return MakeError(ErrorCode::kInvalidArgument,
                       "JWS: no supported alg for a " + std::string(KeyTypeName(type)) + " key");
  }
}

Result<std::string> JwsSignCompact(const PrivateKey& key, ByteSpan payload,
                                   const nlohmann::json& extra_header,
                                   EcdsaPresignature* presignature) {
  if (!extra_header.is_object() || extra_header.contains("alg") || extra_header.contains("crit") ||
      extra_header.contains("b64")) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "JWS sign: extra header must be an object without \"alg\"/\"crit\"/\"b64\"");
  }
  CRYPTA_ASSIGN_OR_RETURN(JwsAlg alg, JwsAlgForKeyType(key.type()));
  Json header = extra_header;
  header["alg"] = std::string(JwsAlgName(alg));
  CRYPTA_ASSIGN_OR_RETURN(std::string header_text, CanonicalizeJson(header));
  // RFC 7515 §5.1 step 7: signing input = b64(header) || '.' || b64(payload).
  std::string signing_input = Base64UrlEncode(AsBytes(header_text));
  signing_input.push_back('.');
  signing_input.append(Base64UrlEncode(payload));
  Bytes signature;
  if (presignature != nullptr && alg != JwsAlg::kEs256) {
    return MakeError(ErrorCode::kInvalidArgument, "JWS sign: a presignature needs an ES256 key");
  }
  if (presignature != nullptr) {
    CRYPTA_ASSIGN_OR_RETURN(signature, SignEcdsaPresigned(key, Sha256(AsBytes(signing_input)),
                                                          std::move(*presignature)));
  } else if (alg == JwsAlg::kEdDsa) {
    CRYPTA_ASSIGN_OR_RETURN(signature, Ed25519Sign(key, AsBytes(signing_input)));
  } else {
    CRYPTA_ASSIGN_OR_RETURN(
        signature, EcdsaSign(key, EcdsaHash(alg), AsBytes(signing_input), {EcdsaFormat::kRaw}));
  }
  signing_input.push_back('.');
  signing_input.append(Base64UrlEncode(signature));
  return signing_input;
}

Result<VerifiedJws> JwsVerifyCompact(std::string_view token, const PublicKey& key,
                                     const JwsVerifyOptions& options) {
  CRYPTA_ASSIGN_OR_RETURN(CompactParts parts, SplitCompact(token, options.max_token_bytes));
  CRYPTA_ASSIGN_OR_RETURN(JwsAlg alg, CheckAlg(parts.header, key, options.allowed_algs));
  if (parts.header.contains("b64")) {
    return MakeError(ErrorCode::kPermissionDenied,
                     "JWS: unencoded payloads (\"b64\", RFC 7797) are not supported");
  }
  CRYPTA_RETURN_IF_ERROR(CheckCrit(parts.header, options.understood_crit));
  Result<Bytes> signature = Base64UrlDecode(parts.signature_b64);
  if (!signature) return MakeError(signature.error().WithContext("JWS signature"));
  Result<Bytes> payload = Base64UrlDecode(parts.payload_b64);
  if (!payload) return MakeError(payload.error().WithContext("JWS payload"));

  // RFC 7515 §5.2 step 8: verify over the exact received ASCII of header '.' payload.
  std::string_view signing_input =
      token.substr(0, parts.header_b64.size() + 1 + parts.payload_b64.size());
  Status verified = alg == JwsAlg::kEdDsa ? Ed25519Verify(key, AsBytes(signing_input), *signature)
                                          : EcdsaVerify(key, EcdsaHash(alg), AsBytes(signing_input),
                                                        *signature, {EcdsaFormat::kRaw});
  if (!verified) {
    return MakeError(ErrorCode::kUnauthenticated,
                     "JWS: signature does not verify (" + verified.error().message() + ")");
  }
  return VerifiedJws{std::move(parts.header), std::move(*payload), alg};
}

Result<VerifiedJws> JwsVerifyCompactWithJwks(std::string_view token, const Jwks& jwks,
                                             const JwsVerifyOptions& options) {
  CRYPTA_ASSIGN_OR_RETURN(Json header, JwsPeekHeader(token, options.max_token_bytes));
  const Jwk* jwk = nullptr;
  if (auto kid = header.find("kid"); kid != header.end()) {
    if (!kid->is_string()) {
      return MakeError(ErrorCode::kInvalidArgument, "JWS header: \"kid\" must be a string");
    }
    CRYPTA_ASSIGN_OR_RETURN(jwk, jwks.FindByKid(kid->get_ref<const std::string&>()));
  } else if (jwks.keys().size() == 1) {
    jwk = &jwks.keys()[0];
  } else {
    return MakeError(ErrorCode::kInvalidArgument, "JWS header: no \"kid\" and the JWKS holds " +
                                                      std::to_string(jwks.keys().size()) + " keys");
  }
  // RFC 7517 §4.2-4.4: the JWK's own restrictions.
  if (!jwk->use.empty() && jwk->use != "sig") {
    return MakeError(ErrorCode::kPermissionDenied, "JWS: the JWK's \"use\" is not \"sig\"");
  }
  if (!jwk->key_ops.empty() &&
      std::find(jwk->key_ops.begin(), jwk->key_ops.end(), "verify") == jwk->key_ops.end()) {
    return MakeError(ErrorCode::kPermissionDenied, "JWS: the JWK's \"key_ops\" lack \"verify\"");
  }
  auto alg = header.find("alg");
  if (!jwk->alg.empty() && (alg == header.end() || !alg->is_string() || *alg != jwk->alg)) {
    return MakeError(ErrorCode::kPermissionDenied,
                     "JWS: header alg differs from the JWK's \"alg\" " + Quoted(jwk->alg));
  }
  return JwsVerifyCompact(token, jwk->key, options);
}

Result<nlohmann::json> JwsPeekHeader(std::string_view token, size_t max_token_bytes) {
  CRYPTA_ASSIGN_OR_RETURN(CompactParts parts, SplitCompact(token, max_token_bytes));
  return std::move(parts.header);
}

}  // namespace crypta

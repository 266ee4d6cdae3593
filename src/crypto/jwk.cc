#include "crypto/jwk.h"

#include <set>
#include <utility>

#include "common/encoding.h"
#include "common/json_canonical.h"
#include "common/secret_bytes.h"
#include "crypto/hash.h"

namespace crypta {
namespace {

using Json = nlohmann::json;

constexpr size_t kMaxJwkTextBytes = 64 * 1024;
constexpr size_t kMaxJwksTextBytes = 256 * 1024;
constexpr size_t kMaxJwksKeys = 64;
constexpr size_t kMaxRsaModulusBytes = 2048;  // 16384 bits
constexpr size_t kMaxRsaExponentBytes = 8;

Error JwkError(ErrorCode code, const std::string& msg) { return Error(code, "JWK: " + msg); }

// Untrusted text quoted for an error message, cut to 64 bytes.
std::string Quoted(std::string_view s) { return "\"" + std::string(s.substr(0, 64)) + "\""; }

// An optional string member: empty when absent, an error when present but not a string.
Result<std::string> OptionalString(const Json& j, const char* name) {
  auto it = j.find(name);
  if (it == j.end()) return std::string();
  if (!it->is_string()) {
    return MakeError(
        JwkError(ErrorCode::kInvalidArgument, std::string("\"") + name + "\" must be a string"));
  }
  return it->get<std::string>();
}

Result<std::string> RequiredString(const Json& j, const char* name) {
  if (!j.contains(name)) {
    return MakeError(JwkError(ErrorCode::kInvalidArgument,
                              std::string("missing required member \"") + name + "\""));
  }
  return OptionalString(j, name);
}

// A required base64url member (RFC 7518 §6: Base64urlUInt and raw octet strings).
Result<Bytes> RequiredB64(const Json& j, const char* name) {
  CRYPTA_ASSIGN_OR_RETURN(std::string text, RequiredString(j, name));
  Result<Bytes> decoded = Base64UrlDecode(text);
  if (!decoded) {
    return MakeError(JwkError(ErrorCode::kInvalidArgument,
                              std::string("\"") + name + "\": " + decoded.error().message()));
  }
  return std::move(*decoded);
}

Result<Bytes> RequiredB64OfSize(const Json& j, const char* name, size_t size) {
  CRYPTA_ASSIGN_OR_RETURN(Bytes b, RequiredB64(j, name));
  if (b.size() != size) {
    return MakeError(JwkError(ErrorCode::kInvalidArgument,
                              std::string("\"") + name + "\": want " + std::to_string(size) +
                                  " bytes, got " + std::to_string(b.size())));
  }
  return b;
}

Result<KeyType> EcCurve(const std::string& crv) {
  if (crv == "P-256") return KeyType::kEcP256;
  if (crv == "P-384") return KeyType::kEcP384;
  if (crv == "P-521") return KeyType::kEcP521;
  return MakeError(JwkError(ErrorCode::kUnimplemented, "unsupported EC crv " + Quoted(crv)));
}

Result<KeyType> OkpCurve(const std::string& crv) {
  if (crv == "Ed25519") return KeyType::kEd25519;
  if (crv == "X25519") return KeyType::kX25519;
  return MakeError(JwkError(ErrorCode::kUnimplemented, "unsupported OKP crv " + Quoted(crv)));
}

// Parses the public members of an EC, OKP or RSA JWK.
Result<PublicKey> ParseKeyMaterial(const Json& j) {
  CRYPTA_ASSIGN_OR_RETURN(std::string kty, RequiredString(j, "kty"));
  if (kty == "EC") {
    CRYPTA_ASSIGN_OR_RETURN(std::string crv, RequiredString(j, "crv"));
    CRYPTA_ASSIGN_OR_RETURN(KeyType type, EcCurve(crv));
    size_t n = KeyCoordinateSize(type);
    CRYPTA_ASSIGN_OR_RETURN(Bytes x, RequiredB64OfSize(j, "x", n));
    CRYPTA_ASSIGN_OR_RETURN(Bytes y, RequiredB64OfSize(j, "y", n));
    Result<PublicKey> key = PublicKey::FromEcCoordinates(type, x, y);
    if (!key) return MakeError(key.error().WithContext("JWK \"x\"/\"y\""));
    return std::move(*key);
  }
  if (kty == "OKP") {
    CRYPTA_ASSIGN_OR_RETURN(std::string crv, RequiredString(j, "crv"));
    CRYPTA_ASSIGN_OR_RETURN(KeyType type, OkpCurve(crv));
    CRYPTA_ASSIGN_OR_RETURN(Bytes x, RequiredB64OfSize(j, "x", 32));
    Result<PublicKey> key = PublicKey::FromRaw(type, x);
    if (!key) return MakeError(key.error().WithContext("JWK \"x\""));
    return std::move(*key);
  }
  if (kty == "RSA") {
    CRYPTA_ASSIGN_OR_RETURN(Bytes n, RequiredB64(j, "n"));
    CRYPTA_ASSIGN_OR_RETURN(Bytes e, RequiredB64(j, "e"));
    // RFC 7518 §6.3.1.1/§2 (Base64urlUInt): no leading zero octets.
    if (n.empty() || n[0] == 0 || n.size() > kMaxRsaModulusBytes) {
      return MakeError(JwkError(ErrorCode::kInvalidArgument,
                                "\"n\": empty, zero-prefixed or longer than 16384 bits"));
    }
    if (e.empty() || e[0] == 0 || e.size() > kMaxRsaExponentBytes) {
      return MakeError(JwkError(ErrorCode::kInvalidArgument,
                                "\"e\": empty, zero-prefixed or longer than 8 bytes"));
    }
    Result<PublicKey> key = PublicKey::FromRsaComponents(n, e);
    if (!key) return MakeError(key.error().WithContext("JWK \"n\"/\"e\""));
    return std::move(*key);
  }
  return MakeError(JwkError(ErrorCode::kUnimplemented, "unsupported kty " + Quoted(kty)));
}

bool IsSigningOp(const std::string& op) { return op == "sign" || op == "verify"; }
bool IsEncryptionOp(const std::string& op) {
  return op == "encrypt" || op == "decrypt" || op == "wrapKey" || op == "unwrapKey" ||
         op == "deriveKey" || op == "deriveBits";
}

// RFC 7517 §4.2/§4.3: "use" and "key_ops" values, and their consistency with each other
// and with what the key type can do.
Status CheckUsage(const Jwk& jwk) {
  if (!jwk.use.empty() && jwk.use != "sig" && jwk.use != "enc") {
    return MakeError(JwkError(ErrorCode::kInvalidArgument, "unsupported \"use\" value"));
  }
  std::set<std::string> seen;
  bool any_sig = false;
  bool any_enc = false;
  for (const std::string& op : jwk.key_ops) {
    if (!IsSigningOp(op) && !IsEncryptionOp(op)) {
      return MakeError(
          JwkError(ErrorCode::kInvalidArgument, "unsupported \"key_ops\" value " + Quoted(op)));
    }
    if (!seen.insert(op).second) {
      return MakeError(
          JwkError(ErrorCode::kInvalidArgument, "duplicate \"key_ops\" value " + Quoted(op)));
    }
    (IsSigningOp(op) ? any_sig : any_enc) = true;
  }
  if ((jwk.use == "sig" && any_enc) || (jwk.use == "enc" && any_sig)) {
    return MakeError(
        JwkError(ErrorCode::kInvalidArgument, "\"use\" and \"key_ops\" disagree (RFC 7517 §4.3)"));
  }
  KeyType t = jwk.key.type();
  bool can_sign = t != KeyType::kX25519;
  bool can_encrypt = t != KeyType::kEd25519;
  if (((jwk.use == "sig" || any_sig) && !can_sign) ||
      ((jwk.use == "enc" || any_enc) && !can_encrypt)) {
    return MakeError(JwkError(ErrorCode::kInvalidArgument,
                              std::string("\"use\"/\"key_ops\" not possible for a ") +
                                  std::string(KeyTypeName(t)) + " key"));
  }
  return OkStatus();
}

}  // namespace

Result<Jwk> ParsePublicJwk(const nlohmann::json& j) {
  if (!j.is_object()) {
    return MakeError(JwkError(ErrorCode::kInvalidArgument, "not a JSON object"));
  }
  for (const char* secret : {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}) {
    if (j.contains(secret)) {
      return MakeError(JwkError(ErrorCode::kInvalidArgument,
                                std::string("private member \"") + secret + "\" in a public key"));
    }
  }
  CRYPTA_ASSIGN_OR_RETURN(PublicKey key, ParseKeyMaterial(j));
  CRYPTA_ASSIGN_OR_RETURN(std::string kid, OptionalString(j, "kid"));
  CRYPTA_ASSIGN_OR_RETURN(std::string alg, OptionalString(j, "alg"));
  CRYPTA_ASSIGN_OR_RETURN(std::string use, OptionalString(j, "use"));
  Jwk jwk{std::move(key), std::move(kid), std::move(alg), std::move(use), {}};
  if (auto it = j.find("key_ops"); it != j.end()) {
    if (!it->is_array()) {
      return MakeError(JwkError(ErrorCode::kInvalidArgument, "\"key_ops\" must be an array"));
    }
    for (const Json& op : *it) {
      if (!op.is_string()) {
        return MakeError(
            JwkError(ErrorCode::kInvalidArgument, "\"key_ops\" entries must be strings"));
      }
      jwk.key_ops.push_back(op.get<std::string>());
    }
  }
  CRYPTA_RETURN_IF_ERROR(CheckUsage(jwk));
  return jwk;
}

Result<Jwk> ParsePublicJwkText(std::string_view text) {
  JsonParseLimits limits;
  limits.max_bytes = kMaxJwkTextBytes;
  limits.max_depth = 8;
  CRYPTA_ASSIGN_OR_RETURN(Json j, ParseJsonStrict(text, limits));
  return ParsePublicJwk(j);
}

Result<PrivateKey> ParsePrivateJwk(const nlohmann::json& j) {
  if (!j.is_object()) {
    return MakeError(JwkError(ErrorCode::kInvalidArgument, "not a JSON object"));
  }
  CRYPTA_ASSIGN_OR_RETURN(PublicKey pub, ParseKeyMaterial(j));
  if (pub.type() == KeyType::kRsa) {
    return MakeError(JwkError(ErrorCode::kUnimplemented, "private RSA JWKs are not supported"));
  }
  CRYPTA_ASSIGN_OR_RETURN(Bytes d_bytes, RequiredB64(j, "d"));
  SecretBytes d(d_bytes);
  SecureWipe(d_bytes);
  size_t want = IsEcKeyType(pub.type()) ? KeyCoordinateSize(pub.type()) : 32;
  if (d.size() != want) {
    return MakeError(JwkError(
        ErrorCode::kInvalidArgument,
        "\"d\": want " + std::to_string(want) + " bytes, got " + std::to_string(d.size())));
  }
  Result<PrivateKey> priv = IsEcKeyType(pub.type())
                                ? PrivateKey::FromEcScalar(pub.type(), d.Reveal())
                                : PrivateKey::FromRaw(pub.type(), d.Reveal());
  if (!priv) return MakeError(priv.error().WithContext("JWK \"d\""));
  // The public members must be the public key of "d".
  PublicKey derived = priv->GetPublicKey();
  Result<Bytes> a = IsEcKeyType(pub.type()) ? derived.EcPoint() : derived.Raw();
  Result<Bytes> b = IsEcKeyType(pub.type()) ? pub.EcPoint() : pub.Raw();
  if (!a || !b || *a != *b) {
    return MakeError(
        JwkError(ErrorCode::kInvalidArgument, "\"d\" does not match the public members"));
  }
  return std::move(*priv);
}

Result<nlohmann::json> PublicKeyToJwk(const PublicKey& key, std::string_view kid) {
  Json j = Json::object();
  switch (key.type()) {
    case KeyType::kEcP256:
    case KeyType::kEcP384:
    case KeyType::kEcP521: {
      CRYPTA_ASSIGN_OR_RETURN(Bytes point, key.EcPoint());
      size_t n = KeyCoordinateSize(key.type());
      ByteSpan p(point);
      j["kty"] = "EC";
      j["crv"] = key.type() == KeyType::kEcP256   ? "P-256"
                 : key.type() == KeyType::kEcP384 ? "P-384"
                                                  : "P-521";
      j["x"] = Base64UrlEncode(p.subspan(1, n));
      j["y"] = Base64UrlEncode(p.subspan(1 + n, n));
      break;
    }
    case KeyType::kEd25519:
    case KeyType::kX25519: {
      CRYPTA_ASSIGN_OR_RETURN(Bytes raw, key.Raw());
      j["kty"] = "OKP";
      j["crv"] = key.type() == KeyType::kEd25519 ? "Ed25519" : "X25519";
      j["x"] = Base64UrlEncode(raw);
      break;
    }
    case KeyType::kRsa: {
      CRYPTA_ASSIGN_OR_RETURN(Bytes n, key.RsaModulus());
      CRYPTA_ASSIGN_OR_RETURN(Bytes e, key.RsaExponent());
      j["kty"] = "RSA";
      j["n"] = Base64UrlEncode(n);
      j["e"] = Base64UrlEncode(e);
      break;
    }
  }
  if (!kid.empty()) j["kid"] = std::string(kid);
  return j;
}

Result<nlohmann::json> PrivateKeyToJwk(const PrivateKey& key) {
  if (key.type() == KeyType::kRsa) {
    return MakeError(JwkError(ErrorCode::kUnimplemented, "private RSA JWKs are not supported"));
  }
  CRYPTA_ASSIGN_OR_RETURN(Json j, PublicKeyToJwk(key.GetPublicKey()));
  CRYPTA_ASSIGN_OR_RETURN(SecretBytes d, key.RawSecret());
  j["d"] = Base64UrlEncode(d.Reveal());
  return j;
}

Result<std::string> JwkThumbprint(const PublicKey& key) {
  // RFC 7638 §3.2: only the required members, in lexicographic order, no whitespace;
  // which is exactly their RFC 8785 canonical form.
  CRYPTA_ASSIGN_OR_RETURN(Json j, PublicKeyToJwk(key));
  CRYPTA_ASSIGN_OR_RETURN(std::string canonical, CanonicalizeJson(j));
  return Base64UrlEncode(Sha256(AsBytes(canonical)));
}

Result<Jwks> Jwks::Parse(const nlohmann::json& j) {
  if (!j.is_object() || !j.contains("keys") || !j["keys"].is_array()) {
    return MakeError(ErrorCode::kInvalidArgument, "JWKS: want an object with a \"keys\" array");
  }
  const Json& members = j["keys"];
  if (members.size() > kMaxJwksKeys) {
    return MakeError(ErrorCode::kResourceExhausted,
                     "JWKS: more than " + std::to_string(kMaxJwksKeys) + " keys");
  }
  std::vector<Jwk> keys;
  std::set<std::string> kids;
  for (size_t i = 0; i < members.size(); ++i) {
    Result<Jwk> jwk = ParsePublicJwk(members[i]);
    if (!jwk && jwk.error().code() == ErrorCode::kUnimplemented) continue;  // RFC 7517 §5
    if (!jwk) return MakeError(jwk.error().WithContext("JWKS keys[" + std::to_string(i) + "]"));
    if (!jwk->kid.empty() && !kids.insert(jwk->kid).second) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "JWKS keys[" + std::to_string(i) + "]: duplicate kid " + Quoted(jwk->kid));
    }
    keys.push_back(std::move(*jwk));
  }
  return Jwks(std::move(keys));
}

Result<Jwks> Jwks::ParseText(std::string_view text) {
  JsonParseLimits limits;
  limits.max_bytes = kMaxJwksTextBytes;
  limits.max_depth = 8;
  CRYPTA_ASSIGN_OR_RETURN(Json j, ParseJsonStrict(text, limits));
  return Parse(j);
}

Result<const Jwk*> Jwks::FindByKid(std::string_view kid) const {
  for (const Jwk& k : keys_) {
    if (!k.kid.empty() && k.kid == kid) return &k;
  }
  return MakeError(ErrorCode::kNotFound, "JWKS: no key with kid " + Quoted(kid));
}

Result<nlohmann::json> Jwks::ToJson() const {
  Json out = {{"keys", Json::array()}};
  for (const Jwk& k : keys_) {
    CRYPTA_ASSIGN_OR_RETURN(Json j, PublicKeyToJwk(k.key, k.kid));
    if (!k.use.empty()) j["use"] = k.use;
    if (!k.alg.empty()) j["alg"] = k.alg;
    if (!k.key_ops.empty()) j["key_ops"] = k.key_ops;
    out["keys"].push_back(std::move(j));
  }
  return out;
}

}  // namespace crypta

#include "attest/cca/trust_anchor.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>

#include "common/encoding.h"
#include "common/json_canonical.h"
#include "crypto/hash.h"
#include "crypto/jwk.h"

namespace crypta::attest::cca {
namespace {

using nlohmann::json;

Error Invalid(const std::string& message) { return Error(ErrorCode::kInvalidArgument, message); }

Status CheckSize(size_t size) {
  if (size > kMaxTrustAnchorBytes) {
    return MakeError(ErrorCode::kResourceExhausted,
                     "CCA trust anchor input is " + std::to_string(size) + " bytes, more than " +
                         std::to_string(kMaxTrustAnchorBytes));
  }
  return OkStatus();
}

Result<CcaTrustAnchor> AnchorFromKey(PublicKey key, const std::string& what) {
  // The platform token's protected header is {1: -35}: only a P-384 CPAK can verify it.
  if (key.type() != KeyType::kEcP384) {
    return MakeError(Invalid(what + " is a " + std::string(KeyTypeName(key.type())) +
                             " key, want EC P-384 (ES384)"));
  }
  CRYPTA_ASSIGN_OR_RETURN(Bytes spki, key.ToSpkiDer());
  return CcaTrustAnchor{.cpak = std::move(key),
                        .spki_der = std::move(spki),
                        .implementation_id = std::nullopt,
                        .instance_id = std::nullopt};
}

Result<CcaTrustAnchor> AnchorFromJwk(const json& jwk, const std::string& what) {
  auto parsed = ParsePublicJwk(jwk);  // checks the point is on the curve
  if (!parsed) return MakeError(parsed.error().WithContext(what));
  return AnchorFromKey(parsed->key, what);
}

Result<Bytes> GetHex(const json& entry, const char* member, size_t want, const std::string& what) {
  auto it = entry.find(member);
  if (it == entry.end() || !it->is_string()) {
    return MakeError(Invalid(what + " \"" + member + "\" is missing or not a string"));
  }
  auto bytes = HexDecode(it->get_ref<const std::string&>());
  if (!bytes) return MakeError(bytes.error().WithContext(what + " \"" + member + "\""));
  if (bytes->size() != want) {
    return MakeError(Invalid(what + " \"" + member + "\" is " + std::to_string(bytes->size()) +
                             " bytes, want " + std::to_string(want)));
  }
  return bytes;
}

Result<CcaTrustAnchors> FromJwkJson(const json& doc) {
  CRYPTA_ASSIGN_OR_RETURN(CcaTrustAnchor anchor, AnchorFromJwk(doc, "CPAK JWK"));
  CcaTrustAnchors out;
  CRYPTA_RETURN_IF_ERROR(out.Add(std::move(anchor)));
  return out;
}

Result<CcaTrustAnchors> StoreFromJson(const json& doc) {
  if (!doc.is_array()) return MakeError(Invalid("CCA trust-anchor store is not a JSON array"));
  if (doc.size() > kMaxTrustAnchorEntries) {
    return MakeError(ErrorCode::kResourceExhausted, "CCA trust-anchor store has more than " +
                                                        std::to_string(kMaxTrustAnchorEntries) +
                                                        " entries");
  }
  CcaTrustAnchors out;
  for (size_t i = 0; i < doc.size(); ++i) {
    const std::string what = "CCA trust-anchor store entry " + std::to_string(i);
    const json& entry = doc[i];
    if (!entry.is_object()) return MakeError(Invalid(what + " is not an object"));
    auto pkey = entry.find("pkey");
    if (pkey == entry.end() || !pkey->is_object()) {
      return MakeError(Invalid(what + " \"pkey\" is missing or not a JWK object"));
    }
    CRYPTA_ASSIGN_OR_RETURN(CcaTrustAnchor anchor, AnchorFromJwk(*pkey, what + " \"pkey\""));
    // The instance id (platform claim 256, a 33-byte UEID) selects the entry.
    CRYPTA_ASSIGN_OR_RETURN(anchor.instance_id, GetHex(entry, "instance-id", 33, what));
    if (entry.contains("implementation-id")) {
      CRYPTA_ASSIGN_OR_RETURN(anchor.implementation_id,
                              GetHex(entry, "implementation-id", 32, what));
    }
    Status added = out.Add(std::move(anchor));
    if (!added) return MakeError(added.error().WithContext(what));
  }
  return out;
}

}  // namespace

std::string CcaTrustAnchor::Id() const {
  Bytes digest = Sha256(spki_der);
  return "cpak:" + HexEncode(ByteSpan(digest).first(16));
}

Result<CcaTrustAnchors> CcaTrustAnchors::FromCpakPem(std::string_view pem) {
  CRYPTA_RETURN_IF_ERROR(CheckSize(pem.size()));
  auto key = PublicKey::FromPem(pem);
  if (!key) return MakeError(key.error().WithContext("CPAK PEM"));
  CRYPTA_ASSIGN_OR_RETURN(CcaTrustAnchor anchor, AnchorFromKey(std::move(*key), "CPAK PEM"));
  CcaTrustAnchors out;
  CRYPTA_RETURN_IF_ERROR(out.Add(std::move(anchor)));
  return out;
}

Result<CcaTrustAnchors> CcaTrustAnchors::FromCpakJwk(std::string_view text) {
  CRYPTA_RETURN_IF_ERROR(CheckSize(text.size()));
  auto doc = ParseJsonStrict(text, {.max_bytes = kMaxTrustAnchorBytes, .max_depth = 8});
  if (!doc) return MakeError(doc.error().WithContext("CPAK JWK"));
  if (!doc->is_object()) return MakeError(Invalid("CPAK JWK is not a JSON object"));
  return FromJwkJson(*doc);
}

Result<CcaTrustAnchors> CcaTrustAnchors::FromStoreJson(std::string_view text) {
  CRYPTA_RETURN_IF_ERROR(CheckSize(text.size()));
  auto doc = ParseJsonStrict(text, {.max_bytes = kMaxTrustAnchorBytes, .max_depth = 8});
  if (!doc) return MakeError(doc.error().WithContext("CCA trust-anchor store"));
  return StoreFromJson(*doc);
}

Result<CcaTrustAnchors> CcaTrustAnchors::Parse(ByteSpan bytes) {
  CRYPTA_RETURN_IF_ERROR(CheckSize(bytes.size()));
  std::string_view text = AsStringView(bytes);
  const size_t first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return MakeError(Invalid("CCA trust anchor input is empty"));
  if (text.substr(first).starts_with("-----BEGIN")) return FromCpakPem(text);
  auto doc = ParseJsonStrict(text, {.max_bytes = kMaxTrustAnchorBytes, .max_depth = 8});
  if (!doc) {
    return MakeError(doc.error().WithContext("CCA trust anchor (neither PEM nor JSON)"));
  }
  if (doc->is_object() && doc->contains("kty")) {
    return FromJwkJson(*doc);
  }
  if (doc->is_array()) return StoreFromJson(*doc);
  return MakeError(Invalid("CCA trust anchor JSON is neither a JWK nor a trust-anchor store"));
}

Status CcaTrustAnchors::Add(CcaTrustAnchor anchor) {
  for (const CcaTrustAnchor& b : anchors_) {
    if (anchor.instance_id != b.instance_id) continue;
    if (anchor.spki_der == b.spki_der && anchor.implementation_id == b.implementation_id) {
      return OkStatus();  // the same anchor twice
    }
    if (anchor.instance_id) {
      return MakeError(
          Invalid("two trust anchors for CCA instance id " + HexEncode(*anchor.instance_id)));
    }
  }
  anchors_.push_back(std::move(anchor));
  return OkStatus();
}

Status CcaTrustAnchors::Add(const CcaTrustAnchors& other) {
  for (const CcaTrustAnchor& a : other.anchors_) CRYPTA_RETURN_IF_ERROR(Add(a));
  return OkStatus();
}

std::vector<const CcaTrustAnchor*> CcaTrustAnchors::FindForInstance(ByteSpan instance_id) const {
  std::vector<const CcaTrustAnchor*> out;
  for (const CcaTrustAnchor& a : anchors_) {
    if (a.instance_id && std::ranges::equal(*a.instance_id, instance_id)) {
      out.push_back(&a);
    }
  }
  for (const CcaTrustAnchor& a : anchors_) {
    if (!a.instance_id) out.push_back(&a);
  }
  return out;
}

}  // namespace crypta::attest::cca

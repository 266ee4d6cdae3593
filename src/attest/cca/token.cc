// The CBOR side of the CCA token: collection (draft-ffm-rats-cca-token §4), COSE_Sign1
// (RFC 9052 §4.2) and the claim maps.
#include "attest/cca/token.h"

#include <string>
#include <utility>

#include "attest/cca/cbor.h"
#include "attest/cca/claims_internal.h"

namespace crypta::attest::cca {
namespace {

using internal::PartialPlatformClaims;
using internal::PartialRealmClaims;
using internal::PartialSwComponent;

Error Invalid(const std::string& message) { return Error(ErrorCode::kInvalidArgument, message); }

std::string KeyName(const char* claim, int64_t key) {
  return std::string(claim) + " (" + std::to_string(key) + ")";
}

Error WrongType(const std::string& claim, const CborValue& v, std::string_view want) {
  return Invalid(claim + " is a " + std::string(CborTypeName(v.type)) + ", want a " +
                 std::string(want));
}

Result<Bytes> GetBytes(const CborValue& v, const std::string& claim) {
  if (v.type != CborType::kBytes) return MakeError(WrongType(claim, v, "byte string"));
  return Bytes(v.data.begin(), v.data.end());
}

Result<std::string> GetText(const CborValue& v, const std::string& claim) {
  if (v.type != CborType::kText) return MakeError(WrongType(claim, v, "text string"));
  return std::string(v.text());
}

Result<PartialSwComponent> ReadSwComponent(const CborValue& v, size_t index) {
  const std::string name = "platform claim sw-components (2399)[" + std::to_string(index) + "]";
  if (v.type != CborType::kMap) return MakeError(WrongType(name, v, "map"));
  PartialSwComponent c;
  for (size_t i = 0; i < v.items.size(); i += 2) {
    const CborValue& value = v.items[i + 1];
    std::optional<int64_t> key = v.items[i].AsInt();
    // RC platform.rs: a component has integer keys 1, 2, 4, 5, 6 only.
    if (!key) return MakeError(Invalid(name + " has a non-integer key"));
    switch (*key) {
      case 1: {
        CRYPTA_ASSIGN_OR_RETURN(c.type, GetText(value, name + " component-type (1)"));
        break;
      }
      case 2: {
        CRYPTA_ASSIGN_OR_RETURN(c.measurement, GetBytes(value, name + " measurement-value (2)"));
        break;
      }
      case 4: {
        CRYPTA_ASSIGN_OR_RETURN(c.version, GetText(value, name + " version (4)"));
        break;
      }
      case 5: {
        CRYPTA_ASSIGN_OR_RETURN(c.signer_id, GetBytes(value, name + " signer-id (5)"));
        break;
      }
      case 6: {
        CRYPTA_ASSIGN_OR_RETURN(c.hash_algo, GetText(value, name + " hash-algo-id (6)"));
        break;
      }
      default:
        return MakeError(Invalid(name + " has unknown key " + std::to_string(*key)));
    }
  }
  return c;
}

Result<CborValue> DecodeClaimsMap(ByteSpan cbor, const std::string& what) {
  CRYPTA_ASSIGN_OR_RETURN(CborValue map, DecodeCbor(cbor, what));
  if (map.type != CborType::kMap) return MakeError(WrongType(what, map, "map"));
  return map;
}

}  // namespace

Bytes CoseSign1::ToBeSigned() const {
  // RFC 9052 §4.4: Sig_structure = ["Signature1", body_protected, external_aad, payload].
  static constexpr std::string_view kContext = "Signature1";
  Bytes out;
  out.reserve(protected_header.size() + payload.size() + 32);
  AppendCborHead(4, 4, &out);
  AppendCborHead(3, kContext.size(), &out);
  out.insert(out.end(), kContext.begin(), kContext.end());
  AppendCborHead(2, protected_header.size(), &out);
  out.insert(out.end(), protected_header.begin(), protected_header.end());
  AppendCborHead(2, 0, &out);  // external_aad: empty
  AppendCborHead(2, payload.size(), &out);
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

Result<CoseSign1> ParseCoseSign1Es384(ByteSpan data, std::string_view what_view) {
  const std::string what(what_view);
  CRYPTA_ASSIGN_OR_RETURN(CborValue tagged, DecodeCbor(data, what));
  if (tagged.type != CborType::kTag || tagged.number != kCoseSign1CborTag) {
    return MakeError(Invalid(what + " is not a COSE_Sign1 tagged 18 (RFC 9052 §2)"));
  }
  const CborValue& array = tagged.items[0];
  if (array.type != CborType::kArray || array.items.size() != 4) {
    return MakeError(Invalid(what + " COSE_Sign1 is not an array of 4 (RFC 9052 §4.2)"));
  }
  // [0] protected: a bstr holding exactly {1: -35}.
  const CborValue& prot = array.items[0];
  if (prot.type != CborType::kBytes) {
    return MakeError(WrongType(what + " protected header", prot, "byte string"));
  }
  auto header = DecodeCbor(prot.data, what + " protected header", {.max_depth = 4});
  if (!header || header->type != CborType::kMap || header->map_size() != 1 ||
      header->items[0].AsInt() != 1 || header->items[1].AsInt() != kCoseAlgEs384) {
    return MakeError(ErrorCode::kUnauthenticated,
                     what + " protected header is not exactly {1: -35} (ES384)");
  }
  // [1] unprotected: a map; the algorithm must not also appear here (RFC 9052 §3).
  const CborValue& unprot = array.items[1];
  if (unprot.type != CborType::kMap) {
    return MakeError(WrongType(what + " unprotected header", unprot, "map"));
  }
  if (unprot.FindIntKey(1)) {
    return MakeError(ErrorCode::kUnauthenticated,
                     what + " unprotected header carries an algorithm (1)");
  }
  // [2] payload: attached (a detached nil payload is not used by CCA).
  const CborValue& payload = array.items[2];
  if (payload.type != CborType::kBytes) {
    return MakeError(WrongType(what + " payload", payload, "byte string (attached payload)"));
  }
  // [3] signature: ES384 is r || s, 48 bytes each (RFC 9053 §2.1).
  const CborValue& sig = array.items[3];
  if (sig.type != CborType::kBytes)
    return MakeError(WrongType(what + " signature", sig, "byte string"));
  if (sig.data.size() != kEs384SignatureSize) {
    return MakeError(ErrorCode::kUnauthenticated, what + " signature is " +
                                                      std::to_string(sig.data.size()) +
                                                      " bytes, want 96 (ES384 r || s)");
  }
  CoseSign1 out;
  out.protected_header.assign(prot.data.begin(), prot.data.end());
  out.payload.assign(payload.data.begin(), payload.data.end());
  out.signature.assign(sig.data.begin(), sig.data.end());
  return out;
}

Result<CcaPlatformClaims> ParseCcaPlatformClaims(ByteSpan cbor) {
  CRYPTA_ASSIGN_OR_RETURN(CborValue map, DecodeClaimsMap(cbor, "platform claims"));
  PartialPlatformClaims p;
  for (size_t i = 0; i < map.items.size(); i += 2) {
    const CborValue& v = map.items[i + 1];
    std::optional<int64_t> key = map.items[i].AsInt();
    if (!key) continue;  // unknown (non-integer) claims are ignored
    switch (*key) {
      case 265: {
        CRYPTA_ASSIGN_OR_RETURN(p.profile, GetText(v, KeyName("platform claim profile", 265)));
        break;
      }
      case 10: {
        CRYPTA_ASSIGN_OR_RETURN(p.challenge, GetBytes(v, KeyName("platform claim challenge", 10)));
        break;
      }
      case 2396: {
        CRYPTA_ASSIGN_OR_RETURN(p.implementation_id,
                                GetBytes(v, KeyName("platform claim implementation-id", 2396)));
        break;
      }
      case 256: {
        CRYPTA_ASSIGN_OR_RETURN(p.instance_id,
                                GetBytes(v, KeyName("platform claim instance-id", 256)));
        break;
      }
      case 2401: {
        CRYPTA_ASSIGN_OR_RETURN(p.config, GetBytes(v, KeyName("platform claim config", 2401)));
        break;
      }
      case 2395: {
        if (v.type != CborType::kUnsigned) {
          return MakeError(
              WrongType(KeyName("platform claim lifecycle", 2395), v, "unsigned integer"));
        }
        p.lifecycle = v.number;
        break;
      }
      case 2399: {
        const std::string name = KeyName("platform claim sw-components", 2399);
        if (v.type != CborType::kArray) return MakeError(WrongType(name, v, "array"));
        if (v.items.size() > kMaxSwComponents) {
          return MakeError(
              ErrorCode::kResourceExhausted,
              name + " has more than " + std::to_string(kMaxSwComponents) + " entries");
        }
        p.sw_components.emplace();
        for (size_t j = 0; j < v.items.size(); ++j) {
          CRYPTA_ASSIGN_OR_RETURN(PartialSwComponent c, ReadSwComponent(v.items[j], j));
          p.sw_components->push_back(std::move(c));
        }
        break;
      }
      case 2400: {
        CRYPTA_ASSIGN_OR_RETURN(p.verification_service,
                                GetText(v, KeyName("platform claim verification-service", 2400)));
        break;
      }
      case 2402: {
        CRYPTA_ASSIGN_OR_RETURN(p.hash_algo,
                                GetText(v, KeyName("platform claim hash-algo-id", 2402)));
        break;
      }
      default:
        break;  // unknown claims are ignored
    }
  }
  return internal::FinishPlatformClaims(std::move(p));
}

Result<CcaRealmClaims> ParseCcaRealmClaims(ByteSpan cbor) {
  CRYPTA_ASSIGN_OR_RETURN(CborValue map, DecodeClaimsMap(cbor, "realm claims"));
  PartialRealmClaims p;
  for (size_t i = 0; i < map.items.size(); i += 2) {
    const CborValue& v = map.items[i + 1];
    std::optional<int64_t> key = map.items[i].AsInt();
    if (!key) continue;
    switch (*key) {
      case 265: {
        CRYPTA_ASSIGN_OR_RETURN(p.profile, GetText(v, KeyName("realm claim profile", 265)));
        break;
      }
      case 10: {
        CRYPTA_ASSIGN_OR_RETURN(p.challenge, GetBytes(v, KeyName("realm claim challenge", 10)));
        break;
      }
      case 44235: {
        CRYPTA_ASSIGN_OR_RETURN(p.personalization_value,
                                GetBytes(v, KeyName("realm claim personalization-value", 44235)));
        break;
      }
      case 44238: {
        CRYPTA_ASSIGN_OR_RETURN(p.initial_measurement,
                                GetBytes(v, KeyName("realm claim initial-measurement", 44238)));
        break;
      }
      case 44239: {
        const std::string name = KeyName("realm claim extensible-measurements", 44239);
        if (v.type != CborType::kArray) return MakeError(WrongType(name, v, "array"));
        if (v.items.size() != 4) {
          return MakeError(
              Invalid(name + " has " + std::to_string(v.items.size()) + " entries, want 4"));
        }
        p.extensible_measurements.emplace();
        for (size_t j = 0; j < v.items.size(); ++j) {
          CRYPTA_ASSIGN_OR_RETURN(Bytes rem,
                                  GetBytes(v.items[j], name + "[" + std::to_string(j) + "]"));
          p.extensible_measurements->push_back(std::move(rem));
        }
        break;
      }
      case 44236: {
        CRYPTA_ASSIGN_OR_RETURN(p.hash_algo,
                                GetText(v, KeyName("realm claim hash-algo-id", 44236)));
        break;
      }
      case 44237: {
        CRYPTA_ASSIGN_OR_RETURN(p.rak, GetBytes(v, KeyName("realm claim public-key", 44237)));
        break;
      }
      case 44240: {
        CRYPTA_ASSIGN_OR_RETURN(p.rak_hash_algo,
                                GetText(v, KeyName("realm claim public-key-hash-algo-id", 44240)));
        break;
      }
      default:
        break;
    }
  }
  return internal::FinishRealmClaims(std::move(p));
}

Result<CcaToken> ParseCcaToken(ByteSpan token) {
  if (token.size() > kMaxCcaTokenBytes) {
    return MakeError(ErrorCode::kResourceExhausted, "CCA token is " + std::to_string(token.size()) +
                                                        " bytes, more than " +
                                                        std::to_string(kMaxCcaTokenBytes));
  }
  CRYPTA_ASSIGN_OR_RETURN(CborValue tagged, DecodeCbor(token, "CCA token"));
  if (tagged.type != CborType::kTag || tagged.number != kCcaTokenCborTag) {
    return MakeError(Invalid("CCA token is not tagged 399 (draft-ffm-rats-cca-token §4)"));
  }
  const CborValue& map = tagged.items[0];
  if (map.type != CborType::kMap) return MakeError(WrongType("CCA token collection", map, "map"));
  const CborValue* platform = nullptr;
  const CborValue* realm = nullptr;
  for (size_t i = 0; i < map.items.size(); i += 2) {
    std::optional<int64_t> key = map.items[i].AsInt();
    if (key == kCcaPlatformTokenKey) {
      platform = &map.items[i + 1];
    } else if (key == kCcaRealmTokenKey) {
      realm = &map.items[i + 1];
    } else {
      return MakeError(Invalid("CCA token collection has a key other than 44234 and 44241"));
    }
  }
  if (!platform) return MakeError(Invalid("CCA token has no platform token (44234)"));
  if (!realm) return MakeError(Invalid("CCA token has no realm token (44241)"));
  for (const CborValue* t : {platform, realm}) {
    if (t->type != CborType::kBytes || t->data.empty()) {
      return MakeError(
          Invalid(std::string(t == platform ? "platform token (44234)" : "realm token (44241)") +
                  " is not a non-empty byte string"));
    }
  }
  CcaToken out;
  CRYPTA_ASSIGN_OR_RETURN(out.platform_token,
                          ParseCoseSign1Es384(platform->data, "platform token"));
  CRYPTA_ASSIGN_OR_RETURN(out.realm_token, ParseCoseSign1Es384(realm->data, "realm token"));
  CRYPTA_ASSIGN_OR_RETURN(out.platform, ParseCcaPlatformClaims(out.platform_token.payload));
  CRYPTA_ASSIGN_OR_RETURN(out.realm, ParseCcaRealmClaims(out.realm_token.payload));
  return out;
}

}  // namespace crypta::attest::cca

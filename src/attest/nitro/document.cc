#include "attest/nitro/document.h"

#include <cbor.h>

#include <algorithm>
#include <memory>
#include <set>
#include <string_view>

namespace crypta::attest::nitro {
namespace {

struct CborDeleter {
  void operator()(cbor_item_t* item) const { cbor_decref(&item); }
};
using CborPtr = std::unique_ptr<cbor_item_t, CborDeleter>;

constexpr int kMaxCborDepth = 8;
constexpr uint64_t kCoseSign1Tag = 18;  // RFC 9052 §4.2

Error Invalid(std::string_view what, const std::string& message) {
  return Error(ErrorCode::kInvalidArgument, std::string(what) + ": " + message);
}

// Reads the head of the item at *pos (RFC 8949 §3): its argument, advancing *pos past the
// head. Refuses reserved additional information 28..30 and indefinite lengths (31).
Status ReadHead(ByteSpan data, size_t* pos, uint64_t* arg, std::string_view what) {
  const size_t at = *pos;
  if (at >= data.size()) return MakeError(Invalid(what, "CBOR truncated"));
  const uint8_t info = data[at] & 0x1f;
  size_t p = at + 1;
  uint64_t value = info;
  if (info >= 24 && info <= 27) {
    const size_t n = size_t{1} << (info - 24);
    if (data.size() - p < n) return MakeError(Invalid(what, "CBOR head truncated"));
    value = 0;
    for (size_t i = 0; i < n; ++i) value = (value << 8) | data[p + i];
    p += n;
  } else if (info >= 28 && info <= 30) {
    return MakeError(Invalid(what, "CBOR reserved additional information " + std::to_string(info) +
                                       " at offset " + std::to_string(at)));
  } else if (info == 31) {
    return MakeError(Invalid(what, "CBOR indefinite length or break at offset " +
                                       std::to_string(at) + " (not allowed)"));
  }
  *arg = value;
  *pos = p;
  return OkStatus();
}

// Well-formedness pre-scan of one CBOR item (RFC 8949 §3) starting at *pos, advancing *pos
// past it. Every declared length is checked against the bytes that remain before it is
// trusted (an array of n items needs at least n bytes, a map 2n), so libcbor, which
// allocates for declared sizes up front, only ever meets sizes bounded by the input.
// Indefinite lengths (§3.2), reserved additional information 28..30 and tags are refused.
Status ScanItem(ByteSpan data, size_t* pos, int depth, std::string_view what) {
  if (depth > kMaxCborDepth) {
    return MakeError(Invalid(what, "CBOR nested deeper than " + std::to_string(kMaxCborDepth)));
  }
  const size_t at = *pos;
  if (at >= data.size()) return MakeError(Invalid(what, "CBOR truncated"));
  const uint8_t major = data[at] >> 5;
  size_t p = at;
  uint64_t arg = 0;
  CRYPTA_RETURN_IF_ERROR(ReadHead(data, &p, &arg, what));
  const size_t remaining = data.size() - p;
  switch (major) {
    case 0:  // unsigned integer
    case 1:  // negative integer
      break;
    case 2:  // byte string
    case 3:  // text string
      if (arg > remaining) {
        return MakeError(Invalid(what, "CBOR string of " + std::to_string(arg) +
                                           " bytes at offset " + std::to_string(at) +
                                           " exceeds the input"));
      }
      p += static_cast<size_t>(arg);
      break;
    case 4:    // array
    case 5: {  // map
      const uint64_t items = major == 4 ? arg : arg * 2;
      if (arg > remaining || items > remaining) {
        return MakeError(Invalid(what, "CBOR " + std::string(major == 4 ? "array" : "map") +
                                           " of " + std::to_string(arg) + " entries at offset " +
                                           std::to_string(at) + " exceeds the input"));
      }
      for (uint64_t i = 0; i < items; ++i) {
        CRYPTA_RETURN_IF_ERROR(ScanItem(data, &p, depth + 1, what));
      }
      break;
    }
    case 6:  // tag: none is defined inside a document (the envelope's is read before)
      return MakeError(Invalid(what, "CBOR tag " + std::to_string(arg) + " at offset " +
                                         std::to_string(at) + " (not allowed)"));
    default:  // 7: simple values and floats, all within the head
      break;
  }
  *pos = p;
  return OkStatus();
}

// Decodes exactly one item spanning all of `data`.
Result<CborPtr> LoadCbor(ByteSpan data, std::string_view what) {
  size_t end = 0;
  CRYPTA_RETURN_IF_ERROR(ScanItem(data, &end, 0, what));
  if (end != data.size()) {
    return MakeError(
        Invalid(what, std::to_string(data.size() - end) + " trailing bytes after the CBOR item"));
  }
  cbor_load_result result{};
  CborPtr item(cbor_load(data.data(), data.size(), &result));
  if (!item || result.error.code != CBOR_ERR_NONE || result.read != data.size()) {
    return MakeError(Invalid(what, "not well-formed CBOR (libcbor error " +
                                       std::to_string(static_cast<int>(result.error.code)) +
                                       " at offset " + std::to_string(result.error.position) +
                                       ")"));
  }
  return item;
}

const char* TypeName(const cbor_item_t* item) {
  switch (cbor_typeof(item)) {
    case CBOR_TYPE_UINT:
      return "unsigned integer";
    case CBOR_TYPE_NEGINT:
      return "negative integer";
    case CBOR_TYPE_BYTESTRING:
      return "byte string";
    case CBOR_TYPE_STRING:
      return "text string";
    case CBOR_TYPE_ARRAY:
      return "array";
    case CBOR_TYPE_MAP:
      return "map";
    case CBOR_TYPE_TAG:
      return "tag";
    case CBOR_TYPE_FLOAT_CTRL:
      return cbor_is_null(item) ? "null" : "simple value or float";
  }
  return "unknown";
}

// Definite-length strings only reach here (the pre-scan refuses indefinite ones).
Result<Bytes> GetBytes(const cbor_item_t* item, std::string_view what) {
  if (!cbor_isa_bytestring(item) || !cbor_bytestring_is_definite(item)) {
    return MakeError(Invalid(what, std::string("want a byte string, got a ") + TypeName(item)));
  }
  const size_t n = cbor_bytestring_length(item);
  if (n == 0) return Bytes();
  const uint8_t* p = cbor_bytestring_handle(item);
  return Bytes(p, p + n);
}

Result<std::string> GetText(const cbor_item_t* item, std::string_view what) {
  if (!cbor_isa_string(item) || !cbor_string_is_definite(item)) {
    return MakeError(Invalid(what, std::string("want a text string, got a ") + TypeName(item)));
  }
  const size_t n = cbor_string_length(item);
  if (n == 0) return std::string();
  const unsigned char* p = cbor_string_handle(item);
  return std::string(reinterpret_cast<const char*>(p), n);
}

Result<Bytes> GetSizedBytes(const cbor_item_t* item, std::string_view what, size_t min,
                            size_t max) {
  CRYPTA_ASSIGN_OR_RETURN(Bytes b, GetBytes(item, what));
  if (b.size() < min || b.size() > max) {
    return MakeError(Invalid(what, std::to_string(b.size()) + " bytes, want " +
                                       std::to_string(min) + ".." + std::to_string(max)));
  }
  return b;
}

// public_key / user_data / nonce: absent, CBOR null, or a byte string of <= 1024 bytes.
Result<std::optional<Bytes>> GetOptionalBytes(const cbor_item_t* item, std::string_view what) {
  if (cbor_is_null(item)) return std::optional<Bytes>();
  CRYPTA_ASSIGN_OR_RETURN(Bytes b, GetSizedBytes(item, what, 0, kMaxNitroFieldSize));
  return std::optional<Bytes>(std::move(b));
}

// Protected header (RFC 9052 §3): the serialized map {1: -35}, nothing else. The error
// names the algorithm when the map is {1: alg} with another alg.
Status CheckProtectedHeader(ByteSpan bytes) {
  constexpr std::string_view kWhat = "COSE protected header";
  if (bytes.empty()) {
    return MakeError(Invalid(kWhat, "empty (no algorithm); want {1: -35} (ES384)"));
  }
  CRYPTA_ASSIGN_OR_RETURN(CborPtr map, LoadCbor(bytes, kWhat));
  if (!cbor_isa_map(map.get())) {
    return MakeError(Invalid(kWhat, std::string("want a map, got a ") + TypeName(map.get())));
  }
  const size_t n = cbor_map_size(map.get());
  const cbor_pair* pairs = cbor_map_handle(map.get());
  const cbor_pair* alg = nullptr;
  for (size_t i = 0; i < n; ++i) {
    if (cbor_isa_uint(pairs[i].key) && cbor_get_int(pairs[i].key) == 1) alg = &pairs[i];
  }
  if (!alg) return MakeError(Invalid(kWhat, "no algorithm (label 1); want ES384 (-35)"));
  const cbor_item_t* v = alg->value;
  if (cbor_isa_negint(v) && cbor_get_int(v) == static_cast<uint64_t>(-1 - kCoseAlgEs384)) {
    if (n != 1) {
      return MakeError(Invalid(kWhat, std::to_string(n) + " entries; want exactly {1: -35}"));
    }
    return OkStatus();
  }
  std::string name;
  if (cbor_isa_negint(v)) {
    name = cbor_get_int(v) < (uint64_t{1} << 62)
               ? std::to_string(-1 - static_cast<int64_t>(cbor_get_int(v)))
               : "(large negative)";
  } else if (cbor_isa_uint(v)) {
    name = std::to_string(cbor_get_int(v));
  } else if (cbor_isa_string(v) && cbor_string_is_definite(v)) {
    name = "\"" +
           std::string(reinterpret_cast<const char*>(cbor_string_handle(v)),
                       std::min<size_t>(cbor_string_length(v), 32)) +
           "\"";
  } else {
    name = std::string("of type ") + TypeName(v);
  }
  return MakeError(Invalid(kWhat, "unsupported algorithm " + name + "; want ES384 (-35)"));
}

Status ParsePcrs(const cbor_item_t* item, NitroDocument* doc) {
  if (!cbor_isa_map(item)) {
    return MakeError(Invalid("pcrs", std::string("want a map, got a ") + TypeName(item)));
  }
  const size_t n = cbor_map_size(item);
  if (n < 1 || n > kMaxPcrCount) {
    return MakeError(
        Invalid("pcrs", std::to_string(n) + " entries, want 1.." + std::to_string(kMaxPcrCount)));
  }
  const cbor_pair* pairs = cbor_map_handle(item);
  for (size_t i = 0; i < n; ++i) {
    if (!cbor_isa_uint(pairs[i].key)) {
      return MakeError(Invalid("pcrs", std::string("index is a ") + TypeName(pairs[i].key) +
                                           ", want an unsigned integer"));
    }
    const uint64_t index = cbor_get_int(pairs[i].key);
    if (index > kMaxPcrIndex) {
      return MakeError(
          Invalid("pcrs", "index " + std::to_string(index) + " > " + std::to_string(kMaxPcrIndex)));
    }
    const std::string what = "pcrs[" + std::to_string(index) + "]";
    CRYPTA_ASSIGN_OR_RETURN(Bytes value, GetBytes(pairs[i].value, what));
    if (value.size() != 32 && value.size() != 48 && value.size() != 64 && value.size() != 96) {
      return MakeError(
          Invalid(what, std::to_string(value.size()) + " bytes, want 32, 48, 64 or 96"));
    }
    if (!doc->pcrs.emplace(static_cast<uint32_t>(index), std::move(value)).second) {
      return MakeError(Invalid("pcrs", "duplicate index " + std::to_string(index)));
    }
  }
  return OkStatus();
}

Status ParseCabundle(const cbor_item_t* item, NitroDocument* doc) {
  if (!cbor_isa_array(item)) {
    return MakeError(Invalid("cabundle", std::string("want an array, got a ") + TypeName(item)));
  }
  const size_t n = cbor_array_size(item);
  if (n < 1 || n > kMaxCabundleEntries) {
    return MakeError(Invalid("cabundle", std::to_string(n) + " entries, want 1.." +
                                             std::to_string(kMaxCabundleEntries)));
  }
  cbor_item_t** items = cbor_array_handle(item);
  for (size_t i = 0; i < n; ++i) {
    CRYPTA_ASSIGN_OR_RETURN(
        Bytes der,
        GetSizedBytes(items[i], "cabundle[" + std::to_string(i) + "]", 1, kMaxNitroFieldSize));
    doc->cabundle.push_back(std::move(der));
  }
  return OkStatus();
}

// The attestation document map (AWS "Attestation document specification"; LAYOUTS §3).
Status ParsePayload(ByteSpan payload, NitroDocument* doc) {
  CRYPTA_ASSIGN_OR_RETURN(CborPtr map, LoadCbor(payload, "payload"));
  if (!cbor_isa_map(map.get())) {
    return MakeError(Invalid("payload", std::string("want a map, got a ") + TypeName(map.get())));
  }
  const size_t n = cbor_map_size(map.get());
  const cbor_pair* pairs = cbor_map_handle(map.get());
  std::set<std::string> seen;
  for (size_t i = 0; i < n; ++i) {
    CRYPTA_ASSIGN_OR_RETURN(std::string key, GetText(pairs[i].key, "payload key"));
    if (!seen.insert(key).second) {
      return MakeError(Invalid("payload", "duplicate key \"" + key + "\""));
    }
    const cbor_item_t* v = pairs[i].value;
    if (key == "module_id") {
      CRYPTA_ASSIGN_OR_RETURN(doc->module_id, GetText(v, "module_id"));
      if (doc->module_id.empty() || doc->module_id.size() > kMaxNitroFieldSize) {
        return MakeError(Invalid("module_id", std::to_string(doc->module_id.size()) +
                                                  " bytes, want 1.." +
                                                  std::to_string(kMaxNitroFieldSize)));
      }
      for (char ch : doc->module_id) {
        if (ch < 0x21 || ch > 0x7e) {
          return MakeError(Invalid("module_id", "not printable ASCII"));
        }
      }
    } else if (key == "digest") {
      CRYPTA_ASSIGN_OR_RETURN(doc->digest, GetText(v, "digest"));
      if (doc->digest != "SHA384") {
        return MakeError(
            Invalid("digest", "\"" + doc->digest.substr(0, 32) + "\", want \"SHA384\""));
      }
    } else if (key == "timestamp") {
      if (!cbor_isa_uint(v)) {
        return MakeError(
            Invalid("timestamp", std::string("want an unsigned integer, got a ") + TypeName(v)));
      }
      doc->timestamp_ms = cbor_get_int(v);
    } else if (key == "pcrs") {
      CRYPTA_RETURN_IF_ERROR(ParsePcrs(v, doc));
    } else if (key == "certificate") {
      CRYPTA_ASSIGN_OR_RETURN(doc->certificate,
                              GetSizedBytes(v, "certificate", 1, kMaxNitroFieldSize));
    } else if (key == "cabundle") {
      CRYPTA_RETURN_IF_ERROR(ParseCabundle(v, doc));
    } else if (key == "public_key") {
      CRYPTA_ASSIGN_OR_RETURN(doc->public_key, GetOptionalBytes(v, "public_key"));
    } else if (key == "user_data") {
      CRYPTA_ASSIGN_OR_RETURN(doc->user_data, GetOptionalBytes(v, "user_data"));
    } else if (key == "nonce") {
      CRYPTA_ASSIGN_OR_RETURN(doc->nonce, GetOptionalBytes(v, "nonce"));
    } else {
      return MakeError(Invalid("payload", "unknown key \"" + key.substr(0, 32) + "\""));
    }
  }
  for (const char* required :
       {"module_id", "digest", "timestamp", "pcrs", "certificate", "cabundle"}) {
    if (!seen.count(required)) {
      return MakeError(Invalid("payload", std::string("missing \"") + required + "\""));
    }
  }
  return OkStatus();
}

void AppendHead(uint8_t major, uint64_t arg, Bytes* out) {
  const uint8_t m = static_cast<uint8_t>(major << 5);
  if (arg < 24) {
    out->push_back(m | static_cast<uint8_t>(arg));
    return;
  }
  int n = arg <= 0xff ? 1 : arg <= 0xffff ? 2 : arg <= 0xffffffff ? 4 : 8;
  out->push_back(m | static_cast<uint8_t>(n == 1 ? 24 : n == 2 ? 25 : n == 4 ? 26 : 27));
  for (int i = n - 1; i >= 0; --i) out->push_back(static_cast<uint8_t>(arg >> (8 * i)));
}

}  // namespace

Bytes NitroDocument::SigStructure() const {
  constexpr std::string_view kContext = "Signature1";
  Bytes out;
  out.reserve(32 + protected_bstr.size() + payload.size());
  AppendHead(4, 4, &out);  // array(4)
  AppendHead(3, kContext.size(), &out);
  out.insert(out.end(), kContext.begin(), kContext.end());
  AppendHead(2, protected_bstr.size(), &out);
  out.insert(out.end(), protected_bstr.begin(), protected_bstr.end());
  AppendHead(2, 0, &out);  // external_aad = h''
  AppendHead(2, payload.size(), &out);
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

const Bytes* NitroDocument::FindPcr(uint32_t index) const {
  auto it = pcrs.find(index);
  return it == pcrs.end() ? nullptr : &it->second;
}

Result<NitroDocument> ParseNitroDocument(ByteSpan data) {
  if (data.size() > kMaxNitroDocumentSize) {
    return MakeError(ErrorCode::kResourceExhausted,
                     "Nitro attestation document: " + std::to_string(data.size()) +
                         " bytes exceeds the " + std::to_string(kMaxNitroDocumentSize) +
                         "-byte cap");
  }
  NitroDocument doc;
  // RFC 9052 §4.2: COSE_Sign1 = [protected, unprotected, payload, signature], untagged or
  // under tag 18 (COSE_Sign1_Tagged). The tag head is read here: libcbor 0.8 refuses tags
  // 6..20 in their one-byte form (it treats them as unassigned), and 0xd2 is one of them.
  ByteSpan envelope = data;
  if (!data.empty() && data[0] >> 5 == 6) {
    size_t pos = 0;
    uint64_t tag = 0;
    CRYPTA_RETURN_IF_ERROR(ReadHead(data, &pos, &tag, "COSE_Sign1"));
    if (tag != kCoseSign1Tag) {
      return MakeError(Invalid("COSE_Sign1", "tag " + std::to_string(tag) + ", want 18 or none"));
    }
    doc.tagged = true;
    envelope = data.subspan(pos);
  }
  CRYPTA_ASSIGN_OR_RETURN(CborPtr array, LoadCbor(envelope, "COSE_Sign1"));
  if (!array || !cbor_isa_array(array.get()) || cbor_array_size(array.get()) != 4) {
    return MakeError(Invalid("COSE_Sign1", "want an array of 4 items"));
  }
  cbor_item_t** items = cbor_array_handle(array.get());
  CRYPTA_ASSIGN_OR_RETURN(doc.protected_bstr, GetBytes(items[0], "COSE protected header"));
  CRYPTA_RETURN_IF_ERROR(CheckProtectedHeader(doc.protected_bstr));
  if (!cbor_isa_map(items[1])) {
    return MakeError(
        Invalid("COSE unprotected header", std::string("want a map, got a ") + TypeName(items[1])));
  }
  if (cbor_map_size(items[1]) != 0) {
    return MakeError(Invalid("COSE unprotected header",
                             std::to_string(cbor_map_size(items[1])) + " entries, want none"));
  }
  CRYPTA_ASSIGN_OR_RETURN(doc.payload, GetBytes(items[2], "COSE payload"));
  CRYPTA_ASSIGN_OR_RETURN(doc.signature, GetBytes(items[3], "COSE signature"));
  if (doc.signature.size() != kEs384SignatureSize) {
    return MakeError(Invalid(
        "COSE signature", std::to_string(doc.signature.size()) + " bytes, want 96 (ES384 r || s)"));
  }
  CRYPTA_RETURN_IF_ERROR(ParsePayload(doc.payload, &doc));
  return doc;
}

}  // namespace crypta::attest::nitro

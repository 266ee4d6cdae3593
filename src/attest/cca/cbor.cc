#include "attest/cca/cbor.h"

#include <algorithm>
#include <set>
#include <utility>

#include "common/byte_reader.h"

namespace crypta::attest::cca {
namespace {

// RFC 3629 §4: shortest forms only, no surrogates, nothing above U+10FFFF.
bool IsValidUtf8(ByteSpan s) {
  size_t i = 0;
  while (i < s.size()) {
    const uint8_t b = s[i];
    if (b < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    uint32_t cp;
    if (b >= 0xc2 && b <= 0xdf) {
      len = 2;
      cp = b & 0x1f;
    } else if (b >= 0xe0 && b <= 0xef) {
      len = 3;
      cp = b & 0x0f;
    } else if (b >= 0xf0 && b <= 0xf4) {
      len = 4;
      cp = b & 0x07;
    } else {
      return false;
    }
    if (s.size() - i < len) return false;
    for (size_t k = 1; k < len; ++k) {
      if ((s[i + k] & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (s[i + k] & 0x3f);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff)) {
      return false;
    }
    i += len;
  }
  return true;
}

class Decoder {
 public:
  Decoder(ByteSpan data, std::string_view what, const CborLimits& limits)
      : data_(data), reader_(data), what_(what), limits_(limits) {}

  Result<CborValue> DecodeAll() {
    CRYPTA_ASSIGN_OR_RETURN(CborValue value, DecodeItem(0));
    if (!reader_.empty()) {
      return Fail("trailing " + std::to_string(reader_.remaining()) + " bytes after the CBOR item");
    }
    return value;
  }

 private:
  tl::unexpected<Error> Fail(const std::string& message,
                             ErrorCode code = ErrorCode::kInvalidArgument) const {
    return MakeError(code, std::string(what_) + ": " + message + " (at byte " +
                               std::to_string(reader_.position()) + ")");
  }

  // RFC 8949 §3: the initial byte and its argument.
  Result<uint64_t> ReadArgument(uint8_t info) {
    if (info < 24) return info;
    switch (info) {
      case 24:
        return reader_.ReadU8(what_);
      case 25:
        return reader_.ReadU16BE(what_);
      case 26:
        return reader_.ReadU32BE(what_);
      case 27:
        return reader_.ReadU64BE(what_);
      case 31:
        return Fail("indefinite-length items are not accepted (RFC 8949 §3.2)");
      default:
        return Fail("reserved additional information " + std::to_string(info) + " (RFC 8949 §3)");
    }
  }

  Result<CborValue> DecodeItem(size_t depth) {
    if (++item_count_ > limits_.max_items) {
      return Fail("more than " + std::to_string(limits_.max_items) + " CBOR items",
                  ErrorCode::kResourceExhausted);
    }
    const size_t start = reader_.position();
    CRYPTA_ASSIGN_OR_RETURN(uint8_t initial, reader_.ReadU8(what_));
    const uint8_t major = initial >> 5;
    const uint8_t info = initial & 0x1f;
    CborValue value;
    if (major == 7) {
      CRYPTA_RETURN_IF_ERROR(DecodeSimple(info, &value));
    } else {
      CRYPTA_ASSIGN_OR_RETURN(uint64_t arg, ReadArgument(info));
      switch (major) {
        case 0:
        case 1:
          value.type = major == 0 ? CborType::kUnsigned : CborType::kNegative;
          value.number = arg;
          break;
        case 2:
        case 3: {
          value.type = major == 2 ? CborType::kBytes : CborType::kText;
          if (arg > reader_.remaining()) {
            return Fail("string of " + std::to_string(arg) + " bytes but only " +
                        std::to_string(reader_.remaining()) + " remain");
          }
          CRYPTA_ASSIGN_OR_RETURN(value.data, reader_.ReadBytes(static_cast<size_t>(arg), what_));
          if (major == 3 && !IsValidUtf8(value.data)) {
            return Fail("text string is not valid UTF-8 (RFC 8949 §3.1)");
          }
          break;
        }
        case 4:
        case 5: {
          value.type = major == 4 ? CborType::kArray : CborType::kMap;
          CRYPTA_RETURN_IF_ERROR(DecodeContainer(arg, major == 5, depth, &value));
          break;
        }
        case 6: {
          value.type = CborType::kTag;
          value.number = arg;
          if (depth + 1 > limits_.max_depth) {
            return Fail("nesting deeper than " + std::to_string(limits_.max_depth),
                        ErrorCode::kResourceExhausted);
          }
          CRYPTA_ASSIGN_OR_RETURN(CborValue content, DecodeItem(depth + 1));
          value.items.push_back(std::move(content));
          break;
        }
      }
    }
    value.encoded = data_.subspan(start, reader_.position() - start);
    return value;
  }

  // Major type 7 (RFC 8949 §3.3).
  Status DecodeSimple(uint8_t info, CborValue* value) {
    if (info < 24) {
      value->type = CborType::kSimple;
      value->number = info;
      return OkStatus();
    }
    if (info == 24) {
      CRYPTA_ASSIGN_OR_RETURN(uint8_t simple, reader_.ReadU8(what_));
      if (simple < 32) return Fail("two-byte simple value below 32 (RFC 8949 §3.3)");
      value->type = CborType::kSimple;
      value->number = simple;
      return OkStatus();
    }
    if (info >= 25 && info <= 27) {
      value->type = CborType::kFloat;
      CRYPTA_ASSIGN_OR_RETURN(value->data, reader_.ReadBytes(size_t{1} << (info - 24), what_));
      return OkStatus();
    }
    if (info == 31) return Fail("unexpected break (indefinite-length items are not accepted)");
    return Fail("reserved simple-value encoding " + std::to_string(info) + " (RFC 8949 §3.3)");
  }

  Status DecodeContainer(uint64_t count, bool is_map, size_t depth, CborValue* value) {
    if (depth + 1 > limits_.max_depth) {
      return Fail("nesting deeper than " + std::to_string(limits_.max_depth),
                  ErrorCode::kResourceExhausted);
    }
    // Every item takes at least one byte: a count the remaining bytes cannot hold is
    // refused before anything is read or allocated.
    const uint64_t remaining = reader_.remaining();
    if (count > remaining || (is_map && count > remaining / 2)) {
      return Fail(std::string(is_map ? "map of " : "array of ") + std::to_string(count) +
                  " entries but only " + std::to_string(remaining) + " bytes remain");
    }
    const size_t n = static_cast<size_t>(is_map ? count * 2 : count);
    value->items.reserve(std::min(n, limits_.max_items));
    std::set<std::string> keys;
    for (size_t i = 0; i < n; ++i) {
      CRYPTA_ASSIGN_OR_RETURN(CborValue item, DecodeItem(depth + 1));
      if (is_map && i % 2 == 0 && !keys.insert(KeyIdentity(item)).second) {
        return Fail("duplicate map key (RFC 8949 §5.6)");
      }
      value->items.push_back(std::move(item));
    }
    return OkStatus();
  }

  // Two keys are duplicates when they are the same data item: integers and strings by
  // value (so 10 and its non-shortest encoding 0x180a collide), others by encoding.
  static std::string KeyIdentity(const CborValue& key) {
    std::string id(1, static_cast<char>(key.type));
    switch (key.type) {
      case CborType::kUnsigned:
      case CborType::kNegative:
        id += std::to_string(key.number);
        break;
      case CborType::kBytes:
      case CborType::kText:
        id += ToString(key.data);
        break;
      default:
        id += ToString(key.encoded);
        break;
    }
    return id;
  }

  ByteSpan data_;
  ByteReader reader_;
  std::string_view what_;
  CborLimits limits_;
  size_t item_count_ = 0;
};

}  // namespace

std::optional<int64_t> CborValue::AsInt() const {
  constexpr uint64_t kMax = static_cast<uint64_t>(INT64_MAX);
  if (type == CborType::kUnsigned && number <= kMax) return static_cast<int64_t>(number);
  if (type == CborType::kNegative && number <= kMax) return -1 - static_cast<int64_t>(number);
  return std::nullopt;
}

const CborValue* CborValue::FindIntKey(int64_t key) const {
  if (type != CborType::kMap) return nullptr;
  for (size_t i = 0; i + 1 < items.size(); i += 2) {
    if (items[i].AsInt() == key) return &items[i + 1];
  }
  return nullptr;
}

Result<CborValue> DecodeCbor(ByteSpan data, std::string_view what, const CborLimits& limits) {
  return Decoder(data, what, limits).DecodeAll();
}

void AppendCborHead(uint8_t major_type, uint64_t argument, Bytes* out) {
  const uint8_t major = static_cast<uint8_t>(major_type << 5);
  if (argument < 24) {
    out->push_back(major | static_cast<uint8_t>(argument));
    return;
  }
  int bytes = argument <= 0xff ? 1 : argument <= 0xffff ? 2 : argument <= 0xffffffff ? 4 : 8;
  const uint8_t info = bytes == 1 ? 24 : bytes == 2 ? 25 : bytes == 4 ? 26 : 27;
  out->push_back(major | info);
  for (int i = bytes - 1; i >= 0; --i) out->push_back(static_cast<uint8_t>(argument >> (8 * i)));
}

std::string_view CborTypeName(CborType type) {
  switch (type) {
    case CborType::kUnsigned:
      return "unsigned integer";
    case CborType::kNegative:
      return "negative integer";
    case CborType::kBytes:
      return "byte string";
    case CborType::kText:
      return "text string";
    case CborType::kArray:
      return "array";
    case CborType::kMap:
      return "map";
    case CborType::kTag:
      return "tag";
    case CborType::kSimple:
      return "simple value";
    case CborType::kFloat:
      return "float";
  }
  return "unknown";
}

}  // namespace crypta::attest::cca

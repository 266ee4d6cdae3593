// NumPy .npy codec (see npy.h for the format reference).
#include "infer/npy.h"

#include <bit>
#include <cctype>
#include <optional>
#include <string_view>
#include <utility>

#include "common/byte_reader.h"

namespace crypta::infer {
namespace {

static_assert(std::endian::native == std::endian::little,
              "tensor data is little-endian; add byte swapping for big-endian hosts");

constexpr std::string_view kMagic = "\x93NUMPY";

tl::unexpected<Error> HeaderError(std::string_view what) {
  return MakeError(ErrorCode::kInvalidArgument, "npy header: " + std::string(what));
}

// A cursor over the header's Python dict literal. Only the subset NumPy writes is accepted:
// quoted strings, True/False, and tuples of non-negative integers.
class DictParser {
 public:
  explicit DictParser(std::string_view text) : text_(text) {}

  void SkipSpace() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }
  bool Consume(char c) {
    SkipSpace();
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  bool Peek(char c) {
    SkipSpace();
    return pos_ < text_.size() && text_[pos_] == c;
  }
  std::optional<std::string> String() {
    SkipSpace();
    if (pos_ >= text_.size() || (text_[pos_] != '\'' && text_[pos_] != '"')) return std::nullopt;
    const char quote = text_[pos_++];
    const size_t end = text_.find(quote, pos_);
    if (end == std::string_view::npos) return std::nullopt;
    std::string out(text_.substr(pos_, end - pos_));
    pos_ = end + 1;
    return out;
  }
  std::optional<bool> Bool() {
    SkipSpace();
    for (auto [word, value] : {std::pair{"True", true}, std::pair{"False", false}}) {
      const std::string_view w(word);
      if (text_.substr(pos_, w.size()) == w) {
        pos_ += w.size();
        return value;
      }
    }
    return std::nullopt;
  }
  std::optional<std::vector<int64_t>> Tuple() {
    if (!Consume('(')) return std::nullopt;
    std::vector<int64_t> dims;
    while (!Consume(')')) {
      SkipSpace();
      int64_t value = 0;
      size_t digits = 0;
      while (pos_ < text_.size() && std::isdigit(static_cast<unsigned char>(text_[pos_]))) {
        if (++digits > 18) return std::nullopt;  // keeps value below 10^18
        value = value * 10 + (text_[pos_++] - '0');
      }
      // Python 2 era files write "3L".
      if (pos_ < text_.size() && text_[pos_] == 'L') ++pos_;
      if (digits == 0 || dims.size() >= 32) return std::nullopt;
      dims.push_back(value);
      if (!Consume(',') && !Peek(')')) return std::nullopt;
    }
    return dims;
  }
  bool AtEnd() {
    SkipSpace();
    return pos_ == text_.size();
  }

 private:
  std::string_view text_;
  size_t pos_ = 0;
};

Result<DataType> DescrToType(const std::string& descr) {
  if (descr.size() == 3) {
    const char order = descr[0];
    const std::string_view kind = std::string_view(descr).substr(1);
    const bool little = order == '<' || order == '=' || order == '|';
    if (little) {
      if (kind == "f4" && order != '|') return DataType::kFp32;
      if (kind == "f8" && order != '|') return DataType::kFp64;
      if (kind == "i8" && order != '|') return DataType::kInt64;
      if (kind == "i4" && order != '|') return DataType::kInt32;
      if (kind == "u1") return DataType::kUint8;
      if (kind == "b1") return DataType::kBool;
    }
  }
  return MakeError(ErrorCode::kInvalidArgument, "npy header: unsupported 'descr' '" +
                                                    descr.substr(0, 16) +
                                                    "' (want <f4, <f8, <i8, <i4, |u1 or |b1)");
}

std::string_view TypeToDescr(DataType type) {
  switch (type) {
    case DataType::kFp32:
      return "<f4";
    case DataType::kFp64:
      return "<f8";
    case DataType::kInt64:
      return "<i8";
    case DataType::kInt32:
      return "<i4";
    case DataType::kUint8:
      return "|u1";
    case DataType::kBool:
      return "|b1";
  }
  return "|u1";
}

}  // namespace

Result<Tensor> ParseNpy(ByteSpan file, std::string name) {
  ByteReader reader(file);
  CRYPTA_ASSIGN_OR_RETURN(ByteSpan magic, reader.ReadBytes(kMagic.size(), "npy magic"));
  if (AsStringView(magic) != kMagic) {
    return MakeError(ErrorCode::kInvalidArgument, "not an npy file (bad magic)");
  }
  CRYPTA_ASSIGN_OR_RETURN(uint8_t major, reader.ReadU8("npy major version"));
  CRYPTA_ASSIGN_OR_RETURN(uint8_t minor, reader.ReadU8("npy minor version"));
  uint32_t header_len = 0;
  if (major == 1 && minor == 0) {
    CRYPTA_ASSIGN_OR_RETURN(header_len, reader.ReadU16LE("npy header length"));
  } else if ((major == 2 || major == 3) && minor == 0) {
    CRYPTA_ASSIGN_OR_RETURN(header_len, reader.ReadU32LE("npy header length"));
  } else {
    return MakeError(ErrorCode::kInvalidArgument, "npy version " + std::to_string(major) + "." +
                                                      std::to_string(minor) +
                                                      " is not supported (want 1.0-3.0)");
  }
  if (header_len > kMaxNpyHeaderBytes) return HeaderError("longer than 64 KiB");
  CRYPTA_ASSIGN_OR_RETURN(ByteSpan header_bytes, reader.ReadBytes(header_len, "npy header"));
  DictParser dict(AsStringView(header_bytes));
  std::optional<std::string> descr;
  std::optional<bool> fortran_order;
  std::optional<std::vector<int64_t>> shape;
  if (!dict.Consume('{')) return HeaderError("not a dict literal");
  while (!dict.Consume('}')) {
    std::optional<std::string> key = dict.String();
    if (!key || !dict.Consume(':')) return HeaderError("malformed key");
    if (*key == "descr" && !descr) {
      descr = dict.String();
      if (!descr) return HeaderError("'descr' is not a string");
    } else if (*key == "fortran_order" && !fortran_order) {
      fortran_order = dict.Bool();
      if (!fortran_order) return HeaderError("'fortran_order' is not True/False");
    } else if (*key == "shape" && !shape) {
      shape = dict.Tuple();
      if (!shape) return HeaderError("'shape' is not a tuple of integers");
    } else {
      return HeaderError("unexpected or repeated key '" + key->substr(0, 32) + "'");
    }
    if (!dict.Consume(',') && !dict.Peek('}')) return HeaderError("missing ','");
  }
  if (!dict.AtEnd()) return HeaderError("trailing characters after the dict");
  if (!descr || !fortran_order || !shape) {
    return HeaderError("needs 'descr', 'fortran_order' and 'shape'");
  }
  if (*fortran_order) {
    return HeaderError("'fortran_order': True is not supported (save C-contiguous arrays)");
  }
  Tensor tensor;
  tensor.name = std::move(name);
  CRYPTA_ASSIGN_OR_RETURN(tensor.dtype, DescrToType(*descr));
  tensor.shape = std::move(*shape);
  auto count = ElementCount(tensor.shape, kMaxNpyElements);
  if (!count) return MakeError(count.error().WithContext("npy 'shape'"));
  const uint64_t bytes = *count * ElementSize(tensor.dtype);
  if (reader.remaining() != bytes) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "npy data: " + std::to_string(reader.remaining()) + " bytes, 'shape' needs " +
                         std::to_string(bytes));
  }
  ByteSpan data = reader.rest();
  if (tensor.dtype == DataType::kBool) {
    for (uint8_t b : data) {
      if (b > 1) return MakeError(ErrorCode::kInvalidArgument, "npy data: BOOL byte not 0 or 1");
    }
  }
  tensor.data.assign(data.begin(), data.end());
  return tensor;
}

Bytes EncodeNpy(const Tensor& t) {
  std::string header =
      "{'descr': '" + std::string(TypeToDescr(t.dtype)) + "', 'fortran_order': False, 'shape': (";
  for (size_t i = 0; i < t.shape.size(); ++i) {
    header += std::to_string(t.shape[i]);
    if (t.shape.size() == 1 || i + 1 < t.shape.size()) header += ",";
    if (i + 1 < t.shape.size()) header += " ";
  }
  header += "), }";
  // magic(6) + version(2) + length(2) + header + padding + '\n' is a multiple of 64.
  const size_t unpadded = 10 + header.size() + 1;
  header.append((64 - unpadded % 64) % 64, ' ');
  header += '\n';
  Bytes out(kMagic.begin(), kMagic.end());
  out.push_back(1);
  out.push_back(0);
  out.push_back(static_cast<uint8_t>(header.size() & 0xff));
  out.push_back(static_cast<uint8_t>(header.size() >> 8));
  out.insert(out.end(), header.begin(), header.end());
  out.insert(out.end(), t.data.begin(), t.data.end());
  return out;
}

}  // namespace crypta::infer

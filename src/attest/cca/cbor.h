// A small strict CBOR (RFC 8949) decoder for CCA attestation tokens, over ByteReader.
//
// Why not libcbor: libcbor 0.8 allocates a definite array or map for its declared size
// before reading the elements, so a few bytes claiming 2^32 items ask for gigabytes (see
// the guard in pki/attested_tls.cc). Here every declared length is checked against the
// bytes that remain before anything is read or allocated, and no container reserves more
// than CborLimits::max_items entries.
//
// What is accepted: definite-length items of every major type (RFC 8949 §3.1), tags,
// simple values and floats (kept undecoded). What is refused, naming the byte offset:
// text strings that are not valid UTF-8 (§3.1; they would also break the claims' JSON),
// indefinite lengths (§3.2; no CCA producer uses them, and refusing them keeps the signed
// bytes and the decoded bytes one and the same), reserved additional information 28..30
// (§3), two-byte simple values below 32 (§3.3), maps with duplicate keys (§5.6: a token
// with two challenges must not be read two ways), trailing bytes after the item, nesting
// deeper than CborLimits::max_depth and more than CborLimits::max_items items.
//
// Decoded values hold spans into the input: the input must outlive them. Thread-safe (no
// shared state).
#ifndef CRYPTA_ATTEST_CCA_CBOR_H_
#define CRYPTA_ATTEST_CCA_CBOR_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.h"
#include "common/status.h"

namespace crypta::attest::cca {

// RFC 8949 §3.1 major types, plus floats split out of major type 7.
enum class CborType { kUnsigned, kNegative, kBytes, kText, kArray, kMap, kTag, kSimple, kFloat };

struct CborValue {
  CborType type = CborType::kUnsigned;
  // kUnsigned: the value; kNegative: n for the value -1 - n; kTag: the tag number;
  // kSimple: the simple value (20 false, 21 true, 22 null, 23 undefined).
  uint64_t number = 0;
  ByteSpan data;     // kBytes / kText: the contents; kFloat: the 2, 4 or 8 bytes
  ByteSpan encoded;  // the whole encoding of this item (head and contents)
  // kArray: the elements; kMap: key0, value0, key1, value1, ...; kTag: the tagged item.
  std::vector<CborValue> items;

  bool is_int() const { return type == CborType::kUnsigned || type == CborType::kNegative; }
  // The integer value when it fits int64_t.
  std::optional<int64_t> AsInt() const;
  size_t map_size() const { return items.size() / 2; }
  // Map only: the value under integer key `key`, or nullptr.
  const CborValue* FindIntKey(int64_t key) const;
  std::string_view text() const { return AsStringView(data); }
};

struct CborLimits {
  size_t max_depth = 16;    // nesting of arrays, maps and tags
  size_t max_items = 4096;  // items in the whole input
};

// Decodes exactly one item that spans all of `data`. Errors are kInvalidArgument (or
// kResourceExhausted for a limit) and start with `what`.
Result<CborValue> DecodeCbor(ByteSpan data, std::string_view what, const CborLimits& limits = {});

// The head of a definite-length item (RFC 8949 §3.1, shortest form), for building the
// COSE Sig_structure.
void AppendCborHead(uint8_t major_type, uint64_t argument, Bytes* out);

// A short readable name for error messages ("byte string", "map", ...).
std::string_view CborTypeName(CborType type);

}  // namespace crypta::attest::cca

#endif  // CRYPTA_ATTEST_CCA_CBOR_H_

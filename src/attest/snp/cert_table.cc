#include "attest/snp/cert_table.h"

#include <algorithm>
#include <array>
#include <string>

#include "common/byte_reader.h"

namespace crypta::attest::snp {
namespace {

struct KnownGuid {
  std::array<uint8_t, 16> guid;  // in the table's byte order (RFC 4122 mixed-endian)
  const char* item;
};

// GUIDs from the GHCB specification: VCEK 63da758d-e664-4564-adc5-f4b93be8accd,
// VLEK a8074bc2-a25a-483e-aae6-39c045a0b8a1, ASK 4ab7b379-bbac-4fe4-a02f-05aef327c782,
// ARK c0b406a4-a803-4952-9743-3fb6014cd0ae.
constexpr KnownGuid kGuids[] = {
    {{0x8d, 0x75, 0xda, 0x63, 0x64, 0xe6, 0x64, 0x45, 0xad, 0xc5, 0xf4, 0xb9, 0x3b, 0xe8, 0xac,
      0xcd},
     "vcek"},
    {{0xc2, 0x4b, 0x07, 0xa8, 0x5a, 0xa2, 0x3e, 0x48, 0xaa, 0xe6, 0x39, 0xc0, 0x45, 0xa0, 0xb8,
      0xa1},
     "vlek"},
    {{0x79, 0xb3, 0xb7, 0x4a, 0xac, 0xbb, 0xe4, 0x4f, 0xa0, 0x2f, 0x05, 0xae, 0xf3, 0x27, 0xc7,
      0x82},
     "ask"},
    {{0xa4, 0x06, 0xb4, 0xc0, 0x03, 0xa8, 0x52, 0x49, 0x97, 0x43, 0x3f, 0xb6, 0x01, 0x4c, 0xd0,
      0xae},
     "ark"},
};
constexpr int kMaxEntries = 64;

}  // namespace

Status AddSnpCertTable(ByteSpan table, Collateral* collateral) {
  ByteReader r(table);
  for (int i = 0; i < kMaxEntries; ++i) {
    std::string field = "SNP certificate table entry " + std::to_string(i);
    CRYPTA_ASSIGN_OR_RETURN(ByteSpan guid, r.ReadBytes(16, field + " GUID"));
    CRYPTA_ASSIGN_OR_RETURN(uint32_t offset, r.ReadU32LE(field + " offset"));
    CRYPTA_ASSIGN_OR_RETURN(uint32_t length, r.ReadU32LE(field + " length"));
    if (std::all_of(guid.begin(), guid.end(), [](uint8_t b) { return b == 0; })) {
      return OkStatus();  // terminator
    }
    if (uint64_t{offset} + length > table.size() || length == 0) {
      return MakeError(ErrorCode::kInvalidArgument,
                       field + ": certificate at offset " + std::to_string(offset) + ", length " +
                           std::to_string(length) + " lies outside the " +
                           std::to_string(table.size()) + "-byte table");
    }
    for (const KnownGuid& k : kGuids) {
      if (std::equal(guid.begin(), guid.end(), k.guid.begin())) {
        collateral->items[k.item] = Bytes(table.begin() + offset, table.begin() + offset + length);
      }
    }
  }
  return MakeError(ErrorCode::kInvalidArgument, "SNP certificate table: more than 64 entries");
}

}  // namespace crypta::attest::snp

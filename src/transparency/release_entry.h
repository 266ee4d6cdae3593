// A release of the transparency log (issue 17): what a tenant declares allowed to run, and the
// exact bytes the Merkle log commits to for it.
//
// The leaf of entry `index` (RFC 9162 §2.1.1 input) is the RFC 8785 canonical JSON of
//   {"v":1,"index":…,"tenant":…,"workload":…,"measurement":…,"model_digest":…,
//    "host_data":…,"note":…,"time":…}
// (members sorted by JCS), so anyone holding an entry and its index recomputes its leaf hash.
// Pure functions, thread-safe. This header needs no store: clients use it too.
#ifndef CRYPTA_TRANSPARENCY_RELEASE_ENTRY_H_
#define CRYPTA_TRANSPARENCY_RELEASE_ENTRY_H_

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "common/bytes.h"
#include "common/status.h"

namespace crypta::transparency {

inline constexpr size_t kMaxReleaseNoteBytes = 1024;
inline constexpr size_t kMaxHostDataBytes = 64;  // 128 hex digits
// Latest accepted time: 9999-12-31T23:59:59Z (and every leaf number stays below 2^53, RFC 8785).
inline constexpr int64_t kMaxReleaseTime = 253402300799;
// A leaf is far smaller; larger untrusted leaf text is refused before parsing.
inline constexpr size_t kMaxReleaseLeafBytes = 4096;

struct ReleaseEntry {
  std::string tenant;        // a crypta name (common/names.h)
  std::string workload;      // a crypta name
  std::string measurement;   // lowercase hex: 48 bytes (SEV-SNP, TDX, Nitro) or 32 bytes
  std::string model_digest;  // "sha256:" + 64 lowercase hex
  std::string host_data;     // lowercase hex of 1-64 bytes, or empty (none)
  std::string note;          // 0-1024 bytes of UTF-8 without control characters
  int64_t time = 0;          // Unix seconds, 0..kMaxReleaseTime
  bool operator==(const ReleaseEntry&) const = default;
};

// An entry with its position in the log.
struct IndexedRelease {
  uint64_t index = 0;
  ReleaseEntry entry;
};

// kInvalidArgument naming the first field that breaks the rules above.
[[nodiscard]] Status ValidateReleaseEntry(const ReleaseEntry& entry);

// The leaf object (validated) and its canonical text; the leaf hash SHA-256(0x00 || text).
[[nodiscard]] Result<nlohmann::json> ReleaseLeafObject(const ReleaseEntry& entry, uint64_t index);
[[nodiscard]] Result<std::string> ReleaseLeafData(const ReleaseEntry& entry, uint64_t index);
[[nodiscard]] Result<Bytes> ReleaseLeafHash(const ReleaseEntry& entry, uint64_t index);

// The reverse, for untrusted input (a log's entries, a dump): exactly the nine members with
// the right types, v = 1, a valid entry. ParseReleaseLeaf also requires the text to be the
// canonical form (a leaf is its canonical bytes) and at most kMaxReleaseLeafBytes.
// kInvalidArgument naming the member.
[[nodiscard]] Result<IndexedRelease> ReleaseFromLeafObject(const nlohmann::json& leaf);
[[nodiscard]] Result<IndexedRelease> ParseReleaseLeaf(std::string_view text);

// "sha256:<hex>" check alone, for callers that look a digest up (kInvalidArgument).
[[nodiscard]] Status ValidateModelDigest(std::string_view digest);
// Lowercase hex of 32 or 48 bytes (kInvalidArgument).
[[nodiscard]] Status ValidateMeasurement(std::string_view measurement);

}  // namespace crypta::transparency

#endif  // CRYPTA_TRANSPARENCY_RELEASE_ENTRY_H_

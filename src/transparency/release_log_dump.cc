// ReleaseLog::WriteDump and ReleaseLog::VerifyDump (release_log.h): the offline audit form.
#include <algorithm>
#include <filesystem>
#include <optional>
#include <string>
#include <system_error>
#include <utility>

#include "common/encoding.h"
#include "common/file_util.h"
#include "common/json_canonical.h"
#include "transparency/release_log.h"
#include "transparency/release_log_internal.h"

namespace crypta::transparency {
namespace {

constexpr char kCheckpointFile[] = "checkpoint.txt";
constexpr char kEntriesFile[] = "entries.jsonl";
constexpr char kKeyFile[] = "key.txt";
// One entries.jsonl line: a leaf (<= 4 KiB) plus the leaf hash and the wrapper.
constexpr size_t kMaxDumpLineBytes = 8 * 1024;
constexpr size_t kMaxKeyFileBytes = 2 * 1024;
constexpr size_t kReadChunkBytes = 1 << 16;

std::string PathIn(const std::string& dir, const char* name) {
  return (std::filesystem::path(dir) / name).string();
}

// {"leaf_hash":"<hex>","release":<leaf object>}, canonical (RFC 8785).
Result<std::string> DumpLine(const StoredRelease& r) {
  CRYPTA_ASSIGN_OR_RETURN(nlohmann::json leaf, ReleaseLeafObject(r.entry, r.index));
  return CanonicalizeJson(
      nlohmann::json{{"leaf_hash", HexEncode(r.leaf_hash)}, {"release", std::move(leaf)}});
}

// Reads a file line by line, each line at most max_line bytes and newline-terminated.
class LineReader {
 public:
  LineReader(InputFile file, size_t max_line) : file_(std::move(file)), max_line_(max_line) {}

  // The next line without its newline; nullopt at the end of the file.
  Result<std::optional<std::string>> Next(uint64_t line_number) {
    std::string line;
    while (true) {
      const size_t newline = buffer_.find('\n', pos_);
      if (newline != std::string::npos) {
        line.append(buffer_, pos_, newline - pos_);
        pos_ = newline + 1;
        break;
      }
      line.append(buffer_, pos_, std::string::npos);
      pos_ = buffer_.size();
      if (line.size() > max_line_) break;
      if (offset_ == file_.size()) {
        if (!line.empty()) {
          return MakeError(ErrorCode::kInvalidArgument, std::string(kEntriesFile) + " line " +
                                                            std::to_string(line_number) +
                                                            " does not end in a newline");
        }
        return std::optional<std::string>();
      }
      const size_t n =
          static_cast<size_t>(std::min<uint64_t>(kReadChunkBytes, file_.size() - offset_));
      buffer_.assign(n, '\0');
      pos_ = 0;
      CRYPTA_RETURN_IF_ERROR(
          file_.ReadAt(offset_, MutableByteSpan(reinterpret_cast<uint8_t*>(buffer_.data()), n)));
      offset_ += n;
    }
    if (line.size() > max_line_) {
      return MakeError(ErrorCode::kResourceExhausted,
                       std::string(kEntriesFile) + " line " + std::to_string(line_number) +
                           " is longer than " + std::to_string(max_line_) + " bytes");
    }
    return std::optional<std::string>(std::move(line));
  }

 private:
  InputFile file_;
  size_t max_line_;
  uint64_t offset_ = 0;
  std::string buffer_;
  size_t pos_ = 0;
};

// One entries.jsonl line (line_number is 1-based; the entry at that line has index
// line_number - 1): its release and the leaf hash it claims.
Result<std::pair<IndexedRelease, Bytes>> ParseDumpLine(const std::string& line,
                                                       uint64_t line_number) {
  const std::string where = std::string(kEntriesFile) + " line " + std::to_string(line_number);
  auto json = ParseJsonStrict(line, {.max_bytes = kMaxDumpLineBytes, .max_depth = 4});
  if (!json) return MakeError(json.error().WithContext(where));
  if (!json->is_object() || json->size() != 2 || !json->contains("leaf_hash") ||
      !json->contains("release") || !(*json)["leaf_hash"].is_string()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     where + ": want an object of \"leaf_hash\" (hex) and \"release\"");
  }
  auto hash = HexDecode((*json)["leaf_hash"].get<std::string>());
  if (!hash || hash->size() != audit::kMerkleHashSize) {
    return MakeError(ErrorCode::kInvalidArgument, where + ": leaf_hash is not 32 bytes of hex");
  }
  auto release = ReleaseFromLeafObject((*json)["release"]);
  if (!release) return MakeError(release.error().WithContext(where));
  auto canonical = CanonicalizeJson(*json);
  if (!canonical || *canonical != line) {
    return MakeError(ErrorCode::kInvalidArgument, where + " is not in RFC 8785 canonical form");
  }
  return std::make_pair(std::move(*release), std::move(*hash));
}

}  // namespace

Status ReleaseLog::WriteDump(const std::string& dir, const PrivateKey& key,
                             const std::string& key_name, const std::string& origin) {
  CRYPTA_ASSIGN_OR_RETURN(std::string vkey, VerifierKeyString(key_name, key.GetPublicKey()));
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return MakeError(ErrorCode::kUnavailable,
                     "release log dump: cannot create " + dir + ": " + ec.message());
  }
  // Holding the locks from the checkpoint to the last entry row keeps this connection's
  // appends out; other replicas' appends land past the checkpoint's size and are not read.
  auto db_lock = db_->Lock();
  std::lock_guard<std::mutex> lock(mu_);
  CRYPTA_ASSIGN_OR_RETURN(SignedTreeHead head, SignedCheckpointLocked(key, key_name, origin));
  CRYPTA_ASSIGN_OR_RETURN(AtomicOutputFile entries,
                          AtomicOutputFile::Create(PathIn(dir, kEntriesFile), 0644));
  CRYPTA_ASSIGN_OR_RETURN(auto stmt, db_->Prepare(std::string("SELECT ") + internal::kEntryColumns +
                                                  " FROM tlog_entries WHERE leaf_index < ? "
                                                  "ORDER BY leaf_index"));
  CRYPTA_RETURN_IF_ERROR(stmt.Bind(1, static_cast<int64_t>(head.checkpoint.size)));
  uint64_t next = 0;
  std::string chunk;
  while (true) {
    CRYPTA_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) break;
    StoredRelease r = internal::ReadEntryRow(stmt);
    if (r.index != next) break;  // reported below
    auto line = DumpLine(r);
    if (!line) {
      return MakeError(ErrorCode::kDataLoss, "release log entry " + std::to_string(r.index) +
                                                 " is not valid: " + line.error().message());
    }
    chunk += *line;
    chunk += '\n';
    if (chunk.size() >= kReadChunkBytes) {
      CRYPTA_RETURN_IF_ERROR(entries.Append(AsBytes(chunk)));
      chunk.clear();
    }
    ++next;
  }
  if (next != head.checkpoint.size) {
    return MakeError(ErrorCode::kDataLoss,
                     "release log entry " + std::to_string(next) + " is missing");
  }
  CRYPTA_RETURN_IF_ERROR(entries.Append(AsBytes(chunk)));
  CRYPTA_RETURN_IF_ERROR(entries.Commit(/*overwrite=*/true));
  CRYPTA_RETURN_IF_ERROR(
      WriteFileAtomic(PathIn(dir, kCheckpointFile), AsBytes(head.note), 0644, true));
  return WriteFileAtomic(PathIn(dir, kKeyFile), AsBytes(vkey + "\n"), 0644, true);
}

Result<DumpReport> ReleaseLog::VerifyDump(const std::string& dir,
                                          const DumpVerifyOptions& options) {
  // 1. The key: key.txt, which must be the pinned key when one is given.
  CRYPTA_ASSIGN_OR_RETURN(Bytes key_file, ReadFileBytes(PathIn(dir, kKeyFile), kMaxKeyFileBytes));
  std::string_view key_text = AsStringView(key_file);
  if (key_text.ends_with('\n')) key_text.remove_suffix(1);
  auto dumped = ParseVerifierKey(key_text);
  if (!dumped) return MakeError(dumped.error().WithContext(kKeyFile));
  DumpReport report;
  report.verifier_key = std::string(key_text);
  if (!options.pinned_key.empty()) {
    auto pinned = ParseVerifierKey(options.pinned_key);
    if (!pinned) return MakeError(pinned.error().WithContext("pinned log key"));
    CRYPTA_ASSIGN_OR_RETURN(Bytes pinned_raw, pinned->key.Raw());
    CRYPTA_ASSIGN_OR_RETURN(Bytes dumped_raw, dumped->key.Raw());
    if (pinned->name != dumped->name || pinned->key_id != dumped->key_id ||
        pinned_raw != dumped_raw) {
      return MakeError(ErrorCode::kUnauthenticated,
                       std::string(kKeyFile) + " is not the pinned log key " + options.pinned_key);
    }
    report.verifier_key = options.pinned_key;
  }
  const NoteVerifier& verifier = *dumped;
  const std::string origin = options.origin.empty() ? verifier.name : options.origin;

  // 2. The checkpoint: signed by that key, for that origin.
  CRYPTA_ASSIGN_OR_RETURN(Bytes note, ReadFileBytes(PathIn(dir, kCheckpointFile), kMaxNoteBytes));
  auto checkpoint = VerifyCheckpointNote(AsStringView(note), verifier, origin);
  if (!checkpoint) return MakeError(checkpoint.error().WithContext(kCheckpointFile));
  report.checkpoint = std::move(*checkpoint);
  const uint64_t size = report.checkpoint.size;

  // 3. Every entry, recomputed, in order; then their count and root.
  CRYPTA_ASSIGN_OR_RETURN(InputFile file, InputFile::Open(PathIn(dir, kEntriesFile)));
  LineReader reader(std::move(file), kMaxDumpLineBytes);
  audit::MerkleFrontier frontier;
  while (true) {
    const uint64_t index = frontier.size();
    CRYPTA_ASSIGN_OR_RETURN(std::optional<std::string> line, reader.Next(index + 1));
    if (!line) break;
    const std::string where = std::string(kEntriesFile) + " line " + std::to_string(index + 1);
    if (index == size) {
      return MakeError(ErrorCode::kDataLoss, std::string(kEntriesFile) + " has more than the " +
                                                 std::to_string(size) + " entries " +
                                                 kCheckpointFile + " covers");
    }
    CRYPTA_ASSIGN_OR_RETURN(auto parsed, ParseDumpLine(*line, index + 1));
    auto& [release, claimed_hash] = parsed;
    if (release.index != index) {
      return MakeError(ErrorCode::kDataLoss,
                       where + ": entry index " + std::to_string(release.index) + ", want " +
                           std::to_string(index) + " (an entry is missing, repeated or moved)");
    }
    CRYPTA_ASSIGN_OR_RETURN(Bytes leaf_hash, ReleaseLeafHash(release.entry, release.index));
    if (leaf_hash != claimed_hash) {
      return MakeError(ErrorCode::kDataLoss, where + ": entry " + std::to_string(index) +
                                                 " does not match its leaf_hash (edited)");
    }
    CRYPTA_RETURN_IF_ERROR(frontier.Append(leaf_hash));
  }
  if (frontier.size() != size) {
    return MakeError(ErrorCode::kDataLoss, std::string(kEntriesFile) + " has " +
                                               std::to_string(frontier.size()) + " entries, " +
                                               kCheckpointFile + " covers " + std::to_string(size) +
                                               " (entries missing from the end)");
  }
  if (frontier.Root() != report.checkpoint.root) {
    return MakeError(ErrorCode::kDataLoss,
                     "the Merkle root of the " + std::to_string(size) + " entries in " +
                         kEntriesFile + " does not match " + kCheckpointFile +
                         " (an entry edited together with its leaf_hash, or another log's "
                         "checkpoint)");
  }
  report.entries = size;
  return report;
}

}  // namespace crypta::transparency

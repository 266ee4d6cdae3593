#include "store/blob_store.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "common/encoding.h"
#include "common/file_util.h"
#include "common/time_util.h"
#include "crypto/hash.h"

namespace crypta::store {
namespace {

namespace fs = std::filesystem;
constexpr size_t kCopyChunk = 1 << 20;

// Links a finished temporary file under its final name (creating the 2-hex directory); a
// concurrent writer of the same content that got there first is fine.
Status CommitInPlace(AtomicOutputFile& out, const std::string& path) {
  std::error_code ec;
  fs::create_directories(fs::path(path).parent_path(), ec);
  if (ec) return MakeError(ErrorCode::kUnavailable, "blob store: " + ec.message());
  Status s = out.CommitTo(path, /*overwrite=*/false);
  if (!s && s.error().code() != ErrorCode::kAlreadyExists) return MakeError(s.error());
  return OkStatus();
}

}  // namespace

Result<std::string> ParseSha256Digest(std::string_view text) {
  if (text.rfind("sha256:", 0) == 0) text.remove_prefix(7);
  Result<Bytes> raw = HexDecode(text);
  if (!raw || raw->size() != 32) {
    return MakeError(ErrorCode::kInvalidArgument, "digest \"" + std::string(text.substr(0, 80)) +
                                                      "\": want sha256:<64 hex digits>");
  }
  return HexEncode(*raw);
}

Status BlobStore::CreateTables(Database& db) {
  return db.Exec(
      "CREATE TABLE IF NOT EXISTS blobs (digest TEXT PRIMARY KEY, size INTEGER NOT NULL, "
      "chunks INTEGER NOT NULL, created INTEGER NOT NULL);"
      "CREATE TABLE IF NOT EXISTS blob_chunks (digest TEXT NOT NULL, idx INTEGER NOT NULL, "
      "data BLOB NOT NULL, PRIMARY KEY (digest, idx));");
}

Result<BlobStore> BlobStore::Open(const std::string& root, uint64_t max_blob_bytes,
                                  std::shared_ptr<Database> shared) {
  std::error_code ec;
  fs::create_directories(fs::path(root) / "sha256", ec);
  if (ec)
    return MakeError(ErrorCode::kUnavailable,
                     "cannot create blob store " + root + ": " + ec.message());
  ::chmod(root.c_str(), 0700);
  return BlobStore(root, max_blob_bytes, std::move(shared));
}

Result<std::string> BlobStore::FinalPath(const std::string& digest) const {
  CRYPTA_ASSIGN_OR_RETURN(std::string hex, ParseSha256Digest(digest));
  return root_ + "/sha256/" + hex.substr(0, 2) + "/" + hex;
}

Result<std::string> BlobStore::PutFile(const std::string& path,
                                       const std::string& expected_digest) {
  CRYPTA_ASSIGN_OR_RETURN(InputFile in, InputFile::Open(path));
  if (in.size() > max_) {
    return MakeError(ErrorCode::kResourceExhausted, path + ": " + std::to_string(in.size()) +
                                                        " bytes, over the blob limit of " +
                                                        std::to_string(max_));
  }
  std::string want;
  if (!expected_digest.empty()) {
    CRYPTA_ASSIGN_OR_RETURN(want, ParseSha256Digest(expected_digest));
  }
  // One pass: copy into a temporary file inside the store while hashing, then link it
  // under its digest. Hashing what was written (not the source twice) means a source that
  // changes during the copy cannot end up under the wrong name.
  CRYPTA_ASSIGN_OR_RETURN(AtomicOutputFile out,
                          AtomicOutputFile::Create(root_ + "/sha256/incoming", 0600));
  Hasher hasher(HashAlg::kSha256);
  Bytes buf(kCopyChunk);
  for (uint64_t off = 0; off < in.size(); off += buf.size()) {
    MutableByteSpan chunk(buf.data(),
                          static_cast<size_t>(std::min<uint64_t>(buf.size(), in.size() - off)));
    CRYPTA_RETURN_IF_ERROR(in.ReadAt(off, chunk));
    hasher.Update(chunk);
    CRYPTA_RETURN_IF_ERROR(out.Append(chunk));
  }
  std::string digest = HexEncode(hasher.Finish());
  if (!want.empty() && want != digest) {
    return MakeError(ErrorCode::kDataLoss,
                     path + ": content hashes to sha256:" + digest + ", not sha256:" + want);
  }
  CRYPTA_ASSIGN_OR_RETURN(std::string final_path, FinalPath(digest));
  // Else already stored, and the temporary file is deleted.
  if (!LocalContains(digest)) CRYPTA_RETURN_IF_ERROR(CommitInPlace(out, final_path));
  CRYPTA_RETURN_IF_ERROR(Upload(digest, final_path));
  return digest;
}

Result<std::string> BlobStore::PutBytes(ByteSpan data, const std::string& expected_digest) {
  if (data.size() > max_)
    return MakeError(ErrorCode::kResourceExhausted, "blob over the size limit");
  std::string digest = HexEncode(Sha256(data));
  if (!expected_digest.empty()) {
    CRYPTA_ASSIGN_OR_RETURN(std::string want, ParseSha256Digest(expected_digest));
    if (want != digest) {
      return MakeError(ErrorCode::kDataLoss,
                       "content hashes to sha256:" + digest + ", not sha256:" + want);
    }
  }
  CRYPTA_ASSIGN_OR_RETURN(std::string final_path, FinalPath(digest));
  if (!LocalContains(digest)) {
    std::error_code ec;
    fs::create_directories(fs::path(final_path).parent_path(), ec);
    Status s = WriteFileAtomic(final_path, data, 0600, /*overwrite=*/false);
    if (!s && s.error().code() != ErrorCode::kAlreadyExists) return MakeError(s.error());
  }
  CRYPTA_RETURN_IF_ERROR(Upload(digest, final_path));
  return digest;
}

bool BlobStore::LocalContains(const std::string& digest) const {
  Result<std::string> p = FinalPath(digest);
  std::error_code ec;
  return p && fs::is_regular_file(*p, ec);
}

// Shared mode: the database decides; the local file is only a cache of it.
bool BlobStore::Contains(const std::string& digest) const {
  if (!shared_) return LocalContains(digest);
  auto hex = ParseSha256Digest(digest);
  if (!hex) return false;
  auto size = SharedSize(*hex);
  return size && size->has_value();
}

Result<std::optional<uint64_t>> BlobStore::SharedSize(const std::string& hex) const {
  CRYPTA_ASSIGN_OR_RETURN(Statement stmt,
                          shared_->Prepare("SELECT size FROM blobs WHERE digest = ?"));
  CRYPTA_RETURN_IF_ERROR(stmt.Bind(1, hex));
  CRYPTA_ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (!row) return std::optional<uint64_t>();
  return std::optional<uint64_t>(static_cast<uint64_t>(stmt.ColumnInt(0)));
}

Status BlobStore::Upload(const std::string& hex, const std::string& path) const {
  if (!shared_) return OkStatus();
  CRYPTA_ASSIGN_OR_RETURN(std::optional<uint64_t> present, SharedSize(hex));
  if (present) return OkStatus();
  CRYPTA_ASSIGN_OR_RETURN(InputFile in, InputFile::Open(path));
  CRYPTA_ASSIGN_OR_RETURN(Statement put,
                          shared_->Prepare("INSERT INTO blob_chunks (digest, idx, data) VALUES "
                                           "(?, ?, ?) ON CONFLICT (digest, idx) DO UPDATE SET "
                                           "data = excluded.data"));
  Bytes buf(kCopyChunk);
  int64_t chunks = 0;
  for (uint64_t off = 0; off < in.size(); off += buf.size(), ++chunks) {
    MutableByteSpan chunk(buf.data(),
                          static_cast<size_t>(std::min<uint64_t>(buf.size(), in.size() - off)));
    CRYPTA_RETURN_IF_ERROR(in.ReadAt(off, chunk));
    CRYPTA_RETURN_IF_ERROR(put.Bind(1, hex));
    CRYPTA_RETURN_IF_ERROR(put.Bind(2, chunks));
    CRYPTA_RETURN_IF_ERROR(put.BindBlob(3, chunk));
    CRYPTA_RETURN_IF_ERROR(put.Run());
  }
  CRYPTA_ASSIGN_OR_RETURN(Statement row,
                          shared_->Prepare("INSERT INTO blobs (digest, size, chunks, created) "
                                           "VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING"));
  CRYPTA_RETURN_IF_ERROR(row.Bind(1, hex));
  CRYPTA_RETURN_IF_ERROR(row.Bind(2, static_cast<int64_t>(in.size())));
  CRYPTA_RETURN_IF_ERROR(row.Bind(3, chunks));
  CRYPTA_RETURN_IF_ERROR(row.Bind(4, UnixNow()));
  return row.Run();
}

Status BlobStore::Download(const std::string& hex, uint64_t size, const std::string& path) const {
  CRYPTA_ASSIGN_OR_RETURN(AtomicOutputFile out,
                          AtomicOutputFile::Create(root_ + "/sha256/incoming", 0600));
  CRYPTA_ASSIGN_OR_RETURN(
      Statement get, shared_->Prepare("SELECT data FROM blob_chunks WHERE digest = ? AND idx = ?"));
  Hasher hasher(HashAlg::kSha256);
  uint64_t got = 0;
  for (int64_t idx = 0; got < size; ++idx) {
    CRYPTA_RETURN_IF_ERROR(get.Reset());
    CRYPTA_RETURN_IF_ERROR(get.Bind(1, hex));
    CRYPTA_RETURN_IF_ERROR(get.Bind(2, idx));
    CRYPTA_ASSIGN_OR_RETURN(bool row, get.Step());
    const Bytes chunk = row ? get.ColumnBlob(0) : Bytes();
    if (chunk.empty()) {
      return MakeError(ErrorCode::kDataLoss, "blob sha256:" + hex + ": chunk " +
                                                 std::to_string(idx) + " is missing in the store");
    }
    hasher.Update(chunk);
    CRYPTA_RETURN_IF_ERROR(out.Append(chunk));
    got += chunk.size();
  }
  if (got != size || HexEncode(hasher.Finish()) != hex) {
    return MakeError(ErrorCode::kDataLoss,
                     "blob sha256:" + hex + " in the store does not match its digest");
  }
  return CommitInPlace(out, path);
}

Status BlobStore::Remove(const std::string& digest) {
  CRYPTA_ASSIGN_OR_RETURN(std::string p, FinalPath(digest));
  if (shared_) {
    CRYPTA_ASSIGN_OR_RETURN(std::string hex, ParseSha256Digest(digest));
    CRYPTA_ASSIGN_OR_RETURN(Transaction tx, Transaction::Begin(*shared_));
    for (const char* sql :
         {"DELETE FROM blobs WHERE digest = ?", "DELETE FROM blob_chunks WHERE digest = ?"}) {
      CRYPTA_ASSIGN_OR_RETURN(Statement del, shared_->Prepare(sql));
      CRYPTA_RETURN_IF_ERROR(del.Bind(1, hex));
      CRYPTA_RETURN_IF_ERROR(del.Run());
    }
    CRYPTA_RETURN_IF_ERROR(tx.Commit());
  }
  if (::unlink(p.c_str()) != 0 && errno != ENOENT) {
    return MakeError(ErrorCode::kUnavailable,
                     "blob store: cannot remove sha256:" + digest + ": " + std::strerror(errno));
  }
  return OkStatus();
}

size_t BlobStore::SweepStaleUploads(int64_t now, int64_t max_age_s) {
  size_t removed = 0;
  const std::pair<std::string, std::string> patterns[] = {{root_, "upload-"},
                                                          {root_ + "/sha256", ".incoming.tmp-"}};
  for (const auto& [dir, prefix] : patterns) {
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
      const std::string name = entry.path().filename().string();
      struct stat st {};
      if (name.rfind(prefix, 0) != 0 || ::lstat(entry.path().c_str(), &st) != 0 ||
          !S_ISREG(st.st_mode) || now - st.st_mtime < max_age_s) {
        continue;
      }
      if (::unlink(entry.path().c_str()) == 0) ++removed;
    }
  }
  return removed;
}

Result<std::string> BlobStore::PathOf(const std::string& digest) const {
  CRYPTA_ASSIGN_OR_RETURN(std::string p, FinalPath(digest));
  std::error_code ec;
  if (shared_) {
    CRYPTA_ASSIGN_OR_RETURN(std::string hex, ParseSha256Digest(digest));
    CRYPTA_ASSIGN_OR_RETURN(std::optional<uint64_t> size, SharedSize(hex));
    if (!size) {
      ::unlink(p.c_str());  // removed through another replica: drop the stale cache entry
      return MakeError(ErrorCode::kNotFound, "no blob sha256:" + digest);
    }
    // Stored by another replica: fetch it into this one's cache.
    if (!fs::is_regular_file(p, ec)) CRYPTA_RETURN_IF_ERROR(Download(hex, *size, p));
    return p;
  }
  if (fs::is_regular_file(p, ec)) return p;
  return MakeError(ErrorCode::kNotFound, "no blob sha256:" + digest);
}

Result<uint64_t> BlobStore::SizeOf(const std::string& digest) const {
  if (shared_) {
    CRYPTA_ASSIGN_OR_RETURN(std::string hex, ParseSha256Digest(digest));
    CRYPTA_ASSIGN_OR_RETURN(std::optional<uint64_t> size, SharedSize(hex));
    if (!size) return MakeError(ErrorCode::kNotFound, "no blob sha256:" + digest);
    return *size;
  }
  CRYPTA_ASSIGN_OR_RETURN(std::string p, PathOf(digest));
  std::error_code ec;
  uint64_t size = fs::file_size(p, ec);
  if (ec) return MakeError(ErrorCode::kUnavailable, p + ": " + ec.message());
  return size;
}

Status BlobStore::Check(const std::string& digest) const {
  CRYPTA_ASSIGN_OR_RETURN(std::string p, PathOf(digest));
  CRYPTA_ASSIGN_OR_RETURN(Bytes actual, HashFile(HashAlg::kSha256, p));
  CRYPTA_ASSIGN_OR_RETURN(std::string want, ParseSha256Digest(digest));
  if (HexEncode(actual) != want) {
    return MakeError(ErrorCode::kDataLoss,
                     "blob sha256:" + want + " no longer matches its content");
  }
  return OkStatus();
}

}  // namespace crypta::store

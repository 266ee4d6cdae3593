// Content-addressed store for sealed blobs (DESIGN.md §3, §5): files named by the SHA-256
// of their bytes under <root>/sha256/<2 hex>/<64 hex>. The store only ever holds
// ciphertext; it checks that what it stores hashes to the name it gets.
//
// Writes are atomic (temporary file, fsync, link into place), so a crash never leaves a
// partial blob under a final name. Thread-safe: concurrent puts of the same content agree.
//
// Shared mode (issue 15, replicas on one PostgreSQL store): the database is the store of
// record and the directory a local cache. A put writes the file, then its 1 MiB chunks
// (table blob_chunks, one autocommit statement each, so a large model never holds the
// store's write lock), then the `blobs` row that makes it visible; a read of a blob another
// replica stored fetches the chunks into the cache and checks the digest before using it.
// Chunks left by a put that died before its row are invisible and overwritten by a retry.
// PostgreSQL keeps each chunk in a bytea of 1 MiB; a blob is limited only by
// max_blob_bytes and the database's disk.
#ifndef CRYPTA_STORE_BLOB_STORE_H_
#define CRYPTA_STORE_BLOB_STORE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "common/bytes.h"
#include "common/status.h"
#include "store/database.h"

namespace crypta::store {

inline constexpr uint64_t kDefaultMaxBlobBytes = 64ull << 30;

class BlobStore {
 public:
  // Creates <root> (0700) if needed. With `shared`, the store of record is that database
  // (its tables made by CreateTables) and <root> a cache.
  static Result<BlobStore> Open(const std::string& root,
                                uint64_t max_blob_bytes = kDefaultMaxBlobBytes,
                                std::shared_ptr<Database> shared = nullptr);
  static Status CreateTables(Database& db);

  // Copies a file into the store; returns its lowercase hex SHA-256. When
  // `expected_digest` is non-empty the content must hash to it (kDataLoss otherwise, and
  // nothing is stored).
  Result<std::string> PutFile(const std::string& path, const std::string& expected_digest = "");
  Result<std::string> PutBytes(ByteSpan data, const std::string& expected_digest = "");

  bool Contains(const std::string& digest) const;
  // The path of a stored blob (for streaming reads); kNotFound when absent.
  Result<std::string> PathOf(const std::string& digest) const;
  Result<uint64_t> SizeOf(const std::string& digest) const;
  // Deletes a stored blob (the caller checks that nothing references it). Absent is OK.
  Status Remove(const std::string& digest);
  // Deletes abandoned temporary files (partial uploads <root>/upload-* and interrupted
  // copies <root>/sha256/.incoming.tmp-*) last modified more than `max_age_s` ago; returns
  // how many were removed. A crash mid-write leaves only such files behind.
  size_t SweepStaleUploads(int64_t now, int64_t max_age_s);
  // Re-hashes a stored blob; kDataLoss if it no longer matches its name.
  Status Check(const std::string& digest) const;

 private:
  BlobStore(std::string root, uint64_t max, std::shared_ptr<Database> shared)
      : root_(std::move(root)), max_(max), shared_(std::move(shared)) {}
  Result<std::string> FinalPath(const std::string& digest) const;
  bool LocalContains(const std::string& digest) const;
  // Shared mode: the blob's size when the database has it.
  Result<std::optional<uint64_t>> SharedSize(const std::string& hex) const;
  Status Upload(const std::string& hex, const std::string& path) const;
  Status Download(const std::string& hex, uint64_t size, const std::string& path) const;

  std::string root_;
  uint64_t max_;
  std::shared_ptr<Database> shared_;
};

// "sha256:<64 hex>" or "<64 hex>" → the 64 hex digits, validated.
Result<std::string> ParseSha256Digest(std::string_view text);

}  // namespace crypta::store

#endif  // CRYPTA_STORE_BLOB_STORE_H_

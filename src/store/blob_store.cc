#include "store/blob_store.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "common/encoding.h"
#include "common/file_util.h"
#include "crypto/hash.h"

namespace crypta::store {
namespace {

namespace fs = std::filesystem;
constexpr size_t kCopyChunk = 1 << 20;

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

Result<BlobStore> BlobStore::Open(const std::string& root, uint64_t max_blob_bytes) {
  std::error_code ec;
  fs::create_directories(fs::path(root) / "sha256", ec);
  if (ec)
    return MakeError(ErrorCode::kUnavailable,
                     "cannot create blob store " + root + ": " + ec.message());
  ::chmod(root.c_str(), 0700);
  return BlobStore(root, max_blob_bytes);
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
  if (Contains(digest)) return digest;  // already stored; the temporary file is deleted
  CRYPTA_ASSIGN_OR_RETURN(std::string final_path, FinalPath(digest));
  std::error_code ec;
  fs::create_directories(fs::path(final_path).parent_path(), ec);
  if (ec) return MakeError(ErrorCode::kUnavailable, "blob store: " + ec.message());
  Status s = out.CommitTo(final_path, /*overwrite=*/false);
  if (!s && s.error().code() != ErrorCode::kAlreadyExists) return MakeError(s.error());
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
  if (Contains(digest)) return digest;
  CRYPTA_ASSIGN_OR_RETURN(std::string final_path, FinalPath(digest));
  std::error_code ec;
  fs::create_directories(fs::path(final_path).parent_path(), ec);
  Status s = WriteFileAtomic(final_path, data, 0600, /*overwrite=*/false);
  if (!s && s.error().code() != ErrorCode::kAlreadyExists) return MakeError(s.error());
  return digest;
}

bool BlobStore::Contains(const std::string& digest) const {
  Result<std::string> p = FinalPath(digest);
  std::error_code ec;
  return p && fs::is_regular_file(*p, ec);
}

Status BlobStore::Remove(const std::string& digest) {
  CRYPTA_ASSIGN_OR_RETURN(std::string p, FinalPath(digest));
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
  if (!fs::is_regular_file(p, ec))
    return MakeError(ErrorCode::kNotFound, "no blob sha256:" + digest);
  return p;
}

Result<uint64_t> BlobStore::SizeOf(const std::string& digest) const {
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

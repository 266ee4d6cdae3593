// Files: capped reads, and atomic writes (temporary file in the same directory, then
// rename) so a failed operation never leaves a partial output behind.
#ifndef CRYPTA_COMMON_FILE_UTIL_H_
#define CRYPTA_COMMON_FILE_UTIL_H_

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "common/bytes.h"
#include "common/status.h"

namespace crypta {

// Reads a whole file; fails with kResourceExhausted above max_bytes.
Result<Bytes> ReadFileBytes(const std::string& path, size_t max_bytes);

// An open, read-only file descriptor with positional reads.
class InputFile {
 public:
  static Result<InputFile> Open(const std::string& path);
  InputFile(InputFile&& other) noexcept;
  InputFile& operator=(InputFile&&) = delete;
  ~InputFile();

  uint64_t size() const { return size_; }
  // Reads exactly out.size() bytes at `offset`.
  Status ReadAt(uint64_t offset, MutableByteSpan out) const;

 private:
  InputFile(int fd, uint64_t size, std::string path)
      : fd_(fd), size_(size), path_(std::move(path)) {}
  int fd_;
  uint64_t size_;
  std::string path_;
};

// A new file written under a temporary name next to `path`; Commit() fsyncs and renames
// it into place. Destroying an uncommitted AtomicOutputFile deletes the temporary file.
// Positional writes are thread-safe (pwrite).
class AtomicOutputFile {
 public:
  // `mode` is applied to the final file (e.g. 0600 for keys and plaintext models).
  static Result<AtomicOutputFile> Create(const std::string& path, mode_t mode);
  AtomicOutputFile(AtomicOutputFile&& other) noexcept;
  AtomicOutputFile& operator=(AtomicOutputFile&&) = delete;
  ~AtomicOutputFile();

  Status Truncate(uint64_t size);
  Status WriteAt(uint64_t offset, ByteSpan data);
  Status Append(ByteSpan data);
  // Fails if the destination exists and overwrite is false (checked again at rename).
  Status Commit(bool overwrite);
  // Commits under another name on the same file system (e.g. one known only once the
  // content has been written, as for content-addressed files).
  Status CommitTo(const std::string& path, bool overwrite);
  // Deletes the temporary file now.
  void Abandon();

 private:
  AtomicOutputFile(int fd, std::string path, std::string temp_path)
      : fd_(fd), path_(std::move(path)), temp_path_(std::move(temp_path)) {}
  int fd_;
  std::string path_;
  std::string temp_path_;
  uint64_t append_offset_ = 0;
  bool committed_ = false;
};

// Writes a small file atomically with the given mode.
Status WriteFileAtomic(const std::string& path, ByteSpan data, mode_t mode, bool overwrite);

}  // namespace crypta

#endif  // CRYPTA_COMMON_FILE_UTIL_H_

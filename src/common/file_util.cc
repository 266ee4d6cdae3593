#include "common/file_util.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <utility>

namespace crypta {
namespace {

Error Errno(ErrorCode code, const std::string& what) {
  return Error(code, what + ": " + std::strerror(errno));
}

ErrorCode CodeForErrno() {
  switch (errno) {
    case ENOENT:
      return ErrorCode::kNotFound;
    case EACCES:
    case EPERM:
      return ErrorCode::kPermissionDenied;
    case EEXIST:
      return ErrorCode::kAlreadyExists;
    case ENOSPC:
      return ErrorCode::kResourceExhausted;
    default:
      return ErrorCode::kUnavailable;
  }
}

}  // namespace

Result<Bytes> ReadFileBytes(const std::string& path, size_t max_bytes) {
  CRYPTA_ASSIGN_OR_RETURN(InputFile file, InputFile::Open(path));
  if (file.size() > max_bytes) {
    return MakeError(ErrorCode::kResourceExhausted, path + ": " + std::to_string(file.size()) +
                                                        " bytes, more than the limit of " +
                                                        std::to_string(max_bytes));
  }
  Bytes out(file.size());
  CRYPTA_RETURN_IF_ERROR(file.ReadAt(0, out));
  return out;
}

Result<InputFile> InputFile::Open(const std::string& path) {
  // O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused below.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return MakeError(Errno(CodeForErrno(), "cannot open " + path));
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    Error e = Errno(ErrorCode::kUnavailable, "cannot stat " + path);
    ::close(fd);
    return MakeError(e);
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    const char* kind = S_ISDIR(st.st_mode)    ? "a directory"
                       : S_ISFIFO(st.st_mode) ? "a FIFO (named pipe)"
                       : S_ISSOCK(st.st_mode) ? "a socket"
                                              : "a device";
    return MakeError(ErrorCode::kInvalidArgument, path + " is " + kind + ", not a regular file");
  }
  (void)::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  return InputFile(fd, static_cast<uint64_t>(st.st_size), path);
}

InputFile::InputFile(InputFile&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), size_(other.size_), path_(std::move(other.path_)) {}

InputFile::~InputFile() {
  if (fd_ >= 0) ::close(fd_);
}

Status InputFile::ReadAt(uint64_t offset, MutableByteSpan out) const {
  size_t done = 0;
  while (done < out.size()) {
    ssize_t n =
        ::pread(fd_, out.data() + done, out.size() - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return MakeError(Errno(ErrorCode::kUnavailable, "read " + path_));
    }
    if (n == 0) {
      return MakeError(ErrorCode::kDataLoss,
                       path_ + ": unexpected end of file (file changed while reading?)");
    }
    done += static_cast<size_t>(n);
  }
  return OkStatus();
}

Result<AtomicOutputFile> AtomicOutputFile::Create(const std::string& path, mode_t mode) {
  std::filesystem::path p(path);
  std::string dir = p.has_parent_path() ? p.parent_path().string() : ".";
  std::string templ = dir + "/." + p.filename().string() + ".tmp-XXXXXX";
  int fd = ::mkostemp(templ.data(), O_CLOEXEC);
  if (fd < 0) return MakeError(Errno(CodeForErrno(), "cannot create a file in " + dir));
  if (::fchmod(fd, mode) != 0) {
    Error e = Errno(ErrorCode::kUnavailable, "chmod " + templ);
    ::close(fd);
    ::unlink(templ.c_str());
    return MakeError(e);
  }
  return AtomicOutputFile(fd, path, templ);
}

AtomicOutputFile::AtomicOutputFile(AtomicOutputFile&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      path_(std::move(other.path_)),
      temp_path_(std::move(other.temp_path_)),
      append_offset_(other.append_offset_),
      committed_(std::exchange(other.committed_, true)) {}

AtomicOutputFile::~AtomicOutputFile() { Abandon(); }

void AtomicOutputFile::Abandon() {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
  if (!committed_ && !temp_path_.empty()) ::unlink(temp_path_.c_str());
  committed_ = true;
}

Status AtomicOutputFile::Truncate(uint64_t size) {
  if (::ftruncate(fd_, static_cast<off_t>(size)) != 0) {
    return MakeError(Errno(CodeForErrno(), "cannot size " + path_));
  }
  return OkStatus();
}

Status AtomicOutputFile::WriteAt(uint64_t offset, ByteSpan data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n =
        ::pwrite(fd_, data.data() + done, data.size() - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return MakeError(Errno(CodeForErrno(), "write " + path_));
    }
    done += static_cast<size_t>(n);
  }
  return OkStatus();
}

Status AtomicOutputFile::Append(ByteSpan data) {
  CRYPTA_RETURN_IF_ERROR(WriteAt(append_offset_, data));
  append_offset_ += data.size();
  return OkStatus();
}

Status AtomicOutputFile::Commit(bool overwrite) {
  if (fd_ < 0 || committed_)
    return MakeError(ErrorCode::kFailedPrecondition, "file already closed");
  if (::fsync(fd_) != 0) return MakeError(Errno(CodeForErrno(), "fsync " + path_));
  ::close(fd_);
  fd_ = -1;
  if (!overwrite) {
    // link() fails if the destination exists, so no existing file is ever replaced.
    if (::link(temp_path_.c_str(), path_.c_str()) != 0) {
      Error e = errno == EEXIST ? Error(ErrorCode::kAlreadyExists, path_ + " already exists")
                                : Errno(CodeForErrno(), "cannot create " + path_);
      Abandon();
      return MakeError(e);
    }
    ::unlink(temp_path_.c_str());
  } else if (::rename(temp_path_.c_str(), path_.c_str()) != 0) {
    Error e = Errno(CodeForErrno(), "cannot rename into " + path_);
    Abandon();
    return MakeError(e);
  }
  committed_ = true;
  std::filesystem::path p(path_);
  std::string dir = p.has_parent_path() ? p.parent_path().string() : ".";
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return OkStatus();
}

Status AtomicOutputFile::CommitTo(const std::string& path, bool overwrite) {
  path_ = path;
  return Commit(overwrite);
}

Status WriteFileAtomic(const std::string& path, ByteSpan data, mode_t mode, bool overwrite) {
  CRYPTA_ASSIGN_OR_RETURN(AtomicOutputFile out, AtomicOutputFile::Create(path, mode));
  CRYPTA_RETURN_IF_ERROR(out.Append(data));
  return out.Commit(overwrite);
}

}  // namespace crypta

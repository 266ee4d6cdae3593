#include "kbs/root_key.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/file_util.h"
#include "crypto/random.h"

namespace crypta::kbs {
namespace {

std::string Errno() { return std::strerror(errno); }

}  // namespace

Result<SecretBytes> LoadRootKeyFile(const std::string& path) {
  // O_NOFOLLOW: a symlink planted in the data dir must not redirect us to another file.
  int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return MakeError(ErrorCode::kNotFound, "root key " + path + " not found");
    if (errno == ELOOP) {
      return MakeError(ErrorCode::kFailedPrecondition,
                       "root key " + path + " is a symbolic link; refusing it");
    }
    return MakeError(ErrorCode::kUnavailable, "root key " + path + ": " + Errno());
  }
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    return MakeError(ErrorCode::kUnavailable, "root key " + path + ": fstat: " + Errno());
  }
  if (!S_ISREG(st.st_mode)) {
    return MakeError(ErrorCode::kFailedPrecondition, "root key " + path + " is not a regular file");
  }
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof(mode), "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return MakeError(ErrorCode::kFailedPrecondition,
                     "root key " + path + " has mode " + mode +
                         "; it must not be readable or writable by group or others (chmod 600)");
  }
  if (st.st_size != static_cast<off_t>(kRootKeySize)) {
    return MakeError(ErrorCode::kFailedPrecondition,
                     "root key " + path + " is " + std::to_string(st.st_size) +
                         " bytes; expected exactly " + std::to_string(kRootKeySize));
  }
  SecretBytes key(kRootKeySize);
  size_t done = 0;
  while (done < kRootKeySize) {
    ssize_t n = ::read(fd, key.RevealMutable().data() + done, kRootKeySize - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      return MakeError(ErrorCode::kUnavailable, "root key " + path + ": short read");
    }
    done += static_cast<size_t>(n);
  }
  return key;
}

Result<SecretBytes> LoadOrCreateRootKey(const std::string& data_dir) {
  const std::string path = data_dir + "/" + kRootKeyFileName;
  auto existing = LoadRootKeyFile(path);
  if (existing || existing.error().code() != ErrorCode::kNotFound) return existing;

  CRYPTA_ASSIGN_OR_RETURN(SecretBytes fresh, RandomSecret(kRootKeySize));
  auto written = WriteFileAtomic(path, fresh.Reveal(), 0600, /*overwrite=*/false);
  if (!written && written.error().code() != ErrorCode::kAlreadyExists) {
    return MakeError(written.error().WithContext("creating root key " + path));
  }
  // Read back what is on disk: if another process created the file first, its key wins.
  return LoadRootKeyFile(path);
}

}  // namespace crypta::kbs

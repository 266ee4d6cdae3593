// The platform root key (DESIGN.md §5): 32 random bytes in an owner-only (0600) file in the
// data dir. It wraps every tenant KEK, so whoever reads this file can unwrap every key the
// broker holds; the file is created on first use and reused afterwards, never rewritten.
#ifndef CRYPTA_KBS_ROOT_KEY_H_
#define CRYPTA_KBS_ROOT_KEY_H_

#include <string>

#include "common/secret_bytes.h"
#include "common/status.h"

namespace crypta::kbs {

inline constexpr size_t kRootKeySize = 32;
inline constexpr char kRootKeyFileName[] = "root.key";

// Loads `<data_dir>/root.key`, creating it (random, mode 0600, atomically) when absent.
// Fails with kFailedPrecondition when the file is not a regular file (symlinks refused),
// has any group/other permission bits, or is not exactly 32 bytes; kUnavailable when the
// directory cannot be read or written. Thread-safe; two processes racing to create the file
// both end up with the one that won the rename.
Result<SecretBytes> LoadOrCreateRootKey(const std::string& data_dir);

// Loads an existing root key file with the same checks, never creating one.
Result<SecretBytes> LoadRootKeyFile(const std::string& path);

}  // namespace crypta::kbs

#endif  // CRYPTA_KBS_ROOT_KEY_H_

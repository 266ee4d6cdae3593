// Local key files: 32 random bytes in a 0600 file, used as the key-encryption key for
// `crypta seal --key-file` when no key broker is involved.
#ifndef CRYPTA_CRYPTO_KEY_FILE_H_
#define CRYPTA_CRYPTO_KEY_FILE_H_

#include <string>

#include "common/secret_bytes.h"
#include "common/status.h"
#include "crypto/sealed_blob.h"

namespace crypta {

inline constexpr size_t kKeyFileSize = 32;

// Creates a new key file with mode 0600; never overwrites an existing file.
Status GenerateKeyFile(const std::string& path);

struct LoadedKeyFile {
  SecretBytes key;
  bool group_or_world_accessible = false;  // the caller should warn
};
// Loads a key file; fails unless it holds exactly 32 bytes.
Result<LoadedKeyFile> LoadKeyFile(const std::string& path);

// "keyfile:<16 hex>": a public identifier of a key (a domain-separated hash, which
// reveals nothing about the key), so blobs name the key file that sealed them.
std::string KeyFileId(const SecretBytes& key);

// The key reference written into blobs sealed with a key file.
KeyReference KeyFileReference(const SecretBytes& key);

}  // namespace crypta

#endif  // CRYPTA_CRYPTO_KEY_FILE_H_

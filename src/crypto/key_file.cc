#include "crypto/key_file.h"

#include <sys/stat.h>

#include "common/encoding.h"
#include "common/file_util.h"
#include "crypto/hash.h"
#include "crypto/random.h"

namespace crypta {

Status GenerateKeyFile(const std::string& path) {
  CRYPTA_ASSIGN_OR_RETURN(SecretBytes key, RandomSecret(kKeyFileSize));
  return WriteFileAtomic(path, key.Reveal(), 0600, /*overwrite=*/false);
}

Result<LoadedKeyFile> LoadKeyFile(const std::string& path) {
  CRYPTA_ASSIGN_OR_RETURN(Bytes raw, ReadFileBytes(path, 4096));
  if (raw.size() != kKeyFileSize) {
    size_t n = raw.size();
    SecureWipe(raw);
    return MakeError(ErrorCode::kInvalidArgument, "key file " + path + " holds " +
                                                      std::to_string(n) +
                                                      " bytes; a crypta key file holds exactly 32 "
                                                      "(make one with `crypta keygen`)");
  }
  LoadedKeyFile out{SecretBytes(raw), false};
  SecureWipe(raw);
  struct stat st;
  if (::stat(path.c_str(), &st) == 0) out.group_or_world_accessible = (st.st_mode & 077) != 0;
  return out;
}

std::string KeyFileId(const SecretBytes& key) {
  Bytes id = Hmac(HashAlg::kSha256, AsBytes("crypta key-file id v1"), key.Reveal());
  return "keyfile:" + HexEncode(ByteSpan(id).first(8));
}

KeyReference KeyFileReference(const SecretBytes& key) {
  return KeyReference{"", KeyFileId(key), 0};
}

}  // namespace crypta

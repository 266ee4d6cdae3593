// Sealing and unsealing files in the sealed-blob format (sealed_blob.h), streaming with
// bounded memory (two chunk buffers per worker thread) and spread over all cores.
//
// Outputs are written atomically: on any failure no output file is left behind.
#ifndef CRYPTA_CRYPTO_SEALED_FILE_H_
#define CRYPTA_CRYPTO_SEALED_FILE_H_

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>

#include "common/secret_bytes.h"
#include "common/status.h"
#include "crypto/sealed_blob.h"

namespace crypta {

struct SealedFileOptions {
  int threads = 0;  // 0 = every core
  uint32_t chunk_size = kDefaultChunkSize;
  bool overwrite = false;  // replace an existing output file
  mode_t output_mode = 0600;
  // Called from the calling thread about every 100 ms and once at the end with the
  // plaintext bytes done so far.
  std::function<void(uint64_t done, uint64_t total)> progress;
};

// Seals `in_path` into `out_path` with a fresh data key wrapped under `kek` (32 bytes),
// binding `ref` into the wrapped key.
Status SealFile(ByteSpan kek, const KeyReference& ref, const std::string& in_path,
                const std::string& out_path, const SealedFileOptions& options);

// Seals with a data key the caller already has (e.g. from the key broker), whose wrapped
// form goes into the header as is.
Status SealFileWithDataKey(const SecretBytes& dek, const KeyReference& ref, Bytes wrapped_dek,
                           const std::string& in_path, const std::string& out_path,
                           const SealedFileOptions& options);

// Reads and parses the header of a sealed file (no key needed; nothing authenticated yet).
Result<OpenedHeader> ReadSealedFileHeader(const std::string& path);

// Unwraps the data key of a sealed file with `kek`, then unseals it.
Status UnsealFile(ByteSpan kek, const std::string& in_path, const std::string& out_path,
                  const SealedFileOptions& options);

// Unseals with the data key; checks the header tag and the exact size before writing.
Status UnsealFileWithDataKey(const SecretBytes& dek, const std::string& in_path,
                             const std::string& out_path, const SealedFileOptions& options);

}  // namespace crypta

#endif  // CRYPTA_CRYPTO_SEALED_FILE_H_

// The crypta sealed-blob format (DESIGN.md §4.1): a model or any file encrypted in
// independent AES-256-GCM chunks under a per-blob data key (DEK).
//
// Layout (all integers big-endian):
//   header   magic "CRYPTA\0\1" | u16 header_length | u16 algorithm (1 = AES-256-GCM)
//            | u32 chunk_size | u64 plaintext_length | nonce_prefix[7]
//            | u8 len, tenant | u8 len, key_name | u32 kek_version | u16 len, wrapped_dek
//   hdr tag  HMAC-SHA256(HKDF(DEK, "crypta sealed-blob header v1"), header)   (32 bytes)
//   chunks   chunk i = AES-256-GCM(DEK, nonce = prefix | u32 i | last_flag,
//                                  aad = SHA-256(header)), each followed by its 16-byte tag
// Every chunk holds chunk_size plaintext bytes except the last (which may be empty, so an
// empty file still has one authenticated chunk). The last flag stops truncation at a chunk
// boundary, the index in the nonce stops reordering, the header hash in the AAD stops
// header edits and splicing chunks between blobs (each blob has its own DEK and prefix).
// The header tag lets a reader reject a modified header before decrypting anything.
//
// The DEK travels wrapped in the header. WrapDataKey/UnwrapDataKey wrap it under a
// 256-bit key-encryption key (a local key file, or a tenant KEK in the key broker) with
// AES-256-GCM whose AAD binds the key reference, so a wrapped DEK cannot be moved to a
// header that names another key.
#ifndef CRYPTA_CRYPTO_SEALED_BLOB_H_
#define CRYPTA_CRYPTO_SEALED_BLOB_H_

#include <array>
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "common/bytes.h"
#include "common/secret_bytes.h"
#include "common/status.h"
#include "crypto/aead.h"

namespace crypta {

inline constexpr uint16_t kSealAlgAes256Gcm = 1;
inline constexpr uint32_t kDefaultChunkSize = 1u << 20;  // 1 MiB
inline constexpr uint32_t kMinChunkSize = 4096;
inline constexpr uint32_t kMaxChunkSize = 64u << 20;
inline constexpr size_t kSealedHeaderTagSize = 32;
inline constexpr size_t kMaxSealedHeaderSize = 2048;
inline constexpr size_t kSealedHeaderFixedPrefix = 10;  // magic + header_length
inline constexpr size_t kDataKeySize = 32;

// Which key-encryption key wrapped the DEK. Empty tenant = a local key file.
struct KeyReference {
  std::string tenant;
  std::string key_name;
  uint32_t kek_version = 0;
};

struct SealedHeader {
  uint16_t algorithm = kSealAlgAes256Gcm;
  uint32_t chunk_size = kDefaultChunkSize;
  uint64_t plaintext_length = 0;
  std::array<uint8_t, 7> nonce_prefix{};
  KeyReference key_ref;
  Bytes wrapped_dek;

  uint64_t ChunkCount() const;
  // Plaintext bytes in chunk `index`.
  size_t ChunkPlaintextSize(uint64_t index) const;
  // Total size of the sealed blob for this header, given its encoded length.
  uint64_t SealedSize(size_t header_length) const;
  // Offset of chunk `index` from the start of the blob.
  uint64_t ChunkOffset(size_t header_length, uint64_t index) const;
  // The header as JSON for `crypta inspect` (no secrets: the wrapped DEK is ciphertext).
  nlohmann::json ToJson(size_t header_length) const;
};

// Encodes a header. Fails if a field exceeds the format's limits.
Result<Bytes> EncodeSealedHeader(const SealedHeader& header);

// Reads header_length from the first kSealedHeaderFixedPrefix bytes (checks the magic).
Result<size_t> PeekSealedHeaderLength(ByteSpan prefix);

// Parses an encoded header (exactly header_length bytes, without the tag). Validates every
// field and its limits; a blob this returns a header for can still fail authentication.
Result<SealedHeader> ParseSealedHeader(ByteSpan encoded);

// Header tag: binds the header to the DEK. Verify compares in constant time.
Bytes ComputeSealedHeaderTag(const SecretBytes& dek, ByteSpan encoded_header);
Status VerifySealedHeaderTag(const SecretBytes& dek, ByteSpan encoded_header, ByteSpan tag);

// Encrypts and decrypts the chunks of one blob. Holds a keyed AEAD: NOT thread-safe; give
// each thread its own (Clone).
class ChunkCipher {
 public:
  static Result<ChunkCipher> Create(const SecretBytes& dek, const SealedHeader& header,
                                    ByteSpan encoded_header);
  Result<ChunkCipher> Clone() const;
  // `count` independent ciphers (one per worker thread): this one moved in first, then clones.
  static Result<std::vector<ChunkCipher>> ForWorkers(ChunkCipher cipher, int count);

  // `out` must be plain.size() + 16 bytes.
  Status SealChunk(uint64_t index, ByteSpan plain, MutableByteSpan out);
  // `plain` must be sealed.size() - 16 bytes; wiped on failure.
  Status OpenChunk(uint64_t index, ByteSpan sealed, MutableByteSpan plain);

 private:
  ChunkCipher(Aead aead, Bytes aad, std::array<uint8_t, 7> prefix, uint64_t chunk_count)
      : aead_(std::move(aead)), aad_(std::move(aad)), prefix_(prefix), chunk_count_(chunk_count) {}
  Result<std::array<uint8_t, kAeadNonceSize>> Nonce(uint64_t index) const;

  Aead aead_;
  Bytes aad_;
  std::array<uint8_t, 7> prefix_;
  uint64_t chunk_count_;
};

// Wraps / unwraps a DEK under a 32-byte KEK, binding `ref` (AES-256-GCM, random nonce).
// Wrapped form: nonce(12) | ciphertext(32) | tag(16).
Result<Bytes> WrapDataKey(ByteSpan kek, const KeyReference& ref, const SecretBytes& dek);
// kUnauthenticated when the KEK is wrong or `ref` differs from the one used to wrap.
Result<SecretBytes> UnwrapDataKey(ByteSpan kek, const KeyReference& ref, ByteSpan wrapped);

// Builds a header with a random nonce prefix.
Result<SealedHeader> NewSealedHeader(KeyReference ref, Bytes wrapped_dek, uint64_t plaintext_length,
                                     uint32_t chunk_size);

// Seals a whole buffer into a blob; `threads` = 0 uses every core.
Result<Bytes> SealBuffer(const SecretBytes& dek, const SealedHeader& header, ByteSpan plaintext,
                         int threads = 1);

// Parsed and tag-checked blob header, as read from the front of a blob.
struct OpenedHeader {
  SealedHeader header;
  Bytes encoded;  // exact header bytes (without the tag)
};
// Parses the header at the front of `blob` and checks its tag with `dek`.
Result<OpenedHeader> ReadSealedHeader(ByteSpan blob);
Status CheckSealedHeader(const SecretBytes& dek, ByteSpan blob, const OpenedHeader& opened);

// Opens a whole blob held in memory; checks header tag, exact size and every chunk.
Result<Bytes> OpenBuffer(const SecretBytes& dek, ByteSpan blob, int threads = 1);
// The same into a caller-provided buffer of exactly plaintext_length bytes (wiped on failure).
Status OpenBufferInto(const SecretBytes& dek, ByteSpan blob, MutableByteSpan out, int threads = 1);

// Runs fn(worker, index) for index in [0, count) on `threads` workers (0 = every core).
// Stops early when fn fails; returns the failure with the lowest chunk index seen.
// fn must be safe to call concurrently for different workers.
Status ParallelForChunks(uint64_t count, int threads,
                         const std::function<Status(int worker, uint64_t index)>& fn);
int ResolveThreadCount(int threads);

}  // namespace crypta

#endif  // CRYPTA_CRYPTO_SEALED_BLOB_H_

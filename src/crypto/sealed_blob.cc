#include "crypto/sealed_blob.h"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "common/byte_reader.h"
#include "common/byte_writer.h"
#include "common/constant_time.h"
#include "common/encoding.h"
#include "crypto/hash.h"
#include "crypto/random.h"

namespace crypta {
namespace {

constexpr uint8_t kMagic[8] = {'C', 'R', 'Y', 'P', 'T', 'A', 0x00, 0x01};
constexpr size_t kMaxKeyNameLength = 255;
constexpr size_t kMaxWrappedDekLength = 1024;
constexpr char kHeaderTagInfo[] = "crypta sealed-blob header v1";
constexpr char kWrapDomain[] = "crypta dek-wrap v1";

std::string Str(uint64_t v) { return std::to_string(v); }

Bytes WrapAad(const KeyReference& ref) {
  // Length-prefixed so that ("ab","c") and ("a","bc") differ.
  ByteWriter w;
  w.WriteString(kWrapDomain);
  w.WriteU8(0);
  (void)w.WriteLengthPrefixed(2, AsBytes(ref.tenant));
  (void)w.WriteLengthPrefixed(2, AsBytes(ref.key_name));
  w.WriteU32BE(ref.kek_version);
  return w.Take();
}

}  // namespace

// ------------------------------------------------------------------ header

uint64_t SealedHeader::ChunkCount() const {
  if (plaintext_length == 0) return 1;
  return (plaintext_length + chunk_size - 1) / chunk_size;
}

size_t SealedHeader::ChunkPlaintextSize(uint64_t index) const {
  uint64_t start = index * chunk_size;
  if (start >= plaintext_length) return 0;
  return static_cast<size_t>(std::min<uint64_t>(chunk_size, plaintext_length - start));
}

uint64_t SealedHeader::SealedSize(size_t header_length) const {
  return header_length + kSealedHeaderTagSize + plaintext_length + ChunkCount() * kAeadTagSize;
}

uint64_t SealedHeader::ChunkOffset(size_t header_length, uint64_t index) const {
  return header_length + kSealedHeaderTagSize + index * (uint64_t{chunk_size} + kAeadTagSize);
}

nlohmann::json SealedHeader::ToJson(size_t header_length) const {
  return nlohmann::json{
      {"format", "crypta-sealed-blob"},
      {"version", 1},
      {"algorithm", algorithm == kSealAlgAes256Gcm ? "AES-256-GCM" : "unknown"},
      {"header_length", header_length},
      {"chunk_size", chunk_size},
      {"chunk_count", ChunkCount()},
      {"plaintext_length", plaintext_length},
      {"sealed_length", SealedSize(header_length)},
      {"nonce_prefix", HexEncode(nonce_prefix)},
      {"key_ref",
       {{"tenant", key_ref.tenant},
        {"key_name", key_ref.key_name},
        {"kek_version", key_ref.kek_version}}},
      {"wrapped_dek_length", wrapped_dek.size()},
  };
}

Result<Bytes> EncodeSealedHeader(const SealedHeader& h) {
  if (h.algorithm != kSealAlgAes256Gcm) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "sealed header: unknown algorithm " + Str(h.algorithm));
  }
  if (h.chunk_size < kMinChunkSize || h.chunk_size > kMaxChunkSize) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "sealed header: chunk_size " + Str(h.chunk_size) + " outside [4096, 64 MiB]");
  }
  if (h.ChunkCount() > (uint64_t{1} << 32)) {
    return MakeError(ErrorCode::kOutOfRange, "sealed header: more than 2^32 chunks");
  }
  if (h.key_ref.tenant.size() > kMaxKeyNameLength ||
      h.key_ref.key_name.size() > kMaxKeyNameLength) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "sealed header: key reference longer than 255 bytes");
  }
  if (h.wrapped_dek.empty() || h.wrapped_dek.size() > kMaxWrappedDekLength) {
    return MakeError(
        ErrorCode::kInvalidArgument,
        "sealed header: wrapped DEK length " + Str(h.wrapped_dek.size()) + " outside [1, 1024]");
  }
  ByteWriter w;
  w.WriteBytes(kMagic);
  w.WriteU16BE(0);  // header_length, patched below
  w.WriteU16BE(h.algorithm);
  w.WriteU32BE(h.chunk_size);
  w.WriteU64BE(h.plaintext_length);
  w.WriteBytes(h.nonce_prefix);
  CRYPTA_RETURN_IF_ERROR(w.WriteLengthPrefixed(1, AsBytes(h.key_ref.tenant)));
  CRYPTA_RETURN_IF_ERROR(w.WriteLengthPrefixed(1, AsBytes(h.key_ref.key_name)));
  w.WriteU32BE(h.key_ref.kek_version);
  CRYPTA_RETURN_IF_ERROR(w.WriteLengthPrefixed(2, h.wrapped_dek));
  Bytes out = w.Take();
  out[8] = static_cast<uint8_t>(out.size() >> 8);
  out[9] = static_cast<uint8_t>(out.size());
  return out;
}

Result<size_t> PeekSealedHeaderLength(ByteSpan prefix) {
  ByteReader r(prefix);
  CRYPTA_ASSIGN_OR_RETURN(ByteSpan magic, r.ReadBytes(sizeof(kMagic), "sealed header magic"));
  if (!std::equal(magic.begin(), magic.end(), kMagic)) {
    if (std::equal(magic.begin(), magic.begin() + 6, kMagic)) {
      return MakeError(ErrorCode::kInvalidArgument, "sealed header: unsupported format version " +
                                                        Str(magic[6]) + "." + Str(magic[7]) +
                                                        " (this build reads 0.1)");
    }
    return MakeError(ErrorCode::kInvalidArgument,
                     "not a crypta sealed blob (bad magic; expected \"CRYPTA\\0\\1\")");
  }
  CRYPTA_ASSIGN_OR_RETURN(uint16_t len, r.ReadU16BE("sealed header length"));
  if (len < kSealedHeaderFixedPrefix + 30 || len > kMaxSealedHeaderSize) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "sealed header: header_length " + Str(len) + " outside [40, 2048]");
  }
  return static_cast<size_t>(len);
}

Result<SealedHeader> ParseSealedHeader(ByteSpan encoded) {
  CRYPTA_ASSIGN_OR_RETURN(size_t len, PeekSealedHeaderLength(encoded));
  if (len != encoded.size()) {
    return MakeError(ErrorCode::kInvalidArgument, "sealed header: header_length " + Str(len) +
                                                      " but " + Str(encoded.size()) +
                                                      " bytes given");
  }
  ByteReader r(encoded);
  CRYPTA_RETURN_IF_ERROR(r.Skip(kSealedHeaderFixedPrefix, "magic"));
  SealedHeader h;
  CRYPTA_ASSIGN_OR_RETURN(h.algorithm, r.ReadU16BE("algorithm"));
  if (h.algorithm != kSealAlgAes256Gcm) {
    return MakeError(ErrorCode::kInvalidArgument, "sealed header: unknown algorithm id " +
                                                      Str(h.algorithm) + " (want 1, AES-256-GCM)");
  }
  CRYPTA_ASSIGN_OR_RETURN(h.chunk_size, r.ReadU32BE("chunk_size"));
  if (h.chunk_size < kMinChunkSize || h.chunk_size > kMaxChunkSize) {
    return MakeError(ErrorCode::kInvalidArgument, "sealed header: chunk_size " + Str(h.chunk_size) +
                                                      " outside [4096, 67108864]");
  }
  CRYPTA_ASSIGN_OR_RETURN(h.plaintext_length, r.ReadU64BE("plaintext_length"));
  if (h.plaintext_length > (uint64_t{1} << 32) * h.chunk_size) {
    return MakeError(ErrorCode::kInvalidArgument, "sealed header: plaintext_length " +
                                                      Str(h.plaintext_length) +
                                                      " needs more than 2^32 chunks");
  }
  CRYPTA_ASSIGN_OR_RETURN(ByteSpan prefix, r.ReadBytes(7, "nonce_prefix"));
  std::copy(prefix.begin(), prefix.end(), h.nonce_prefix.begin());
  CRYPTA_ASSIGN_OR_RETURN(ByteSpan tenant, r.ReadLengthPrefixed(1, "key_ref.tenant"));
  CRYPTA_ASSIGN_OR_RETURN(ByteSpan key_name, r.ReadLengthPrefixed(1, "key_ref.key_name"));
  h.key_ref.tenant = ToString(tenant);
  h.key_ref.key_name = ToString(key_name);
  CRYPTA_ASSIGN_OR_RETURN(h.key_ref.kek_version, r.ReadU32BE("key_ref.kek_version"));
  CRYPTA_ASSIGN_OR_RETURN(ByteSpan wrapped, r.ReadLengthPrefixed(2, "wrapped_dek"));
  if (wrapped.empty() || wrapped.size() > kMaxWrappedDekLength) {
    return MakeError(ErrorCode::kInvalidArgument, "sealed header: wrapped_dek length " +
                                                      Str(wrapped.size()) + " outside [1, 1024]");
  }
  h.wrapped_dek.assign(wrapped.begin(), wrapped.end());
  CRYPTA_RETURN_IF_ERROR(r.Finish("sealed header"));
  return h;
}

Bytes ComputeSealedHeaderTag(const SecretBytes& dek, ByteSpan encoded_header) {
  Result<Bytes> key = Hkdf(HashAlg::kSha256, dek.Reveal(), {}, AsBytes(kHeaderTagInfo), 32);
  Bytes tag = Hmac(HashAlg::kSha256, *key, encoded_header);
  SecureWipe(*key);
  return tag;
}

Status VerifySealedHeaderTag(const SecretBytes& dek, ByteSpan encoded_header, ByteSpan tag) {
  if (!ConstantTimeEquals(ComputeSealedHeaderTag(dek, encoded_header), tag)) {
    return MakeError(ErrorCode::kDataLoss,
                     "sealed header failed authentication: the header was modified");
  }
  return OkStatus();
}

// ------------------------------------------------------------------ chunks

Result<ChunkCipher> ChunkCipher::Create(const SecretBytes& dek, const SealedHeader& header,
                                        ByteSpan encoded_header) {
  CRYPTA_ASSIGN_OR_RETURN(Aead aead, Aead::Create(AeadAlg::kAes256Gcm, dek.Reveal()));
  return ChunkCipher(std::move(aead), Sha256(encoded_header), header.nonce_prefix,
                     header.ChunkCount());
}

Result<ChunkCipher> ChunkCipher::Clone() const {
  CRYPTA_ASSIGN_OR_RETURN(Aead aead, aead_.Clone());
  return ChunkCipher(std::move(aead), aad_, prefix_, chunk_count_);
}

Result<std::vector<ChunkCipher>> ChunkCipher::ForWorkers(ChunkCipher cipher, int count) {
  std::vector<ChunkCipher> out;
  out.reserve(static_cast<size_t>(std::max(count, 1)));
  for (int i = 1; i < count; ++i) {
    CRYPTA_ASSIGN_OR_RETURN(ChunkCipher c, cipher.Clone());
    out.push_back(std::move(c));
  }
  out.insert(out.begin(), std::move(cipher));
  return out;
}

Result<std::array<uint8_t, kAeadNonceSize>> ChunkCipher::Nonce(uint64_t index) const {
  if (index >= chunk_count_) {
    return MakeError(ErrorCode::kOutOfRange,
                     "chunk index " + Str(index) + " beyond chunk count " + Str(chunk_count_));
  }
  std::array<uint8_t, kAeadNonceSize> nonce;
  std::copy(prefix_.begin(), prefix_.end(), nonce.begin());
  for (int i = 0; i < 4; ++i) nonce[7 + i] = static_cast<uint8_t>(index >> (24 - 8 * i));
  nonce[11] = index + 1 == chunk_count_ ? 1 : 0;
  return nonce;
}

Status ChunkCipher::SealChunk(uint64_t index, ByteSpan plain, MutableByteSpan out) {
  if (out.size() != plain.size() + kAeadTagSize) {
    return MakeError(ErrorCode::kInvalidArgument, "SealChunk: output size mismatch");
  }
  CRYPTA_ASSIGN_OR_RETURN(auto nonce, Nonce(index));
  return aead_.SealInPlace(nonce, aad_, plain, out.first(plain.size()), out.subspan(plain.size()));
}

Status ChunkCipher::OpenChunk(uint64_t index, ByteSpan sealed, MutableByteSpan plain) {
  if (sealed.size() < kAeadTagSize || plain.size() != sealed.size() - kAeadTagSize) {
    return MakeError(ErrorCode::kInvalidArgument, "OpenChunk: size mismatch");
  }
  CRYPTA_ASSIGN_OR_RETURN(auto nonce, Nonce(index));
  size_t n = plain.size();
  Status s = aead_.OpenInPlace(nonce, aad_, sealed.first(n), sealed.subspan(n), plain);
  if (!s) {
    return MakeError(ErrorCode::kDataLoss,
                     "chunk " + Str(index) + " of " + Str(chunk_count_) +
                         " failed authentication: the data was modified, reordered or spliced "
                         "from another blob");
  }
  return OkStatus();
}

// ------------------------------------------------------------------ DEK wrapping

Result<Bytes> WrapDataKey(ByteSpan kek, const KeyReference& ref, const SecretBytes& dek) {
  if (dek.size() != kDataKeySize) {
    return MakeError(ErrorCode::kInvalidArgument, "data key must be 32 bytes");
  }
  CRYPTA_ASSIGN_OR_RETURN(Aead aead, Aead::Create(AeadAlg::kAes256Gcm, kek));
  CRYPTA_ASSIGN_OR_RETURN(Bytes nonce, RandomBytes(kAeadNonceSize));
  CRYPTA_ASSIGN_OR_RETURN(Bytes ct, aead.Seal(nonce, WrapAad(ref), dek.Reveal()));
  return Concat(nonce, ct);
}

Result<SecretBytes> UnwrapDataKey(ByteSpan kek, const KeyReference& ref, ByteSpan wrapped) {
  if (wrapped.size() != kAeadNonceSize + kDataKeySize + kAeadTagSize) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "wrapped data key: got " + Str(wrapped.size()) + " bytes, want 60");
  }
  CRYPTA_ASSIGN_OR_RETURN(Aead aead, Aead::Create(AeadAlg::kAes256Gcm, kek));
  SecretBytes dek(kDataKeySize);
  ByteSpan body = wrapped.subspan(kAeadNonceSize);
  Status s = aead.OpenInPlace(wrapped.first(kAeadNonceSize), WrapAad(ref), body.first(kDataKeySize),
                              body.subspan(kDataKeySize), dek.RevealMutable());
  if (!s) {
    return MakeError(ErrorCode::kUnauthenticated,
                     "wrong key: the key does not unwrap this blob's data key (or the header's "
                     "key reference was modified)");
  }
  return dek;
}

Result<SealedHeader> NewSealedHeader(KeyReference ref, Bytes wrapped_dek, uint64_t plaintext_length,
                                     uint32_t chunk_size) {
  SealedHeader h;
  h.chunk_size = chunk_size;
  h.plaintext_length = plaintext_length;
  h.key_ref = std::move(ref);
  h.wrapped_dek = std::move(wrapped_dek);
  CRYPTA_RETURN_IF_ERROR(RandomFill(h.nonce_prefix));
  CRYPTA_RETURN_IF_ERROR(EncodeSealedHeader(h));  // validates limits
  return h;
}

// ------------------------------------------------------------------ parallel loop

int ResolveThreadCount(int threads) {
  if (threads > 0) return threads;
  unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : static_cast<int>(hw);
}

Status ParallelForChunks(uint64_t count, int threads,
                         const std::function<Status(int, uint64_t)>& fn) {
  int n = static_cast<int>(std::min<uint64_t>(ResolveThreadCount(threads), count));
  if (n <= 1) {
    for (uint64_t i = 0; i < count; ++i) CRYPTA_RETURN_IF_ERROR(fn(0, i));
    return OkStatus();
  }
  std::atomic<uint64_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex mu;
  uint64_t error_index = UINT64_MAX;
  std::optional<Error> error;
  auto worker = [&](int id) {
    while (!failed.load(std::memory_order_relaxed)) {
      uint64_t i = next.fetch_add(1, std::memory_order_relaxed);
      if (i >= count) return;
      Status s = fn(id, i);
      if (!s) {
        std::lock_guard<std::mutex> lock(mu);
        if (i < error_index) {
          error_index = i;
          error = s.error();
        }
        failed.store(true);
      }
    }
  };
  std::vector<std::thread> pool;
  pool.reserve(n - 1);
  for (int id = 1; id < n; ++id) pool.emplace_back(worker, id);
  worker(0);
  for (auto& t : pool) t.join();
  if (error) return MakeError(*error);
  return OkStatus();
}

// ------------------------------------------------------------------ buffers

Result<Bytes> SealBuffer(const SecretBytes& dek, const SealedHeader& header, ByteSpan plaintext,
                         int threads) {
  if (plaintext.size() != header.plaintext_length) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "SealBuffer: plaintext length differs from header");
  }
  CRYPTA_ASSIGN_OR_RETURN(Bytes encoded, EncodeSealedHeader(header));
  CRYPTA_ASSIGN_OR_RETURN(ChunkCipher cipher, ChunkCipher::Create(dek, header, encoded));
  Bytes out(header.SealedSize(encoded.size()));
  std::copy(encoded.begin(), encoded.end(), out.begin());
  Bytes tag = ComputeSealedHeaderTag(dek, encoded);
  std::copy(tag.begin(), tag.end(), out.begin() + encoded.size());

  int n = static_cast<int>(std::min<uint64_t>(ResolveThreadCount(threads), header.ChunkCount()));
  CRYPTA_ASSIGN_OR_RETURN(std::vector<ChunkCipher> ciphers,
                          ChunkCipher::ForWorkers(std::move(cipher), n));
  CRYPTA_RETURN_IF_ERROR(ParallelForChunks(header.ChunkCount(), n, [&](int w, uint64_t i) {
    size_t len = header.ChunkPlaintextSize(i);
    ByteSpan in = plaintext.subspan(i * header.chunk_size, len);
    MutableByteSpan dst(out.data() + header.ChunkOffset(encoded.size(), i), len + kAeadTagSize);
    return ciphers[w].SealChunk(i, in, dst);
  }));
  return out;
}

Result<OpenedHeader> ReadSealedHeader(ByteSpan blob) {
  CRYPTA_ASSIGN_OR_RETURN(size_t len, PeekSealedHeaderLength(blob));
  if (blob.size() < len + kSealedHeaderTagSize) {
    return MakeError(ErrorCode::kDataLoss, "sealed blob truncated inside its header");
  }
  OpenedHeader opened;
  opened.encoded.assign(blob.begin(), blob.begin() + len);
  CRYPTA_ASSIGN_OR_RETURN(opened.header, ParseSealedHeader(opened.encoded));
  return opened;
}

Status CheckSealedHeader(const SecretBytes& dek, ByteSpan blob, const OpenedHeader& opened) {
  size_t len = opened.encoded.size();
  CRYPTA_RETURN_IF_ERROR(
      VerifySealedHeaderTag(dek, opened.encoded, blob.subspan(len, kSealedHeaderTagSize)));
  uint64_t want = opened.header.SealedSize(len);
  if (blob.size() != want) {
    return MakeError(ErrorCode::kDataLoss,
                     std::string(blob.size() < want ? "sealed blob truncated"
                                                    : "sealed blob has trailing data") +
                         ": " + Str(blob.size()) + " bytes, header says " + Str(want));
  }
  return OkStatus();
}

namespace {

// Decrypts every chunk of a blob whose header was already parsed and checked.
Status OpenCheckedBlob(const SecretBytes& dek, ByteSpan blob, const OpenedHeader& opened,
                       MutableByteSpan out, int threads) {
  const SealedHeader& h = opened.header;
  if (out.size() != h.plaintext_length) {
    return MakeError(ErrorCode::kInvalidArgument, "output buffer of " + Str(out.size()) +
                                                      " bytes for a plaintext of " +
                                                      Str(h.plaintext_length));
  }
  CRYPTA_ASSIGN_OR_RETURN(ChunkCipher cipher, ChunkCipher::Create(dek, h, opened.encoded));
  int n = static_cast<int>(std::min<uint64_t>(ResolveThreadCount(threads), h.ChunkCount()));
  CRYPTA_ASSIGN_OR_RETURN(std::vector<ChunkCipher> ciphers,
                          ChunkCipher::ForWorkers(std::move(cipher), n));
  Status s = ParallelForChunks(h.ChunkCount(), n, [&](int w, uint64_t i) {
    size_t len = h.ChunkPlaintextSize(i);
    ByteSpan in = blob.subspan(h.ChunkOffset(opened.encoded.size(), i), len + kAeadTagSize);
    return ciphers[w].OpenChunk(i, in, out.subspan(i * h.chunk_size, len));
  });
  if (!s) SecureWipe(out);
  return s;
}

}  // namespace

Status OpenBufferInto(const SecretBytes& dek, ByteSpan blob, MutableByteSpan out, int threads) {
  CRYPTA_ASSIGN_OR_RETURN(OpenedHeader opened, ReadSealedHeader(blob));
  CRYPTA_RETURN_IF_ERROR(CheckSealedHeader(dek, blob, opened));
  return OpenCheckedBlob(dek, blob, opened, out, threads);
}

Result<Bytes> OpenBuffer(const SecretBytes& dek, ByteSpan blob, int threads) {
  CRYPTA_ASSIGN_OR_RETURN(OpenedHeader opened, ReadSealedHeader(blob));
  // The tag and exact-size checks come before allocating plaintext_length bytes.
  CRYPTA_RETURN_IF_ERROR(CheckSealedHeader(dek, blob, opened));
  Bytes out(opened.header.plaintext_length);
  CRYPTA_RETURN_IF_ERROR(OpenCheckedBlob(dek, blob, opened, out, threads));
  return out;
}

}  // namespace crypta

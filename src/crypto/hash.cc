#include "crypto/hash.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <string>

#include "common/check.h"
#include "common/file_util.h"
#include "common/secret_bytes.h"

namespace crypta {
namespace {

int Index(HashAlg alg) { return static_cast<int>(alg); }

struct HashTables {
  std::array<EVP_MD*, 3> md{};

  HashTables() {
    const char* names[3] = {"SHA2-256", "SHA2-384", "SHA2-512"};
    for (int i = 0; i < 3; ++i) {
      md[i] = EVP_MD_fetch(nullptr, names[i], nullptr);
      CRYPTA_CHECK(md[i] != nullptr, "EVP_MD_fetch");
    }
  }
};

const HashTables& Tables() {
  static const HashTables* tables = new HashTables();  // process lifetime, never freed
  return *tables;
}

}  // namespace

size_t HashSize(HashAlg alg) {
  switch (alg) {
    case HashAlg::kSha256:
      return 32;
    case HashAlg::kSha384:
      return 48;
    case HashAlg::kSha512:
      return 64;
  }
  return 0;
}

std::string_view HashName(HashAlg alg) {
  switch (alg) {
    case HashAlg::kSha256:
      return "SHA-256";
    case HashAlg::kSha384:
      return "SHA-384";
    case HashAlg::kSha512:
      return "SHA-512";
  }
  return "?";
}

const EVP_MD* HashMd(HashAlg alg) { return Tables().md[Index(alg)]; }

Bytes Hash(HashAlg alg, ByteSpan data) {
  Bytes out(HashSize(alg));
  unsigned int len = 0;
  CRYPTA_CHECK(EVP_Digest(data.data(), data.size(), out.data(), &len, HashMd(alg), nullptr) == 1,
               "EVP_Digest");
  return out;
}

Hasher::Hasher(HashAlg alg) : alg_(alg), ctx_(EVP_MD_CTX_new()) {
  CRYPTA_CHECK(ctx_ && EVP_DigestInit_ex(ctx_.get(), HashMd(alg), nullptr) == 1,
               "EVP_DigestInit_ex");
}

void Hasher::Update(ByteSpan data) {
  CRYPTA_CHECK(EVP_DigestUpdate(ctx_.get(), data.data(), data.size()) == 1, "EVP_DigestUpdate");
}

Bytes Hasher::Finish() {
  Bytes out(HashSize(alg_));
  unsigned int len = 0;
  CRYPTA_CHECK(EVP_DigestFinal_ex(ctx_.get(), out.data(), &len) == 1, "EVP_DigestFinal_ex");
  return out;
}

Result<Bytes> HashFile(HashAlg alg, const std::string& path) {
  CRYPTA_ASSIGN_OR_RETURN(InputFile in, InputFile::Open(path));
  Hasher hasher(alg);
  Bytes buf(std::min<uint64_t>(in.size(), 1 << 20));
  for (uint64_t off = 0; off < in.size(); off += buf.size()) {
    MutableByteSpan piece(buf.data(),
                          static_cast<size_t>(std::min<uint64_t>(buf.size(), in.size() - off)));
    CRYPTA_RETURN_IF_ERROR(in.ReadAt(off, piece));
    hasher.Update(piece);
  }
  return hasher.Finish();
}

Bytes Hmac(HashAlg alg, ByteSpan key, ByteSpan data) {
  // RFC 2104 §2 over the pre-fetched digest: H((K ^ opad) || H((K ^ ipad) || data)).
  // About twice as fast as EVP_MAC for the short inputs of HKDF and HPKE, because it
  // skips the MAC provider's per-call context setup.
  const EVP_MD* md = HashMd(alg);
  const size_t block = alg == HashAlg::kSha256 ? 64 : 128;
  const size_t hash_len = HashSize(alg);
  uint8_t k[128] = {0};
  if (key.size() > block) {
    unsigned int len = 0;
    CRYPTA_CHECK(EVP_Digest(key.data(), key.size(), k, &len, md, nullptr) == 1, "EVP_Digest");
  } else if (!key.empty()) {
    std::memcpy(k, key.data(), key.size());
  }
  uint8_t pad[128];
  // Reused by this thread, freed when it exits.
  thread_local EvpMdCtxPtr ctx_holder(EVP_MD_CTX_new());
  EVP_MD_CTX* ctx = ctx_holder.get();
  Bytes inner(hash_len);
  Bytes out(hash_len);
  unsigned int len = 0;
  for (size_t i = 0; i < block; ++i) pad[i] = k[i] ^ 0x36;
  CRYPTA_CHECK(ctx && EVP_DigestInit_ex(ctx, md, nullptr) == 1 &&
                   EVP_DigestUpdate(ctx, pad, block) == 1 &&
                   EVP_DigestUpdate(ctx, data.data(), data.size()) == 1 &&
                   EVP_DigestFinal_ex(ctx, inner.data(), &len) == 1,
               "HMAC inner hash");
  for (size_t i = 0; i < block; ++i) pad[i] = k[i] ^ 0x5c;
  CRYPTA_CHECK(EVP_DigestInit_ex(ctx, md, nullptr) == 1 && EVP_DigestUpdate(ctx, pad, block) == 1 &&
                   EVP_DigestUpdate(ctx, inner.data(), inner.size()) == 1 &&
                   EVP_DigestFinal_ex(ctx, out.data(), &len) == 1,
               "HMAC outer hash");
  SecureWipe(MutableByteSpan(k, sizeof(k)));
  SecureWipe(MutableByteSpan(pad, sizeof(pad)));
  SecureWipe(inner);
  return out;
}

Bytes HkdfExtract(HashAlg alg, ByteSpan salt, ByteSpan ikm) {
  // RFC 5869 §2.2: PRK = HMAC-Hash(salt, IKM); salt defaults to HashLen zeros.
  Bytes zeros;
  if (salt.empty()) {
    zeros.assign(HashSize(alg), 0);
    salt = zeros;
  }
  return Hmac(alg, salt, ikm);
}

Result<Bytes> HkdfExpand(HashAlg alg, ByteSpan prk, ByteSpan info, size_t length) {
  const size_t hash_len = HashSize(alg);
  if (length > 255 * hash_len) {
    return MakeError(ErrorCode::kInvalidArgument, "HKDF-Expand: output length " +
                                                      std::to_string(length) + " exceeds 255*" +
                                                      std::to_string(hash_len));
  }
  // RFC 5869 §2.3: T(i) = HMAC(PRK, T(i-1) | info | i).
  Bytes out;
  out.reserve(length + hash_len);
  Bytes block;
  Bytes input;
  for (uint8_t i = 1; out.size() < length; ++i) {
    input.assign(block.begin(), block.end());
    input.insert(input.end(), info.begin(), info.end());
    input.push_back(i);
    block = Hmac(alg, prk, input);
    out.insert(out.end(), block.begin(), block.end());
  }
  SecureWipe(block);
  out.resize(length);
  return out;
}

Result<Bytes> Hkdf(HashAlg alg, ByteSpan ikm, ByteSpan salt, ByteSpan info, size_t length) {
  Bytes prk = HkdfExtract(alg, salt, ikm);
  Result<Bytes> out = HkdfExpand(alg, prk, info, length);
  SecureWipe(prk);
  return out;
}

}  // namespace crypta

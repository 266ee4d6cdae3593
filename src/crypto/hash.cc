#include "crypto/hash.h"

#include <openssl/core_names.h>
#include <openssl/params.h>

#include <array>
#include <string>

#include "common/check.h"
#include "common/secret_bytes.h"

namespace crypta {
namespace {

int Index(HashAlg alg) { return static_cast<int>(alg); }

struct HashTables {
  std::array<EVP_MD*, 3> md{};
  // One HMAC context per digest with the digest already set; calls dup it and set the key.
  std::array<EVP_MAC_CTX*, 3> hmac_template{};

  HashTables() {
    const char* names[3] = {"SHA2-256", "SHA2-384", "SHA2-512"};
    EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
    CRYPTA_CHECK(mac != nullptr, "EVP_MAC_fetch(HMAC)");
    for (int i = 0; i < 3; ++i) {
      md[i] = EVP_MD_fetch(nullptr, names[i], nullptr);
      CRYPTA_CHECK(md[i] != nullptr, "EVP_MD_fetch");
      hmac_template[i] = EVP_MAC_CTX_new(mac);
      CRYPTA_CHECK(hmac_template[i] != nullptr, "EVP_MAC_CTX_new");
      OSSL_PARAM params[] = {
          OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>(names[i]), 0),
          OSSL_PARAM_construct_end()};
      CRYPTA_CHECK(EVP_MAC_CTX_set_params(hmac_template[i], params) == 1, "HMAC digest");
    }
    EVP_MAC_free(mac);  // the contexts hold their own reference
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

Bytes Hmac(HashAlg alg, ByteSpan key, ByteSpan data) {
  EvpMacCtxPtr ctx(EVP_MAC_CTX_dup(Tables().hmac_template[Index(alg)]));
  CRYPTA_CHECK(ctx != nullptr, "EVP_MAC_CTX_dup");
  // OpenSSL rejects a NULL key pointer even for length 0.
  static const uint8_t kEmpty[1] = {0};
  CRYPTA_CHECK(EVP_MAC_init(ctx.get(), key.empty() ? kEmpty : key.data(), key.size(), nullptr) == 1,
               "EVP_MAC_init");
  CRYPTA_CHECK(EVP_MAC_update(ctx.get(), data.data(), data.size()) == 1, "EVP_MAC_update");
  Bytes out(HashSize(alg));
  size_t len = 0;
  CRYPTA_CHECK(EVP_MAC_final(ctx.get(), out.data(), &len, out.size()) == 1, "EVP_MAC_final");
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

#include "crypto/jwe.h"

#include <openssl/err.h>
#include <openssl/rsa.h>

#include <algorithm>
#include <set>
#include <utility>

#include "common/byte_writer.h"
#include "common/encoding.h"
#include "common/json_canonical.h"
#include "crypto/aead.h"
#include "crypto/hash.h"
#include "crypto/jwk.h"
#include "crypto/key_wrap.h"
#include "crypto/openssl_util.h"
#include "crypto/random.h"

namespace crypta {
namespace {

using Json = nlohmann::json;

constexpr size_t kCekBytes = 32;         // A256GCM key
constexpr size_t kWrappedCekBytes = 40;  // RFC 3394 output for a 32-byte key
constexpr size_t kMaxPartyInfoBytes = 1024;
constexpr char kEncA256Gcm[] = "A256GCM";

Error DecryptionFailed() { return Error(ErrorCode::kUnauthenticated, "JWE: decryption failed"); }

// Sets up an RSA-OAEP (SHA-256, MGF1-SHA-256) context for encrypt or decrypt.
Result<EvpPkeyCtxPtr> OaepContext(EVP_PKEY* pkey, bool encrypt) {
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey, nullptr));
  if (!ctx ||
      (encrypt ? EVP_PKEY_encrypt_init(ctx.get()) : EVP_PKEY_decrypt_init(ctx.get())) != 1 ||
      EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_OAEP_PADDING) != 1 ||
      EVP_PKEY_CTX_set_rsa_oaep_md(ctx.get(), HashMd(HashAlg::kSha256)) != 1 ||
      EVP_PKEY_CTX_set_rsa_mgf1_md(ctx.get(), HashMd(HashAlg::kSha256)) != 1) {
    return MakeError(OpensslError(ErrorCode::kInternal, "RSA-OAEP-256 setup"));
  }
  return ctx;
}

Result<Bytes> RsaOaepEncrypt(const PublicKey& key, ByteSpan cek) {
  CRYPTA_ASSIGN_OR_RETURN(EvpPkeyCtxPtr ctx, OaepContext(key.pkey(), /*encrypt=*/true));
  size_t len = 0;
  if (EVP_PKEY_encrypt(ctx.get(), nullptr, &len, cek.data(), cek.size()) != 1) {
    return MakeError(OpensslError(ErrorCode::kInternal, "RSA-OAEP-256 encrypt"));
  }
  Bytes out(len);
  if (EVP_PKEY_encrypt(ctx.get(), out.data(), &len, cek.data(), cek.size()) != 1) {
    return MakeError(OpensslError(ErrorCode::kInternal, "RSA-OAEP-256 encrypt"));
  }
  out.resize(len);
  return out;
}

// RFC 7516 §11.5: on any OAEP failure, continue with a random CEK so that the caller
// sees only the GCM failure.
Result<SecretBytes> RsaOaepDecryptCek(const PrivateKey& key, ByteSpan encrypted_key) {
  CRYPTA_ASSIGN_OR_RETURN(SecretBytes random_cek, RandomSecret(kCekBytes));
  CRYPTA_ASSIGN_OR_RETURN(EvpPkeyCtxPtr ctx, OaepContext(key.pkey(), /*encrypt=*/false));
  SecretBytes out(static_cast<size_t>(EVP_PKEY_get_size(key.pkey())));
  size_t len = out.size();
  int ok = EVP_PKEY_decrypt(ctx.get(), out.RevealMutable().data(), &len, encrypted_key.data(),
                            encrypted_key.size());
  ERR_clear_error();
  if (ok != 1 || len != kCekBytes) return random_cek;
  return SecretBytes(out.Reveal().first(kCekBytes));
}

Result<Bytes> DecodeMember(const Json& obj, const char* name, bool required) {
  auto it = obj.find(name);
  if (it == obj.end()) {
    if (required) {
      return MakeError(ErrorCode::kInvalidArgument,
                       std::string("JWE: missing member \"") + name + "\"");
    }
    return Bytes();
  }
  if (!it->is_string()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     std::string("JWE \"") + name + "\": not a string");
  }
  Result<Bytes> b = Base64UrlDecode(it->get_ref<const std::string&>());
  if (!b) return MakeError(b.error().WithContext(std::string("JWE \"") + name + "\""));
  return std::move(*b);
}

Status CheckLength(ByteSpan b, const char* name, size_t want) {
  if (b.size() != want) {
    return MakeError(ErrorCode::kInvalidArgument, std::string("JWE \"") + name + "\": want " +
                                                      std::to_string(want) + " bytes, got " +
                                                      std::to_string(b.size()));
  }
  return OkStatus();
}

// RFC 7516 §7.2.1: the protected, shared unprotected and per-recipient headers must have
// disjoint names. crypta also requires every security parameter to be integrity-protected.
Status CheckUnprotected(const Json& jwe, const Json& protected_header) {
  static const std::set<std::string> kMustBeProtected = {"alg", "enc", "epk", "apu",
                                                         "apv", "zip", "crit"};
  std::set<std::string> names;
  for (auto it = protected_header.begin(); it != protected_header.end(); ++it) {
    names.insert(it.key());
  }
  for (const char* member : {"unprotected", "header"}) {
    auto h = jwe.find(member);
    if (h == jwe.end()) continue;
    if (!h->is_object()) {
      return MakeError(ErrorCode::kInvalidArgument,
                       std::string("JWE \"") + member + "\": not a JSON object");
    }
    for (auto it = h->begin(); it != h->end(); ++it) {
      if (kMustBeProtected.count(it.key()) || !names.insert(it.key()).second) {
        return MakeError(ErrorCode::kInvalidArgument,
                         std::string("JWE \"") + member + "\": parameter \"" +
                             it.key().substr(0, 32) + "\" must be in the protected header once");
      }
    }
  }
  return OkStatus();
}

Result<JweAlg> CheckAlgAndEnc(const Json& header, const PrivateKey& key,
                              const std::vector<JweAlg>& allowed) {
  auto alg_it = header.find("alg");
  auto enc_it = header.find("enc");
  if (alg_it == header.end() || !alg_it->is_string() || enc_it == header.end() ||
      !enc_it->is_string()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "JWE protected header: \"alg\" and \"enc\" must be strings");
  }
  const std::string& alg_name = alg_it->get_ref<const std::string&>();
  JweAlg alg;
  if (alg_name == JweAlgName(JweAlg::kEcdhEsA256Kw)) {
    alg = JweAlg::kEcdhEsA256Kw;
  } else if (alg_name == JweAlgName(JweAlg::kRsaOaep256)) {
    alg = JweAlg::kRsaOaep256;
  } else {
    return MakeError(ErrorCode::kPermissionDenied,
                     "JWE: unsupported alg \"" + alg_name.substr(0, 32) + "\"");
  }
  if (std::find(allowed.begin(), allowed.end(), alg) == allowed.end()) {
    return MakeError(ErrorCode::kPermissionDenied,
                     "JWE: alg " + alg_name + " is not in the allow-list");
  }
  KeyType want = alg == JweAlg::kEcdhEsA256Kw ? KeyType::kEcP256 : KeyType::kRsa;
  if (key.type() != want) {
    return MakeError(ErrorCode::kPermissionDenied, "JWE: alg " + alg_name + " does not match a " +
                                                       std::string(KeyTypeName(key.type())) +
                                                       " key");
  }
  if (*enc_it != kEncA256Gcm) {
    return MakeError(ErrorCode::kPermissionDenied,
                     "JWE: unsupported enc \"" + enc_it->get<std::string>().substr(0, 32) + "\"");
  }
  if (header.contains("zip") || header.contains("crit")) {
    return MakeError(ErrorCode::kPermissionDenied, "JWE: \"zip\" and \"crit\" are not supported");
  }
  return alg;
}

// RFC 7518 §4.6.2: Z from ECDH, then the KEK from the Concat KDF with AlgorithmID "alg".
Result<SecretBytes> EcdhKek(const PrivateKey& own, const PublicKey& peer, ByteSpan apu,
                            ByteSpan apv) {
  CRYPTA_ASSIGN_OR_RETURN(SecretBytes z, DeriveSharedSecret(own, peer));
  return JoseConcatKdf(z.Reveal(), JweAlgName(JweAlg::kEcdhEsA256Kw), apu, apv, kCekBytes);
}

// Recovers the CEK for ECDH-ES+A256KW from "epk", "apu", "apv" and the wrapped key.
Result<SecretBytes> EcdhUnwrapCek(const Json& header, const PrivateKey& key,
                                  ByteSpan encrypted_key) {
  auto epk_it = header.find("epk");
  if (epk_it == header.end()) {
    return MakeError(ErrorCode::kInvalidArgument, "JWE: missing header parameter \"epk\"");
  }
  Result<Jwk> epk = ParsePublicJwk(*epk_it);  // checks the point is on its curve
  if (!epk) return MakeError(epk.error().WithContext("JWE \"epk\""));
  if (epk->key.type() != key.type()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "JWE \"epk\": a " + std::string(KeyTypeName(epk->key.type())) + " key, want " +
                         std::string(KeyTypeName(key.type())));
  }
  CRYPTA_ASSIGN_OR_RETURN(Bytes apu, DecodeMember(header, "apu", false));
  CRYPTA_ASSIGN_OR_RETURN(Bytes apv, DecodeMember(header, "apv", false));
  if (apu.size() > kMaxPartyInfoBytes || apv.size() > kMaxPartyInfoBytes) {
    return MakeError(ErrorCode::kInvalidArgument, "JWE \"apu\"/\"apv\": longer than 1 KiB");
  }
  CRYPTA_RETURN_IF_ERROR(CheckLength(encrypted_key, "encrypted_key", kWrappedCekBytes));
  CRYPTA_ASSIGN_OR_RETURN(SecretBytes kek, EcdhKek(key, epk->key, apu, apv));
  Result<SecretBytes> cek = AesKeyUnwrap(kek.Reveal(), encrypted_key);
  if (!cek) return MakeError(DecryptionFailed());
  return std::move(*cek);
}

}  // namespace

std::string_view JweAlgName(JweAlg alg) {
  return alg == JweAlg::kEcdhEsA256Kw ? "ECDH-ES+A256KW" : "RSA-OAEP-256";
}

Result<SecretBytes> JoseConcatKdf(ByteSpan z, std::string_view algorithm_id, ByteSpan apu,
                                  ByteSpan apv, size_t key_bytes) {
  if (key_bytes == 0 || key_bytes > 1024) {
    return MakeError(ErrorCode::kInvalidArgument, "Concat KDF: key length out of range");
  }
  ByteWriter other_info;
  CRYPTA_RETURN_IF_ERROR(other_info.WriteLengthPrefixed(4, AsBytes(algorithm_id)));
  CRYPTA_RETURN_IF_ERROR(other_info.WriteLengthPrefixed(4, apu));
  CRYPTA_RETURN_IF_ERROR(other_info.WriteLengthPrefixed(4, apv));
  other_info.WriteU32BE(static_cast<uint32_t>(key_bytes * 8));  // SuppPubInfo: keydatalen
  SecretBytes out(key_bytes);
  size_t done = 0;
  for (uint32_t counter = 1; done < key_bytes; ++counter) {
    Hasher h(HashAlg::kSha256);
    ByteWriter c;
    c.WriteU32BE(counter);
    h.Update(c.bytes());
    h.Update(z);
    h.Update(other_info.bytes());
    Bytes block = h.Finish();
    size_t n = std::min(block.size(), key_bytes - done);
    std::copy_n(block.begin(), n, out.RevealMutable().begin() + done);
    SecureWipe(block);
    done += n;
  }
  return out;
}

Result<nlohmann::json> JweEncrypt(const PublicKey& recipient, ByteSpan plaintext,
                                  const JweEncryptOptions& options) {
  Json header = Json::object();
  Bytes encrypted_key;
  CRYPTA_ASSIGN_OR_RETURN(SecretBytes cek, RandomSecret(kCekBytes));
  if (recipient.type() == KeyType::kEcP256) {
    CRYPTA_ASSIGN_OR_RETURN(PrivateKey ephemeral, PrivateKey::Generate(KeyType::kEcP256));
    CRYPTA_ASSIGN_OR_RETURN(SecretBytes kek,
                            EcdhKek(ephemeral, recipient, options.apu, options.apv));
    CRYPTA_ASSIGN_OR_RETURN(encrypted_key, AesKeyWrap(kek.Reveal(), cek.Reveal()));
    header["alg"] = JweAlgName(JweAlg::kEcdhEsA256Kw);
    CRYPTA_ASSIGN_OR_RETURN(header["epk"], PublicKeyToJwk(ephemeral.GetPublicKey()));
    if (!options.apu.empty()) header["apu"] = Base64UrlEncode(options.apu);
    if (!options.apv.empty()) header["apv"] = Base64UrlEncode(options.apv);
  } else if (recipient.type() == KeyType::kRsa && recipient.RsaBits() >= 2048) {
    CRYPTA_ASSIGN_OR_RETURN(encrypted_key, RsaOaepEncrypt(recipient, cek.Reveal()));
    header["alg"] = JweAlgName(JweAlg::kRsaOaep256);
  } else {
    return MakeError(ErrorCode::kInvalidArgument, "JWE: cannot encrypt to a " +
                                                      std::string(KeyTypeName(recipient.type())) +
                                                      " key (want P-256 or RSA >= 2048 bits)");
  }
  header["enc"] = kEncA256Gcm;
  if (!options.kid.empty()) header["kid"] = options.kid;
  CRYPTA_ASSIGN_OR_RETURN(std::string header_text, CanonicalizeJson(header));
  std::string protected_b64 = Base64UrlEncode(AsBytes(header_text));

  CRYPTA_ASSIGN_OR_RETURN(Bytes iv, RandomBytes(kAeadNonceSize));
  CRYPTA_ASSIGN_OR_RETURN(Aead aead, Aead::Create(AeadAlg::kAes256Gcm, cek.Reveal()));
  Bytes ciphertext(plaintext.size());
  Bytes tag(kAeadTagSize);
  CRYPTA_RETURN_IF_ERROR(aead.SealInPlace(iv, AsBytes(protected_b64), plaintext, ciphertext, tag));
  return Json{{"protected", protected_b64},
              {"encrypted_key", Base64UrlEncode(encrypted_key)},
              {"iv", Base64UrlEncode(iv)},
              {"ciphertext", Base64UrlEncode(ciphertext)},
              {"tag", Base64UrlEncode(tag)}};
}

Result<DecryptedJwe> JweDecrypt(const nlohmann::json& jwe, const PrivateKey& key,
                                const JweDecryptOptions& options) {
  if (!jwe.is_object()) {
    return MakeError(ErrorCode::kInvalidArgument, "JWE: not a JSON object");
  }
  static const std::set<std::string> kMembers = {
      "protected", "unprotected", "header", "encrypted_key", "iv", "ciphertext", "tag", "aad"};
  size_t total = 0;
  for (auto it = jwe.begin(); it != jwe.end(); ++it) {
    if (!kMembers.count(it.key())) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "JWE: unexpected member \"" + it.key().substr(0, 32) +
                           "\" (only the flattened serialization is supported)");
    }
    if (it->is_string()) total += it->get_ref<const std::string&>().size();
  }
  if (total > options.max_bytes) {
    return MakeError(ErrorCode::kResourceExhausted, "JWE: larger than the size cap");
  }
  // RFC 7516 §5.2 steps 2-4: the protected header.
  auto protected_it = jwe.find("protected");
  if (protected_it == jwe.end() || !protected_it->is_string()) {
    return MakeError(ErrorCode::kInvalidArgument, "JWE: \"protected\" missing or not a string");
  }
  const std::string& protected_b64 = protected_it->get_ref<const std::string&>();
  CRYPTA_ASSIGN_OR_RETURN(Bytes header_bytes, DecodeMember(jwe, "protected", true));
  JsonParseLimits limits;
  limits.max_bytes = options.max_bytes;
  limits.max_depth = 8;
  Result<Json> header = ParseJsonStrict(AsStringView(header_bytes), limits);
  if (!header) return MakeError(header.error().WithContext("JWE protected header"));
  if (!header->is_object()) {
    return MakeError(ErrorCode::kInvalidArgument, "JWE protected header: not a JSON object");
  }
  CRYPTA_RETURN_IF_ERROR(CheckUnprotected(jwe, *header));
  CRYPTA_ASSIGN_OR_RETURN(JweAlg alg, CheckAlgAndEnc(*header, key, options.allowed_algs));

  CRYPTA_ASSIGN_OR_RETURN(Bytes encrypted_key, DecodeMember(jwe, "encrypted_key", true));
  CRYPTA_ASSIGN_OR_RETURN(Bytes iv, DecodeMember(jwe, "iv", true));
  CRYPTA_ASSIGN_OR_RETURN(Bytes ciphertext, DecodeMember(jwe, "ciphertext", true));
  CRYPTA_ASSIGN_OR_RETURN(Bytes tag, DecodeMember(jwe, "tag", true));
  CRYPTA_RETURN_IF_ERROR(CheckLength(iv, "iv", kAeadNonceSize));
  CRYPTA_RETURN_IF_ERROR(CheckLength(tag, "tag", kAeadTagSize));
  // RFC 7516 §5.1 step 14: AAD = ASCII(protected) [|| '.' || ASCII(aad)].
  std::string aad = protected_b64;
  if (auto aad_it = jwe.find("aad"); aad_it != jwe.end()) {
    CRYPTA_RETURN_IF_ERROR(DecodeMember(jwe, "aad", true));  // must be strict base64url
    aad += "." + aad_it->get<std::string>();
  }

  SecretBytes cek;
  if (alg == JweAlg::kEcdhEsA256Kw) {
    CRYPTA_ASSIGN_OR_RETURN(cek, EcdhUnwrapCek(*header, key, encrypted_key));
  } else {
    CRYPTA_RETURN_IF_ERROR(CheckLength(encrypted_key, "encrypted_key",
                                       static_cast<size_t>(EVP_PKEY_get_size(key.pkey()))));
    CRYPTA_ASSIGN_OR_RETURN(cek, RsaOaepDecryptCek(key, encrypted_key));
  }
  CRYPTA_ASSIGN_OR_RETURN(Aead aead, Aead::Create(AeadAlg::kAes256Gcm, cek.Reveal()));
  SecretBytes plaintext(ciphertext.size());
  if (!aead.OpenInPlace(iv, AsBytes(aad), ciphertext, tag, plaintext.RevealMutable())) {
    return MakeError(DecryptionFailed());
  }
  return DecryptedJwe{std::move(*header), std::move(plaintext)};
}

Result<DecryptedJwe> JweDecryptText(std::string_view text, const PrivateKey& key,
                                    const JweDecryptOptions& options) {
  JsonParseLimits limits;
  limits.max_bytes = options.max_bytes;
  limits.max_depth = 8;
  CRYPTA_ASSIGN_OR_RETURN(Json jwe, ParseJsonStrict(text, limits));
  return JweDecrypt(jwe, key, options);
}

}  // namespace crypta

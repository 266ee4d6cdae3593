#include "crypto/signature.h"

#include <openssl/rsa.h>

#include <algorithm>
#include <string>

namespace crypta {
namespace {

Error BadSignature(std::string_view alg) {
  return Error(ErrorCode::kUnauthenticated, std::string(alg) + ": signature does not verify");
}

Status DigestVerify(const PublicKey& key, const EVP_MD* md, ByteSpan message, ByteSpan signature,
                    int rsa_padding, int salt_length, std::string_view alg) {
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;
  if (!ctx || EVP_DigestVerifyInit_ex(ctx.get(), &pctx, md ? EVP_MD_get0_name(md) : nullptr,
                                      nullptr, nullptr, key.pkey(), nullptr) != 1) {
    return MakeError(OpensslError(ErrorCode::kInvalidArgument, std::string(alg) + ": bad key"));
  }
  if (rsa_padding != 0) {
    if (EVP_PKEY_CTX_set_rsa_padding(pctx, rsa_padding) != 1 ||
        (rsa_padding == RSA_PKCS1_PSS_PADDING &&
         (EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, salt_length) != 1 ||
          EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md) != 1))) {
      return MakeError(OpensslError(ErrorCode::kInternal, std::string(alg) + ": padding setup"));
    }
  }
  int rc = EVP_DigestVerify(ctx.get(), signature.data(), signature.size(), message.data(),
                            message.size());
  OpensslErrorString("");  // clear the queue either way
  if (rc != 1) return MakeError(BadSignature(alg));
  return OkStatus();
}

Result<Bytes> DigestSign(const PrivateKey& key, const EVP_MD* md, ByteSpan message, int rsa_padding,
                         int salt_length, std::string_view alg) {
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;
  if (!ctx || EVP_DigestSignInit_ex(ctx.get(), &pctx, md ? EVP_MD_get0_name(md) : nullptr, nullptr,
                                    nullptr, key.pkey(), nullptr) != 1) {
    return MakeError(OpensslError(ErrorCode::kInvalidArgument, std::string(alg) + ": bad key"));
  }
  if (rsa_padding == RSA_PKCS1_PSS_PADDING &&
      (EVP_PKEY_CTX_set_rsa_padding(pctx, rsa_padding) != 1 ||
       EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, salt_length) != 1 ||
       EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md) != 1)) {
    return MakeError(OpensslError(ErrorCode::kInternal, std::string(alg) + ": padding setup"));
  }
  size_t len = 0;
  if (EVP_DigestSign(ctx.get(), nullptr, &len, message.data(), message.size()) != 1) {
    return MakeError(OpensslError(ErrorCode::kInternal, std::string(alg) + ": sign"));
  }
  Bytes sig(len);
  if (EVP_DigestSign(ctx.get(), sig.data(), &len, message.data(), message.size()) != 1) {
    return MakeError(OpensslError(ErrorCode::kInternal, std::string(alg) + ": sign"));
  }
  sig.resize(len);
  return sig;
}

}  // namespace

Result<Bytes> EcdsaDerToRaw(ByteSpan der, size_t component_size) {
  const unsigned char* p = der.data();
  EcdsaSigPtr sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size())));
  if (!sig || p != der.data() + der.size()) {
    OpensslErrorString("");
    return MakeError(ErrorCode::kInvalidArgument, "ECDSA signature: not valid DER");
  }
  const BIGNUM* r = ECDSA_SIG_get0_r(sig.get());
  const BIGNUM* s = ECDSA_SIG_get0_s(sig.get());
  if (static_cast<size_t>(BN_num_bytes(r)) > component_size ||
      static_cast<size_t>(BN_num_bytes(s)) > component_size) {
    return MakeError(ErrorCode::kInvalidArgument, "ECDSA signature: r or s larger than the field");
  }
  Bytes out(2 * component_size);
  BN_bn2binpad(r, out.data(), static_cast<int>(component_size));
  BN_bn2binpad(s, out.data() + component_size, static_cast<int>(component_size));
  return out;
}

Result<Bytes> EcdsaRawToDer(ByteSpan raw) {
  if (raw.empty() || raw.size() % 2 != 0 || raw.size() > 2 * 66) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "ECDSA signature: raw r||s has bad length " + std::to_string(raw.size()));
  }
  size_t n = raw.size() / 2;
  EcdsaSigPtr sig(ECDSA_SIG_new());
  BIGNUM* r = BN_bin2bn(raw.data(), static_cast<int>(n), nullptr);
  BIGNUM* s = BN_bin2bn(raw.data() + n, static_cast<int>(n), nullptr);
  if (!sig || !r || !s || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
    BN_free(r);
    BN_free(s);
    return MakeError(OpensslError(ErrorCode::kInternal, "ECDSA_SIG_set0"));
  }
  unsigned char* der = nullptr;
  int len = i2d_ECDSA_SIG(sig.get(), &der);
  if (len <= 0) return MakeError(OpensslError(ErrorCode::kInternal, "i2d_ECDSA_SIG"));
  Bytes out(der, der + len);
  OPENSSL_free(der);
  return out;
}

Status EcdsaVerify(const PublicKey& key, HashAlg hash, ByteSpan message, ByteSpan signature,
                   EcdsaOptions options) {
  if (!IsEcKeyType(key.type())) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "ECDSA: key is " + std::string(KeyTypeName(key.type())) + ", not EC");
  }
  const size_t field = KeyCoordinateSize(key.type());
  Bytes der;
  ByteSpan to_verify = signature;
  switch (options.format) {
    case EcdsaFormat::kDer:
      break;
    case EcdsaFormat::kRaw: {
      if (signature.size() != 2 * field) {
        return MakeError(ErrorCode::kInvalidArgument,
                         "ECDSA raw signature: got " + std::to_string(signature.size()) +
                             " bytes, want " + std::to_string(2 * field));
      }
      CRYPTA_ASSIGN_OR_RETURN(der, EcdsaRawToDer(signature));
      to_verify = der;
      break;
    }
    case EcdsaFormat::kRawLE: {
      size_t comp = options.component_size ? options.component_size : field;
      if (comp < field || signature.size() != 2 * comp) {
        return MakeError(ErrorCode::kInvalidArgument,
                         "ECDSA little-endian signature: got " + std::to_string(signature.size()) +
                             " bytes, want " + std::to_string(2 * comp));
      }
      // Each component is little-endian, zero-padded to `comp` bytes; the padding beyond
      // the field size must be zero.
      Bytes raw(2 * field);
      for (int part = 0; part < 2; ++part) {
        ByteSpan le = signature.subspan(part * comp, comp);
        if (std::any_of(le.begin() + field, le.end(), [](uint8_t b) { return b != 0; })) {
          return MakeError(ErrorCode::kInvalidArgument,
                           "ECDSA little-endian signature: non-zero padding");
        }
        std::reverse_copy(le.begin(), le.begin() + field, raw.begin() + part * field);
      }
      CRYPTA_ASSIGN_OR_RETURN(der, EcdsaRawToDer(raw));
      to_verify = der;
      break;
    }
  }
  return DigestVerify(key, HashMd(hash), message, to_verify, 0, 0, "ECDSA");
}

Result<Bytes> EcdsaSign(const PrivateKey& key, HashAlg hash, ByteSpan message,
                        EcdsaOptions options) {
  if (!IsEcKeyType(key.type()))
    return MakeError(ErrorCode::kInvalidArgument, "ECDSA: not an EC key");
  CRYPTA_ASSIGN_OR_RETURN(Bytes der, DigestSign(key, HashMd(hash), message, 0, 0, "ECDSA"));
  if (options.format == EcdsaFormat::kDer) return der;
  const size_t field = KeyCoordinateSize(key.type());
  CRYPTA_ASSIGN_OR_RETURN(Bytes raw, EcdsaDerToRaw(der, field));
  if (options.format == EcdsaFormat::kRaw) return raw;
  size_t comp = options.component_size ? options.component_size : field;
  if (comp < field) return MakeError(ErrorCode::kInvalidArgument, "component_size < field size");
  Bytes le(2 * comp, 0);
  for (int part = 0; part < 2; ++part) {
    std::reverse_copy(raw.begin() + part * field, raw.begin() + (part + 1) * field,
                      le.begin() + part * comp);
  }
  return le;
}

Status RsaPssVerify(const PublicKey& key, HashAlg hash, ByteSpan message, ByteSpan signature,
                    int salt_length) {
  if (key.type() != KeyType::kRsa)
    return MakeError(ErrorCode::kInvalidArgument, "RSA-PSS: not an RSA key");
  return DigestVerify(key, HashMd(hash), message, signature, RSA_PKCS1_PSS_PADDING, salt_length,
                      "RSA-PSS");
}

Result<Bytes> RsaPssSign(const PrivateKey& key, HashAlg hash, ByteSpan message, int salt_length) {
  if (key.type() != KeyType::kRsa)
    return MakeError(ErrorCode::kInvalidArgument, "RSA-PSS: not an RSA key");
  return DigestSign(key, HashMd(hash), message, RSA_PKCS1_PSS_PADDING, salt_length, "RSA-PSS");
}

Status RsaPkcs1Verify(const PublicKey& key, HashAlg hash, ByteSpan message, ByteSpan signature) {
  if (key.type() != KeyType::kRsa)
    return MakeError(ErrorCode::kInvalidArgument, "RSA: not an RSA key");
  return DigestVerify(key, HashMd(hash), message, signature, RSA_PKCS1_PADDING, 0, "RSA-PKCS1");
}

Status Ed25519Verify(const PublicKey& key, ByteSpan message, ByteSpan signature) {
  if (key.type() != KeyType::kEd25519)
    return MakeError(ErrorCode::kInvalidArgument, "Ed25519: wrong key type");
  if (signature.size() != 64) {
    return MakeError(
        ErrorCode::kInvalidArgument,
        "Ed25519 signature: got " + std::to_string(signature.size()) + " bytes, want 64");
  }
  return DigestVerify(key, nullptr, message, signature, 0, 0, "Ed25519");
}

Result<Bytes> Ed25519Sign(const PrivateKey& key, ByteSpan message) {
  if (key.type() != KeyType::kEd25519)
    return MakeError(ErrorCode::kInvalidArgument, "Ed25519: wrong key type");
  return DigestSign(key, nullptr, message, 0, 0, "Ed25519");
}

}  // namespace crypta

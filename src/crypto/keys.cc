#include "crypto/keys.h"

#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include <cstring>
#include <string>

#include "common/constant_time.h"

namespace crypta {
namespace {

using OsslParamBldPtr = OpensslPtr<OSSL_PARAM_BLD, OSSL_PARAM_BLD_free>;
using OsslParamPtr = OpensslPtr<OSSL_PARAM, OSSL_PARAM_free>;
using EcGroupPtr = OpensslPtr<EC_GROUP, EC_GROUP_free>;
using EcPointPtr = OpensslPtr<EC_POINT, EC_POINT_free>;

const char* GroupName(KeyType t) {
  switch (t) {
    case KeyType::kEcP256:
      return "prime256v1";
    case KeyType::kEcP384:
      return "secp384r1";
    case KeyType::kEcP521:
      return "secp521r1";
    default:
      return nullptr;
  }
}

int GroupNid(KeyType t) {
  switch (t) {
    case KeyType::kEcP256:
      return NID_X9_62_prime256v1;
    case KeyType::kEcP384:
      return NID_secp384r1;
    case KeyType::kEcP521:
      return NID_secp521r1;
    default:
      return NID_undef;
  }
}

Result<KeyType> DetectType(EVP_PKEY* pkey) {
  switch (EVP_PKEY_get_base_id(pkey)) {
    case EVP_PKEY_X25519:
      return KeyType::kX25519;
    case EVP_PKEY_ED25519:
      return KeyType::kEd25519;
    case EVP_PKEY_RSA:
    case EVP_PKEY_RSA_PSS:
      return KeyType::kRsa;
    case EVP_PKEY_EC: {
      char name[64] = {0};
      size_t len = 0;
      if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, name, sizeof(name),
                                         &len) != 1) {
        return MakeError(ErrorCode::kInvalidArgument, "EC key: curve has no name");
      }
      std::string_view n(name, len);
      if (n == "prime256v1" || n == "P-256") return KeyType::kEcP256;
      if (n == "secp384r1" || n == "P-384") return KeyType::kEcP384;
      if (n == "secp521r1" || n == "P-521") return KeyType::kEcP521;
      return MakeError(ErrorCode::kInvalidArgument, "EC key: unsupported curve " + std::string(n));
    }
    default:
      return MakeError(ErrorCode::kInvalidArgument, "unsupported key algorithm");
  }
}

Result<EvpPkeyPtr> FromData(const char* alg, int selection, OSSL_PARAM_BLD* bld,
                            std::string_view what) {
  OsslParamPtr params(OSSL_PARAM_BLD_to_param(bld));
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, alg, nullptr));
  EVP_PKEY* raw = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, selection, params.get()) != 1) {
    return MakeError(OpensslError(ErrorCode::kInvalidArgument, std::string(what) + ": invalid"));
  }
  return EvpPkeyPtr(raw);
}

// Partial public-key validation (SP 800-56A Rev. 3 §5.6.2.3.4: not the point at infinity,
// coordinates in range, on the curve) is full validation for the prime-order NIST curves
// crypta accepts (cofactor 1, so the n·Q = O check of §5.6.2.3.3 adds nothing); it spares an
// extra scalar multiplication per certificate key (e.g. every Nitro document's fresh leaf).
Status CheckEcPublic(EVP_PKEY* pkey, std::string_view what) {
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey, nullptr));
  if (!ctx || EVP_PKEY_public_check_quick(ctx.get()) != 1) {
    return MakeError(OpensslError(ErrorCode::kInvalidArgument,
                                  std::string(what) + ": point is not on the curve"));
  }
  return OkStatus();
}

Result<Bytes> BnToBytes(const BIGNUM* bn, size_t pad_to) {
  size_t n = static_cast<size_t>(BN_num_bytes(bn));
  if (pad_to == 0) pad_to = n;
  if (n > pad_to) return MakeError(ErrorCode::kInternal, "bignum larger than field");
  Bytes out(pad_to);
  if (BN_bn2binpad(bn, out.data(), static_cast<int>(pad_to)) < 0) {
    return MakeError(OpensslError(ErrorCode::kInternal, "BN_bn2binpad"));
  }
  return out;
}

Result<Bytes> GetBnParam(EVP_PKEY* pkey, const char* name, size_t pad_to) {
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(pkey, name, &raw) != 1) {
    return MakeError(OpensslError(ErrorCode::kInvalidArgument, std::string("key has no ") + name));
  }
  BignumPtr bn(raw);
  return BnToBytes(bn.get(), pad_to);
}

}  // namespace

std::string_view KeyTypeName(KeyType type) {
  switch (type) {
    case KeyType::kEcP256:
      return "EC P-256";
    case KeyType::kEcP384:
      return "EC P-384";
    case KeyType::kEcP521:
      return "EC P-521";
    case KeyType::kX25519:
      return "X25519";
    case KeyType::kEd25519:
      return "Ed25519";
    case KeyType::kRsa:
      return "RSA";
  }
  return "?";
}

bool IsEcKeyType(KeyType type) {
  return type == KeyType::kEcP256 || type == KeyType::kEcP384 || type == KeyType::kEcP521;
}

size_t KeyCoordinateSize(KeyType type) {
  switch (type) {
    case KeyType::kEcP256:
      return 32;
    case KeyType::kEcP384:
      return 48;
    case KeyType::kEcP521:
      return 66;
    case KeyType::kX25519:
    case KeyType::kEd25519:
      return 32;
    case KeyType::kRsa:
      return 0;
  }
  return 0;
}

// ---------------------------------------------------------------- PublicKey

PublicKey::PublicKey(KeyType type, EvpPkeyPtr pkey)
    : type_(type), pkey_(pkey.release(), EVP_PKEY_free) {}

Result<PublicKey> PublicKey::Adopt(EvpPkeyPtr pkey) {
  CRYPTA_ASSIGN_OR_RETURN(KeyType type, DetectType(pkey.get()));
  if (IsEcKeyType(type)) CRYPTA_RETURN_IF_ERROR(CheckEcPublic(pkey.get(), "EC public key"));
  return PublicKey(type, std::move(pkey));
}

Result<PublicKey> PublicKey::FromSpkiDer(ByteSpan der) {
  const unsigned char* p = der.data();
  EvpPkeyPtr pkey(d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size())));
  if (!pkey) {
    return MakeError(OpensslError(ErrorCode::kInvalidArgument,
                                  "SubjectPublicKeyInfo: not a valid DER public key"));
  }
  if (p != der.data() + der.size()) {
    return MakeError(ErrorCode::kInvalidArgument, "SubjectPublicKeyInfo: trailing bytes");
  }
  return Adopt(std::move(pkey));
}

Result<PublicKey> PublicKey::FromPem(std::string_view pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  EvpPkeyPtr pkey(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
  if (!pkey) {
    return MakeError(OpensslError(ErrorCode::kInvalidArgument, "public key PEM: not parsable"));
  }
  return Adopt(std::move(pkey));
}

Result<PublicKey> PublicKey::FromEcPoint(KeyType curve, ByteSpan point) {
  const char* group = GroupName(curve);
  if (!group) return MakeError(ErrorCode::kInvalidArgument, "FromEcPoint: not an EC curve");
  size_t want = 1 + 2 * KeyCoordinateSize(curve);
  if (point.size() != want || point[0] != 0x04) {
    return MakeError(ErrorCode::kInvalidArgument,
                     std::string(KeyTypeName(curve)) + " point: want " + std::to_string(want) +
                         "-byte uncompressed encoding (0x04||X||Y), got " +
                         std::to_string(point.size()) + " bytes");
  }
  OsslParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (!bld ||
      OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, group, 0) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                       point.size()) != 1) {
    return MakeError(OpensslError(ErrorCode::kInternal, "OSSL_PARAM_BLD"));
  }
  CRYPTA_ASSIGN_OR_RETURN(EvpPkeyPtr pkey,
                          FromData("EC", EVP_PKEY_PUBLIC_KEY, bld.get(), "EC public point"));
  return Adopt(std::move(pkey));
}

Result<PublicKey> PublicKey::FromEcCoordinates(KeyType curve, ByteSpan x, ByteSpan y) {
  size_t n = KeyCoordinateSize(curve);
  if (!IsEcKeyType(curve) || x.size() != n || y.size() != n) {
    return MakeError(ErrorCode::kInvalidArgument,
                     std::string(KeyTypeName(curve)) + " coordinates: want " + std::to_string(n) +
                         " bytes each, got x=" + std::to_string(x.size()) +
                         " y=" + std::to_string(y.size()));
  }
  Bytes point;
  point.reserve(1 + 2 * n);
  point.push_back(0x04);
  point.insert(point.end(), x.begin(), x.end());
  point.insert(point.end(), y.begin(), y.end());
  return FromEcPoint(curve, point);
}

Result<PublicKey> PublicKey::FromRaw(KeyType type, ByteSpan raw) {
  int id = type == KeyType::kX25519    ? EVP_PKEY_X25519
           : type == KeyType::kEd25519 ? EVP_PKEY_ED25519
                                       : NID_undef;
  if (id == NID_undef) return MakeError(ErrorCode::kInvalidArgument, "FromRaw: not an OKP key");
  if (raw.size() != 32) {
    return MakeError(ErrorCode::kInvalidArgument,
                     std::string(KeyTypeName(type)) + " public key: got " +
                         std::to_string(raw.size()) + " bytes, want 32");
  }
  EvpPkeyPtr pkey(EVP_PKEY_new_raw_public_key(id, nullptr, raw.data(), raw.size()));
  if (!pkey) return MakeError(OpensslError(ErrorCode::kInvalidArgument, "raw public key"));
  return PublicKey(type, std::move(pkey));
}

Result<PublicKey> PublicKey::FromRsaComponents(ByteSpan n, ByteSpan e) {
  if (n.empty() || e.empty() || n.size() > 2048) {  // moduli up to 16384 bits
    return MakeError(ErrorCode::kInvalidArgument, "RSA key: bad modulus or exponent length");
  }
  BignumPtr bn_n(BN_bin2bn(n.data(), static_cast<int>(n.size()), nullptr));
  BignumPtr bn_e(BN_bin2bn(e.data(), static_cast<int>(e.size()), nullptr));
  OsslParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (!bn_n || !bn_e || !bld ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, bn_n.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, bn_e.get()) != 1) {
    return MakeError(OpensslError(ErrorCode::kInternal, "OSSL_PARAM_BLD"));
  }
  CRYPTA_ASSIGN_OR_RETURN(EvpPkeyPtr pkey,
                          FromData("RSA", EVP_PKEY_PUBLIC_KEY, bld.get(), "RSA public key"));
  if (EVP_PKEY_get_bits(pkey.get()) < 2048) {
    return MakeError(ErrorCode::kInvalidArgument, "RSA key: modulus shorter than 2048 bits");
  }
  return PublicKey(KeyType::kRsa, std::move(pkey));
}

Result<Bytes> PublicKey::ToSpkiDer() const {
  unsigned char* out = nullptr;
  int len = i2d_PUBKEY(pkey_.get(), &out);
  if (len <= 0) return MakeError(OpensslError(ErrorCode::kInternal, "i2d_PUBKEY"));
  Bytes der(out, out + len);
  OPENSSL_free(out);
  return der;
}

Result<std::string> PublicKey::ToPem() const {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PUBKEY(bio.get(), pkey_.get()) != 1) {
    return MakeError(OpensslError(ErrorCode::kInternal, "PEM_write_bio_PUBKEY"));
  }
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

Result<Bytes> PublicKey::EcPoint() const {
  if (!IsEcKeyType(type_)) return MakeError(ErrorCode::kInvalidArgument, "not an EC key");
  Bytes out(1 + 2 * KeyCoordinateSize(type_));
  size_t len = 0;
  if (EVP_PKEY_get_octet_string_param(pkey_.get(), OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, out.data(),
                                      out.size(), &len) != 1 ||
      len != out.size()) {
    return MakeError(OpensslError(ErrorCode::kInternal, "EC public point export"));
  }
  return out;
}

Result<Bytes> PublicKey::Raw() const {
  if (type_ != KeyType::kX25519 && type_ != KeyType::kEd25519) {
    return MakeError(ErrorCode::kInvalidArgument, "not an X25519/Ed25519 key");
  }
  Bytes out(32);
  size_t len = out.size();
  if (EVP_PKEY_get_raw_public_key(pkey_.get(), out.data(), &len) != 1 || len != 32) {
    return MakeError(OpensslError(ErrorCode::kInternal, "raw public key export"));
  }
  return out;
}

Result<Bytes> PublicKey::RsaModulus() const {
  if (type_ != KeyType::kRsa) return MakeError(ErrorCode::kInvalidArgument, "not an RSA key");
  return GetBnParam(pkey_.get(), OSSL_PKEY_PARAM_RSA_N, 0);
}

Result<Bytes> PublicKey::RsaExponent() const {
  if (type_ != KeyType::kRsa) return MakeError(ErrorCode::kInvalidArgument, "not an RSA key");
  return GetBnParam(pkey_.get(), OSSL_PKEY_PARAM_RSA_E, 0);
}

int PublicKey::RsaBits() const {
  return type_ == KeyType::kRsa ? EVP_PKEY_get_bits(pkey_.get()) : 0;
}

// ---------------------------------------------------------------- PrivateKey

PrivateKey::PrivateKey(KeyType type, EvpPkeyPtr pkey)
    : type_(type), pkey_(pkey.release(), EVP_PKEY_free) {}

Result<PrivateKey> PrivateKey::Adopt(EvpPkeyPtr pkey) {
  CRYPTA_ASSIGN_OR_RETURN(KeyType type, DetectType(pkey.get()));
  return PrivateKey(type, std::move(pkey));
}

Result<PrivateKey> PrivateKey::Generate(KeyType type) {
  if (type == KeyType::kRsa) return GenerateRsa(3072);
  EVP_PKEY* raw = nullptr;
  if (IsEcKeyType(type)) {
    raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", GroupName(type));
  } else {
    raw = EVP_PKEY_Q_keygen(nullptr, nullptr, type == KeyType::kX25519 ? "X25519" : "ED25519");
  }
  if (!raw) return MakeError(OpensslError(ErrorCode::kInternal, "key generation"));
  return PrivateKey(type, EvpPkeyPtr(raw));
}

Result<PrivateKey> PrivateKey::GenerateRsa(int bits) {
  if (bits < 2048) return MakeError(ErrorCode::kInvalidArgument, "RSA keys need >= 2048 bits");
  EVP_PKEY* raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(bits));
  if (!raw) return MakeError(OpensslError(ErrorCode::kInternal, "RSA key generation"));
  return PrivateKey(KeyType::kRsa, EvpPkeyPtr(raw));
}

Result<PrivateKey> PrivateKey::FromPem(std::string_view pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  // A null callback would make OpenSSL prompt on the terminal for an encrypted key's
  // passphrase; this one supplies none, so encrypted keys fail to parse.
  pem_password_cb* no_passphrase = [](char*, int, int, void*) { return 0; };
  EvpPkeyPtr pkey(PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr));
  if (!pkey) {
    return MakeError(OpensslError(ErrorCode::kInvalidArgument, "private key PEM: not parsable"));
  }
  return Adopt(std::move(pkey));
}

Result<PrivateKey> PrivateKey::FromPkcs8Der(ByteSpan der) {
  const unsigned char* p = der.data();
  EvpPkeyPtr pkey(d2i_AutoPrivateKey(nullptr, &p, static_cast<long>(der.size())));
  if (!pkey) {
    return MakeError(OpensslError(ErrorCode::kInvalidArgument, "private key DER: not parsable"));
  }
  return Adopt(std::move(pkey));
}

Result<PrivateKey> PrivateKey::FromEcScalar(KeyType curve, ByteSpan d) {
  if (!IsEcKeyType(curve) || d.size() != KeyCoordinateSize(curve)) {
    return MakeError(ErrorCode::kInvalidArgument, std::string(KeyTypeName(curve)) +
                                                      " private scalar: want " +
                                                      std::to_string(KeyCoordinateSize(curve)) +
                                                      " bytes, got " + std::to_string(d.size()));
  }
  // Compute the public point ourselves: OpenSSL 3.0 does not derive it on import.
  EcGroupPtr group(EC_GROUP_new_by_curve_name(GroupNid(curve)));
  BignumPtr priv(BN_bin2bn(d.data(), static_cast<int>(d.size()), nullptr));
  if (!group || !priv) return MakeError(OpensslError(ErrorCode::kInternal, "EC setup"));
  if (BN_is_zero(priv.get()) || BN_cmp(priv.get(), EC_GROUP_get0_order(group.get())) >= 0) {
    return MakeError(ErrorCode::kInvalidArgument, "EC private scalar out of range");
  }
  EcPointPtr pub(EC_POINT_new(group.get()));
  Bytes point(1 + 2 * KeyCoordinateSize(curve));
  if (!pub || EC_POINT_mul(group.get(), pub.get(), priv.get(), nullptr, nullptr, nullptr) != 1 ||
      EC_POINT_point2oct(group.get(), pub.get(), POINT_CONVERSION_UNCOMPRESSED, point.data(),
                         point.size(), nullptr) != point.size()) {
    return MakeError(OpensslError(ErrorCode::kInternal, "EC public point computation"));
  }
  OsslParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (!bld ||
      OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, GroupName(curve), 0) !=
          1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_PRIV_KEY, priv.get()) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                       point.size()) != 1) {
    return MakeError(OpensslError(ErrorCode::kInternal, "OSSL_PARAM_BLD"));
  }
  CRYPTA_ASSIGN_OR_RETURN(EvpPkeyPtr pkey,
                          FromData("EC", EVP_PKEY_KEYPAIR, bld.get(), "EC private key"));
  return PrivateKey(curve, std::move(pkey));
}

Result<PrivateKey> PrivateKey::FromRaw(KeyType type, ByteSpan raw) {
  int id = type == KeyType::kX25519    ? EVP_PKEY_X25519
           : type == KeyType::kEd25519 ? EVP_PKEY_ED25519
                                       : NID_undef;
  if (id == NID_undef) return MakeError(ErrorCode::kInvalidArgument, "FromRaw: not an OKP key");
  if (raw.size() != 32) {
    return MakeError(ErrorCode::kInvalidArgument, std::string(KeyTypeName(type)) +
                                                      " private key: want 32 bytes, got " +
                                                      std::to_string(raw.size()));
  }
  EvpPkeyPtr pkey(EVP_PKEY_new_raw_private_key(id, nullptr, raw.data(), raw.size()));
  if (!pkey) return MakeError(OpensslError(ErrorCode::kInvalidArgument, "raw private key"));
  return PrivateKey(type, std::move(pkey));
}

PublicKey PrivateKey::GetPublicKey() const {
  // An EVP_PKEY holding a key pair serves as a public key too.
  EVP_PKEY_up_ref(pkey_.get());
  return PublicKey(type_, EvpPkeyPtr(pkey_.get()));
}

Result<std::string> PrivateKey::ToPkcs8Pem() const {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), pkey_.get(), nullptr, nullptr, 0, nullptr,
                                       nullptr) != 1) {
    return MakeError(OpensslError(ErrorCode::kInternal, "PEM_write_bio_PrivateKey"));
  }
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  std::string pem(data, static_cast<size_t>(len));
  OPENSSL_cleanse(data, static_cast<size_t>(len));
  return pem;
}

Result<SecretBytes> PrivateKey::RawSecret() const {
  if (IsEcKeyType(type_)) {
    CRYPTA_ASSIGN_OR_RETURN(
        Bytes d, GetBnParam(pkey_.get(), OSSL_PKEY_PARAM_PRIV_KEY, KeyCoordinateSize(type_)));
    SecretBytes out(d);
    SecureWipe(d);
    return out;
  }
  if (type_ == KeyType::kX25519 || type_ == KeyType::kEd25519) {
    SecretBytes out(32);
    size_t len = 32;
    if (EVP_PKEY_get_raw_private_key(pkey_.get(), out.RevealMutable().data(), &len) != 1) {
      return MakeError(OpensslError(ErrorCode::kInternal, "raw private key export"));
    }
    return out;
  }
  return MakeError(ErrorCode::kInvalidArgument, "RawSecret: not supported for RSA keys");
}

Result<SecretBytes> DeriveSharedSecret(const PrivateKey& own, const PublicKey& peer) {
  if (own.type() != peer.type() || !(IsEcKeyType(own.type()) || own.type() == KeyType::kX25519)) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "key agreement: " + std::string(KeyTypeName(own.type())) + " with " +
                         std::string(KeyTypeName(peer.type())));
  }
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, own.pkey(), nullptr));
  size_t len = 0;
  if (!ctx || EVP_PKEY_derive_init(ctx.get()) != 1 ||
      EVP_PKEY_derive_set_peer_ex(ctx.get(), peer.pkey(), 0) != 1 ||
      EVP_PKEY_derive(ctx.get(), nullptr, &len) != 1) {
    return MakeError(OpensslError(ErrorCode::kInvalidArgument, "key agreement: bad peer key"));
  }
  SecretBytes secret(len);
  if (EVP_PKEY_derive(ctx.get(), secret.RevealMutable().data(), &len) != 1 ||
      len != secret.size()) {
    return MakeError(OpensslError(ErrorCode::kInvalidArgument,
                                  "key agreement failed (low-order or invalid peer key)"));
  }
  if (own.type() == KeyType::kX25519) {
    static const uint8_t kZero[32] = {0};
    if (ConstantTimeEquals(secret.Reveal(), kZero)) {
      return MakeError(ErrorCode::kInvalidArgument, "X25519: all-zero shared secret");
    }
  }
  return secret;
}

}  // namespace crypta

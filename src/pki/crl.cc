// BuildCrl (declared in pki/ca_store.h): RFC 5280 §5 CRLs through OpenSSL 3's X509_CRL.
#include <openssl/x509v3.h>

#include "pki/ca_store.h"

namespace crypta::pki::internal {
namespace {

using X509RevokedPtr = OpensslPtr<X509_REVOKED, X509_REVOKED_free>;
using X509ExtensionPtr = OpensslPtr<X509_EXTENSION, X509_EXTENSION_free>;
using Asn1IntegerPtr = OpensslPtr<ASN1_INTEGER, ASN1_INTEGER_free>;
using Asn1TimePtr = OpensslPtr<ASN1_TIME, ASN1_TIME_free>;

const EVP_MD* DigestFor(const PrivateKey& key) {
  switch (key.type()) {
    case KeyType::kEcP384:
      return EVP_sha384();
    case KeyType::kEcP521:
      return EVP_sha512();
    case KeyType::kEd25519:
      return nullptr;
    default:
      return EVP_sha256();
  }
}

Result<Asn1IntegerPtr> SerialFromHex(const std::string& hex) {
  BIGNUM* raw = nullptr;
  if (hex.empty() || hex[0] == '-' ||
      BN_hex2bn(&raw, hex.c_str()) != static_cast<int>(hex.size())) {
    BN_free(raw);
    return MakeError(ErrorCode::kDataLoss, "CRL: bad stored serial \"" + hex.substr(0, 80) + "\"");
  }
  BignumPtr bn(raw);
  Asn1IntegerPtr out(BN_to_ASN1_INTEGER(bn.get(), nullptr));
  if (!out) return MakeError(OpensslError(ErrorCode::kInternal, "BN_to_ASN1_INTEGER"));
  return out;
}

}  // namespace

Result<Bytes> BuildCrl(const Certificate& issuer, const PrivateKey& issuer_key,
                       const std::vector<RevokedSerial>& revoked, int64_t this_update,
                       int64_t next_update) {
  if (next_update <= this_update) {
    return MakeError(ErrorCode::kInvalidArgument, "CRL: nextUpdate must be after thisUpdate");
  }
  X509CrlPtr crl(X509_CRL_new());
  Asn1TimePtr last(ASN1_TIME_set(nullptr, static_cast<time_t>(this_update)));
  Asn1TimePtr next(ASN1_TIME_set(nullptr, static_cast<time_t>(next_update)));
  // RFC 5280 §5.1.2.1: version v2 (integer 1) since the CRL has extensions.
  if (!crl || !last || !next || X509_CRL_set_version(crl.get(), X509_CRL_VERSION_2) != 1 ||
      X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(issuer.x509())) != 1 ||
      X509_CRL_set1_lastUpdate(crl.get(), last.get()) != 1 ||
      X509_CRL_set1_nextUpdate(crl.get(), next.get()) != 1) {
    return MakeError(OpensslError(ErrorCode::kInternal, "CRL header"));
  }
  for (const RevokedSerial& entry : revoked) {
    CRYPTA_ASSIGN_OR_RETURN(Asn1IntegerPtr serial, SerialFromHex(entry.serial_hex));
    X509RevokedPtr rev(X509_REVOKED_new());
    Asn1TimePtr when(ASN1_TIME_set(nullptr, static_cast<time_t>(entry.revoked_at)));
    if (!rev || !when || X509_REVOKED_set_serialNumber(rev.get(), serial.get()) != 1 ||
        X509_REVOKED_set_revocationDate(rev.get(), when.get()) != 1 ||
        X509_CRL_add0_revoked(crl.get(), rev.get()) != 1) {
      return MakeError(OpensslError(ErrorCode::kInternal, "CRL entry"));
    }
    rev.release();  // owned by the CRL now
  }
  // §5.2.1 authorityKeyIdentifier (MUST), §5.2.3 cRLNumber (MUST).
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer.x509(), nullptr, nullptr, crl.get(), 0);
  X509ExtensionPtr aki(
      X509V3_EXT_nconf_nid(nullptr, &ctx, NID_authority_key_identifier, "keyid:always"));
  if (!aki || X509_CRL_add_ext(crl.get(), aki.get(), -1) != 1) {
    return MakeError(OpensslError(ErrorCode::kInternal, "CRL authorityKeyIdentifier"));
  }
  Asn1IntegerPtr number(ASN1_INTEGER_new());
  if (!number || ASN1_INTEGER_set_int64(number.get(), this_update) != 1 ||
      X509_CRL_add1_ext_i2d(crl.get(), NID_crl_number, number.get(), 0, X509V3_ADD_DEFAULT) != 1) {
    return MakeError(OpensslError(ErrorCode::kInternal, "CRL number"));
  }
  if (X509_CRL_sort(crl.get()) != 1 ||
      X509_CRL_sign(crl.get(), issuer_key.pkey(), DigestFor(issuer_key)) <= 0) {
    return MakeError(OpensslError(ErrorCode::kInternal, "CRL signing"));
  }
  unsigned char* der = nullptr;
  int len = i2d_X509_CRL(crl.get(), &der);
  if (len <= 0) return MakeError(OpensslError(ErrorCode::kInternal, "i2d_X509_CRL"));
  Bytes out(der, der + len);
  OPENSSL_free(der);
  return out;
}

}  // namespace crypta::pki::internal

#include "crypto/x509_builder.h"

#include <openssl/x509v3.h>

#include "crypto/random.h"

namespace crypta {
namespace {

using X509ExtensionPtr = OpensslPtr<X509_EXTENSION, X509_EXTENSION_free>;
using Asn1IntegerPtr = OpensslPtr<ASN1_INTEGER, ASN1_INTEGER_free>;
using Asn1ObjectPtr = OpensslPtr<ASN1_OBJECT, ASN1_OBJECT_free>;
using Asn1OctetStringPtr = OpensslPtr<ASN1_OCTET_STRING, ASN1_OCTET_STRING_free>;

Status AddConfExtension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer ? issuer : cert, cert, nullptr, nullptr, 0);
  X509ExtensionPtr ext(X509V3_EXT_nconf_nid(nullptr, &ctx, nid, value.c_str()));
  if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) {
    return MakeError(
        OpensslError(ErrorCode::kInvalidArgument, "certificate extension \"" + value + "\""));
  }
  return OkStatus();
}

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

}  // namespace

Result<Certificate> IssueCertificate(const CertificateTemplate& t, const PublicKey& subject_key,
                                     const Certificate* issuer, const PrivateKey& issuer_key) {
  if (t.common_name.empty())
    return MakeError(ErrorCode::kInvalidArgument, "certificate: empty common name");
  if (t.not_after <= t.not_before) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "certificate: not_after must be after not_before");
  }
  X509Ptr x(X509_new());
  if (!x || X509_set_version(x.get(), X509_VERSION_3) != 1) {
    return MakeError(OpensslError(ErrorCode::kInternal, "X509_new"));
  }
  Bytes serial = t.serial;
  if (serial.empty()) {
    CRYPTA_ASSIGN_OR_RETURN(serial, RandomBytes(16));
    serial[0] &= 0x7f;  // positive
    serial[0] |= 0x01;  // and of full length
  }
  BignumPtr bn(BN_bin2bn(serial.data(), static_cast<int>(serial.size()), nullptr));
  Asn1IntegerPtr asn_serial(bn ? BN_to_ASN1_INTEGER(bn.get(), nullptr) : nullptr);
  if (!asn_serial || X509_set_serialNumber(x.get(), asn_serial.get()) != 1 ||
      !ASN1_TIME_set(X509_getm_notBefore(x.get()), static_cast<time_t>(t.not_before)) ||
      !ASN1_TIME_set(X509_getm_notAfter(x.get()), static_cast<time_t>(t.not_after))) {
    return MakeError(OpensslError(ErrorCode::kInternal, "certificate serial/validity"));
  }
  X509_NAME* name = X509_get_subject_name(x.get());
  if (!t.organization.empty()) {
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
                               reinterpret_cast<const unsigned char*>(t.organization.c_str()), -1,
                               -1, 0);
  }
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(t.common_name.c_str()), -1, -1,
                             0);
  X509* issuer_x509 = issuer ? issuer->x509() : nullptr;
  if (X509_set_issuer_name(x.get(), issuer ? X509_get_subject_name(issuer_x509) : name) != 1 ||
      X509_set_pubkey(x.get(), subject_key.pkey()) != 1) {
    return MakeError(OpensslError(ErrorCode::kInternal, "certificate names/key"));
  }
  std::string bc = t.is_ca ? "critical,CA:TRUE" : "critical,CA:FALSE";
  if (t.is_ca && t.path_len) bc += ",pathlen:" + std::to_string(*t.path_len);
  CRYPTA_RETURN_IF_ERROR(AddConfExtension(x.get(), issuer_x509, NID_basic_constraints, bc));
  CRYPTA_RETURN_IF_ERROR(
      AddConfExtension(x.get(), issuer_x509, NID_key_usage,
                       t.is_ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature"));
  CRYPTA_RETURN_IF_ERROR(
      AddConfExtension(x.get(), issuer_x509, NID_subject_key_identifier, "hash"));
  if (issuer) {
    CRYPTA_RETURN_IF_ERROR(
        AddConfExtension(x.get(), issuer_x509, NID_authority_key_identifier, "keyid:always"));
  }
  // The values go through OpenSSL's config syntax: refuse separators and escapes.
  std::string san;
  auto add_names = [&san](const std::vector<std::string>& names, const char* kind) -> Status {
    for (const std::string& name : names) {
      if (name.empty() || name.find_first_of(",\\\"\n\r") != std::string::npos) {
        return MakeError(ErrorCode::kInvalidArgument,
                         std::string("certificate ") + kind + " name \"" + name + "\"");
      }
      san += (san.empty() ? "" : ",") + std::string(kind) + ":" + name;
    }
    return OkStatus();
  };
  CRYPTA_RETURN_IF_ERROR(add_names(t.san_uris, "URI"));
  CRYPTA_RETURN_IF_ERROR(add_names(t.san_dns, "DNS"));
  CRYPTA_RETURN_IF_ERROR(add_names(t.san_ips, "IP"));
  if (!t.extended_key_usage.empty()) {
    std::string eku;
    for (const std::string& usage : t.extended_key_usage) eku += (eku.empty() ? "" : ",") + usage;
    CRYPTA_RETURN_IF_ERROR(AddConfExtension(x.get(), issuer_x509, NID_ext_key_usage, eku));
  }
  if (!san.empty()) {
    CRYPTA_RETURN_IF_ERROR(AddConfExtension(x.get(), issuer_x509, NID_subject_alt_name, san));
  }
  if (!t.permitted_uri_hosts.empty()) {
    if (!t.is_ca) {
      return MakeError(ErrorCode::kInvalidArgument, "certificate: name constraints on a non-CA");
    }
    std::string nc = "critical";
    for (const std::string& host : t.permitted_uri_hosts) {
      if (host.empty() || host.find_first_of(",\\\";:/\n\r ") != std::string::npos) {
        return MakeError(ErrorCode::kInvalidArgument,
                         "certificate name constraint URI host \"" + host + "\"");
      }
      nc += ",permitted;URI:" + host;
    }
    CRYPTA_RETURN_IF_ERROR(AddConfExtension(x.get(), issuer_x509, NID_name_constraints, nc));
  }
  for (const CustomExtension& e : t.extensions) {
    Asn1ObjectPtr obj(OBJ_txt2obj(e.oid.c_str(), /*no_name=*/1));
    Asn1OctetStringPtr value(ASN1_OCTET_STRING_new());
    if (!obj || !value ||
        ASN1_OCTET_STRING_set(value.get(), e.der_value.data(),
                              static_cast<int>(e.der_value.size())) != 1) {
      return MakeError(ErrorCode::kInvalidArgument, "certificate extension OID " + e.oid);
    }
    X509ExtensionPtr ext(
        X509_EXTENSION_create_by_OBJ(nullptr, obj.get(), e.critical ? 1 : 0, value.get()));
    if (!ext || X509_add_ext(x.get(), ext.get(), -1) != 1) {
      return MakeError(OpensslError(ErrorCode::kInternal, "X509_add_ext " + e.oid));
    }
  }
  if (X509_sign(x.get(), issuer_key.pkey(), DigestFor(issuer_key)) <= 0) {
    return MakeError(OpensslError(ErrorCode::kInvalidArgument, "certificate signing"));
  }
  unsigned char* der = nullptr;
  int len = i2d_X509(x.get(), &der);
  if (len <= 0) return MakeError(OpensslError(ErrorCode::kInternal, "i2d_X509"));
  Result<Certificate> cert = Certificate::FromDer(ByteSpan(der, static_cast<size_t>(len)));
  OPENSSL_free(der);
  return cert;
}

}  // namespace crypta

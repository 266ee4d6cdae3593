// Test-only helpers: a generated DCAP PKI (root -> "Intel SGX PCK Platform CA" -> "Intel
// SGX PCK Certificate" with a copied SGX extension) and a quote re-signed with it, so tests
// and benchmarks can exercise revocation and other cases no real vector shows. Not part of
// crypta_attest (header only, included by *_test.cc / bench only).
#ifndef CRYPTA_ATTEST_DCAP_DCAP_TEST_BUILDER_H_
#define CRYPTA_ATTEST_DCAP_DCAP_TEST_BUILDER_H_

#include <openssl/x509.h>

#include <string>
#include <vector>

#include "attest/dcap/intel_roots.h"
#include "attest/dcap/quote.h"
#include "common/encoding.h"
#include "crypto/hash.h"
#include "crypto/keys.h"
#include "crypto/openssl_util.h"
#include "crypto/signature.h"
#include "crypto/x509.h"
#include "crypto/x509_builder.h"

namespace crypta::attest::dcap::testing {

inline std::string CertToPem(const Certificate& cert) {
  std::string b64 = Base64Encode(cert.der());
  std::string out = "-----BEGIN CERTIFICATE-----\n";
  for (size_t i = 0; i < b64.size(); i += 64) out += b64.substr(i, 64) + "\n";
  return out + "-----END CERTIFICATE-----\n";
}

struct TestPki {
  PrivateKey root_key = *PrivateKey::Generate(KeyType::kEcP256);
  PrivateKey ca_key = *PrivateKey::Generate(KeyType::kEcP256);
  PrivateKey pck_key = *PrivateKey::Generate(KeyType::kEcP256);
  PrivateKey att_key = *PrivateKey::Generate(KeyType::kEcP256);
  std::optional<Certificate> root, ca, pck;

  // Certificates valid in [now - 1 year, now + 1 year]; `sgx_extension` is the DER value
  // of OID 1.2.840.113741.1.13.1 (e.g. copied from a real PCK certificate).
  static TestPki Make(int64_t now, const Bytes& sgx_extension, Bytes pck_serial = {0x42}) {
    TestPki p;
    const int64_t year = 365 * 86400;
    CertificateTemplate t;
    t.organization = "Crypta Test";
    t.not_before = now - year;
    t.not_after = now + year;
    t.common_name = "Crypta Test SGX Root CA";
    t.serial = {0x01};
    t.is_ca = true;
    p.root = *IssueCertificate(t, p.root_key.GetPublicKey(), nullptr, p.root_key);
    t.common_name = "Intel SGX PCK Platform CA";
    t.serial = {0x02};
    t.path_len = 0;
    p.ca = *IssueCertificate(t, p.ca_key.GetPublicKey(), &*p.root, p.root_key);
    t.common_name = "Intel SGX PCK Certificate";
    t.serial = std::move(pck_serial);
    t.is_ca = false;
    t.path_len.reset();
    t.extensions.push_back({"1.2.840.113741.1.13.1", false, sgx_extension});
    p.pck = *IssueCertificate(t, p.pck_key.GetPublicKey(), &*p.ca, p.ca_key);
    return p;
  }

  DcapTrustRoots Roots() const { return DcapTrustRoots{{*root}, {}}; }
  // Chain PEM in a scrambled order (root, leaf, CA) with a trailing NUL, as some QEs emit.
  std::string ChainPem() const {
    return CertToPem(*root) + CertToPem(*pck) + CertToPem(*ca) + std::string(1, '\0');
  }
};

inline void PutU16(Bytes& b, uint16_t v) {
  b.push_back(v & 0xff);
  b.push_back(v >> 8);
}
inline void PutU32(Bytes& b, uint32_t v) {
  for (int i = 0; i < 4; ++i) b.push_back((v >> (8 * i)) & 0xff);
}

// Re-signs `tmpl` (header || body taken from tmpl.signed_data) with `pki`.
inline Bytes BuildQuote(const ParsedQuote& tmpl, const TestPki& pki) {
  const EcdsaOptions raw{EcdsaFormat::kRaw, 0};
  Bytes att_pub = *pki.att_key.GetPublicKey().EcPoint();
  att_pub.erase(att_pub.begin());  // drop 0x04
  Bytes qe_report = tmpl.qe_report;
  Bytes binding = Sha256(Concat(att_pub, tmpl.qe_auth_data));
  std::copy(binding.begin(), binding.end(), qe_report.begin() + 320);
  std::fill(qe_report.begin() + 352, qe_report.end(), 0);
  Bytes qe_sig = *EcdsaSign(pki.pck_key, HashAlg::kSha256, qe_report, raw);
  Bytes quote_sig = *EcdsaSign(pki.att_key, HashAlg::kSha256, tmpl.signed_data, raw);
  const std::string pem = pki.ChainPem();

  Bytes inner = qe_report;
  inner.insert(inner.end(), qe_sig.begin(), qe_sig.end());
  PutU16(inner, static_cast<uint16_t>(tmpl.qe_auth_data.size()));
  inner.insert(inner.end(), tmpl.qe_auth_data.begin(), tmpl.qe_auth_data.end());
  PutU16(inner, kCertDataPckChain);
  PutU32(inner, static_cast<uint32_t>(pem.size()));
  inner.insert(inner.end(), pem.begin(), pem.end());

  Bytes sig = quote_sig;
  sig.insert(sig.end(), att_pub.begin(), att_pub.end());
  if (tmpl.header.version == 3) {
    sig.insert(sig.end(), inner.begin(), inner.end());
  } else {
    PutU16(sig, kCertDataQeReport);
    PutU32(sig, static_cast<uint32_t>(inner.size()));
    sig.insert(sig.end(), inner.begin(), inner.end());
  }
  Bytes out = tmpl.signed_data;
  PutU32(out, static_cast<uint32_t>(sig.size()));
  out.insert(out.end(), sig.begin(), sig.end());
  return out;
}

// A DER CRL from `issuer` listing `revoked` serials (OpenSSL builders).
inline Bytes MakeCrlDer(const Certificate& issuer, const PrivateKey& issuer_key,
                        int64_t this_update, int64_t next_update,
                        const std::vector<long>& revoked) {
  X509_CRL* crl = X509_CRL_new();
  X509_CRL_set_version(crl, 1);
  X509_CRL_set_issuer_name(crl, X509_get_subject_name(issuer.x509()));
  ASN1_TIME* last = ASN1_TIME_set(nullptr, static_cast<time_t>(this_update));
  ASN1_TIME* next = ASN1_TIME_set(nullptr, static_cast<time_t>(next_update));
  X509_CRL_set1_lastUpdate(crl, last);
  X509_CRL_set1_nextUpdate(crl, next);
  for (long serial : revoked) {
    X509_REVOKED* entry = X509_REVOKED_new();
    ASN1_INTEGER* number = ASN1_INTEGER_new();
    ASN1_INTEGER_set(number, serial);
    X509_REVOKED_set_serialNumber(entry, number);
    X509_REVOKED_set_revocationDate(entry, last);
    ASN1_INTEGER_free(number);
    X509_CRL_add0_revoked(crl, entry);
  }
  X509_CRL_sort(crl);
  X509_CRL_sign(crl, issuer_key.pkey(), EVP_sha256());
  unsigned char* der = nullptr;
  int len = i2d_X509_CRL(crl, &der);
  Bytes out(der, der + (len > 0 ? len : 0));
  OPENSSL_free(der);
  ASN1_TIME_free(last);
  ASN1_TIME_free(next);
  X509_CRL_free(crl);
  return out;
}

}  // namespace crypta::attest::dcap::testing

#endif  // CRYPTA_ATTEST_DCAP_DCAP_TEST_BUILDER_H_

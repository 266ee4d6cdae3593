// Issuing X.509 certificates: the simulated TEE's root and node certificates now, the
// platform CA and SVIDs later. Certificates are built from a template and signed by an
// issuer key (ECDSA with SHA-256/384 by curve, Ed25519, or RSA PKCS#1 SHA-256).
#ifndef CRYPTA_CRYPTO_X509_BUILDER_H_
#define CRYPTA_CRYPTO_X509_BUILDER_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "common/status.h"
#include "crypto/keys.h"
#include "crypto/x509.h"

namespace crypta {

struct CustomExtension {
  std::string oid;  // dotted form
  bool critical = false;
  Bytes der_value;  // the DER inside extnValue
};

struct CertificateTemplate {
  std::string common_name;
  std::string organization;
  Bytes serial;            // empty = 16 random bytes (positive)
  int64_t not_before = 0;  // unix seconds
  int64_t not_after = 0;
  bool is_ca = false;  // basicConstraints (critical), with path_len for CAs
  std::optional<int> path_len;
  // keyUsage (critical): CAs get keyCertSign|cRLSign; leaves digitalSignature.
  std::vector<std::string> san_uris;
  std::vector<std::string> san_dns;
  std::vector<std::string> san_ips;  // "127.0.0.1", "::1"
  // extendedKeyUsage (non-critical), OpenSSL short names: "serverAuth", "clientAuth".
  std::vector<std::string> extended_key_usage;
  // nameConstraints (critical, RFC 5280 §4.2.1.10) for CAs: permitted URI hosts, e.g. a
  // SPIFFE trust domain "crypta.local" (a leading "." permits subdomains). Empty = none.
  std::vector<std::string> permitted_uri_hosts;
  std::vector<CustomExtension> extensions;
};

// Signs a certificate for `subject_key`. `issuer` null means self-signed (then
// `issuer_key` must be the subject's private key). Fails on an invalid template
// (empty name, not_after <= not_before, a SAN with characters outside its syntax) or
// key/issuer mismatch.
Result<Certificate> IssueCertificate(const CertificateTemplate& tmpl, const PublicKey& subject_key,
                                     const Certificate* issuer, const PrivateKey& issuer_key);

}  // namespace crypta

#endif  // CRYPTA_CRYPTO_X509_BUILDER_H_

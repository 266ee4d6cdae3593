// X.509 certificates and CRLs (RFC 5280), and chain verification at an explicit time.
//
// Certificate and Crl parse untrusted DER or PEM (RFC 7468) with size caps and never
// abort; a parse failure is an Error that names what was wrong. Both are immutable after
// parsing; copies share the underlying OpenSSL object, and all const methods are
// thread-safe.
//
// VerifyChain builds a path from a leaf through untrusted intermediates to one of the
// caller's pinned roots, with OpenSSL's X509_STORE at the caller's verification time and
// no default trust store, optionally checking CRLs. It is what the SEV-SNP (ARK -> ASK ->
// VCEK, RSA-PSS/SHA-384) and Intel DCAP (Root CA -> Platform/Processor CA -> PCK, ECDSA,
// with CRLs) verifiers use.
#ifndef CRYPTA_CRYPTO_X509_H_
#define CRYPTA_CRYPTO_X509_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.h"
#include "common/status.h"
#include "crypto/keys.h"
#include "crypto/openssl_util.h"

namespace crypta {

// Size caps for untrusted input.
inline constexpr size_t kMaxCertificateDerSize = 64 * 1024;
inline constexpr size_t kMaxCrlDerSize = 1024 * 1024;
inline constexpr size_t kMaxPemInputSize = 4 * 1024 * 1024;
inline constexpr size_t kMaxPemBundleCertificates = 32;

// One extension (RFC 5280 §4.1): `value` is the content of extnValue, i.e. the DER
// encoding of the extension's own value (for AMD's blSPL, a DER INTEGER such as 02 01 03).
struct CertificateExtension {
  bool critical = false;
  Bytes value;
};

class Certificate {
 public:
  // One DER certificate; rejects trailing bytes and inputs over kMaxCertificateDerSize.
  static Result<Certificate> FromDer(ByteSpan der);
  // Exactly one "CERTIFICATE" PEM block (whitespace and trailing NUL bytes allowed around).
  static Result<Certificate> FromPem(std::string_view pem);
  // DER, or PEM when the input (after leading whitespace) starts with "-----BEGIN".
  static Result<Certificate> Parse(ByteSpan der_or_pem);
  // One or more concatenated "CERTIFICATE" blocks, in input order, e.g. a DCAP quote's PCK
  // chain (which may end with a NUL byte) or AMD's ASK/ARK bundle. Only whitespace may
  // separate the blocks; fails on anything else or beyond kMaxPemBundleCertificates.
  static Result<std::vector<Certificate>> ParsePemBundle(std::string_view pem);

  // Distinguished names as RFC 2253 strings, e.g. "CN=SEV-Milan,O=Advanced Micro Devices,...".
  const std::string& subject() const { return subject_; }
  const std::string& issuer() const { return issuer_; }
  // Serial number in lowercase hex without leading zeros ("0" for zero; "-" if negative).
  const std::string& serial_hex() const { return serial_hex_; }
  // Validity bounds (RFC 5280 §4.1.2.5) in Unix seconds.
  int64_t not_before() const { return not_before_; }
  int64_t not_after() const { return not_after_; }
  // The signature algorithm's name, e.g. "rsassaPss", "ecdsa-with-SHA256", or the dotted
  // OID when OpenSSL does not know it.
  const std::string& signature_algorithm() const { return signature_algorithm_; }
  // The exact DER bytes that were parsed.
  const Bytes& der() const { return *der_; }
  // PEM text (RFC 7468 §5): "-----BEGIN CERTIFICATE-----", base64 in 64-column lines, END.
  std::string ToPem() const;
  Bytes Sha256Fingerprint() const;
  // The subject public key; fails if its algorithm or curve is not supported by PublicKey.
  Result<PublicKey> public_key() const;

  // basicConstraints (RFC 5280 §4.2.1.9) present with cA = TRUE.
  bool is_ca() const { return is_ca_; }
  // Subject and issuer names are equal (a root or a self-issued certificate).
  bool is_self_issued() const { return subject_ == issuer_; }

  // The extension with this dotted OID ("1.3.6.1.4.1.3704.1.3.1"). kNotFound if absent;
  // kInvalidArgument if it occurs more than once (RFC 5280 §4.2 forbids that).
  Result<CertificateExtension> FindExtension(std::string_view dotted_oid) const;
  // subjectAltName uniformResourceIdentifier / dNSName entries (RFC 5280 §4.2.1.6); empty
  // when there is no SAN; fails if the SAN is malformed or an entry contains a NUL byte.
  Result<std::vector<std::string>> SanUris() const;
  Result<std::vector<std::string>> SanDnsNames() const;

  // The OpenSSL object, borrowed (valid while any copy of this Certificate lives).
  X509* x509() const { return x509_.get(); }

 private:
  Certificate() = default;
  Result<std::vector<std::string>> SanEntries(int type) const;

  std::shared_ptr<X509> x509_;
  std::shared_ptr<const Bytes> der_;
  std::string subject_;
  std::string issuer_;
  std::string serial_hex_;
  std::string signature_algorithm_;
  int64_t not_before_ = 0;
  int64_t not_after_ = 0;
  bool is_ca_ = false;
  std::optional<PublicKey> public_key_;
  std::string public_key_error_;
};

// A certificate revocation list (RFC 5280 §5).
class Crl {
 public:
  // Rejects trailing bytes and inputs over kMaxCrlDerSize.
  static Result<Crl> FromDer(ByteSpan der);
  // Exactly one "X509 CRL" PEM block.
  static Result<Crl> FromPem(std::string_view pem);
  // DER, or PEM when the input starts with "-----BEGIN".
  static Result<Crl> Parse(ByteSpan der_or_pem);

  const std::string& issuer() const { return issuer_; }  // RFC 2253
  int64_t this_update() const { return this_update_; }
  std::optional<int64_t> next_update() const { return next_update_; }
  size_t revoked_count() const;
  // Whether the list contains this serial (lowercase hex, as Certificate::serial_hex()).
  bool ListsSerial(std::string_view serial_hex) const;
  const Bytes& der() const { return *der_; }
  X509_CRL* x509_crl() const { return crl_.get(); }

 private:
  Crl() = default;

  std::shared_ptr<X509_CRL> crl_;
  std::shared_ptr<const Bytes> der_;
  std::string issuer_;
  int64_t this_update_ = 0;
  std::optional<int64_t> next_update_;
};

struct ChainVerifyOptions {
  // When false, a certificate is checked against a CRL only if one from its issuer was
  // given. When true, every certificate below the pinned root must be covered by a CRL.
  bool require_crls = false;
  // Maximum number of intermediates between leaf and root.
  int max_depth = 8;
};

// A chain that verified: leaf first, the pinned root last.
struct VerifiedChain {
  std::vector<Certificate> certificates;
  const Certificate& leaf() const { return certificates.front(); }
  const Certificate& root() const { return certificates.back(); }
};

// Verifies `leaf` up to one of `roots` at `verification_time` (Unix seconds; the clock is
// never read). `intermediates` may come in any order and may contain unrelated or
// self-signed certificates (those are ignored: only `roots` are trust anchors). Every
// signature, validity period and CA constraint on the path is checked, and the roots' own
// self-signatures. With `crls`, each certificate whose issuer has a CRL among them is
// checked against it (its signature, validity window and revocation list). Windows
// include both bounds: a certificate is valid for notBefore <= time <= notAfter (RFC 5280
// §4.1.2.5) and a CRL is current for thisUpdate <= time <= nextUpdate (§5.1.2.4-5), to
// the second (OpenSSL alone would call both expired at their last second).
// Fails with kUnauthenticated and a message naming the certificate's subject and the
// reason: "expired", "not yet valid" (with the times), "unknown issuer", "bad signature",
// "revoked" (with the serial), "CRL expired", "no CRL", "not a CA"; kInvalidArgument for
// unusable arguments (no roots, negative time). Thread-safe: each call builds its own store.
Result<VerifiedChain> VerifyChain(const Certificate& leaf,
                                  std::span<const Certificate> intermediates,
                                  std::span<const Certificate> roots, int64_t verification_time,
                                  std::span<const Crl> crls = {}, ChainVerifyOptions options = {});

// Certificate::ToPem of each, in order: a chain or a bundle as PEM text.
std::string CertificatesToPem(const std::vector<Certificate>& certificates);

// "2030-01-24T17:58:26Z" (RFC 3339, UTC) for messages.
std::string FormatUnixTime(int64_t unix_seconds);

}  // namespace crypta

#endif  // CRYPTA_CRYPTO_X509_H_

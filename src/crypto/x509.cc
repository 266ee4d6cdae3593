#include "crypto/x509.h"

#include <openssl/asn1.h>
#include <openssl/objects.h>

#include <ctime>
#include <string>

#include "common/encoding.h"
#include "crypto/hash.h"

namespace crypta {
namespace {

using GeneralNamesPtr = OpensslPtr<GENERAL_NAMES, GENERAL_NAMES_free>;
using BasicConstraintsPtr = OpensslPtr<BASIC_CONSTRAINTS, BASIC_CONSTRAINTS_free>;
using Asn1ObjectPtr = OpensslPtr<ASN1_OBJECT, ASN1_OBJECT_free>;

bool IsPemSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// RFC 7468 §2-3 textual encoding. Only whitespace may surround and separate the blocks,
// plus NUL bytes at the very end (Intel DCAP certification data counts a trailing NUL);
// headers and explanatory text are rejected. The base64 body may be wrapped anywhere.
Result<std::vector<Bytes>> DecodePemBlocks(std::string_view text, const std::string& label,
                                           size_t max_blocks, size_t max_der) {
  if (text.size() > kMaxPemInputSize) {
    return MakeError(ErrorCode::kResourceExhausted, "PEM: input of " + std::to_string(text.size()) +
                                                        " bytes exceeds the cap of " +
                                                        std::to_string(kMaxPemInputSize));
  }
  while (!text.empty() && text.back() == '\0') text.remove_suffix(1);
  const std::string begin = "-----BEGIN " + label + "-----";
  const std::string end = "-----END " + label + "-----";
  std::vector<Bytes> blocks;
  size_t pos = 0;
  while (true) {
    while (pos < text.size() && IsPemSpace(text[pos])) ++pos;
    if (pos == text.size()) break;
    if (text.compare(pos, begin.size(), begin) != 0) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "PEM: expected \"" + begin + "\" at offset " + std::to_string(pos));
    }
    if (blocks.size() == max_blocks) {
      return MakeError(ErrorCode::kResourceExhausted,
                       "PEM: more than " + std::to_string(max_blocks) + " " + label + " blocks");
    }
    pos += begin.size();
    size_t stop = text.find(end, pos);
    if (stop == std::string_view::npos) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "PEM block " + std::to_string(blocks.size()) + ": no \"" + end + "\" line");
    }
    std::string base64;
    base64.reserve(stop - pos);
    for (char c : text.substr(pos, stop - pos)) {
      if (!IsPemSpace(c)) base64.push_back(c);
    }
    Result<Bytes> der = Base64Decode(base64);
    if (!der)
      return MakeError(der.error().WithContext("PEM block " + std::to_string(blocks.size())));
    if (der->empty() || der->size() > max_der) {
      return MakeError(ErrorCode::kInvalidArgument, "PEM block " + std::to_string(blocks.size()) +
                                                        ": empty or over " +
                                                        std::to_string(max_der) + " bytes");
    }
    blocks.push_back(std::move(*der));
    pos = stop + end.size();
  }
  if (blocks.empty()) {
    return MakeError(ErrorCode::kInvalidArgument, "PEM: no \"" + begin + "\" block");
  }
  return blocks;
}

bool LooksLikePem(ByteSpan data) {
  std::string_view text = AsStringView(data);
  size_t i = 0;
  while (i < text.size() && IsPemSpace(text[i])) ++i;
  return text.substr(i).starts_with("-----BEGIN");
}

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
int64_t DaysFromCivil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2 ? 1 : 0;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

Result<std::string> ObjectName(const ASN1_OBJECT* obj) {
  int nid = OBJ_obj2nid(obj);
  if (nid != NID_undef) return std::string(OBJ_nid2ln(nid));
  char buf[128];
  int len = OBJ_obj2txt(buf, sizeof(buf), obj, 1);
  if (len <= 0 || static_cast<size_t>(len) >= sizeof(buf)) {
    return MakeError(ErrorCode::kInvalidArgument, "algorithm OID is malformed or too long");
  }
  return std::string(buf, static_cast<size_t>(len));
}

Result<int64_t> AsnTimeToUnix(const ASN1_TIME* time, std::string_view field) {
  struct tm tm = {};
  if (time == nullptr || ASN1_TIME_to_tm(time, &tm) != 1) {
    OpensslErrorString("");
    return MakeError(ErrorCode::kInvalidArgument, std::string(field) + ": not a valid time");
  }
  int64_t days = DaysFromCivil(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
  return days * 86400 + tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec;
}

Result<std::string> NameToString(const X509_NAME* name, std::string_view field) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253) < 0) {
    return MakeError(OpensslError(ErrorCode::kInvalidArgument, std::string(field) + ": bad name"));
  }
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data ? data : "", len > 0 ? static_cast<size_t>(len) : 0);
}

std::string SerialToHex(const ASN1_INTEGER* serial) {
  ByteSpan magnitude(ASN1_STRING_get0_data(serial),
                     static_cast<size_t>(ASN1_STRING_length(serial)));
  std::string hex = HexEncode(magnitude);
  size_t first = hex.find_first_not_of('0');
  hex = first == std::string::npos ? "0" : hex.substr(first);
  if (ASN1_STRING_type(serial) == V_ASN1_NEG_INTEGER) return "-" + hex;
  return hex;
}

}  // namespace

std::string FormatUnixTime(int64_t unix_seconds) {
  time_t t = static_cast<time_t>(unix_seconds);
  struct tm tm = {};
  char buf[64];
  if (gmtime_r(&t, &tm) == nullptr || strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
    return std::to_string(unix_seconds) + "s";
  }
  return buf;
}

// ---------------------------------------------------------------- Certificate

Result<Certificate> Certificate::FromDer(ByteSpan der) {
  if (der.empty() || der.size() > kMaxCertificateDerSize) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "X.509 certificate: " + std::to_string(der.size()) + " bytes (want 1.." +
                         std::to_string(kMaxCertificateDerSize) + ")");
  }
  const unsigned char* p = der.data();
  X509Ptr x509(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  if (!x509) {
    return MakeError(OpensslError(ErrorCode::kInvalidArgument, "X.509 certificate: not valid DER"));
  }
  if (p != der.data() + der.size()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "X.509 certificate: " + std::to_string(der.data() + der.size() - p) +
                         " trailing bytes after the certificate");
  }
  // Decodes and caches the extensions (RFC 5280 §4.2); OpenSSL flags undecodable or
  // duplicate ones, which path validation would reject later anyway.
  if (X509_get_extension_flags(x509.get()) & EXFLAG_INVALID) {
    OpensslErrorString("");
    return MakeError(ErrorCode::kInvalidArgument,
                     "X.509 certificate: malformed or duplicate extensions");
  }
  Certificate cert;
  CRYPTA_ASSIGN_OR_RETURN(cert.subject_,
                          NameToString(X509_get_subject_name(x509.get()), "certificate subject"));
  CRYPTA_ASSIGN_OR_RETURN(cert.issuer_,
                          NameToString(X509_get_issuer_name(x509.get()), "certificate issuer"));
  cert.serial_hex_ = SerialToHex(X509_get0_serialNumber(x509.get()));
  CRYPTA_ASSIGN_OR_RETURN(cert.not_before_,
                          AsnTimeToUnix(X509_get0_notBefore(x509.get()), "certificate notBefore"));
  CRYPTA_ASSIGN_OR_RETURN(cert.not_after_,
                          AsnTimeToUnix(X509_get0_notAfter(x509.get()), "certificate notAfter"));
  const ASN1_OBJECT* sig_oid = nullptr;
  X509_ALGOR_get0(&sig_oid, nullptr, nullptr, X509_get0_tbs_sigalg(x509.get()));
  CRYPTA_ASSIGN_OR_RETURN(cert.signature_algorithm_, ObjectName(sig_oid));

  int critical = -1;
  BasicConstraintsPtr bc(static_cast<BASIC_CONSTRAINTS*>(
      X509_get_ext_d2i(x509.get(), NID_basic_constraints, &critical, nullptr)));
  if (!bc && critical != -1) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "X.509 certificate: basicConstraints is malformed or repeated");
  }
  cert.is_ca_ = bc && bc->ca;

  X509_PUBKEY* spki = X509_get_X509_PUBKEY(x509.get());
  unsigned char* spki_der = nullptr;
  int spki_len = spki ? i2d_X509_PUBKEY(spki, &spki_der) : -1;
  if (spki_len <= 0) {
    return MakeError(OpensslError(ErrorCode::kInvalidArgument, "X.509 certificate: bad SPKI"));
  }
  Result<PublicKey> key = PublicKey::FromSpkiDer(ByteSpan(spki_der, static_cast<size_t>(spki_len)));
  OPENSSL_free(spki_der);
  if (key) {
    cert.public_key_ = std::move(*key);
  } else {
    cert.public_key_error_ = "certificate \"" + cert.subject_ + "\": " + key.error().message();
  }
  cert.x509_ = std::shared_ptr<X509>(x509.release(), X509_free);
  cert.der_ = std::make_shared<const Bytes>(der.begin(), der.end());
  return cert;
}

Result<Certificate> Certificate::FromPem(std::string_view pem) {
  CRYPTA_ASSIGN_OR_RETURN(std::vector<Bytes> blocks,
                          DecodePemBlocks(pem, "CERTIFICATE", 1, kMaxCertificateDerSize));
  return FromDer(blocks.front());
}

std::string Certificate::ToPem() const {
  const std::string b64 = Base64Encode(der());
  std::string out = "-----BEGIN CERTIFICATE-----\n";
  for (size_t i = 0; i < b64.size(); i += 64) out += b64.substr(i, 64) + "\n";
  return out + "-----END CERTIFICATE-----\n";
}

std::string CertificatesToPem(const std::vector<Certificate>& certificates) {
  std::string out;
  for (const Certificate& cert : certificates) out += cert.ToPem();
  return out;
}

Result<Certificate> Certificate::Parse(ByteSpan der_or_pem) {
  return LooksLikePem(der_or_pem) ? FromPem(AsStringView(der_or_pem)) : FromDer(der_or_pem);
}

Result<std::vector<Certificate>> Certificate::ParsePemBundle(std::string_view pem) {
  CRYPTA_ASSIGN_OR_RETURN(
      std::vector<Bytes> blocks,
      DecodePemBlocks(pem, "CERTIFICATE", kMaxPemBundleCertificates, kMaxCertificateDerSize));
  std::vector<Certificate> certs;
  certs.reserve(blocks.size());
  for (size_t i = 0; i < blocks.size(); ++i) {
    Result<Certificate> cert = FromDer(blocks[i]);
    if (!cert) return MakeError(cert.error().WithContext("PEM bundle entry " + std::to_string(i)));
    certs.push_back(std::move(*cert));
  }
  return certs;
}

Bytes Certificate::Sha256Fingerprint() const { return Sha256(*der_); }

Result<PublicKey> Certificate::public_key() const {
  if (public_key_) return *public_key_;
  return MakeError(ErrorCode::kInvalidArgument, public_key_error_);
}

Result<CertificateExtension> Certificate::FindExtension(std::string_view dotted_oid) const {
  std::string oid_text(dotted_oid);
  Asn1ObjectPtr oid(OBJ_txt2obj(oid_text.c_str(), /*no_name=*/1));
  if (!oid) {
    OpensslErrorString("");
    return MakeError(ErrorCode::kInvalidArgument,
                     "extension OID \"" + oid_text + "\" is malformed");
  }
  int index = X509_get_ext_by_OBJ(x509_.get(), oid.get(), -1);
  if (index < 0) {
    return MakeError(ErrorCode::kNotFound,
                     "certificate \"" + subject_ + "\" has no extension " + oid_text);
  }
  if (X509_get_ext_by_OBJ(x509_.get(), oid.get(), index) >= 0) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "certificate \"" + subject_ + "\" repeats extension " + oid_text);
  }
  X509_EXTENSION* ext = X509_get_ext(x509_.get(), index);
  const ASN1_OCTET_STRING* value = X509_EXTENSION_get_data(ext);
  CertificateExtension out;
  out.critical = X509_EXTENSION_get_critical(ext) == 1;
  const unsigned char* data = ASN1_STRING_get0_data(value);
  out.value.assign(data, data + ASN1_STRING_length(value));
  return out;
}

Result<std::vector<std::string>> Certificate::SanEntries(int type) const {
  int critical = -1;
  GeneralNamesPtr names(static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(x509_.get(), NID_subject_alt_name, &critical, nullptr)));
  std::vector<std::string> out;
  if (!names) {
    if (critical == -1) return out;  // no SAN
    return MakeError(ErrorCode::kInvalidArgument,
                     "certificate \"" + subject_ + "\": subjectAltName is malformed or repeated");
  }
  for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), i);
    if (name->type != type) continue;
    // Both GEN_URI and GEN_DNS are IA5Strings.
    const ASN1_IA5STRING* s = type == GEN_URI ? name->d.uniformResourceIdentifier : name->d.dNSName;
    std::string value(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                      static_cast<size_t>(ASN1_STRING_length(s)));
    if (value.find('\0') != std::string::npos) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "certificate \"" + subject_ + "\": subjectAltName entry contains NUL");
    }
    out.push_back(std::move(value));
  }
  return out;
}

Result<std::vector<std::string>> Certificate::SanUris() const { return SanEntries(GEN_URI); }
Result<std::vector<std::string>> Certificate::SanDnsNames() const { return SanEntries(GEN_DNS); }

// ---------------------------------------------------------------- Crl

Result<Crl> Crl::FromDer(ByteSpan der) {
  if (der.empty() || der.size() > kMaxCrlDerSize) {
    return MakeError(ErrorCode::kInvalidArgument, "X.509 CRL: " + std::to_string(der.size()) +
                                                      " bytes (want 1.." +
                                                      std::to_string(kMaxCrlDerSize) + ")");
  }
  const unsigned char* p = der.data();
  X509CrlPtr crl(d2i_X509_CRL(nullptr, &p, static_cast<long>(der.size())));
  if (!crl) return MakeError(OpensslError(ErrorCode::kInvalidArgument, "X.509 CRL: not valid DER"));
  if (p != der.data() + der.size()) {
    return MakeError(ErrorCode::kInvalidArgument, "X.509 CRL: trailing bytes after the CRL");
  }
  Crl out;
  CRYPTA_ASSIGN_OR_RETURN(out.issuer_, NameToString(X509_CRL_get_issuer(crl.get()), "CRL issuer"));
  CRYPTA_ASSIGN_OR_RETURN(out.this_update_,
                          AsnTimeToUnix(X509_CRL_get0_lastUpdate(crl.get()), "CRL thisUpdate"));
  if (const ASN1_TIME* next = X509_CRL_get0_nextUpdate(crl.get())) {
    CRYPTA_ASSIGN_OR_RETURN(out.next_update_, AsnTimeToUnix(next, "CRL nextUpdate"));
  }
  out.crl_ = std::shared_ptr<X509_CRL>(crl.release(), X509_CRL_free);
  out.der_ = std::make_shared<const Bytes>(der.begin(), der.end());
  return out;
}

Result<Crl> Crl::FromPem(std::string_view pem) {
  CRYPTA_ASSIGN_OR_RETURN(std::vector<Bytes> blocks,
                          DecodePemBlocks(pem, "X509 CRL", 1, kMaxCrlDerSize));
  return FromDer(blocks.front());
}

Result<Crl> Crl::Parse(ByteSpan der_or_pem) {
  return LooksLikePem(der_or_pem) ? FromPem(AsStringView(der_or_pem)) : FromDer(der_or_pem);
}

size_t Crl::revoked_count() const {
  STACK_OF(X509_REVOKED)* revoked = X509_CRL_get_REVOKED(crl_.get());
  return revoked ? static_cast<size_t>(sk_X509_REVOKED_num(revoked)) : 0;
}

bool Crl::ListsSerial(std::string_view serial_hex) const {
  STACK_OF(X509_REVOKED)* revoked = X509_CRL_get_REVOKED(crl_.get());
  for (int i = 0; revoked && i < sk_X509_REVOKED_num(revoked); ++i) {
    const X509_REVOKED* entry = sk_X509_REVOKED_value(revoked, i);
    if (SerialToHex(X509_REVOKED_get0_serialNumber(entry)) == serial_hex) return true;
  }
  return false;
}

}  // namespace crypta

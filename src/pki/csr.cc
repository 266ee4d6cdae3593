#include "pki/csr.h"

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "common/constant_time.h"
#include "crypto/hash.h"
#include "crypto/openssl_util.h"

namespace crypta::pki {
namespace {

using X509ReqPtr = OpensslPtr<X509_REQ, X509_REQ_free>;

constexpr std::string_view kSvidRequestLabel = "crypta svid-request v1";

Result<X509ReqPtr> DecodeCsr(ByteSpan input) {
  if (input.empty()) return MakeError(ErrorCode::kInvalidArgument, "CSR: empty input");
  if (input.size() > kMaxCsrSize) {
    return MakeError(ErrorCode::kInvalidArgument, "CSR: " + std::to_string(input.size()) +
                                                      " bytes, more than the limit of " +
                                                      std::to_string(kMaxCsrSize));
  }
  size_t start = 0;
  while (start < input.size() && (input[start] == ' ' || input[start] == '\n' ||
                                  input[start] == '\r' || input[start] == '\t')) {
    ++start;
  }
  static constexpr std::string_view kPemBegin = "-----BEGIN";
  std::string_view head(reinterpret_cast<const char*>(input.data() + start),
                        std::min(kPemBegin.size(), input.size() - start));
  if (head == kPemBegin) {
    BioPtr bio(BIO_new_mem_buf(input.data(), static_cast<int>(input.size())));
    if (!bio) return MakeError(OpensslError(ErrorCode::kInternal, "CSR: BIO_new_mem_buf"));
    X509ReqPtr req(PEM_read_bio_X509_REQ(bio.get(), nullptr, nullptr, nullptr));
    if (!req) {
      return MakeError(OpensslError(ErrorCode::kInvalidArgument,
                                    "CSR: not a PEM \"CERTIFICATE REQUEST\" block"));
    }
    // Only whitespace may follow the block.
    char c;
    while (BIO_read(bio.get(), &c, 1) == 1) {
      if (c != ' ' && c != '\n' && c != '\r' && c != '\t') {
        return MakeError(ErrorCode::kInvalidArgument, "CSR: data after the PEM block");
      }
    }
    OpensslErrorString("");
    return req;
  }
  const unsigned char* p = input.data();
  X509ReqPtr req(d2i_X509_REQ(nullptr, &p, static_cast<long>(input.size())));
  if (!req) {
    return MakeError(OpensslError(ErrorCode::kInvalidArgument, "CSR: malformed DER"));
  }
  if (p != input.data() + input.size()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "CSR: " + std::to_string(input.data() + input.size() - p) +
                         " trailing bytes after the DER");
  }
  return req;
}

}  // namespace

Result<ParsedCsr> ParseCsr(ByteSpan der_or_pem) {
  CRYPTA_ASSIGN_OR_RETURN(X509ReqPtr req, DecodeCsr(der_or_pem));
  EVP_PKEY* pkey = X509_REQ_get0_pubkey(req.get());
  if (pkey == nullptr) {
    return MakeError(OpensslError(ErrorCode::kInvalidArgument, "CSR: unreadable public key"));
  }
  unsigned char* spki = nullptr;
  int spki_len = i2d_PUBKEY(pkey, &spki);
  if (spki_len <= 0) {
    return MakeError(OpensslError(ErrorCode::kInvalidArgument, "CSR: public key encoding"));
  }
  Bytes spki_der(spki, spki + spki_len);
  OPENSSL_free(spki);
  auto key = PublicKey::FromSpkiDer(spki_der);
  if (!key) return MakeError(key.error().WithContext("CSR public key"));
  if (key->type() != KeyType::kEcP256 && key->type() != KeyType::kEcP384 &&
      key->type() != KeyType::kEd25519) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "CSR: key type " + std::string(KeyTypeName(key->type())) +
                         " is not allowed for SVIDs (EC P-256, EC P-384 or Ed25519)");
  }
  // RFC 2986 §3: the signature over certificationRequestInfo proves possession of the key.
  if (X509_REQ_verify(req.get(), pkey) != 1) {
    OpensslErrorString("");
    return MakeError(ErrorCode::kUnauthenticated,
                     "CSR: signature does not verify under the CSR's own public key");
  }
  ParsedCsr out{*std::move(key), std::move(spki_der), ""};
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (bio && X509_NAME_print_ex(bio.get(), X509_REQ_get_subject_name(req.get()), 0,
                                XN_FLAG_RFC2253) >= 0) {
    char* data = nullptr;
    long len = BIO_get_mem_data(bio.get(), &data);
    if (len > 0) out.subject.assign(data, static_cast<size_t>(len));
  }
  return out;
}

Result<Bytes> CsrPublicKeyHash(ByteSpan der_or_pem) {
  CRYPTA_ASSIGN_OR_RETURN(ParsedCsr csr, ParseCsr(der_or_pem));
  return Sha256(csr.spki_der);
}

Result<Bytes> SvidRequestReportData(ByteSpan spki_sha256, ByteSpan nonce) {
  if (spki_sha256.size() != 32) {
    return MakeError(ErrorCode::kInvalidArgument, "SVID request binding: public key hash is " +
                                                      std::to_string(spki_sha256.size()) +
                                                      " bytes, expected 32 (SHA-256)");
  }
  if (nonce.empty() || nonce.size() > kMaxSvidRequestNonceSize) {
    return MakeError(ErrorCode::kInvalidArgument, "SVID request binding: nonce must be 1.." +
                                                      std::to_string(kMaxSvidRequestNonceSize) +
                                                      " bytes");
  }
  Hasher hasher(HashAlg::kSha384);
  hasher.Update(AsBytes(kSvidRequestLabel));
  hasher.Update(spki_sha256);
  hasher.Update(nonce);
  Bytes out = hasher.Finish();
  out.resize(kReportDataSize, 0);
  return out;
}

Status VerifySvidRequestBinding(ByteSpan report_data, ByteSpan csr_der_or_pem, ByteSpan nonce) {
  CRYPTA_ASSIGN_OR_RETURN(Bytes hash, CsrPublicKeyHash(csr_der_or_pem));
  CRYPTA_ASSIGN_OR_RETURN(Bytes expected, SvidRequestReportData(hash, nonce));
  if (report_data.size() != kReportDataSize || !ConstantTimeEquals(report_data, expected)) {
    return MakeError(ErrorCode::kPermissionDenied,
                     "SVID request: report_data does not bind the CSR's public key and nonce");
  }
  return OkStatus();
}

Result<Bytes> CreateCsr(const PrivateKey& key, std::string_view common_name) {
  if (common_name.empty() || common_name.size() > 64) {
    return MakeError(ErrorCode::kInvalidArgument, "CSR: common name must be 1..64 bytes");
  }
  X509ReqPtr req(X509_REQ_new());
  if (!req || X509_REQ_set_version(req.get(), X509_REQ_VERSION_1) != 1) {
    return MakeError(OpensslError(ErrorCode::kInternal, "X509_REQ_new"));
  }
  std::string cn(common_name);
  X509_NAME* name = X509_REQ_get_subject_name(req.get());
  if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1,
                                 0) != 1 ||
      X509_REQ_set_pubkey(req.get(), key.pkey()) != 1) {
    return MakeError(OpensslError(ErrorCode::kInvalidArgument, "CSR subject/key"));
  }
  const EVP_MD* md = key.type() == KeyType::kEd25519  ? nullptr
                     : key.type() == KeyType::kEcP384 ? EVP_sha384()
                     : key.type() == KeyType::kEcP521 ? EVP_sha512()
                                                      : EVP_sha256();
  if (X509_REQ_sign(req.get(), key.pkey(), md) <= 0) {
    return MakeError(OpensslError(ErrorCode::kInvalidArgument, "CSR signing"));
  }
  unsigned char* der = nullptr;
  int len = i2d_X509_REQ(req.get(), &der);
  if (len <= 0) return MakeError(OpensslError(ErrorCode::kInternal, "i2d_X509_REQ"));
  Bytes out(der, der + len);
  OPENSSL_free(der);
  return out;
}

}  // namespace crypta::pki

// CheckChainRevocation (ocsp.h): RFC 6960 OCSP responses, verified offline with OpenSSL's
// OCSP API at an explicit time.
#include "attest/nvidia/ocsp.h"

#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/x509_vfy.h>

#include <ctime>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>

#include "common/encoding.h"
#include "common/json_canonical.h"
#include "crypto/openssl_util.h"

namespace crypta::attest::nvidia {
namespace {

using OcspResponsePtr = OpensslPtr<OCSP_RESPONSE, OCSP_RESPONSE_free>;
using OcspBasicPtr = OpensslPtr<OCSP_BASICRESP, OCSP_BASICRESP_free>;
using OcspCertIdPtr = OpensslPtr<OCSP_CERTID, OCSP_CERTID_free>;

struct BorrowedStackDeleter {
  void operator()(STACK_OF(X509) * stack) const { sk_X509_free(stack); }
};

// "2025-06-01T00:00:00Z", or "(unreadable)" for a time OpenSSL cannot convert.
std::string FormatAsn1Time(const ASN1_GENERALIZEDTIME* t) {
  struct tm tm = {};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return "(unreadable)";
  return FormatUnixTime(static_cast<int64_t>(timegm(&tm)));
}

std::string Describe(const Certificate& cert) {
  return cert.subject() + " (serial " + cert.serial_hex() + ")";
}

// RFC 5280 §4.1.2.5: a certificate is valid through its notAfter second; OpenSSL calls it
// expired at that second. Excuse exactly that report (and the notBefore twin), as
// crypto/x509_chain.cc does for VerifyChain.
int ExcuseWindowBoundary(int ok, X509_STORE_CTX* ctx) {
  if (ok == 1) return 1;
  const int error = X509_STORE_CTX_get_error(ctx);
  X509* cert = X509_STORE_CTX_get_current_cert(ctx);
  const time_t time = X509_VERIFY_PARAM_get_time(X509_STORE_CTX_get0_param(ctx));
  if (cert != nullptr && error == X509_V_ERR_CERT_HAS_EXPIRED &&
      ASN1_TIME_cmp_time_t(X509_get0_notAfter(cert), time) == 0) {
    return 1;
  }
  if (cert != nullptr && error == X509_V_ERR_CERT_NOT_YET_VALID &&
      ASN1_TIME_cmp_time_t(X509_get0_notBefore(cert), time) == 0) {
    return 1;
  }
  return 0;
}

// The bundle's responses, each successful (RFC 6960 §4.2.1 responseStatus) and basic.
Result<std::vector<OcspBasicPtr>> ParseBundle(ByteSpan bundle) {
  if (bundle.size() > kMaxOcspBundleSize) {
    return MakeError(ErrorCode::kResourceExhausted,
                     "OCSP bundle: " + std::to_string(bundle.size()) +
                         " bytes, above the limit of " + std::to_string(kMaxOcspBundleSize));
  }
  JsonParseLimits limits;
  limits.max_bytes = kMaxOcspBundleSize;
  limits.max_depth = 4;
  auto json = ParseJsonStrict(AsStringView(bundle), limits);
  if (!json) return MakeError(json.error().WithContext("OCSP bundle"));
  if (!json->is_object()) {
    return MakeError(ErrorCode::kInvalidArgument, "OCSP bundle: not a JSON object");
  }
  for (const auto& [name, value] : json->items()) {
    if (name != "responses") {
      return MakeError(ErrorCode::kInvalidArgument,
                       "OCSP bundle: unknown member \"" + name.substr(0, 40) + "\"");
    }
  }
  auto it = json->find("responses");
  if (it == json->end() || !it->is_array()) {
    return MakeError(ErrorCode::kInvalidArgument, "OCSP bundle: \"responses\" is not an array");
  }
  if (it->size() > kMaxOcspResponses) {
    return MakeError(ErrorCode::kResourceExhausted, "OCSP bundle: " + std::to_string(it->size()) +
                                                        " responses, above the limit of " +
                                                        std::to_string(kMaxOcspResponses));
  }
  std::vector<OcspBasicPtr> out;
  for (size_t i = 0; i < it->size(); ++i) {
    const std::string where = "OCSP bundle response " + std::to_string(i);
    const nlohmann::json& entry = (*it)[i];
    if (!entry.is_string()) {
      return MakeError(ErrorCode::kInvalidArgument, where + ": not a base64 string");
    }
    auto der = Base64Decode(entry.get_ref<const std::string&>());
    if (!der) return MakeError(der.error().WithContext(where));
    if (der->empty() || der->size() > kMaxOcspResponseDerSize) {
      return MakeError(ErrorCode::kInvalidArgument,
                       where + ": " + std::to_string(der->size()) + " bytes (1.." +
                           std::to_string(kMaxOcspResponseDerSize) + " allowed)");
    }
    const unsigned char* p = der->data();
    OcspResponsePtr response(d2i_OCSP_RESPONSE(nullptr, &p, static_cast<long>(der->size())));
    if (!response || p != der->data() + der->size()) {
      ERR_clear_error();
      return MakeError(ErrorCode::kInvalidArgument,
                       where + ": not a DER OCSPResponse (RFC 6960 §4.2.1)");
    }
    const int status = OCSP_response_status(response.get());
    if (status != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
      return MakeError(ErrorCode::kUnauthenticated,
                       where + ": responder status " + OCSP_response_status_str(status));
    }
    OcspBasicPtr basic(OCSP_response_get1_basic(response.get()));
    if (!basic) {
      ERR_clear_error();
      return MakeError(ErrorCode::kInvalidArgument, where + ": not a basic OCSP response");
    }
    out.push_back(std::move(basic));
  }
  return out;
}

// RFC 6960 §4.2.2.2: `basic` is signed by `issuer` or by a responder certificate that
// `issuer` issued with id-kp-OCSPSigning, valid at `time`.
Status VerifyResponseSignature(OCSP_BASICRESP* basic, const Certificate& issuer, int64_t time) {
  X509StorePtr store(X509_STORE_new());
  if (!store || X509_STORE_add_cert(store.get(), issuer.x509()) != 1) {
    return MakeError(OpensslError(ErrorCode::kInternal, "OCSP: X509_STORE"));
  }
  // Only the issuer is trusted (it need not be self-signed: PARTIAL_CHAIN), at `time`.
  X509_VERIFY_PARAM* param = X509_STORE_get0_param(store.get());
  X509_VERIFY_PARAM_set_time(param, static_cast<time_t>(time));
  X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_PARTIAL_CHAIN);
  X509_STORE_set_verify_cb(store.get(), ExcuseWindowBoundary);
  std::unique_ptr<STACK_OF(X509), BorrowedStackDeleter> certs(sk_X509_new_null());
  if (!certs || sk_X509_push(certs.get(), issuer.x509()) <= 0) {
    return MakeError(OpensslError(ErrorCode::kInternal, "OCSP: certificate stack"));
  }
  // OCSP_NOEXPLICIT: a responder that is neither the issuer nor delegated by it fails,
  // whatever trust settings a certificate carries.
  if (OCSP_basic_verify(basic, certs.get(), store.get(), OCSP_NOEXPLICIT) != 1) {
    return MakeError(
        OpensslError(ErrorCode::kUnauthenticated, "OCSP response signature or responder"));
  }
  return OkStatus();
}

// Whether `single` names `cert` issued by `issuer` (RFC 6960 §4.1.1 CertID, recomputed
// with the response's own hash algorithm).
bool NamesCertificate(OCSP_SINGLERESP* single, const Certificate& cert, const Certificate& issuer) {
  const OCSP_CERTID* id = OCSP_SINGLERESP_get0_id(single);
  ASN1_OBJECT* md_oid = nullptr;
  if (id == nullptr ||
      OCSP_id_get0_info(nullptr, &md_oid, nullptr, nullptr, const_cast<OCSP_CERTID*>(id)) != 1) {
    return false;
  }
  const int nid = OBJ_obj2nid(md_oid);
  if (nid != NID_sha1 && nid != NID_sha256 && nid != NID_sha384 && nid != NID_sha512) {
    return false;
  }
  OcspCertIdPtr ours(OCSP_cert_to_id(EVP_get_digestbynid(nid), cert.x509(), issuer.x509()));
  return ours && OCSP_id_cmp(ours.get(), id) == 0;
}

// One single response about `cert`: status good and current at `time`.
Status CheckSingleResponse(OCSP_SINGLERESP* single, const Certificate& cert, int64_t time) {
  int reason = -1;
  ASN1_GENERALIZEDTIME* revoked_at = nullptr;
  ASN1_GENERALIZEDTIME* this_update = nullptr;
  ASN1_GENERALIZEDTIME* next_update = nullptr;
  const int status =
      OCSP_single_get0_status(single, &reason, &revoked_at, &this_update, &next_update);
  const std::string who = "OCSP: " + Describe(cert);
  if (this_update == nullptr || ASN1_TIME_cmp_time_t(this_update, static_cast<time_t>(time)) > 0) {
    return MakeError(ErrorCode::kUnauthenticated, who + ": response not yet valid (thisUpdate " +
                                                      FormatAsn1Time(this_update) + ", time " +
                                                      FormatUnixTime(time) + ")");
  }
  if (next_update == nullptr) {
    return MakeError(ErrorCode::kUnauthenticated,
                     who + ": response has no nextUpdate (an offline response needs one)");
  }
  if (ASN1_TIME_cmp_time_t(next_update, static_cast<time_t>(time)) < 0) {
    return MakeError(ErrorCode::kUnauthenticated, who + ": response expired (nextUpdate " +
                                                      FormatAsn1Time(next_update) + ", time " +
                                                      FormatUnixTime(time) + ")");
  }
  switch (status) {
    case V_OCSP_CERTSTATUS_GOOD:
      return OkStatus();
    case V_OCSP_CERTSTATUS_REVOKED:
      return MakeError(ErrorCode::kUnauthenticated,
                       who + ": revoked at " + FormatAsn1Time(revoked_at) +
                           (reason >= 0 ? std::string(", reason ") + OCSP_crl_reason_str(reason)
                                        : std::string()));
    default:
      return MakeError(ErrorCode::kUnauthenticated, who + ": status unknown to the responder");
  }
}

}  // namespace

Result<Revocation> CheckChainRevocation(const std::vector<Certificate>& chain, ByteSpan bundle,
                                        int64_t verification_time) {
  if (chain.size() < 2) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "OCSP: the chain needs a certificate and its issuer");
  }
  if (verification_time < 0) {
    return MakeError(ErrorCode::kInvalidArgument, "OCSP: negative verification time");
  }
  for (size_t i = 0; i + 1 < chain.size(); ++i) {
    if (X509_check_issued(chain[i + 1].x509(), chain[i].x509()) != X509_V_OK) {
      return MakeError(ErrorCode::kInvalidArgument, "OCSP: chain certificate " +
                                                        chain[i].subject() + " is not issued by " +
                                                        chain[i + 1].subject());
    }
  }
  if (bundle.empty()) return Revocation::kAbsent;
  CRYPTA_ASSIGN_OR_RETURN(std::vector<OcspBasicPtr> responses, ParseBundle(bundle));
  if (responses.empty()) return Revocation::kAbsent;

  // Each response's signature is checked once per issuer it is used with.
  std::map<std::pair<size_t, size_t>, bool> signature_checked;
  for (size_t i = 0; i + 1 < chain.size(); ++i) {
    const Certificate& cert = chain[i];
    const Certificate& issuer = chain[i + 1];
    size_t covered = 0;
    for (size_t r = 0; r < responses.size(); ++r) {
      OCSP_BASICRESP* basic = responses[r].get();
      const int count = OCSP_resp_count(basic);
      for (int k = 0; k < count; ++k) {
        OCSP_SINGLERESP* single = OCSP_resp_get0(basic, k);
        if (single == nullptr || !NamesCertificate(single, cert, issuer)) continue;
        if (!signature_checked[{r, i + 1}]) {
          auto signed_ok = VerifyResponseSignature(basic, issuer, verification_time);
          if (!signed_ok) {
            return MakeError(signed_ok.error().WithContext(
                "OCSP: " + Describe(cert) + ": bundle response " + std::to_string(r)));
          }
          signature_checked[{r, i + 1}] = true;
        }
        CRYPTA_RETURN_IF_ERROR(CheckSingleResponse(single, cert, verification_time));
        ++covered;
      }
    }
    if (covered == 0) {
      return MakeError(ErrorCode::kUnauthenticated,
                       "OCSP: no response in the bundle for " + Describe(cert));
    }
  }
  return Revocation::kChecked;
}

std::string EncodeOcspBundle(const std::vector<Bytes>& der_responses) {
  nlohmann::json responses = nlohmann::json::array();
  for (const Bytes& der : der_responses) responses.push_back(Base64Encode(der));
  return nlohmann::json{{"responses", std::move(responses)}}.dump();
}

}  // namespace crypta::attest::nvidia

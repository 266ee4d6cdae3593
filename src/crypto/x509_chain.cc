// VerifyChain (declared in x509.h): RFC 5280 §6 path validation through OpenSSL's
// X509_STORE, trusting only the caller's pinned roots, at the caller's time.
#include <openssl/asn1.h>
#include <openssl/x509_vfy.h>

#include <ctime>
#include <string>

#include "crypto/x509.h"

namespace crypta {
namespace {

struct UntrustedStackDeleter {
  // The stack borrows its certificates (the caller's Certificates own them).
  void operator()(STACK_OF(X509) * stack) const { sk_X509_free(stack); }
};
using UntrustedStackPtr = std::unique_ptr<STACK_OF(X509), UntrustedStackDeleter>;

// What the verify callback saw at the first failure it did not excuse.
struct VerifyState {
  bool require_crls = false;
  time_t verification_time = 0;
  int error = X509_V_OK;
  int depth = -1;
  X509* cert = nullptr;     // the certificate being checked (borrowed)
  X509_CRL* crl = nullptr;  // the CRL being checked, for CRL errors (borrowed)
};

// Whether `bound` (a validity or CRL window bound) is exactly `time`, to the second.
bool IsExactly(const ASN1_TIME* bound, time_t time) {
  return bound != nullptr && ASN1_TIME_cmp_time_t(bound, time) == 0;
}

// Whether OpenSSL reported a window error for a time that RFC 5280 counts as inside the
// window. §4.1.2.5: a certificate is valid from notBefore through notAfter, both
// inclusive; §5.1.2.4-5 (and §6.3.3 (a)): a CRL is current from thisUpdate through
// nextUpdate. OpenSSL's X509_cmp_time treats a bound equal to the verification time as
// already passed, so a certificate is "expired" at its notAfter second and a CRL at its
// nextUpdate second; those two reports (and, for symmetry, the notBefore / thisUpdate
// ones) are excused when the bound equals the verification time exactly.
bool IsWindowBoundary(int error, X509_STORE_CTX* ctx, time_t time) {
  X509* cert = X509_STORE_CTX_get_current_cert(ctx);
  X509_CRL* crl = X509_STORE_CTX_get0_current_crl(ctx);
  switch (error) {
    case X509_V_ERR_CERT_HAS_EXPIRED:
      return cert != nullptr && IsExactly(X509_get0_notAfter(cert), time);
    case X509_V_ERR_CERT_NOT_YET_VALID:
      return cert != nullptr && IsExactly(X509_get0_notBefore(cert), time);
    case X509_V_ERR_CRL_HAS_EXPIRED:
      return crl != nullptr && IsExactly(X509_CRL_get0_nextUpdate(crl), time);
    case X509_V_ERR_CRL_NOT_YET_VALID:
      return crl != nullptr && IsExactly(X509_CRL_get0_lastUpdate(crl), time);
    default:
      return false;
  }
}

// Called by OpenSSL for every check; `ok` is 0 on a failure. A missing CRL is excused unless
// the caller requires CRLs, and always for the pinned root itself (a trust anchor is
// revoked by un-pinning it, not by a CRL it signs). A window bound equal to the
// verification time is excused (IsWindowBoundary). Everything else stops verification.
int VerifyCallback(int ok, X509_STORE_CTX* ctx) {
  if (ok == 1) return 1;
  auto* state = static_cast<VerifyState*>(X509_STORE_CTX_get_app_data(ctx));
  const int error = X509_STORE_CTX_get_error(ctx);
  const int depth = X509_STORE_CTX_get_error_depth(ctx);
  if (IsWindowBoundary(error, ctx, state->verification_time)) return 1;
  if (error == X509_V_ERR_UNABLE_TO_GET_CRL) {
    STACK_OF(X509)* chain = X509_STORE_CTX_get0_chain(ctx);
    const bool is_anchor = chain != nullptr && depth == sk_X509_num(chain) - 1;
    if (!state->require_crls || is_anchor) return 1;
  }
  if (state->error == X509_V_OK) {
    state->error = error;
    state->depth = depth;
    state->cert = X509_STORE_CTX_get_current_cert(ctx);
    state->crl = X509_STORE_CTX_get0_current_crl(ctx);
  }
  return 0;
}

const Certificate* FindCert(X509* x509, const Certificate& leaf,
                            std::span<const Certificate> intermediates,
                            std::span<const Certificate> roots) {
  if (x509 == leaf.x509()) return &leaf;
  for (const Certificate& c : intermediates) {
    if (c.x509() == x509) return &c;
  }
  for (const Certificate& c : roots) {
    if (c.x509() == x509) return &c;
  }
  return nullptr;
}

// The reason for an OpenSSL verification error, in the words of x509.h.
std::string Reason(const VerifyState& state, const Certificate* cert, std::span<const Crl> crls,
                   int64_t time) {
  const std::string at = FormatUnixTime(time);
  const Crl* crl = nullptr;
  for (const Crl& c : crls) {
    if (c.x509_crl() == state.crl) crl = &c;
  }
  const std::string crl_name = crl ? "CRL from \"" + crl->issuer() + "\"" : "CRL";
  switch (state.error) {
    case X509_V_ERR_CERT_HAS_EXPIRED:
      return "expired: notAfter " + (cert ? FormatUnixTime(cert->not_after()) : "?") +
             " is before the verification time " + at;
    case X509_V_ERR_CERT_NOT_YET_VALID:
      return "not yet valid: notBefore " + (cert ? FormatUnixTime(cert->not_before()) : "?") +
             " is after the verification time " + at;
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_CERT_UNTRUSTED:
      return "unknown issuer \"" + (cert ? cert->issuer() : std::string("?")) +
             "\" (not a pinned root, and no given intermediate leads to one)";
    case X509_V_ERR_CERT_SIGNATURE_FAILURE:
    case X509_V_ERR_UNABLE_TO_DECRYPT_CERT_SIGNATURE:
    case X509_V_ERR_UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY:
      return "bad signature (does not verify under the key of \"" +
             (cert ? cert->issuer() : std::string("?")) + "\")";
    case X509_V_ERR_CERT_REVOKED:
      return "revoked (serial " + (cert ? cert->serial_hex() : std::string("?")) +
             " is listed in " + crl_name + ")";
    case X509_V_ERR_CRL_HAS_EXPIRED:
      return "CRL expired: " + crl_name + " has nextUpdate " +
             (crl && crl->next_update() ? FormatUnixTime(*crl->next_update()) : "?") +
             ", before the verification time " + at;
    case X509_V_ERR_CRL_NOT_YET_VALID:
      return "CRL not yet valid: " + crl_name + " has thisUpdate " +
             (crl ? FormatUnixTime(crl->this_update()) : "?") + ", after the verification time " +
             at;
    case X509_V_ERR_CRL_SIGNATURE_FAILURE:
    case X509_V_ERR_UNABLE_TO_DECRYPT_CRL_SIGNATURE:
      return "bad CRL signature (" + crl_name + " does not verify under the issuer's key)";
    case X509_V_ERR_UNABLE_TO_GET_CRL:
      return "no CRL from its issuer \"" + (cert ? cert->issuer() : std::string("?")) +
             "\" (CRLs are required)";
    case X509_V_ERR_UNABLE_TO_GET_CRL_ISSUER:
      return "the issuer of " + crl_name + " is unknown";
    case X509_V_ERR_INVALID_CA:
      return "not a CA (it issues a certificate on the path but lacks basicConstraints cA or "
             "keyCertSign)";
    case X509_V_ERR_PATH_LENGTH_EXCEEDED:
      return "path length constraint exceeded";
    case X509_V_ERR_CERT_CHAIN_TOO_LONG:
      return "chain longer than the allowed depth";
    default:
      return std::string(X509_verify_cert_error_string(state.error));
  }
}

}  // namespace

Result<VerifiedChain> VerifyChain(const Certificate& leaf,
                                  std::span<const Certificate> intermediates,
                                  std::span<const Certificate> roots, int64_t verification_time,
                                  std::span<const Crl> crls, ChainVerifyOptions options) {
  if (roots.empty()) return MakeError(ErrorCode::kInvalidArgument, "VerifyChain: no pinned roots");
  if (verification_time < 0) {
    return MakeError(ErrorCode::kInvalidArgument, "VerifyChain: negative verification time");
  }
  if (options.max_depth < 0 || options.max_depth > 32) {
    return MakeError(ErrorCode::kInvalidArgument, "VerifyChain: max_depth must be 0..32");
  }
  // A fresh store holding only the pinned roots and the given CRLs: no default paths.
  X509StorePtr store(X509_STORE_new());
  UntrustedStackPtr untrusted(sk_X509_new_null());
  X509StoreCtxPtr ctx(X509_STORE_CTX_new());
  if (!store || !untrusted || !ctx) {
    return MakeError(OpensslError(ErrorCode::kInternal, "VerifyChain: allocation"));
  }
  for (const Certificate& root : roots) {
    if (X509_STORE_add_cert(store.get(), root.x509()) != 1) {
      return MakeError(OpensslError(ErrorCode::kInternal, "VerifyChain: adding a root"));
    }
  }
  for (const Crl& crl : crls) {
    if (X509_STORE_add_crl(store.get(), crl.x509_crl()) != 1) {
      return MakeError(OpensslError(ErrorCode::kInternal, "VerifyChain: adding a CRL"));
    }
  }
  // Self-signed certificates among the intermediates (e.g. the root a DCAP quote carries)
  // are dropped: only pinned roots may anchor the path.
  for (const Certificate& cert : intermediates) {
    if (X509_self_signed(cert.x509(), 0) == 1) continue;
    if (sk_X509_push(untrusted.get(), cert.x509()) <= 0) {
      return MakeError(OpensslError(ErrorCode::kInternal, "VerifyChain: sk_X509_push"));
    }
  }
  if (X509_STORE_CTX_init(ctx.get(), store.get(), leaf.x509(), untrusted.get()) != 1) {
    return MakeError(OpensslError(ErrorCode::kInternal, "VerifyChain: X509_STORE_CTX_init"));
  }
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
  // Sets X509_V_FLAG_USE_CHECK_TIME: validity and CRL windows are judged at this time.
  X509_VERIFY_PARAM_set_time(param, static_cast<time_t>(verification_time));
  X509_VERIFY_PARAM_set_depth(param, options.max_depth);
  unsigned long flags = X509_V_FLAG_USE_CHECK_TIME | X509_V_FLAG_CHECK_SS_SIGNATURE;
  if (!crls.empty() || options.require_crls) {
    flags |= X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL;
  }
  X509_VERIFY_PARAM_set_flags(param, flags);
  VerifyState state;
  state.require_crls = options.require_crls;
  state.verification_time = static_cast<time_t>(verification_time);
  X509_STORE_CTX_set_app_data(ctx.get(), &state);
  X509_STORE_CTX_set_verify_cb(ctx.get(), VerifyCallback);

  const int rc = X509_verify_cert(ctx.get());
  if (rc != 1) {
    if (state.error == X509_V_OK) state.error = X509_STORE_CTX_get_error(ctx.get());
    OpensslErrorString("");
    const Certificate* cert =
        FindCert(state.cert ? state.cert : leaf.x509(), leaf, intermediates, roots);
    const std::string subject = cert ? cert->subject() : std::string("?");
    return MakeError(ErrorCode::kUnauthenticated,
                     "X.509 chain: certificate \"" + subject + "\" (depth " +
                         std::to_string(state.depth < 0 ? 0 : state.depth) +
                         "): " + Reason(state, cert, crls, verification_time));
  }
  OpensslErrorString("");  // lookups may leave entries on the thread's error queue
  STACK_OF(X509)* chain = X509_STORE_CTX_get0_chain(ctx.get());
  VerifiedChain out;
  for (int i = 0; chain && i < sk_X509_num(chain); ++i) {
    const Certificate* cert = FindCert(sk_X509_value(chain, i), leaf, intermediates, roots);
    if (!cert) return MakeError(ErrorCode::kInternal, "VerifyChain: chain holds an unknown cert");
    out.certificates.push_back(*cert);
  }
  if (out.certificates.empty()) return MakeError(ErrorCode::kInternal, "VerifyChain: empty chain");
  return out;
}

}  // namespace crypta

#include "runtime/tls_identity.h"

#include <openssl/x509.h>

#include <cstdio>

#include "pki/spiffe_id.h"
#include "pki/svid_verify.h"

namespace crypta::runtime {
namespace {

// SSL_CTX_set_cert_cb: gives this handshake the credential current right now. OpenSSL
// calls it once per handshake, before it picks the certificate (RFC 8446 §4.4.2).
int CertCallback(SSL* ssl, void* arg) {
  auto* identity = static_cast<TlsIdentity*>(arg);
  std::shared_ptr<const TlsCredential> cred = identity->Current();
  if (!cred || cred->chain.empty()) return 0;
  if (SSL_use_certificate(ssl, cred->chain[0].x509()) != 1) return 0;
  if (SSL_use_PrivateKey(ssl, cred->key.pkey()) != 1) return 0;
  STACK_OF(X509)* chain = sk_X509_new_null();
  if (chain == nullptr) return 0;
  for (size_t i = 1; i < cred->chain.size(); ++i) sk_X509_push(chain, cred->chain[i].x509());
  const int ok = SSL_set1_chain(ssl, chain);  // takes its own references
  sk_X509_free(chain);
  return ok == 1 ? 1 : 0;
}

// Refusals go to stderr, a bounded number of times (no per-request logs otherwise).
void LogRefusal(const std::string& why) {
  static std::atomic<int> logged{0};
  if (logged.fetch_add(1) < 50) {
    std::fprintf(stderr, "crypta-runtime: client certificate refused: %s\n", why.c_str());
  }
}

}  // namespace

// SSL_CTX_set_cert_verify_callback: replaces OpenSSL's chain verification with
// pki::VerifySvid (bundle, CRLs, trust domain, allowed SPIFFE IDs).
int PeerVerifyCallback(X509_STORE_CTX* store, void* arg) {
  auto* policy = static_cast<PeerPolicy*>(arg);
  Result<std::vector<Certificate>> chain =
      CertificatesFromStack(X509_STORE_CTX_get0_untrusted(store));
  if (chain && chain->empty()) {
    X509* leaf = X509_STORE_CTX_get0_cert(store);
    STACK_OF(X509)* one = sk_X509_new_null();
    if (one != nullptr && leaf != nullptr) sk_X509_push(one, leaf);
    chain = CertificatesFromStack(one);
    sk_X509_free(one);
  }
  Result<std::string> verified =
      chain ? policy->Verify(*chain) : Result<std::string>(MakeError(chain.error()));
  if (!verified) {
    policy->refused_.fetch_add(1);
    LogRefusal(verified.error().message());
    X509_STORE_CTX_set_error(store, X509_V_ERR_APPLICATION_VERIFICATION);
    return 0;
  }
  policy->accepted_.fetch_add(1);
  X509_STORE_CTX_set_error(store, X509_V_OK);
  return 1;
}

Status TlsIdentity::Set(TlsCredential credential) {
  if (credential.chain.empty()) {
    return MakeError(ErrorCode::kInvalidArgument, "TLS credential: empty certificate chain");
  }
  if (X509_check_private_key(credential.chain[0].x509(), credential.key.pkey()) != 1) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "TLS credential: the key does not match the leaf certificate");
  }
  credential.not_before = credential.chain[0].not_before();
  credential.not_after = credential.chain[0].not_after();
  auto next = std::make_shared<const TlsCredential>(std::move(credential));
  std::lock_guard<std::mutex> lock(mu_);
  current_ = std::move(next);
  generation_.fetch_add(1);
  return OkStatus();
}

std::shared_ptr<const TlsCredential> TlsIdentity::Current() const {
  std::lock_guard<std::mutex> lock(mu_);
  return current_;
}

Result<MtlsMode> ParseMtlsMode(const std::string& text) {
  if (text == "off") return MtlsMode::kOff;
  if (text == "optional") return MtlsMode::kOptional;
  if (text == "required") return MtlsMode::kRequired;
  return MakeError(ErrorCode::kInvalidArgument,
                   "--mtls: want required, optional or off, got " + text.substr(0, 40));
}

Result<std::unique_ptr<PeerPolicy>> PeerPolicy::Create(std::string trust_domain,
                                                       std::vector<std::string> allowed_ids,
                                                       std::function<int64_t()> clock) {
  CRYPTA_RETURN_IF_ERROR(pki::ValidateTrustDomain(trust_domain));
  for (const std::string& pattern : allowed_ids) {
    Status ok = pki::ValidateSpiffePattern(pattern);
    if (!ok) return MakeError(ok.error().WithContext("--allow-peer " + pattern.substr(0, 200)));
    if (!pattern.starts_with("spiffe://" + trust_domain + "/")) {
      return MakeError(ErrorCode::kInvalidArgument, "--allow-peer " + pattern.substr(0, 200) +
                                                        ": not in trust domain " + trust_domain);
    }
  }
  std::unique_ptr<PeerPolicy> policy(new PeerPolicy());
  policy->trust_domain_ = std::move(trust_domain);
  policy->allowed_ids_ = std::move(allowed_ids);
  policy->clock_ = std::move(clock);
  return policy;
}

Status PeerPolicy::Update(std::string_view bundle_pem, const std::vector<Bytes>& crls) {
  auto trust = std::make_shared<Trust>();
  Result<std::vector<Certificate>> bundle = Certificate::ParsePemBundle(bundle_pem);
  if (!bundle) return MakeError(bundle.error().WithContext("trust bundle"));
  if (bundle->empty()) return MakeError(ErrorCode::kInvalidArgument, "trust bundle: empty");
  trust->bundle = std::move(*bundle);
  for (const Bytes& der : crls) {
    Result<Crl> crl = Crl::Parse(der);
    if (!crl) return MakeError(crl.error().WithContext("CRL"));
    trust->crls.push_back(std::move(*crl));
  }
  std::lock_guard<std::mutex> lock(mu_);
  trust_ = std::move(trust);
  return OkStatus();
}

bool PeerPolicy::HasBundle() const {
  std::lock_guard<std::mutex> lock(mu_);
  return trust_ != nullptr;
}

Result<std::string> PeerPolicy::Verify(const std::vector<Certificate>& chain) const {
  std::shared_ptr<const Trust> trust;
  {
    std::lock_guard<std::mutex> lock(mu_);
    trust = trust_;
  }
  if (!trust) {
    return MakeError(ErrorCode::kUnavailable, "no platform trust bundle loaded yet");
  }
  pki::VerifyExpectations expect;
  expect.trust_domain = trust_domain_;
  expect.allowed_ids = allowed_ids_;
  expect.now = clock_();
  CRYPTA_ASSIGN_OR_RETURN(pki::VerifiedSvid svid,
                          pki::VerifySvid(chain, trust->bundle, trust->crls, expect));
  return svid.uri;
}

bool ConfigureServerSslCtx(SSL_CTX* ctx, TlsIdentity* identity, MtlsMode mode, PeerPolicy* peers) {
  if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) return false;
  SSL_CTX_set_cert_cb(ctx, CertCallback, identity);
  if (mode == MtlsMode::kOff) {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
    return true;
  }
  if (peers == nullptr) {
    std::fprintf(stderr, "crypta-runtime: error: mTLS without a peer policy\n");
    return false;
  }
  int flags = SSL_VERIFY_PEER;
  if (mode == MtlsMode::kRequired) flags |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
  SSL_CTX_set_verify(ctx, flags, nullptr);
  SSL_CTX_set_cert_verify_callback(ctx, PeerVerifyCallback, peers);
  // Session resumption would skip the client-certificate check on later connections, and
  // the policy (bundle, CRL) changes over time: every connection does a full handshake.
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_num_tickets(ctx, 0);
  SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
  return true;
}

Result<std::vector<Certificate>> CertificatesFromStack(STACK_OF(X509) * stack) {
  std::vector<Certificate> out;
  if (stack == nullptr) return out;
  const int n = sk_X509_num(stack);
  if (n > 16) return MakeError(ErrorCode::kInvalidArgument, "peer chain: over 16 certificates");
  for (int i = 0; i < n; ++i) {
    X509* cert = sk_X509_value(stack, i);
    unsigned char* der = nullptr;
    const int len = i2d_X509(cert, &der);
    if (len <= 0) return MakeError(ErrorCode::kInvalidArgument, "peer chain: bad certificate");
    Result<Certificate> parsed = Certificate::FromDer(ByteSpan(der, static_cast<size_t>(len)));
    OPENSSL_free(der);
    if (!parsed) return MakeError(parsed.error().WithContext("peer chain"));
    out.push_back(std::move(*parsed));
  }
  return out;
}

}  // namespace crypta::runtime

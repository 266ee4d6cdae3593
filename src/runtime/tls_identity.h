// crypta-runtime's TLS identity and peer policy, installed on an OpenSSL SSL_CTX (issue 7):
//
//  - TlsIdentity: the serving credential (private key + certificate chain: an X.509-SVID
//    and its intermediate, or an attested self-signed certificate). A certificate callback
//    (SSL_CTX_set_cert_cb) hands each new handshake the credential current at that moment,
//    so a renewal (Set) takes effect with no restart and no failed handshake: connections
//    in flight keep the credential they started with.
//  - PeerPolicy: how client certificates are judged in mTLS. SSL_CTX_set_cert_verify_callback
//    replaces OpenSSL's chain check with pki::VerifySvid against the platform trust bundle
//    and CRLs (refreshed by the caller with Update) and the --allow-peer SPIFFE ID patterns.
//
// Thread-safety: both classes are thread-safe; the callbacks run on httplib's worker threads.
#ifndef CRYPTA_RUNTIME_TLS_IDENTITY_H_
#define CRYPTA_RUNTIME_TLS_IDENTITY_H_

#include <openssl/ssl.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/status.h"
#include "crypto/keys.h"
#include "crypto/x509.h"

namespace crypta::runtime {

// One serving credential. chain[0] is the leaf (whose key is `key`), then intermediates.
struct TlsCredential {
  PrivateKey key;
  std::vector<Certificate> chain;
  int64_t not_before = 0;  // the leaf's validity
  int64_t not_after = 0;
  std::string description;  // "spiffe://…" or "attested", for logs
};

class TlsIdentity {
 public:
  // Replaces the credential used by new handshakes. kInvalidArgument for an empty chain or a
  // key that does not match the leaf.
  Status Set(TlsCredential credential);
  // The current credential (null before the first Set).
  std::shared_ptr<const TlsCredential> Current() const;
  // How many times Set succeeded.
  uint64_t generation() const { return generation_.load(); }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const TlsCredential> current_;  // guarded by mu_
  std::atomic<uint64_t> generation_{0};
};

enum class MtlsMode { kOff, kOptional, kRequired };
// "off" | "optional" | "required"; kInvalidArgument otherwise.
Result<MtlsMode> ParseMtlsMode(const std::string& text);

class PeerPolicy {
 public:
  // `allowed_ids`: SPIFFE ID patterns (pki::ValidateSpiffePattern); empty = any workload of
  // the trust domain. kInvalidArgument for a bad pattern or trust domain.
  static Result<std::unique_ptr<PeerPolicy>> Create(std::string trust_domain,
                                                    std::vector<std::string> allowed_ids,
                                                    std::function<int64_t()> clock);

  // Installs a new trust bundle (PEM roots) and CRLs (DER or PEM each). The old ones stay
  // when parsing fails (the error says why).
  Status Update(std::string_view bundle_pem, const std::vector<Bytes>& crls);
  bool HasBundle() const;

  // Verifies a peer chain (leaf first) now: pki::VerifySvid with this policy. The error is
  // the SVID refusal ("SVID … expired", "… revoked", "wrong trust domain", "matches none …").
  Result<std::string> Verify(const std::vector<Certificate>& chain) const;

  uint64_t refused() const { return refused_.load(); }
  uint64_t accepted() const { return accepted_.load(); }

 private:
  PeerPolicy() = default;
  struct Trust {
    std::vector<Certificate> bundle;
    std::vector<Crl> crls;
  };
  friend int PeerVerifyCallback(X509_STORE_CTX* store, void* arg);

  std::string trust_domain_;
  std::vector<std::string> allowed_ids_;
  std::function<int64_t()> clock_;
  mutable std::mutex mu_;
  std::shared_ptr<const Trust> trust_;  // guarded by mu_
  mutable std::atomic<uint64_t> refused_{0}, accepted_{0};
};

// Configures `ctx` (a server context, no certificate loaded yet): TLS 1.2 minimum, the
// identity's certificate callback, and — unless `mode` is kOff — client certificates
// requested (kOptional) or required (kRequired) and verified by `peers` (required then).
// Both pointers must outlive the context. Returns false (with a message on stderr) when
// OpenSSL refuses a setting.
bool ConfigureServerSslCtx(SSL_CTX* ctx, TlsIdentity* identity, MtlsMode mode, PeerPolicy* peers);

// The certificates of an OpenSSL stack, as crypta Certificates (leaf first).
Result<std::vector<Certificate>> CertificatesFromStack(STACK_OF(X509) * stack);

}  // namespace crypta::runtime

#endif  // CRYPTA_RUNTIME_TLS_IDENTITY_H_

// Obtaining and renewing crypta-runtime's TLS credential (issue 7), over an HttpFetcher to
// the control plane and the TEE's Attester:
//
//  - SVID (--tls svid): a fresh P-256 key and CSR; RCAR with "svid-spki-sha256" = hex
//    SHA-256 of the CSR's SubjectPublicKeyInfo in the runtime-data, so the evidence binds
//    the key; then POST /v1/pki/svid {csr, tenant, workload, key, runtime_data} with the
//    session's EAR → the SVID chain (leaf, intermediate).
//  - Attested (--tls attested): a fresh P-256 key and a self-signed certificate whose TCG
//    DICE tagged-evidence extension carries evidence for AttestedTlsReportData(SPKI).
//  - CredentialRenewer: a thread that obtains the next credential when `renew_fraction` of
//    the current one's lifetime has passed (retrying every retry_s on failure until it
//    expires) and swaps it into the TlsIdentity; it also refreshes the PeerPolicy's trust
//    bundle and CRL every trust_refresh_s.
#ifndef CRYPTA_RUNTIME_TLS_SVID_H_
#define CRYPTA_RUNTIME_TLS_SVID_H_

#include <condition_variable>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "attest/collector.h"
#include "common/status.h"
#include "crypto/keys.h"
#include "runtime/boot.h"
#include "runtime/http_fetcher.h"
#include "runtime/tls_identity.h"

namespace crypta::runtime {

// A key for an SVID and its CSR.
struct SvidKey {
  PrivateKey key;
  std::string csr_pem;          // PKCS #10 (RFC 2986), PEM
  std::string spki_sha256_hex;  // what "svid-spki-sha256" carries
};
// A new P-256 key and its CSR (CN = common_name).
Result<SvidKey> NewSvidKey(std::string_view common_name);

struct SvidTarget {
  std::string tenant;
  std::string workload;  // [a-z0-9][a-z0-9-]{0,62}
  std::string key;       // the tenant key whose release policy must accept this TEE
};

// POST /v1/pki/svid with an RCAR session whose runtime-data holds the key's
// "svid-spki-sha256". The control plane's refusals come back as ControlPlaneError.
Result<TlsCredential> RequestSvid(HttpFetcher& broker, const RcarSession& session,
                                  const SvidKey& key, const SvidTarget& target);

// New key, RCAR (tee_key ephemeral), RequestSvid.
Result<TlsCredential> ObtainSvid(HttpFetcher& broker, attest::Attester& attester,
                                 const SvidTarget& target);

// A self-signed attested certificate (pki::MakeAttestedCertificate) for a new P-256 key,
// valid ttl_s, with the listening host as a SAN (an IP address or a DNS name).
Result<TlsCredential> MakeAttestedCredential(attest::Attester& attester, const std::string& host,
                                             int64_t ttl_s);

struct PlatformTrust {
  std::string bundle_pem;
  std::vector<Bytes> crls;
};
// GET /v1/pki/bundle and /v1/pki/crl.
Result<PlatformTrust> FetchPlatformTrust(HttpFetcher& broker);

struct RenewerOptions {
  double renew_fraction = 0.5;  // (0, 1)
  int retry_s = 5;
  int trust_refresh_s = 60;
};

class CredentialRenewer {
 public:
  using Obtain = std::function<Result<TlsCredential>()>;
  using FetchTrust = std::function<Result<PlatformTrust>()>;
  // `peers` and `fetch_trust` may be null (no mTLS). `clock`: Unix seconds.
  CredentialRenewer(TlsIdentity* identity, Obtain obtain, PeerPolicy* peers, FetchTrust fetch_trust,
                    RenewerOptions options, std::function<int64_t()> clock);
  ~CredentialRenewer();  // Stop()

  void Start();
  void Stop();
  uint64_t renewals() const;

 private:
  void Loop();

  TlsIdentity* identity_;
  Obtain obtain_;
  PeerPolicy* peers_;
  FetchTrust fetch_trust_;
  RenewerOptions options_;
  std::function<int64_t()> clock_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;      // guarded by mu_
  uint64_t renewals_ = 0;  // guarded by mu_
  std::thread thread_;
};

}  // namespace crypta::runtime

#endif  // CRYPTA_RUNTIME_TLS_SVID_H_

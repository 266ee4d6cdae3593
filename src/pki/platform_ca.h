// The platform CA: a root and an intermediate per CA generation, their private keys stored
// in the control plane's SQLite database wrapped under the root key (AES-256-GCM, AAD
// binding the generation and role, like the key broker's KEKs), issuing SPIFFE X.509-SVIDs
// (SPIFFE X509-SVID specification) from attested CSRs, revoking workloads, publishing a
// trust bundle and CRLs, and rotating the root with an overlap.
//
// Hierarchy per generation g:
//   root g          self-signed, cA, pathlen 1, keyCertSign|cRLSign, root_ttl (10 y)
//   intermediate g  cA, pathlen 0, nameConstraints permitted URI host = trust domain
//   SVID            cA=false, critical keyUsage digitalSignature, EKU serverAuth+clientAuth,
//                   exactly one URI SAN spiffe://<td>/tenant/<t>/workload/<w>, random
//                   128-bit serial, notBefore = now-60, notAfter = now+ttl (≤ intermediate's)
// New SVIDs always come from the newest generation. After RotateRoot the older roots stay in
// the trust bundle until they expire (or until the overlap given to RotateRoot ends), so
// SVIDs issued before the rotation keep verifying while workloads renew.
//
// Threading: all methods are thread-safe (an internal mutex plus IMMEDIATE transactions on
// the shared Database). Several PlatformCa objects may share a database: each call reloads
// the CA generations when another one rotated.
#ifndef CRYPTA_PKI_PLATFORM_CA_H_
#define CRYPTA_PKI_PLATFORM_CA_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.h"
#include "common/secret_bytes.h"
#include "common/status.h"
#include "crypto/keys.h"
#include "crypto/x509.h"
#include "pki/spiffe_id.h"
#include "store/database.h"

namespace crypta::pki {

struct PkiOptions {
  std::string trust_domain = "crypta.local";
  std::function<int64_t()> clock;  // Unix seconds; default the system clock
  int64_t svid_ttl_s = 3600;       // default SVID lifetime
  int64_t max_svid_ttl_s = 7 * 24 * 3600;
  int64_t intermediate_ttl_s = 365 * 24 * 3600;
  int64_t root_ttl_s = 10 * 365 * 24 * 3600;
  int64_t crl_ttl_s = 3600;                // nextUpdate - thisUpdate of CRLs
  KeyType ca_key_type = KeyType::kEcP384;  // kEcP384 or kEcP256
};

// One CA generation: its root and intermediate certificates.
struct CaGeneration {
  uint32_t generation = 0;
  Certificate root;
  Certificate intermediate;
  int64_t created = 0;
  int64_t bundle_until = 0;  // the root leaves the trust bundle at this time
};

struct IssuedSvid {
  SpiffeId id;
  Certificate leaf;
  std::vector<Certificate> chain;  // the intermediate (the root is in the trust bundle)
  uint32_t generation = 0;
  // Leaf then intermediate.
  std::vector<Certificate> FullChain() const;
  // Leaf then intermediate, PEM: what a TLS server sends (RFC 8446 §4.4.2).
  std::string ChainPem() const;
};

class PlatformCa {
 public:
  // Creates the tables if needed (CREATE TABLE IF NOT EXISTS, pki_* names) and, on first
  // open, generation 1. `root_key` must be 32 bytes. Errors: kInvalidArgument (bad options,
  // root key size), kDataLoss (a stored CA key does not authenticate under `root_key` — a
  // different root key — or does not match its certificate), kFailedPrecondition (the
  // database belongs to another trust domain).
  static Result<std::unique_ptr<PlatformCa>> Open(std::shared_ptr<store::Database> db,
                                                  SecretBytes root_key, PkiOptions options = {});
  ~PlatformCa();

  const std::string& trust_domain() const { return options_.trust_domain; }

  // The live roots (not expired and inside their bundle window), newest first, as PEM: what
  // relying parties pin (the trust-bundle endpoint serves it).
  Result<std::string> TrustBundle();
  Result<std::vector<Certificate>> TrustBundleCertificates();
  // The newest generation (the one that issues).
  Result<CaGeneration> Current();

  // Makes generation current+1 (new root and intermediate keys and certificates) and makes
  // it the issuing one. Older roots stay in the bundle until they expire or, with
  // `overlap_s`, until now+overlap_s (whichever is first; it should exceed max SVID TTL).
  // Returns the new generation number. All-or-nothing.
  Result<uint32_t> RotateRoot(std::optional<int64_t> overlap_s = std::nullopt);

  // Issues an SVID for the CSR's key (ParseCsr: signature verified, EC P-256/P-384 or
  // Ed25519 only). The caller must already have checked the attestation and its
  // report_data binding (VerifySvidRequestBinding). ttl_s defaults to options.svid_ttl_s,
  // must be 60..max_svid_ttl_s, and is cut to the intermediate's notAfter.
  // Errors: kInvalidArgument (bad CSR, names, ttl), kUnauthenticated (CSR signature),
  // kPermissionDenied (the workload is revoked).
  Result<IssuedSvid> IssueSvid(ByteSpan csr_der_or_pem, std::string_view tenant,
                               std::string_view workload,
                               std::optional<int64_t> ttl_s = std::nullopt);

  // A TLS server certificate for the platform's own services (the control plane's API):
  // `key`'s certificate for the given DNS names and IP addresses (no URI SAN; EKU serverAuth;
  // cA=false), issued by the current intermediate, valid ttl_s (cut to the intermediate's
  // notAfter). Returns leaf then intermediate. kInvalidArgument for no names or a bad one.
  Result<std::vector<Certificate>> IssueServerCertificate(const PublicKey& key,
                                                          const std::vector<std::string>& dns,
                                                          const std::vector<std::string>& ips,
                                                          int64_t ttl_s);

  // Marks every SVID of the workload revoked (they appear on the next CRLs) and refuses
  // issuance for it until AllowWorkload. Returns how many SVIDs were newly revoked.
  // Idempotent.
  Result<int> RevokeWorkload(std::string_view tenant, std::string_view workload);
  // Lets a revoked workload obtain SVIDs again (already revoked SVIDs stay revoked).
  Status AllowWorkload(std::string_view tenant, std::string_view workload);
  Result<bool> IsWorkloadRevoked(std::string_view tenant, std::string_view workload);

  // A fresh CRL (RFC 5280 §5, v2, crlNumber and authorityKeyIdentifier) signed by the
  // current intermediate, listing its unexpired revoked SVIDs; thisUpdate = now, nextUpdate
  // = now + crl_ttl_s. DER.
  Result<Bytes> Crl();
  // One CRL per generation whose root is still in the bundle (newest first): what a
  // verifier needs during a rotation overlap.
  Result<std::vector<Bytes>> Crls();

 private:
  struct Generation;  // certificates and unwrapped keys, defined in platform_ca.cc

  PlatformCa(std::shared_ptr<store::Database> db, SecretBytes root_key, PkiOptions options);
  int64_t Now() const;
  // Loads generations from the DB when the newest one differs from the cache. Holds mu_.
  Status RefreshLocked();
  Status CreateGenerationLocked(store::Database& db, uint32_t generation, int64_t now);
  Result<Bytes> CrlForLocked(const Generation& generation, int64_t now);

  std::shared_ptr<store::Database> db_;
  SecretBytes root_key_;
  PkiOptions options_;
  std::mutex mu_;
  std::map<uint32_t, std::shared_ptr<const Generation>> generations_;  // guarded by mu_
};

}  // namespace crypta::pki

#endif  // CRYPTA_PKI_PLATFORM_CA_H_

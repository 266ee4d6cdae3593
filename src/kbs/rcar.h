// The RCAR (Request, Challenge, Attestation, Response) server state machine of DESIGN.md
// §4.3, compatible with Confidential Containers Trustee's KBS protocol 0.1.0 through 0.4.x
// (kbs/rcar_messages.h), transport-free: the HTTP layer maps its three endpoints onto Auth,
// Attest and Resource, sets the kbs-session-id cookie, and turns error codes into RFC 7807
// problems (kUnauthenticated 401, kPermissionDenied 403, kNotFound 404, kInvalidArgument
// 400, kResourceExhausted 413, kUnimplemented 501 for a known TEE crypta does not verify).
//
//   Auth     {"version":"0.1.0".."0.4.x","tee":"snp|tdx|sgx|sim|…","extra-params":…}
//            → {"nonce":base64url(32 random bytes),"extra-params":{}}, new session (5 min)
//   Attest   any body shape of kbs/rcar_messages.h. The nonce must be the session's and
//            unused: it is consumed by the first attempt, success or not, so evidence can
//            never be replayed. The primary evidence is verified with report_data required
//            to bind the body (rcar_messages.h), each additional evidence likewise; init-data,
//            when given, must match the evidence's host data. The claims are then appraised
//            (KeyBroker::AppraiseForAttestation): refused → kUnauthenticated listing the
//            violations and no token; allowed → {"token": EAR JWT (ES256)} whose status is
//            "affirming" or "warning", with eat_nonce = the session's nonce.
//   Resource "<tenant>/<key>/<object_id>" with the session id or the EAR token (which
//            must be this server's, unexpired, and bound to a live session) → flattened
//            JWE (ECDH-ES+A256KW or RSA-OAEP-256, as the tee-pubkey's alg says; A256GCM) of
//            the DEK to the tee-pubkey, if KeyBroker::UnwrapDekForRelease allows it under the
//            key's own policy.
//
// Time is always passed in (`now`, Unix seconds). Thread-safe: sessions are guarded by a
// mutex; the broker and the verifier registry must outlive the server.
//
// Shared sessions (RcarOptions::shared_sessions, replicas on one PostgreSQL store, issue 15):
// every session is also a row of rcar_sessions, so /auth on one replica and /attest or
// /resource on another work. Nonces are consumed in the store (an UPDATE that succeeds
// once), so evidence cannot be replayed against another replica either. An attested row
// keeps the primary evidence, its expected report_data and the verification time; a replica
// that meets the session for the first time verifies that evidence again itself (with the
// same time) before it trusts it: the store never vouches for claims. The session caps
// (max_sessions, max_unattested_per_source) apply per replica.
#ifndef CRYPTA_KBS_RCAR_H_
#define CRYPTA_KBS_RCAR_H_

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "attest/verifier.h"
#include "common/status.h"
#include "crypto/keys.h"
#include "kbs/broker.h"
#include "store/database.h"

namespace crypta::kbs {

inline constexpr size_t kMaxRcarRequestBytes = 256 * 1024;

struct RcarOptions {
  int64_t session_ttl_s = 300;  // attested sessions expire after 5 minutes
  // Sessions (and attestation-service nonces) that have not attested expire sooner, so
  // anonymous /auth traffic cannot hold memory for long.
  int64_t unattested_ttl_s = 60;
  int64_t ear_ttl_s = 300;
  // Live sessions in all. At the cap a new one evicts the oldest session that has not
  // attested; only when every session has attested does Auth fail (kResourceExhausted).
  size_t max_sessions = 10000;
  // Unattested sessions per source address: the source's oldest is evicted beyond it, so
  // one flooding client cannot push other clients' sessions out.
  size_t max_unattested_per_source = 256;
  std::string ear_issuer = "crypta";
  std::string ear_kid;
  // Replicas: sessions also live in this store's rcar_sessions (CreateSessionTable).
  std::shared_ptr<store::Database> shared_sessions;
  // Called when an EAR token does not verify: true when the signing keys changed (another
  // replica rotated them), and the token is then verified once more.
  std::function<bool()> refresh_keys;
};

// The rcar_sessions table of shared sessions (idempotent).
Status CreateSessionTable(store::Database& db);

struct AuthResult {
  nlohmann::json body;     // {"nonce":…,"extra-params":{}}
  std::string session_id;  // for the kbs-session-id cookie
};

class RcarServer {
 public:
  // `ear_key` must be P-256 (SignEar uses ES256).
  RcarServer(KeyBroker* broker, const attest::VerifierRegistry* verifiers, PrivateKey ear_key,
             RcarOptions options = {});

  // kInvalidArgument naming the field for a malformed request or an unsupported version or
  // TEE; kResourceExhausted when too many attested sessions exist. `source` (the client's
  // address) bounds one client's share of unattested sessions.
  Result<AuthResult> Auth(std::string_view request, int64_t now, std::string_view source = "");

  // Returns {"token": EAR}. kUnauthenticated for an unknown or expired session, a wrong,
  // reused or missing nonce, or evidence that fails verification (the message says which).
  Result<nlohmann::json> Attest(std::string_view session_id, std::string_view request, int64_t now);

  // `credential` is a session id or an EAR token. kUnauthenticated without an attested
  // session; kInvalidArgument for a bad path; kPermissionDenied (every violation listed)
  // or kNotFound from the broker.
  Result<nlohmann::json> Resource(std::string_view credential, std::string_view path, int64_t now);

  // A nonce for the attestation service (POST /v1/attestation/challenge): {"nonce",
  // "expires_in"}. Single use, valid for session_ttl_s.
  Result<nlohmann::json> Challenge(int64_t now);

  // The attestation service (POST /v1/attestation/verify): verifies evidence without a
  // session — {"tee","evidence"(as tee-evidence),"runtime_data"?:{…}|"report_data"?:hex} —
  // and returns {"token": EAR} appraised by KeyBroker::AppraiseForAttestation; a refused
  // appraisal still gets a token, with ear.status "contraindicated" and the violations.
  // Freshness is required: with runtime_data, report_data must be SHA-384(JCS(runtime_data))
  // as in Attest, and a runtime_data.nonce that came from Challenge is consumed (a reused or
  // expired one of ours is refused) and becomes eat_nonce; with report_data (hex, ≤64
  // bytes, zero-padded) it must match. With neither: kInvalidArgument saying so.
  // kUnauthenticated when the evidence does not verify; kInvalidArgument for a bad request.
  Result<nlohmann::json> VerifyEvidence(std::string_view request, int64_t now);

  // Verifies an EAR token of this server (signature, issuer, expiry) and returns its claims.
  // Tokens signed by a key retired less than ear_ttl_s ago still verify until they expire.
  Result<nlohmann::json> VerifyEar(std::string_view token, int64_t now) const;
  // Signs new EAR tokens with `key` (P-256) under `kid` from now on; `retired` (public key,
  // retired at) keep verifying the tokens they signed for ear_ttl_s after their retirement.
  // The caller's view of the keys (after a rotation here, or by another replica of a shared
  // store) replaces this server's wholesale. kInvalidArgument for a non-P-256 key.
  Status SetEarKeys(PrivateKey key, std::string kid,
                    std::vector<std::pair<PublicKey, int64_t>> retired);

  // The verified claims of the live, attested session that `credential` (a session id or an
  // EAR token of this server) belongs to: lets an attested workload fetch what is not secret
  // but tenant-scoped (its sealed model) and lets callers add checks before a release.
  // kUnauthenticated otherwise.
  Result<attest::Claims> AttestedClaims(std::string_view credential, int64_t now);

  size_t SessionCountForTesting();

 private:
  struct Session {
    int64_t created = 0;
    std::string source;
    bool challenge_only = false;  // a Challenge nonce, not an RCAR session
    attest::TeeType tee = attest::TeeType::kSim;
    std::string nonce;
    bool nonce_used = false;
    std::optional<attest::VerifiedEvidence> evidence;
    nlohmann::json tee_pubkey_jwk;  // validated as a P-256 or RSA public JWK
    std::string token;
  };
  // Shared sessions (no-ops without RcarOptions::shared_sessions).
  Status StoreSessionLocked(const std::string& id, const Session& s, int64_t now);
  // The session `id` from the store into memory (its evidence verified again); nullptr when
  // the store has no live session of that id.
  Result<Session*> LoadSessionLocked(std::string_view id, int64_t now);
  // Marks the stored nonce of `id` used; kUnauthenticated when it already was.
  Status ConsumeStoredNonce(std::string_view id, const char* what);
  // The primary evidence and the runtime data it binds (nonce, tee-pubkey, …).
  Status StoreAttestation(std::string_view id, attest::TeeType tee, ByteSpan evidence,
                          const nlohmann::json& binding, const std::string& token, int64_t now);
  int64_t last_purge_ = 0;  // guarded by mu_
  struct Attested {
    attest::VerifiedEvidence evidence;
    nlohmann::json tee_pubkey_jwk;
  };
  // One piece of evidence to verify and appraise for an EAR submodule.
  struct EvidenceItem {
    std::string submod;  // "cpu0", or the additional evidence's TEE name
    attest::TeeType tee;
    Bytes evidence;
    Bytes report_data;  // required; empty = not checked (only VerifyEvidence allows it)
  };
  // The additional evidences as items to verify: other TEEs by name (report_data
  // `additional_rd`), the "nvidia" entry split into gpu0, gpu1, … (SPDM nonce: the first
  // 32 bytes of `additional_rd`).
  Result<std::vector<EvidenceItem>> AdditionalItems(
      const std::vector<std::pair<std::string, nlohmann::json>>& additional,
      const Bytes& additional_rd) const;
  // The GPUs of a stored composite session's runtime data, verified at `at`.
  Result<std::vector<attest::VerifiedEvidence>> VerifyStoredDevices(const nlohmann::json& binding,
                                                                    int64_t at) const;
  struct Issued {
    std::optional<attest::VerifiedEvidence> primary;
    attest::Verdict verdict;  // the primary's; refused when any item is refused
    std::string token;
  };
  // Verifies every item (kUnauthenticated naming the first that fails), appraises the
  // primary with its GPUs attached and other additional CPU evidence on its own, and signs
  // an EAR with one submodule per item.
  Result<Issued> IssueEar(std::vector<EvidenceItem> items, const nlohmann::json& runtime_data,
                          const std::string& nonce, int64_t now);
  Result<Bytes> VerifyRequestReportData(const nlohmann::json& req, nlohmann::json* runtime_data,
                                        std::string* nonce, int64_t now);
  Result<Attested> FindAttested(std::string_view credential, int64_t now);
  Result<nlohmann::json> VerifyEarOnce(std::string_view token, int64_t now) const;
  void PurgeExpiredLocked(int64_t now);
  Result<Session*> FindLocked(std::string_view session_id, int64_t now);
  // Inserts under `id` (a fresh random one when empty), evicting as RcarOptions says.
  Result<std::string> NewSessionLocked(Session session, int64_t now, std::string id = "");
  bool ExpiredLocked(const Session& s, int64_t now) const;
  void EvictLocked(std::string_view source_or_all, bool only_source);

  KeyBroker* broker_;
  const attest::VerifierRegistry* verifiers_;
  mutable std::mutex key_mu_;  // guards ear_key_, options_.ear_kid, retired_
  PrivateKey ear_key_;
  struct RetiredKey {
    PublicKey key;
    int64_t retired_at;
  };
  std::vector<RetiredKey> retired_;
  RcarOptions options_;
  std::mutex mu_;
  std::map<std::string, Session, std::less<>> sessions_;
  std::map<std::string, std::string, std::less<>> token_to_session_;
};

// report_data for RCAR: SHA-384(JCS(runtime_data)) zero-padded to 64 bytes.
Result<Bytes> RcarReportData(const nlohmann::json& runtime_data);

}  // namespace crypta::kbs

#endif  // CRYPTA_KBS_RCAR_H_

// KeyBroker: tenants, their versioned key-encryption keys (KEKs), the DEKs wrapped under
// them and the key-release policies (DESIGN.md §3, §4.8, §5; issue 4 "Key broker").
//
// Key hierarchy: root key (kbs/root_key.h) → tenant KEK versions (32 random bytes each,
// stored AES-256-GCM-wrapped by the root key with AAD binding tenant, key name and
// version) → DEKs (wrapped by a KEK version with AAD binding tenant, key name, version and
// object id). A wrapped KEK or DEK copied to another name, version or object fails to
// unwrap (kUnauthenticated), so rows cannot be swapped in the database.
//
// KEKs never leave the broker. DEKs leave only through UnwrapDekForRelease, which takes
// attest::VerifiedEvidence (constructible only by a Verifier) and appraises it against the
// key's policy, falling back to the tenant's; with no policy the answer is deny.
//
// Thread-safety: every method takes an internal mutex, so one KeyBroker may be shared by
// threads. Several processes may share the database file (SQLite WAL, IMMEDIATE txns).
#ifndef CRYPTA_KBS_BROKER_H_
#define CRYPTA_KBS_BROKER_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "attest/policy.h"
#include "attest/verifier.h"
#include "common/bytes.h"
#include "common/names.h"
#include "common/secret_bytes.h"
#include "common/status.h"
#include "crypto/sealed_blob.h"
#include "store/database.h"

namespace crypta::kbs {

inline constexpr size_t kKekSize = 32;
inline constexpr size_t kMaxObjectIdSize = 256;
inline constexpr int64_t kMaxRotateDays = 3650;

// Tenant and key names: common/names.h.
using ::crypta::ValidateName;
// Object ids (the resource tag of RCAR): 1..256 printable ASCII bytes, no spaces.
Status ValidateObjectId(const std::string& object_id);

enum class KekState { kActive, kDecryptOnly, kRetired };
std::string_view KekStateName(KekState state);  // "active", "decrypt-only", "retired"

struct KekVersionInfo {
  uint32_t version = 0;
  KekState state = KekState::kActive;
  int64_t created = 0;
  int64_t wrapped_deks = 0;  // DEKs currently wrapped under this version
};

struct KekInfo {
  std::string tenant;
  std::string name;
  uint32_t current_version = 0;
  std::optional<int64_t> rotate_days;
  int64_t created = 0;
  int64_t last_rotated = 0;
  std::optional<int64_t> next_rotation;  // last_rotated + rotate_days, when scheduled
  std::vector<KekVersionInfo> versions;  // ascending
};

struct TenantInfo {
  std::string name;
  int64_t created = 0;
};

struct WrappedDek {
  KeyReference ref;  // tenant, key name, the KEK version used
  Bytes wrapped;     // nonce(12) | ciphertext(32) | tag(16)
};

struct DekRelease {
  SecretBytes dek;
  uint32_t kek_version = 0;
  std::string policy_id;  // the appraisal policy that allowed it
};

struct StoredPolicy {
  std::string tenant;
  std::string key;  // "" = tenant-wide
  std::string text;
  std::string policy_id;
  int64_t updated = 0;
};

// What the attestation endpoints (RCAR /attest, /v1/attestation/verify) made of evidence.
struct AttestationAppraisal {
  attest::AppraisalPolicy policy;  // the policy applied; its id goes into the EAR
  attest::Verdict verdict;
  std::string source;  // "attestation-policy" or "release-policies"
};

struct KeyBrokerOptions {
  // Unix seconds for created/rotated timestamps. Defaults to the system clock.
  std::function<int64_t()> clock;
  // A policy's require_published rule (attest/policy.h): OK when `claims`' measurement is a
  // release of `tenant` in the release log — with the model digest of `object_id` when that
  // object is a model (object_id is "" for access checks and attestation appraisals without
  // an object; tenant and key are "" for the platform attestation policy: any tenant's
  // release). Called with the database's lock held (it may use the database). Unset:
  // require_published refuses.
  std::function<Status(const std::string& tenant, const std::string& key,
                       const std::string& object_id, const attest::Claims& claims)>
      published_check;
};

class KeyBroker {
 public:
  // Migrates the schema and keeps `db` (shared with other components). `root_key` must be
  // kRootKeySize bytes.
  static Result<std::unique_ptr<KeyBroker>> Open(std::shared_ptr<store::Database> db,
                                                 SecretBytes root_key,
                                                 KeyBrokerOptions options = {});

  // Tenants. kAlreadyExists for a duplicate, kInvalidArgument for a bad name.
  Status CreateTenant(const std::string& name);
  Result<std::vector<TenantInfo>> ListTenants();

  // Creates KEK version 1 (active). kNotFound without the tenant, kAlreadyExists for a
  // duplicate name, kInvalidArgument for rotate_days outside 1..3650.
  Result<KekInfo> CreateKek(const std::string& tenant, const std::string& name,
                            std::optional<int64_t> rotate_days = std::nullopt);
  Result<std::vector<KekInfo>> ListKeks(const std::string& tenant);
  Result<KekInfo> GetKek(const std::string& tenant, const std::string& name);

  // Adds version current+1 (active), makes the old current decrypt-only and rewraps every
  // DEK under the key to the new version, all in one transaction: on any failure nothing
  // changes. Returns the new version.
  Result<uint32_t> RotateKek(const std::string& tenant, const std::string& name);

  // Retires a decrypt-only version: its wrapped key material is deleted. kFailedPrecondition
  // for the current version or a version that still wraps DEKs.
  Status RetireVersion(const std::string& tenant, const std::string& name, uint32_t version);

  // Keys whose rotate_days have passed since their last rotation at `now`.
  Result<std::vector<KeyReference>> DueRotations(int64_t now);
  // Rotates every due key; returns the rotated keys with their new versions. Stops at the
  // first failure (keys rotated before it stay rotated; each rotation is atomic).
  Result<std::vector<KeyReference>> RotateDue(int64_t now);

  // Wraps a 32-byte DEK under the key's current version and records it under `object_id`
  // (1..256 printable ASCII bytes) so rotation can rewrap it. kAlreadyExists when that
  // object already has a DEK under this key.
  Result<WrappedDek> WrapDek(const std::string& tenant, const std::string& key,
                             const SecretBytes& dek, const std::string& object_id);
  // The recorded wrap of `object_id` (after rotations: under the newest version).
  Result<WrappedDek> GetWrappedDek(const std::string& tenant, const std::string& key,
                                   const std::string& object_id);

  // The only way a DEK leaves the broker. Appraises `evidence` against the key's policy
  // (else the tenant-wide one). kPermissionDenied when no policy exists or the verdict is
  // deny — the message lists every violation; `verdict_out`, when given, receives the
  // verdict for auditing either way. kDataLoss if the stored wrap fails to authenticate.
  Result<DekRelease> UnwrapDekForRelease(const std::string& tenant, const std::string& key,
                                         const std::string& object_id,
                                         const attest::VerifiedEvidence& evidence,
                                         attest::Verdict* verdict_out = nullptr);

  // The policy check of UnwrapDekForRelease alone, for claims of an attested session: gates
  // what only a workload that could get the key may fetch (its sealed model). Same errors.
  Status CheckReleasePolicy(const std::string& tenant, const std::string& key,
                            const attest::Claims& claims);

  // Stores a key-release policy after parsing it (errors name the policy key). key "" sets
  // the tenant-wide policy; otherwise the KEK must exist. Returns the policy id.
  Result<std::string> SetPolicy(const std::string& tenant, const std::string& key,
                                const std::string& text);
  // kNotFound when none is set at exactly that level.
  Result<StoredPolicy> GetPolicy(const std::string& tenant, const std::string& key);

  // The platform's attestation policy: what EAR tokens at RCAR /attest and at the
  // attestation service appraise evidence against. When none is set (the default) the
  // platform's key-release policies are used instead: the evidence is allowed when at
  // least one of them (tenant-wide or per key) allows it, and the EAR reflects that policy
  // (the one with the fewest warnings; ties by tenant, key). When none allows it the
  // verdict is refused with the violations of the closest policy. /resource always applies
  // the requested key's own policy in addition. kPermissionDenied never: a refusal is data.
  Result<AttestationAppraisal> AppraiseForAttestation(const attest::Claims& claims);
  // Stores a platform attestation policy (parsed first; errors name the policy key) and
  // returns its id.
  Result<std::string> SetAttestationPolicy(const std::string& text);
  // Back to the default (the key-release policies). OK when none is set.
  Status ClearAttestationPolicy();
  // The stored platform attestation policy (tenant and key empty), or nullopt by default.
  Result<std::optional<StoredPolicy>> GetAttestationPolicy();

  // Test hook: called for each DEK during RotateKek; an error aborts the rotation.
  void SetRewrapHookForTesting(std::function<Status(const std::string& object_id)> hook);

 private:
  KeyBroker(std::shared_ptr<store::Database> db, SecretBytes root_key, KeyBrokerOptions options)
      : db_(std::move(db)), root_key_(std::move(root_key)), options_(std::move(options)) {}
  int64_t Now() const;
  Status RequireTenant(const std::string& tenant);
  Result<KekInfo> GetKekLocked(const std::string& tenant, const std::string& name);
  Result<WrappedDek> GetWrappedDekLocked(const std::string& tenant, const std::string& key,
                                         const std::string& object_id);
  Result<SecretBytes> LoadKek(const std::string& tenant, const std::string& name, uint32_t version);
  Result<uint32_t> RotateLocked(const std::string& tenant, const std::string& name, int64_t now);
  // Makes a new random KEK, stores it wrapped by the root key as the active `version`, and
  // returns it. The caller holds the lock and the transaction.
  Result<SecretBytes> InsertActiveVersion(const std::string& tenant, const std::string& name,
                                          uint32_t version, int64_t now);
  Result<std::string> AppraiseLocked(const std::string& tenant, const std::string& key,
                                     const std::string& object_id, const std::string& what,
                                     const attest::Claims& claims, attest::Verdict* verdict);
  Result<std::optional<StoredPolicy>> FindPolicy(const std::string& tenant, const std::string& key);
  // options_.published_check for this tenant's key and object (empty when unset).
  attest::PublishedCheck PublishedCheckFor(const std::string& tenant, const std::string& key,
                                           const std::string& object_id = "") const;

  std::mutex mu_;
  std::shared_ptr<store::Database> db_;
  SecretBytes root_key_;
  KeyBrokerOptions options_;
  std::function<Status(const std::string&)> rewrap_hook_;
  // Parsed policies by their text, so each attestation does not re-parse YAML. Guarded by
  // mu_; cleared when it grows past a bound.
  std::map<std::string, attest::AppraisalPolicy, std::less<>> parsed_policies_;
  Result<const attest::AppraisalPolicy*> ParsedLocked(const std::string& text);
};

// Exposed for tests and tools: the wrap formats (nonce(12) | ciphertext | tag(16)).
Result<Bytes> WrapKek(ByteSpan root_key, const KeyReference& ref, const SecretBytes& kek);
Result<SecretBytes> UnwrapKek(ByteSpan root_key, const KeyReference& ref, ByteSpan wrapped);
Result<Bytes> WrapDekUnderKek(ByteSpan kek, const KeyReference& ref, std::string_view object_id,
                              const SecretBytes& dek);
Result<SecretBytes> UnwrapDekUnderKek(ByteSpan kek, const KeyReference& ref,
                                      std::string_view object_id, ByteSpan wrapped);

}  // namespace crypta::kbs

#endif  // CRYPTA_KBS_BROKER_H_

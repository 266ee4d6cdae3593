// The control plane's on-disk state (issue 4, `crypta up`): everything `crypta up` creates
// in its data dir on first start and reuses afterwards.
//
//   <data-dir>/            mode 0700
//     root.key             32-byte root key (kbs/root_key.h), 0600
//     crypta.db            SQLite: kbs schema (tenants, KEKs, DEKs, policies, tokens) + audit
//     store.url            when the state lives in PostgreSQL instead (`crypta up --store`),
//                          its URL, 0600; written on first start, so a copy of this data dir
//                          starts another replica of the same control plane (docs/ha.md)
//     ear-signing.pem      EC P-256 PKCS#8 key signing EAR tokens and audit checkpoints, 0600
//     ear-keys/<retired-unix>-<kid>.pub.pem   public keys of rotated-out EAR keys (kept
//                          forever: old checkpoints and tokens name them)
//     admin.token          the platform-admin API token, 0600, written on first start only
//     sim/ca.pem, sim/ca.key.pem        the sim root CA (key 0600)
//     sim/node.pem, sim/node.key.pem    the local sim node identity (chain node, root; key 0600)
//     tls/ca.pem           the platform CA's trust bundle (src/pki roots), rewritten at each
//                          start: what API clients pin (the server certificate is issued by
//                          the platform CA's intermediate at each start)
//     release-log.vkey     the release transparency log's verifier key (a C2SP signed-note
//                          key, public), rewritten at each start: what clients pin
//
// The sim TEE is SIMULATED: the node key is an ordinary file and gives no isolation.
// Secrets are never overwritten: every file is created with O_EXCL and read back later.
#ifndef CRYPTA_API_DATA_DIR_H_
#define CRYPTA_API_DATA_DIR_H_

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "attest/sim/sim_tee.h"
#include "attest/verifier.h"
#include "audit/log.h"
#include "common/status.h"
#include "crypto/keys.h"
#include "crypto/x509.h"
#include "kbs/broker.h"
#include "kbs/tokens.h"
#include "pki/platform_ca.h"
#include "store/database.h"
#include "transparency/release_log.h"

namespace crypta::api {

inline constexpr char kAdminTokenFileName[] = "admin.token";
inline constexpr char kEarKeyFileName[] = "ear-signing.pem";
inline constexpr char kEarArchiveDir[] = "ear-keys";
inline constexpr char kDatabaseFileName[] = "crypta.db";
inline constexpr char kStoreFileName[] = "store.url";
inline constexpr char kSimNodeId[] = "local-node";
inline constexpr char kReleaseLogKeyFileName[] = "release-log.vkey";

// The opened state. Members are declared so the database is destroyed last.
struct ControlPlaneState {
  std::string data_dir;
  std::string store;          // where the state lives, password redacted
  bool shared_store = false;  // PostgreSQL: other replicas may use the same store
  std::shared_ptr<store::Database> db;
  std::unique_ptr<kbs::KeyBroker> broker;
  std::unique_ptr<kbs::TokenStore> tokens;
  std::unique_ptr<audit::AuditLog> audit;
  // The release transparency log (issue 17). Its Ed25519 signing key is derived from the root
  // key (every replica derives the same one); its key name and checkpoint origin are
  // "<trust domain>/releases"; log_verifier_key is the signed-note verifier key clients pin.
  std::unique_ptr<transparency::ReleaseLog> releases;
  std::optional<PrivateKey> log_key;
  std::string log_origin;
  std::string log_verifier_key;
  attest::VerifierRegistry verifiers;  // sim (pinned to sim/ca.pem), SNP, TDX, SGX
  std::optional<PrivateKey> ear_key;   // always set after OpenDataDir
  std::string ear_kid;                 // RFC 7638 thumbprint of the EAR key
  struct RetiredEarKey {
    std::string kid;
    PublicKey key;
    int64_t retired_at = 0;
  };
  std::vector<RetiredEarKey> retired_ear_keys;  // oldest first
  std::optional<attest::SimNodeIdentity> sim_node;
  std::unique_ptr<pki::PlatformCa> pki;  // workload identities (SPIFFE SVIDs)
  // Shared store: the EAR keys live in its ear_keys table (private keys wrapped with this
  // key, derived from the root key), so a rotation through one replica reaches the others.
  std::optional<SecretBytes> ear_wrap_key;
  bool first_start = false;  // true when this call wrote admin.token
};

// Creates (first start) or opens the data dir. Fails with kFailedPrecondition when a
// private file has group/other permission bits or is not a regular file, kUnavailable
// when the directory cannot be created, or any error of the underlying stores.
// Not thread-safe with another OpenDataDir of the same directory in this process.
// `trust_domain` names the platform CA's SPIFFE trust domain (fixed on first start).
// `store` is a PostgreSQL URL (ResolveStore) or empty for <data-dir>/crypta.db. Every table
// is created or migrated in one transaction, so replicas starting together on an empty store
// agree. kFailedPrecondition when the store was created with another root key (a replica
// must start from a copy of the first replica's data dir).
Result<std::unique_ptr<ControlPlaneState>> OpenDataDir(
    const std::string& data_dir, int64_t now, const std::string& trust_domain = "crypta.local",
    const std::string& store = "");

// Which store a data dir uses: `requested` (--store or CRYPTA_STORE; "" for none) checked
// against <data-dir>/store.url. Returns the PostgreSQL URL, or "" for the embedded SQLite.
// With a new PostgreSQL URL, records it in store.url (0600). kFailedPrecondition when the
// data dir already belongs to another store (or holds a SQLite database and a PostgreSQL
// store is requested); kInvalidArgument for a URL that is not postgres:// or postgresql://.
// With record = false (checks, offline verification) nothing is written.
Result<std::string> ResolveStore(const std::string& data_dir, const std::string& requested,
                                 bool record = true);

// Where the state is: the PostgreSQL URL `store` (from ResolveStore), or <data-dir>/crypta.db
// when it is empty.
std::string StoreLocation(const std::string& data_dir, const std::string& store);

// `crypta store check`: reaches the data dir's store without changing it and checks that it
// was made with this data dir's root key, has the schema this build expects and holds an
// audit log whose Merkle tree and signed checkpoints verify.
struct StoreCheckReport {
  std::string store;
  int64_t schema_version = 0;
  int64_t tenants = 0, models = 0, deployments = 0;
  uint64_t audit_entries = 0;
  size_t audit_checkpoints = 0;
};
Result<StoreCheckReport> CheckStore(const std::string& data_dir, const std::string& store);

// The sim hardware identity of local node `node` (a node agent started by `crypta up
// --nodes N`): nodes/<node>/sim/node.pem and node.key.pem, issued by the sim root CA on first
// use. Returns the node directory (<data-dir>/nodes/<node>).
Result<std::string> EnsureLocalNode(const std::string& data_dir, const std::string& node,
                                    int64_t now);

// Replaces the EAR signing key with a fresh one: the old public key is archived under
// ear-keys/ first, then ear-signing.pem is replaced atomically, then `state` is updated (a
// crash in between leaves the old key current and at worst an extra archive entry).
// Not thread-safe: the caller serializes it with readers of state.ear_key.
// With a shared store the new key goes into the store's ear_keys table (the old one marked
// retired) in one transaction instead of the data dir's files.
Status RotateEarKey(ControlPlaneState& state, int64_t now);

// Shared store: makes `state`'s EAR keys the store's (another replica may have rotated).
// Returns true when the current key changed. A no-op returning false for SQLite.
Result<bool> RefreshEarKeys(ControlPlaneState& state);

// Every EAR public key a data dir has used (current and retired), by kid, read without
// opening the database: what `audit verify` checks checkpoint signatures against.
// With `db` (a shared store), the keys of its ear_keys table as well.
Result<std::map<std::string, PublicKey>> LoadEarVerificationKeys(const std::string& data_dir,
                                                                 store::Database* db = nullptr);

// A TLS server identity for the API, issued by the platform CA (src/pki): a fresh P-256 key
// and a 90-day certificate (serverAuth) for `names` (DNS names or IP literals; localhost,
// 127.0.0.1 and ::1 are always included), chain = leaf, intermediate. Also writes the trust
// bundle to tls/ca.pem. kInvalidArgument for a malformed name.
struct TlsServerIdentity {
  PrivateKey key;
  std::vector<Certificate> chain;
};
Result<TlsServerIdentity> IssueTlsServerIdentity(const ControlPlaneState& state,
                                                 const std::vector<std::string>& names);

// Helpers shared with tests and tools. Both refuse symlinks and files over 1 MiB.
// WriteNewFile creates `path` with `mode` and O_EXCL (kAlreadyExists if present).
Status WriteNewFile(const std::string& path, std::string_view content, int mode);
// ReadPrivateFile fails (kFailedPrecondition) when `path` has group/other permissions.
Result<std::string> ReadPrivateFile(const std::string& path);
Result<std::string> ReadPublicFile(const std::string& path);

}  // namespace crypta::api

#endif  // CRYPTA_API_DATA_DIR_H_

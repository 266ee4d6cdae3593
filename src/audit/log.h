// A tamper-evident, redacting audit log stored in SQLite (src/store).
//
// Every entry is redacted (redact.h) BEFORE it is hashed or stored, serialized as RFC 8785
// canonical JSON and appended as a leaf of an RFC 9162 §2.1 Merkle tree (merkle.h); its
// sequence number is its leaf index. The tree's compact frontier (one hash per level) is
// kept in the database and updated in the same IMMEDIATE transaction as the entry, so the
// root is available in O(log n) without re-hashing the log. Checkpoint() signs
// (origin, tree size, root, time) with an ES256 (ECDSA P-256, SHA-256) key.
//
// Verify() trusts nothing in the database: it recomputes every leaf from the stored fields,
// rebuilds the tree, and checks every checkpoint's signature and root; the error names the
// entry (seq) or checkpoint (id) that no longer matches.
//
// There is no update or delete API, and SQL triggers refuse UPDATE/DELETE on the entry
// and checkpoint tables (defence in depth; someone with raw write access can drop them,
// which is what Verify() is for).
//
// Thread-safety: an AuditLog may be shared between threads; appends and checkpoints are
// serialized by a mutex and, across processes, by BEGIN IMMEDIATE. The Database must
// outlive the AuditLog.
#ifndef CRYPTA_AUDIT_LOG_H_
#define CRYPTA_AUDIT_LOG_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "audit/merkle.h"
#include "audit/redact.h"
#include "common/bytes.h"
#include "common/status.h"
#include "crypto/keys.h"
#include "store/database.h"

namespace crypta::audit {

// Input field caps (bytes, before redaction); larger input is kInvalidArgument.
inline constexpr size_t kMaxAuditIdentifierBytes = 256;  // actor, tenant, action, outcome
inline constexpr size_t kMaxAuditReasonBytes = 4096;
inline constexpr size_t kMaxAuditDetailsBytes = 64 * 1024;  // canonical JSON
inline constexpr size_t kMaxTailEntries = 10000;

// What a caller records. All text must be valid UTF-8. The log stamps time and seq.
struct AuditEntry {
  std::string actor;                                  // who (service or user id)
  std::string tenant;                                 // on whose behalf
  std::string action;                                 // e.g. "kbs.release_key"
  std::string outcome;                                // e.g. "allow", "deny", "error"
  std::string reason;                                 // free text
  nlohmann::json details = nlohmann::json::object();  // structured context
};

// An entry as stored: redacted fields, the log's time and seq, and its leaf hash.
struct StoredEntry {
  uint64_t seq = 0;
  int64_t time = 0;  // Unix seconds
  std::string actor, tenant, action, outcome, reason;
  std::string details;  // canonical JSON text (RFC 8785)
  Bytes leaf_hash;
};

struct SignedCheckpoint {
  int64_t id = 0;  // row id, for naming it in errors
  uint64_t tree_size = 0;
  Bytes root_hash;
  int64_t time = 0;
  Bytes signature;  // ECDSA P-256 / SHA-256, DER, over CheckpointText(...)
  std::string key_id;
};

struct AuditLogOptions {
  // Names this log in every checkpoint: printable ASCII, 1-256 bytes, no newline.
  std::string origin = "crypta.audit";
  RedactorOptions redaction;
  std::function<int64_t()> clock;  // Unix seconds; default UnixNow()
};

struct AuditVerifyReport {
  uint64_t entries = 0;
  size_t checkpoints = 0;
  Bytes root;  // MTH of all entries
};

// The signed checkpoint body (cf. C2SP tlog-checkpoint): four newline-terminated lines,
//   <origin>\n<tree size, decimal>\n<root hash, standard base64>\n<time, decimal>\n
std::string CheckpointText(std::string_view origin, uint64_t tree_size, ByteSpan root,
                           int64_t time);

// The bytes hashed as entry seq's leaf (RFC 9162 §2.1.1 input): RFC 8785 canonical JSON
// of {"action","actor","details","outcome","reason","seq","tenant","time","v":1}.
// Fails (kDataLoss) when `details` is not valid JSON.
Result<std::string> EntryLeafData(const StoredEntry& entry);

class AuditLog {
 public:
  // Creates the schema if needed. kInvalidArgument on bad options.
  static Result<std::unique_ptr<AuditLog>> Open(store::Database& db, AuditLogOptions options);

  // Redacts, validates and appends one entry in one transaction; returns its seq (0-based).
  // Fails with kInvalidArgument (caps, invalid UTF-8, non-finite numbers) or a store error.
  Result<uint64_t> Append(const AuditEntry& entry);

  // Signs the current tree head with an EC P-256 private key (kInvalidArgument otherwise)
  // and stores the checkpoint.
  Result<SignedCheckpoint> Checkpoint(const PrivateKey& key, std::string_view key_id);

  // Current number of entries and MTH (from the frontier, O(log n)).
  Result<uint64_t> Size();
  Result<Bytes> Root();
  // MTH of the first tree_size entries (reads their leaf hashes; O(tree_size)).
  Result<Bytes> RootAt(uint64_t tree_size);

  // RFC 9162 §2.1.3 / §2.1.4 proofs over the stored leaf hashes. The log keeps a MerkleTree
  // of them in memory (64 bytes per entry), loaded on first use and brought up to date from
  // the database on each call, so a proof costs O(log n) hashes.
  // kOutOfRange unless seq < tree_size <= Size() / old_size <= new_size <= Size().
  Result<InclusionProof> ProveInclusion(uint64_t seq, uint64_t tree_size);
  Result<ConsistencyProof> ProveConsistency(uint64_t old_size, uint64_t new_size);

  // The last min(n, kMaxTailEntries) entries, oldest first.
  Result<std::vector<StoredEntry>> Tail(size_t n);
  Result<std::optional<SignedCheckpoint>> LatestCheckpoint();

  // Checks the whole database (see the file comment) inside one read transaction (a
  // consistent snapshot), so run it on a connection that has no transaction open — e.g.
  // its own Database::Open of the same file while others append. Errors: kDataLoss for an entry,
  // frontier or checkpoint that does not match (message names "seq N" / "checkpoint #id"),
  // kUnauthenticated for a checkpoint signed by an unknown kid or with a bad signature.
  static Result<AuditVerifyReport> Verify(store::Database& db, std::string_view origin,
                                          const std::map<std::string, PublicKey>& keys);

 private:
  AuditLog(store::Database& db, AuditLogOptions options, Redactor redactor)
      : db_(db), options_(std::move(options)), redactor_(std::move(redactor)) {}
  // The cached tree, with every stored entry appended. Holds mu_.
  Result<const MerkleTree*> SyncTreeLocked();

  store::Database& db_;
  AuditLogOptions options_;
  Redactor redactor_;
  std::mutex mu_;
  MerkleTree tree_;  // guarded by mu_
};

}  // namespace crypta::audit

#endif  // CRYPTA_AUDIT_LOG_H_

// The release transparency log (issue 17): an append-only RFC 9162 §2.1 Merkle log of
// ReleaseEntry leaves (release_entry.h) in the control plane's store (SQLite or PostgreSQL,
// src/store), with signed tree heads as C2SP signed-note checkpoints (checkpoint.h).
//
// Storage (tables prefixed tlog_, created in one transaction by Open):
//   tlog_entries      one row per release: its fields, its leaf hash; indexed by
//                     (measurement, tenant, model_digest) for FindRelease
//   tlog_tree         the size;  tlog_frontier: the compact frontier (one hash per set bit
//                     of the size), so Append and the current root are O(log n) hashes
//   tlog_checkpoints  signed checkpoint notes by (size, origin, verifier key): a cache, so a
//                     tree head is signed once per size and key
// UPDATE/DELETE on entries and checkpoints are refused by triggers (defence in depth).
// Every append is one transaction (the entry, frontier and size together): a failed append
// leaves the log as it was. Proofs come from an in-memory MerkleTree of the stored leaf hashes
// (64 bytes per entry), brought up to date from the store on each call: O(log n) hashes.
//
// Offline audit: WriteDump writes a directory (checkpoint.txt: a signed checkpoint note;
// entries.jsonl: one line per entry {"leaf_hash":hex,"release":leaf object}, canonical JSON;
// key.txt: the verifier key) and VerifyDump recomputes every leaf and the root from it,
// trusting nothing but the verifier key it is given (or key.txt when given none).
//
// Thread-safety: a ReleaseLog may be shared by threads; calls are serialized by the
// database's mutex and then the log's own (store/database.h lock order), and across replicas
// by the store's single-writer transactions.
#ifndef CRYPTA_TRANSPARENCY_RELEASE_LOG_H_
#define CRYPTA_TRANSPARENCY_RELEASE_LOG_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "audit/merkle.h"
#include "common/bytes.h"
#include "common/status.h"
#include "crypto/keys.h"
#include "store/database.h"
#include "transparency/checkpoint.h"
#include "transparency/release_entry.h"

namespace crypta::transparency {

// Entries returns at most this many per call; callers page.
inline constexpr uint64_t kMaxEntriesPerCall = 1000;

struct ReleaseLogOptions {
  std::function<int64_t()> clock;  // Unix seconds for entries appended with time 0; default now
};

// An entry as stored, with its index and leaf hash.
struct StoredRelease {
  uint64_t index = 0;
  ReleaseEntry entry;
  Bytes leaf_hash;
};

// A signed tree head: the checkpoint and its signed note (checkpoint.h).
struct SignedTreeHead {
  Checkpoint checkpoint;
  std::string note;
};

// What VerifyDump checked.
struct DumpReport {
  Checkpoint checkpoint;     // from checkpoint.txt, verified
  std::string verifier_key;  // the key that verified it
  uint64_t entries = 0;      // = checkpoint.size
};

struct DumpVerifyOptions {
  // The log's verifier key as the auditor knows it (pinned). Empty: trust key.txt (only
  // useful to check the dump against itself; the report names the key used).
  std::string pinned_key;
  // The expected checkpoint origin. Empty: the verifier key's name.
  std::string origin;
};

class ReleaseLog {
 public:
  // Creates the tlog_ tables if needed (one transaction).
  [[nodiscard]] static Result<std::unique_ptr<ReleaseLog>> Open(std::shared_ptr<store::Database> db,
                                                                ReleaseLogOptions options = {});

  // Validates (release_entry.h) and appends one entry; time 0 means the log's clock. Returns
  // its index. kInvalidArgument for a bad entry, store errors otherwise (nothing written).
  [[nodiscard]] Result<uint64_t> Append(ReleaseEntry entry);

  // Number of entries (O(1) read) and the Merkle tree hash of the first `size` entries.
  [[nodiscard]] Result<uint64_t> Size();
  [[nodiscard]] Result<Bytes> Root(uint64_t size);

  // A checkpoint of the current tree, signed by an Ed25519 key under `key_name` with `origin`
  // (both signed-note key names; the log's key name SHOULD equal its origin,
  // tlog-checkpoint §Signatures). Returns the stored note when this size, origin and key were
  // signed before. Refuses (kDataLoss) to sign a tree that is not an extension of the largest
  // checkpoint stored for this origin (a rewritten store), as tlog-checkpoint requires.
  [[nodiscard]] Result<SignedTreeHead> SignedCheckpoint(const PrivateKey& key,
                                                        const std::string& key_name,
                                                        const std::string& origin);

  // Entries [start, min(end, start + kMaxEntriesPerCall)), oldest first. kOutOfRange unless
  // start <= end <= Size().
  [[nodiscard]] Result<std::vector<StoredRelease>> Entries(uint64_t start, uint64_t end);

  // RFC 9162 §2.1.3 / §2.1.4 proofs. kOutOfRange unless index < size <= Size() /
  // old_size <= new_size <= Size().
  [[nodiscard]] Result<audit::InclusionProof> ProveInclusion(uint64_t index, uint64_t size);
  [[nodiscard]] Result<audit::ConsistencyProof> ProveConsistency(uint64_t old_size,
                                                                 uint64_t new_size);

  // The lowest index of an entry with this measurement, tenant and model digest, or nullopt;
  // an empty tenant or model digest matches any. kInvalidArgument when the measurement or
  // digest is malformed.
  [[nodiscard]] Result<std::optional<uint64_t>> FindRelease(std::string_view tenant,
                                                            std::string_view measurement,
                                                            std::string_view model_digest);

  // Writes `dir` (created if missing; files replaced atomically, mode 0644): a checkpoint of
  // the current tree signed as SignedCheckpoint does, the entries it covers, and the key.
  [[nodiscard]] Status WriteDump(const std::string& dir, const PrivateKey& key,
                                 const std::string& key_name, const std::string& origin);

  // Verifies a dump offline (no store): the key, the checkpoint signature and origin, every
  // entry's leaf (recomputed from its fields; the index must be its line number), their count
  // and the Merkle root. Errors name the file and line: kUnauthenticated (key or signature),
  // kDataLoss (an edited, missing or extra entry, a root that does not match), and
  // kInvalidArgument / kResourceExhausted for malformed files.
  [[nodiscard]] static Result<DumpReport> VerifyDump(const std::string& dir,
                                                     const DumpVerifyOptions& options = {});

 private:
  ReleaseLog(std::shared_ptr<store::Database> db, ReleaseLogOptions options)
      : db_(std::move(db)), options_(std::move(options)) {}
  // Brings tree_ up to date with the stored leaf hashes. Holds mu_.
  Result<const audit::MerkleTree*> SyncTreeLocked();
  Result<SignedTreeHead> SignedCheckpointLocked(const PrivateKey& key, const std::string& key_name,
                                                const std::string& origin);
  // The current tree's head and, when it was signed before for (origin, vkey), its stored
  // note (else an empty note). Inside the caller's transaction.
  Result<SignedTreeHead> CurrentHead(const std::string& origin, const std::string& vkey);

  std::shared_ptr<store::Database> db_;
  ReleaseLogOptions options_;
  std::mutex mu_;
  audit::MerkleTree tree_;  // guarded by mu_
};

}  // namespace crypta::transparency

#endif  // CRYPTA_TRANSPARENCY_RELEASE_LOG_H_

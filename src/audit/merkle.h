// Merkle trees as in RFC 9162 §2.1 (Certificate Transparency v2, same hashing as RFC 6962):
// leaf and node hashing, the Merkle Tree Hash (MTH) of n leaves, inclusion proofs (§2.1.3)
// and consistency proofs (§2.1.4) — generation and the RFC's verification algorithms —
// plus a compact "frontier" that yields the root after each append without re-hashing.
//
// All hashes are SHA-256 (32 bytes). Functions taking hashes reject wrong sizes with
// kInvalidArgument naming the argument. Verification failures are kUnauthenticated.
// All free functions are pure and thread-safe; MerkleFrontier is a value type (one thread
// at a time per object).
#ifndef CRYPTA_AUDIT_MERKLE_H_
#define CRYPTA_AUDIT_MERKLE_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "common/bytes.h"
#include "common/status.h"

namespace crypta::audit {

inline constexpr size_t kMerkleHashSize = 32;
// Longest proof accepted or produced: a tree of 2^64 leaves needs at most 64 hashes for an
// inclusion proof and 65 (with the prepended first root) for a consistency proof.
inline constexpr size_t kMaxProofHashes = 64;

// RFC 9162 §2.1.1: SHA-256(0x00 || entry).
Bytes LeafHash(ByteSpan entry);
// RFC 9162 §2.1.1: SHA-256(0x01 || left || right). Inputs are not size-checked here.
Bytes NodeHash(ByteSpan left, ByteSpan right);
// MTH({}) = SHA-256() (RFC 9162 §2.1.1).
Bytes EmptyTreeHash();

// MTH over already-hashed leaves (each 32 bytes). Fails if a leaf hash has the wrong size.
[[nodiscard]] Result<Bytes> MerkleRoot(std::span<const Bytes> leaf_hashes);

// RFC 9162 §2.1.3.1 PATH(index, D[tree_size]) over the first tree_size leaf hashes. Fails
// (kOutOfRange) unless index < tree_size <= leaf_hashes.size().
[[nodiscard]] Result<std::vector<Bytes>> MakeInclusionProof(std::span<const Bytes> leaf_hashes,
                                                            uint64_t index, uint64_t tree_size);

// RFC 9162 §2.1.4.1 PROOF(old_size, D[new_size]). Fails (kOutOfRange) unless
// old_size <= new_size <= leaf_hashes.size(). Empty when old_size is 0 or equals new_size.
[[nodiscard]] Result<std::vector<Bytes>> MakeConsistencyProof(std::span<const Bytes> leaf_hashes,
                                                              uint64_t old_size, uint64_t new_size);

// RFC 9162 §2.1.3.2: checks that leaf_hash is leaf `index` of the tree of `tree_size`
// leaves whose MTH is `root`. kUnauthenticated when the proof does not verify.
[[nodiscard]] Status VerifyInclusion(ByteSpan leaf_hash, uint64_t index, uint64_t tree_size,
                                     std::span<const Bytes> proof, ByteSpan root);

// RFC 9162 §2.1.4.2: checks that the tree of old_size leaves (old_root) is a prefix of the
// tree of new_size leaves (new_root). Degenerate cases, as the RFC's prerequisites imply:
// old_size == new_size needs an empty proof and equal roots; old_size == 0 needs an empty
// proof and old_root == EmptyTreeHash(). old_size > new_size always fails.
[[nodiscard]] Status VerifyConsistency(uint64_t old_size, uint64_t new_size, ByteSpan old_root,
                                       ByteSpan new_root, std::span<const Bytes> proof);

// Wire forms used by the audit log's API and its fuzz target (all integers big-endian):
//   inclusion:   u64 leaf_index || u64 tree_size || u8 count || count × 32-byte hash
//   consistency: u64 old_size   || u64 new_size  || u8 count || count × 32-byte hash
// Decoding rejects count > kMaxProofHashes, truncation and trailing bytes (kInvalidArgument,
// naming the field).
struct InclusionProof {
  uint64_t leaf_index = 0;
  uint64_t tree_size = 0;
  std::vector<Bytes> path;
};
struct ConsistencyProof {
  uint64_t old_size = 0;
  uint64_t new_size = 0;
  std::vector<Bytes> path;
};
[[nodiscard]] Result<Bytes> EncodeInclusionProof(const InclusionProof& proof);
[[nodiscard]] Result<InclusionProof> DecodeInclusionProof(ByteSpan data);
[[nodiscard]] Result<Bytes> EncodeConsistencyProof(const ConsistencyProof& proof);
[[nodiscard]] Result<ConsistencyProof> DecodeConsistencyProof(ByteSpan data);

// The compact form of a growing tree: for each set bit `level` of size(), the root of the
// perfect subtree of 2^level leaves it covers (RFC 9162 §2.1.1's decomposition, largest
// subtree leftmost). Append and Root are O(log n) hashes.
class MerkleFrontier {
 public:
  MerkleFrontier() = default;
  // Rebuilds from stored state: hashes[level] must be present (32 bytes) exactly for the
  // set bits of size, and empty otherwise. kDataLoss on mismatch.
  static Result<MerkleFrontier> FromLevels(uint64_t size, std::vector<Bytes> hashes);

  uint64_t size() const { return size_; }
  // One entry per level (empty where the bit of size() is clear).
  const std::vector<Bytes>& levels() const { return levels_; }

  // Adds a 32-byte leaf hash (kInvalidArgument otherwise).
  Status Append(ByteSpan leaf_hash);
  // MTH of the size() leaves appended so far.
  Bytes Root() const;

 private:
  uint64_t size_ = 0;
  std::vector<Bytes> levels_;
};

// An append-only tree that keeps the hash of every complete, aligned subtree (about 2n
// hashes, 64 bytes per leaf): the MTH of any prefix and RFC 9162 proofs then cost O(log n)
// hashes instead of re-hashing every leaf. Same results as MerkleRoot/MakeInclusionProof/
// MakeConsistencyProof over the same leaves. A value type (one thread at a time per object).
class MerkleTree {
 public:
  uint64_t size() const { return levels_.empty() ? 0 : levels_[0].size(); }
  // Adds a 32-byte leaf hash (kInvalidArgument otherwise); O(log n) amortized.
  Status Append(ByteSpan leaf_hash);
  // MTH of the first tree_size leaves; kOutOfRange when tree_size > size().
  Result<Bytes> Root(uint64_t tree_size) const;
  // As MakeInclusionProof / MakeConsistencyProof over the first size() leaves.
  Result<std::vector<Bytes>> InclusionProof(uint64_t index, uint64_t tree_size) const;
  Result<std::vector<Bytes>> ConsistencyProof(uint64_t old_size, uint64_t new_size) const;

 private:
  using Hash = std::array<uint8_t, kMerkleHashSize>;
  // MTH of leaves [lo, lo + n), n >= 1, lo + n <= size().
  Bytes RangeHash(uint64_t lo, uint64_t n) const;
  // levels_[l][i] = MTH of leaves [i * 2^l, (i + 1) * 2^l), present once complete.
  std::vector<std::vector<Hash>> levels_;
};

}  // namespace crypta::audit

#endif  // CRYPTA_AUDIT_MERKLE_H_

#include "audit/merkle.h"

#include <algorithm>
#include <bit>
#include <string>
#include <utility>

#include "common/byte_reader.h"
#include "common/byte_writer.h"
#include "crypto/hash.h"

namespace crypta::audit {
namespace {

using LeafSpan = std::span<const Bytes>;

// Largest power of two strictly smaller than n (n >= 2), the split point k of RFC 9162
// §2.1.1.
uint64_t SplitPoint(uint64_t n) { return std::bit_floor(n - 1); }

// MTH(D[n]) for n >= 1 over validated leaf hashes.
Bytes SubtreeRoot(LeafSpan leaves) {
  if (leaves.size() == 1) return leaves[0];
  size_t k = SplitPoint(leaves.size());
  return NodeHash(SubtreeRoot(leaves.first(k)), SubtreeRoot(leaves.subspan(k)));
}

Status CheckLeafHashes(LeafSpan leaves) {
  for (size_t i = 0; i < leaves.size(); ++i) {
    if (leaves[i].size() != kMerkleHashSize) {
      return MakeError(ErrorCode::kInvalidArgument, "leaf hash " + std::to_string(i) + " is " +
                                                        std::to_string(leaves[i].size()) +
                                                        " bytes, want 32");
    }
  }
  return OkStatus();
}

Status CheckHash(ByteSpan hash, std::string_view name) {
  if (hash.size() != kMerkleHashSize) {
    return MakeError(ErrorCode::kInvalidArgument,
                     std::string(name) + " is " + std::to_string(hash.size()) + " bytes, want 32");
  }
  return OkStatus();
}

Status CheckProofHashes(std::span<const Bytes> proof) {
  if (proof.size() > kMaxProofHashes) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "proof has " + std::to_string(proof.size()) + " hashes, at most 64");
  }
  for (size_t i = 0; i < proof.size(); ++i) {
    CRYPTA_RETURN_IF_ERROR(CheckHash(proof[i], "proof hash " + std::to_string(i)));
  }
  return OkStatus();
}

// RFC 9162 §2.1.3.1 PATH(m, D[n]) over leaves [lo, lo + n); `hash(lo, n)` is the MTH of a
// range (computed from leaf hashes, or looked up in a MerkleTree).
template <typename RangeHashFn>
void AppendPath(uint64_t m, uint64_t lo, uint64_t n, const RangeHashFn& hash,
                std::vector<Bytes>& out) {
  if (n <= 1) return;
  const uint64_t k = SplitPoint(n);
  if (m < k) {
    AppendPath(m, lo, k, hash, out);
    out.push_back(hash(lo + k, n - k));
  } else {
    AppendPath(m - k, lo + k, n - k, hash, out);
    out.push_back(hash(lo, k));
  }
}

// RFC 9162 §2.1.4.1 SUBPROOF(m, D[n], b) over leaves [lo, lo + n).
template <typename RangeHashFn>
void AppendSubproof(uint64_t m, uint64_t lo, uint64_t n, bool b, const RangeHashFn& hash,
                    std::vector<Bytes>& out) {
  if (m == n) {
    if (!b) out.push_back(hash(lo, n));
    return;
  }
  const uint64_t k = SplitPoint(n);
  if (m <= k) {
    AppendSubproof(m, lo, k, b, hash, out);
    out.push_back(hash(lo + k, n - k));
  } else {
    AppendSubproof(m - k, lo + k, n - k, false, hash, out);
    out.push_back(hash(lo, k));
  }
}

Status CheckProofSizes(uint64_t available, uint64_t a, uint64_t b, bool inclusion) {
  const bool bad = inclusion ? (b > available || a >= b) : (b > available || a > b);
  if (!bad) return OkStatus();
  return MakeError(
      ErrorCode::kOutOfRange,
      inclusion ? "inclusion proof for leaf " + std::to_string(a) + " in tree of " +
                      std::to_string(b) + " leaves (" + std::to_string(available) + " available)"
                : "consistency proof from " + std::to_string(a) + " to " + std::to_string(b) +
                      " leaves (" + std::to_string(available) + " available)");
}

Status ProofFailed(std::string what) {
  return MakeError(ErrorCode::kUnauthenticated, std::move(what));
}

Result<Bytes> EncodeProof(uint64_t a, uint64_t b, const std::vector<Bytes>& path) {
  CRYPTA_RETURN_IF_ERROR(CheckProofHashes(path));
  ByteWriter w;
  w.WriteU64BE(a);
  w.WriteU64BE(b);
  w.WriteU8(static_cast<uint8_t>(path.size()));
  for (const Bytes& h : path) w.WriteBytes(h);
  return w.Take();
}

Status DecodeProof(ByteSpan data, std::string_view a_name, std::string_view b_name, uint64_t& a,
                   uint64_t& b, std::vector<Bytes>& path) {
  ByteReader r(data);
  CRYPTA_ASSIGN_OR_RETURN(a, r.ReadU64BE(a_name));
  CRYPTA_ASSIGN_OR_RETURN(b, r.ReadU64BE(b_name));
  CRYPTA_ASSIGN_OR_RETURN(uint8_t count, r.ReadU8("proof hash count"));
  if (count > kMaxProofHashes) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "proof hash count is " + std::to_string(count) + ", at most 64");
  }
  path.clear();
  for (size_t i = 0; i < count; ++i) {
    CRYPTA_ASSIGN_OR_RETURN(ByteSpan h, r.ReadBytes(kMerkleHashSize, "proof hash"));
    path.emplace_back(h.begin(), h.end());
  }
  return r.Finish("merkle proof");
}

}  // namespace

Bytes LeafHash(ByteSpan entry) {
  static constexpr uint8_t kLeafPrefix[1] = {0x00};
  return Sha256(Concat(ByteSpan(kLeafPrefix), entry));
}

Bytes NodeHash(ByteSpan left, ByteSpan right) {
  static constexpr uint8_t kNodePrefix[1] = {0x01};
  return Sha256(Concat(ByteSpan(kNodePrefix), left, right));
}

Bytes EmptyTreeHash() { return Sha256(ByteSpan()); }

Result<Bytes> MerkleRoot(std::span<const Bytes> leaf_hashes) {
  CRYPTA_RETURN_IF_ERROR(CheckLeafHashes(leaf_hashes));
  if (leaf_hashes.empty()) return EmptyTreeHash();
  return SubtreeRoot(leaf_hashes);
}

Result<std::vector<Bytes>> MakeInclusionProof(std::span<const Bytes> leaf_hashes, uint64_t index,
                                              uint64_t tree_size) {
  CRYPTA_RETURN_IF_ERROR(CheckProofSizes(leaf_hashes.size(), index, tree_size, true));
  LeafSpan tree = leaf_hashes.first(tree_size);
  CRYPTA_RETURN_IF_ERROR(CheckLeafHashes(tree));
  std::vector<Bytes> path;
  AppendPath(
      index, 0, tree_size,
      [tree](uint64_t lo, uint64_t n) { return SubtreeRoot(tree.subspan(lo, n)); }, path);
  return path;
}

Result<std::vector<Bytes>> MakeConsistencyProof(std::span<const Bytes> leaf_hashes,
                                                uint64_t old_size, uint64_t new_size) {
  CRYPTA_RETURN_IF_ERROR(CheckProofSizes(leaf_hashes.size(), old_size, new_size, false));
  LeafSpan tree = leaf_hashes.first(new_size);
  CRYPTA_RETURN_IF_ERROR(CheckLeafHashes(tree));
  std::vector<Bytes> path;
  if (old_size == 0 || old_size == new_size) return path;
  AppendSubproof(
      old_size, 0, new_size, /*b=*/true,
      [tree](uint64_t lo, uint64_t n) { return SubtreeRoot(tree.subspan(lo, n)); }, path);
  return path;
}

Status MerkleTree::Append(ByteSpan leaf_hash) {
  CRYPTA_RETURN_IF_ERROR(CheckHash(leaf_hash, "leaf hash"));
  Hash h;
  std::copy(leaf_hash.begin(), leaf_hash.end(), h.begin());
  if (levels_.empty()) levels_.emplace_back();
  levels_[0].push_back(h);
  // Each completed pair at a level makes one node above it.
  for (size_t level = 0; levels_[level].size() % 2 == 0; ++level) {
    const auto& below = levels_[level];
    const Bytes node = NodeHash(below[below.size() - 2], below[below.size() - 1]);
    if (levels_.size() == level + 1) levels_.emplace_back();
    Hash up;
    std::copy(node.begin(), node.end(), up.begin());
    levels_[level + 1].push_back(up);
  }
  return OkStatus();
}

Bytes MerkleTree::RangeHash(uint64_t lo, uint64_t n) const {
  if (std::has_single_bit(n) && lo % n == 0) {
    const Hash& h = levels_[std::countr_zero(n)][lo / n];
    return Bytes(h.begin(), h.end());
  }
  const uint64_t k = SplitPoint(n);
  return NodeHash(RangeHash(lo, k), RangeHash(lo + k, n - k));
}

Result<Bytes> MerkleTree::Root(uint64_t tree_size) const {
  if (tree_size > size()) {
    return MakeError(ErrorCode::kOutOfRange, "tree size " + std::to_string(tree_size) +
                                                 " exceeds the " + std::to_string(size()) +
                                                 " leaves");
  }
  if (tree_size == 0) return EmptyTreeHash();
  return RangeHash(0, tree_size);
}

Result<std::vector<Bytes>> MerkleTree::InclusionProof(uint64_t index, uint64_t tree_size) const {
  CRYPTA_RETURN_IF_ERROR(CheckProofSizes(size(), index, tree_size, true));
  std::vector<Bytes> path;
  AppendPath(
      index, 0, tree_size, [this](uint64_t lo, uint64_t n) { return RangeHash(lo, n); }, path);
  return path;
}

Result<std::vector<Bytes>> MerkleTree::ConsistencyProof(uint64_t old_size,
                                                        uint64_t new_size) const {
  CRYPTA_RETURN_IF_ERROR(CheckProofSizes(size(), old_size, new_size, false));
  std::vector<Bytes> path;
  if (old_size == 0 || old_size == new_size) return path;
  AppendSubproof(
      old_size, 0, new_size, /*b=*/true,
      [this](uint64_t lo, uint64_t n) { return RangeHash(lo, n); }, path);
  return path;
}

Status VerifyInclusion(ByteSpan leaf_hash, uint64_t index, uint64_t tree_size,
                       std::span<const Bytes> proof, ByteSpan root) {
  CRYPTA_RETURN_IF_ERROR(CheckHash(leaf_hash, "leaf hash"));
  CRYPTA_RETURN_IF_ERROR(CheckHash(root, "root hash"));
  CRYPTA_RETURN_IF_ERROR(CheckProofHashes(proof));
  // §2.1.3.2 step 1.
  if (index >= tree_size) {
    return ProofFailed("inclusion proof: leaf index " + std::to_string(index) +
                       " is not below tree size " + std::to_string(tree_size));
  }
  // Steps 2-4.
  uint64_t fn = index;
  uint64_t sn = tree_size - 1;
  Bytes r(leaf_hash.begin(), leaf_hash.end());
  for (const Bytes& p : proof) {
    if (sn == 0) return ProofFailed("inclusion proof is longer than the tree is deep");
    if ((fn & 1) != 0 || fn == sn) {
      r = NodeHash(p, r);
      if ((fn & 1) == 0) {
        while ((fn & 1) == 0 && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      r = NodeHash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  // Step 5.
  if (sn != 0) return ProofFailed("inclusion proof is shorter than the tree is deep");
  if (!std::equal(r.begin(), r.end(), root.begin(), root.end())) {
    return ProofFailed("inclusion proof does not lead to the root hash");
  }
  return OkStatus();
}

Status VerifyConsistency(uint64_t old_size, uint64_t new_size, ByteSpan old_root, ByteSpan new_root,
                         std::span<const Bytes> proof) {
  CRYPTA_RETURN_IF_ERROR(CheckHash(old_root, "old root hash"));
  CRYPTA_RETURN_IF_ERROR(CheckHash(new_root, "new root hash"));
  CRYPTA_RETURN_IF_ERROR(CheckProofHashes(proof));
  auto equal = [](ByteSpan a, ByteSpan b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end());
  };
  if (old_size > new_size) {
    return ProofFailed("consistency proof: old size " + std::to_string(old_size) +
                       " exceeds new size " + std::to_string(new_size));
  }
  if (old_size == new_size) {
    if (!proof.empty()) return ProofFailed("consistency proof between equal sizes must be empty");
    if (!equal(old_root, new_root)) return ProofFailed("roots of equal-size trees differ");
    return OkStatus();
  }
  if (old_size == 0) {
    if (!proof.empty()) return ProofFailed("consistency proof from the empty tree must be empty");
    if (!equal(old_root, EmptyTreeHash())) {
      return ProofFailed("old root of the empty tree is not SHA-256()");
    }
    return OkStatus();
  }
  // §2.1.4.2 step 1.
  if (proof.empty()) return ProofFailed("consistency proof is empty");
  // Step 2: if old_size is an exact power of two, prepend old_root.
  std::vector<Bytes> path;
  if (std::has_single_bit(old_size)) path.emplace_back(old_root.begin(), old_root.end());
  path.insert(path.end(), proof.begin(), proof.end());
  // Steps 3-4.
  uint64_t fn = old_size - 1;
  uint64_t sn = new_size - 1;
  while ((fn & 1) != 0) {
    fn >>= 1;
    sn >>= 1;
  }
  // Step 5.
  Bytes fr = path[0];
  Bytes sr = path[0];
  // Step 6.
  for (size_t i = 1; i < path.size(); ++i) {
    const Bytes& c = path[i];
    if (sn == 0) return ProofFailed("consistency proof is longer than the tree is deep");
    if ((fn & 1) != 0 || fn == sn) {
      fr = NodeHash(c, fr);
      sr = NodeHash(c, sr);
      if ((fn & 1) == 0) {
        while ((fn & 1) == 0 && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      sr = NodeHash(sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  // Step 7.
  if (sn != 0) return ProofFailed("consistency proof is shorter than the tree is deep");
  if (!equal(fr, old_root)) return ProofFailed("consistency proof does not lead to the old root");
  if (!equal(sr, new_root)) return ProofFailed("consistency proof does not lead to the new root");
  return OkStatus();
}

Result<Bytes> EncodeInclusionProof(const InclusionProof& proof) {
  return EncodeProof(proof.leaf_index, proof.tree_size, proof.path);
}

Result<InclusionProof> DecodeInclusionProof(ByteSpan data) {
  InclusionProof proof;
  CRYPTA_RETURN_IF_ERROR(
      DecodeProof(data, "leaf index", "tree size", proof.leaf_index, proof.tree_size, proof.path));
  return proof;
}

Result<Bytes> EncodeConsistencyProof(const ConsistencyProof& proof) {
  return EncodeProof(proof.old_size, proof.new_size, proof.path);
}

Result<ConsistencyProof> DecodeConsistencyProof(ByteSpan data) {
  ConsistencyProof proof;
  CRYPTA_RETURN_IF_ERROR(
      DecodeProof(data, "old size", "new size", proof.old_size, proof.new_size, proof.path));
  return proof;
}

Result<MerkleFrontier> MerkleFrontier::FromLevels(uint64_t size, std::vector<Bytes> hashes) {
  size_t want_levels = static_cast<size_t>(std::bit_width(size));
  if (hashes.size() > 64) {
    return MakeError(ErrorCode::kDataLoss, "frontier has more than 64 levels");
  }
  hashes.resize(std::max(hashes.size(), want_levels));
  for (size_t level = 0; level < hashes.size(); ++level) {
    bool want = level < 64 && ((size >> level) & 1) != 0;
    bool have = !hashes[level].empty();
    if (want != have || (have && hashes[level].size() != kMerkleHashSize)) {
      return MakeError(ErrorCode::kDataLoss, "frontier level " + std::to_string(level) +
                                                 " does not match tree size " +
                                                 std::to_string(size));
    }
  }
  hashes.resize(want_levels);
  MerkleFrontier frontier;
  frontier.size_ = size;
  frontier.levels_ = std::move(hashes);
  return frontier;
}

Status MerkleFrontier::Append(ByteSpan leaf_hash) {
  CRYPTA_RETURN_IF_ERROR(CheckHash(leaf_hash, "leaf hash"));
  Bytes carry(leaf_hash.begin(), leaf_hash.end());
  size_t level = 0;
  // Binary increment: each set low bit merges a left subtree with the carried right one.
  while (((size_ >> level) & 1) != 0) {
    carry = NodeHash(levels_[level], carry);
    levels_[level].clear();
    ++level;
  }
  if (levels_.size() <= level) levels_.resize(level + 1);
  levels_[level] = std::move(carry);
  ++size_;
  return OkStatus();
}

Bytes MerkleFrontier::Root() const {
  if (size_ == 0) return EmptyTreeHash();
  // Fold from the smallest (rightmost) subtree to the largest (leftmost).
  Bytes root;
  for (const Bytes& h : levels_) {
    if (h.empty()) continue;
    root = root.empty() ? h : NodeHash(h, root);
  }
  return root;
}

}  // namespace crypta::audit

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "audit/merkle.h"
#include "common/encoding.h"
#include "testing/test_util.h"

namespace crypta::audit {
namespace {

using crypta::testing::Unhex;

// Certificate Transparency's reference leaves (RFC 6962 test data), and the MTH for each
// tree size 0..8.
const char* const kCtEntries[] = {"",
                                  "00",
                                  "10",
                                  "2021",
                                  "3031",
                                  "40414243",
                                  "5051525354555657",
                                  "606162636465666768696a6b6c6d6e6f"};
const char* const kCtRoots[] = {
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
};

std::vector<Bytes> CtLeaves() {
  std::vector<Bytes> leaves;
  for (const char* e : kCtEntries) leaves.push_back(LeafHash(Unhex(e)));
  return leaves;
}

std::vector<Bytes> Hexes(std::vector<std::string> hexes) {
  std::vector<Bytes> out;
  for (const auto& h : hexes) out.push_back(Unhex(h));
  return out;
}

std::vector<Bytes> SyntheticLeaves(size_t n) {
  std::vector<Bytes> leaves;
  for (size_t i = 0; i < n; ++i) leaves.push_back(LeafHash(ToBytes("leaf-" + std::to_string(i))));
  return leaves;
}

TEST(MerkleTest, EmptyTreeHashIsSha256OfEmptyString) {
  EXPECT_EQ(HexEncode(EmptyTreeHash()), kCtRoots[0]);
  CRYPTA_ASSIGN_OR_FAIL(Bytes root, MerkleRoot({}));
  EXPECT_EQ(HexEncode(root), kCtRoots[0]);
}

TEST(MerkleTest, RootsMatchCertificateTransparencyReference) {
  std::vector<Bytes> leaves = CtLeaves();
  MerkleFrontier frontier;
  for (size_t n = 0; n <= leaves.size(); ++n) {
    CRYPTA_ASSIGN_OR_FAIL(Bytes root, MerkleRoot(std::span(leaves).first(n)));
    EXPECT_EQ(HexEncode(root), kCtRoots[n]) << "size " << n;
    EXPECT_EQ(HexEncode(frontier.Root()), kCtRoots[n]) << "frontier size " << n;
    if (n < leaves.size()) CRYPTA_ASSERT_OK(frontier.Append(leaves[n]));
  }
}

TEST(MerkleTest, InclusionProofsMatchReference) {
  std::vector<Bytes> leaves = CtLeaves();
  CRYPTA_ASSIGN_OR_FAIL(auto p0, MakeInclusionProof(leaves, 0, 8));
  EXPECT_EQ(p0, Hexes({"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                       "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                       "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}));
  CRYPTA_ASSIGN_OR_FAIL(auto p5, MakeInclusionProof(leaves, 5, 8));
  EXPECT_EQ(p5, Hexes({"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                       "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                       "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}));
  CRYPTA_EXPECT_OK(VerifyInclusion(leaves[5], 5, 8, p5, Unhex(kCtRoots[8])));
}

TEST(MerkleTest, ConsistencyProofsMatchReference) {
  std::vector<Bytes> leaves = CtLeaves();
  CRYPTA_ASSIGN_OR_FAIL(auto p28, MakeConsistencyProof(leaves, 2, 8));
  EXPECT_EQ(p28, Hexes({"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}));
  CRYPTA_ASSIGN_OR_FAIL(auto p68, MakeConsistencyProof(leaves, 6, 8));
  EXPECT_EQ(p68, Hexes({"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}));
  CRYPTA_ASSIGN_OR_FAIL(auto p25, MakeConsistencyProof(leaves, 2, 5));
  EXPECT_EQ(p25, Hexes({"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}));
  CRYPTA_EXPECT_OK(VerifyConsistency(6, 8, Unhex(kCtRoots[6]), Unhex(kCtRoots[8]), p68));
  CRYPTA_EXPECT_OK(VerifyConsistency(2, 5, Unhex(kCtRoots[2]), Unhex(kCtRoots[5]), p25));
}

Bytes FlipBit(Bytes b, size_t bit) {
  b[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
  return b;
}

// Every inclusion proof in every tree up to 20 leaves verifies; flipping any single bit
// of the leaf, a proof hash or the root, or changing the index or size, makes it fail.
TEST(MerkleTest, EveryInclusionProofVerifiesAndEveryBitFlipFails) {
  std::vector<Bytes> leaves = SyntheticLeaves(20);
  for (uint64_t n = 1; n <= 20; ++n) {
    CRYPTA_ASSIGN_OR_FAIL(Bytes root, MerkleRoot(std::span(leaves).first(n)));
    for (uint64_t i = 0; i < n; ++i) {
      CRYPTA_ASSIGN_OR_FAIL(auto proof, MakeInclusionProof(leaves, i, n));
      ASSERT_TRUE(VerifyInclusion(leaves[i], i, n, proof, root)) << i << "/" << n;
      for (size_t bit = 0; bit < 256; ++bit) {
        ASSERT_FALSE(VerifyInclusion(FlipBit(leaves[i], bit), i, n, proof, root));
        ASSERT_FALSE(VerifyInclusion(leaves[i], i, n, proof, FlipBit(root, bit)));
        for (size_t p = 0; p < proof.size(); ++p) {
          auto bad = proof;
          bad[p] = FlipBit(bad[p], bit);
          ASSERT_FALSE(VerifyInclusion(leaves[i], i, n, bad, root)) << i << "/" << n;
        }
      }
      for (int bit = 0; bit < 64; ++bit) {
        uint64_t flip = uint64_t{1} << bit;
        EXPECT_FALSE(VerifyInclusion(leaves[i], i ^ flip, n, proof, root)) << i << "/" << n;
        // RFC 9162 proofs bind the tree size only through the path's shape: sizes with the
        // same shape for leaf i (e.g. leaf 0 of 5 or 6 leaves) share a proof. The log signs
        // (size, root) together, so we require failure where the shape must differ: a size
        // not above the index, or one at least twice as deep.
        uint64_t n2 = n ^ flip;
        if (n2 <= i || bit >= 5) {
          EXPECT_FALSE(VerifyInclusion(leaves[i], i, n2, proof, root)) << i << "/" << n;
        }
      }
      if (!proof.empty()) {
        auto shorter = proof;
        shorter.pop_back();
        EXPECT_FALSE(VerifyInclusion(leaves[i], i, n, shorter, root));
      }
      auto longer = proof;
      longer.push_back(root);
      EXPECT_FALSE(VerifyInclusion(leaves[i], i, n, longer, root));
    }
  }
}

TEST(MerkleTest, EveryConsistencyProofVerifiesAndEveryBitFlipFails) {
  std::vector<Bytes> leaves = SyntheticLeaves(20);
  std::vector<Bytes> roots;
  for (size_t n = 0; n <= 20; ++n) {
    CRYPTA_ASSIGN_OR_FAIL(Bytes root, MerkleRoot(std::span(leaves).first(n)));
    roots.push_back(root);
  }
  for (uint64_t n = 0; n <= 20; ++n) {
    for (uint64_t m = 0; m <= n; ++m) {
      CRYPTA_ASSIGN_OR_FAIL(auto proof, MakeConsistencyProof(leaves, m, n));
      ASSERT_TRUE(VerifyConsistency(m, n, roots[m], roots[n], proof)) << m << "->" << n;
      for (size_t bit = 0; bit < 256; ++bit) {
        ASSERT_FALSE(VerifyConsistency(m, n, FlipBit(roots[m], bit), roots[n], proof));
        if (m > 0) {  // the empty tree is a prefix of every tree, whatever its root
          ASSERT_FALSE(VerifyConsistency(m, n, roots[m], FlipBit(roots[n], bit), proof));
        }
        for (size_t p = 0; p < proof.size(); ++p) {
          auto bad = proof;
          bad[p] = FlipBit(bad[p], bit);
          ASSERT_FALSE(VerifyConsistency(m, n, roots[m], roots[n], bad)) << m << "->" << n;
        }
      }
      for (int bit = 0; bit < 64; ++bit) {
        uint64_t flip = uint64_t{1} << bit;
        // As for inclusion, sizes are bound through the proof's shape; require failure
        // where the shape must differ (order reversed, or a tree at least twice as deep).
        uint64_t m2 = m ^ flip, n2 = n ^ flip;
        if (m2 > n || bit >= 5) {
          EXPECT_FALSE(VerifyConsistency(m2, n, roots[m], roots[n], proof)) << m << "->" << n;
        }
        // (From the empty tree every size is consistent with no proof at all.)
        if (m > 0 && (n2 < m || bit >= 5)) {
          EXPECT_FALSE(VerifyConsistency(m, n2, roots[m], roots[n], proof)) << m << "->" << n;
        }
      }
      if (!proof.empty()) {
        auto shorter = proof;
        shorter.pop_back();
        EXPECT_FALSE(VerifyConsistency(m, n, roots[m], roots[n], shorter));
      }
      auto longer = proof;
      longer.push_back(roots[n]);
      EXPECT_FALSE(VerifyConsistency(m, n, roots[m], roots[n], longer));
    }
  }
}

TEST(MerkleTest, RejectsOutOfRangeRequestsAndBadSizes) {
  std::vector<Bytes> leaves = CtLeaves();
  EXPECT_FALSE(MakeInclusionProof(leaves, 8, 8));
  EXPECT_FALSE(MakeInclusionProof(leaves, 0, 9));
  EXPECT_FALSE(MakeConsistencyProof(leaves, 5, 3));
  EXPECT_FALSE(MakeConsistencyProof(leaves, 0, 9));
  auto status = VerifyInclusion(Bytes(31), 0, 1, {}, Unhex(kCtRoots[1]));
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_FALSE(VerifyConsistency(8, 6, Unhex(kCtRoots[8]), Unhex(kCtRoots[6]), {}));
  EXPECT_FALSE(VerifyConsistency(6, 8, Unhex(kCtRoots[6]), Unhex(kCtRoots[8]), {}));
  CRYPTA_EXPECT_OK(VerifyConsistency(0, 8, EmptyTreeHash(), Unhex(kCtRoots[8]), {}));
  EXPECT_FALSE(VerifyConsistency(0, 8, Unhex(kCtRoots[1]), Unhex(kCtRoots[8]), {}));
}

TEST(MerkleTest, ProofEncodingRoundTripsAndRejectsMalformedInput) {
  std::vector<Bytes> leaves = CtLeaves();
  CRYPTA_ASSIGN_OR_FAIL(auto path, MakeInclusionProof(leaves, 5, 8));
  CRYPTA_ASSIGN_OR_FAIL(Bytes wire, EncodeInclusionProof({5, 8, path}));
  EXPECT_EQ(wire.size(), 8u + 8u + 1u + 3u * 32u);
  CRYPTA_ASSIGN_OR_FAIL(InclusionProof back, DecodeInclusionProof(wire));
  EXPECT_EQ(back.leaf_index, 5u);
  EXPECT_EQ(back.tree_size, 8u);
  EXPECT_EQ(back.path, path);
  Bytes truncated(wire.begin(), wire.end() - 1);
  EXPECT_FALSE(DecodeInclusionProof(truncated));
  Bytes trailing = wire;
  trailing.push_back(0);
  EXPECT_FALSE(DecodeInclusionProof(trailing));
  Bytes too_many = wire;
  too_many[16] = 65;
  EXPECT_FALSE(DecodeInclusionProof(too_many));
}

TEST(MerkleTest, FuzzCorpusSeedsDecodeAndVerify) {
  std::vector<Bytes> leaves = CtLeaves();
  Bytes inclusion = crypta::testing::ReadTestdataBytes("fuzz/audit_proof/inclusion_5_of_8");
  ASSERT_FALSE(inclusion.empty());
  CRYPTA_ASSIGN_OR_FAIL(InclusionProof ip, DecodeInclusionProof(ByteSpan(inclusion).subspan(1)));
  CRYPTA_EXPECT_OK(
      VerifyInclusion(leaves[5], ip.leaf_index, ip.tree_size, ip.path, Unhex(kCtRoots[8])));
  Bytes consistency = crypta::testing::ReadTestdataBytes("fuzz/audit_proof/consistency_6_to_8");
  ASSERT_FALSE(consistency.empty());
  CRYPTA_ASSIGN_OR_FAIL(ConsistencyProof cp,
                        DecodeConsistencyProof(ByteSpan(consistency).subspan(1)));
  CRYPTA_EXPECT_OK(
      VerifyConsistency(cp.old_size, cp.new_size, Unhex(kCtRoots[6]), Unhex(kCtRoots[8]), cp.path));
}

TEST(MerkleTest, FrontierRestoresFromLevelsAndRejectsMismatch) {
  std::vector<Bytes> leaves = SyntheticLeaves(13);
  MerkleFrontier frontier;
  for (const Bytes& leaf : leaves) CRYPTA_ASSERT_OK(frontier.Append(leaf));
  CRYPTA_ASSIGN_OR_FAIL(Bytes root, MerkleRoot(leaves));
  EXPECT_EQ(frontier.Root(), root);
  CRYPTA_ASSIGN_OR_FAIL(MerkleFrontier copy, MerkleFrontier::FromLevels(13, frontier.levels()));
  EXPECT_EQ(copy.Root(), root);
  EXPECT_FALSE(MerkleFrontier::FromLevels(12, frontier.levels()));
  EXPECT_FALSE(MerkleFrontier::FromLevels(14, frontier.levels()));
}

// The cached tree gives exactly what the leaf-hashing functions give, for every size and
// every proof up to 70 leaves (several levels, many non-power-of-two shapes).
TEST(MerkleTreeTest, MatchesTheLeafHashingProofsAndRoots) {
  std::vector<Bytes> leaves;
  MerkleTree tree;
  for (int i = 0; i < 70; ++i) {
    leaves.push_back(LeafHash(AsBytes("entry " + std::to_string(i))));
    CRYPTA_ASSERT_OK(tree.Append(leaves.back()));
  }
  for (uint64_t n = 0; n <= leaves.size(); ++n) {
    CRYPTA_ASSIGN_OR_FAIL(Bytes want_root, MerkleRoot(std::span(leaves).first(n)));
    CRYPTA_ASSIGN_OR_FAIL(Bytes got_root, tree.Root(n));
    EXPECT_EQ(got_root, want_root) << "size " << n;
    for (uint64_t m = 0; m < n; ++m) {
      CRYPTA_ASSIGN_OR_FAIL(auto want, MakeInclusionProof(leaves, m, n));
      CRYPTA_ASSIGN_OR_FAIL(auto got, tree.InclusionProof(m, n));
      EXPECT_EQ(got, want) << "inclusion " << m << " in " << n;
    }
    for (uint64_t m = 0; m <= n; ++m) {
      CRYPTA_ASSIGN_OR_FAIL(auto want, MakeConsistencyProof(leaves, m, n));
      CRYPTA_ASSIGN_OR_FAIL(auto got, tree.ConsistencyProof(m, n));
      EXPECT_EQ(got, want) << "consistency " << m << " to " << n;
    }
  }
  EXPECT_EQ(tree.Root(71).error().code(), ErrorCode::kOutOfRange);
  EXPECT_EQ(tree.InclusionProof(70, 70).error().code(), ErrorCode::kOutOfRange);
  EXPECT_EQ(tree.ConsistencyProof(5, 71).error().code(), ErrorCode::kOutOfRange);
  EXPECT_EQ(tree.Append(Bytes(31)).error().code(), ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace crypta::audit

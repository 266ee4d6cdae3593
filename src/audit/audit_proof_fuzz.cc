// Fuzz target: parses a serialized Merkle proof (merkle.h wire form) from arbitrary bytes
// and verifies it against the Certificate Transparency reference tree of 8 leaves.
// Input: one selector byte (even: inclusion, odd: consistency), then the encoded proof.
// Must never crash; a proof that decodes is re-encoded and must round-trip.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "audit/merkle.h"
#include "common/encoding.h"

namespace {

using crypta::Bytes;
using crypta::ByteSpan;

struct Reference {
  std::vector<Bytes> leaves;
  std::vector<Bytes> roots;  // roots[n] = MTH of the first n leaves
};

const Reference& Ref() {
  static const Reference* ref = [] {
    auto* r = new Reference;
    const char* entries[] = {"",
                             "00",
                             "10",
                             "2021",
                             "3031",
                             "40414243",
                             "5051525354555657",
                             "606162636465666768696a6b6c6d6e6f"};
    for (const char* e : entries)
      r->leaves.push_back(crypta::audit::LeafHash(*crypta::HexDecode(e)));
    for (size_t n = 0; n <= r->leaves.size(); ++n) {
      r->roots.push_back(*crypta::audit::MerkleRoot(std::span(r->leaves).first(n)));
    }
    return r;
  }();
  return *ref;
}

const Bytes& RootFor(uint64_t size) {
  const Reference& ref = Ref();
  return ref.roots[size < ref.roots.size() ? size : ref.roots.size() - 1];
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  ByteSpan input(data + 1, size - 1);
  const Reference& ref = Ref();
  if ((data[0] & 1) == 0) {
    auto proof = crypta::audit::DecodeInclusionProof(input);
    if (!proof) return 0;
    auto again = crypta::audit::EncodeInclusionProof(*proof);
    if (!again || Bytes(input.begin(), input.end()) != *again) std::abort();
    const Bytes& leaf = ref.leaves[proof->leaf_index % ref.leaves.size()];
    (void)crypta::audit::VerifyInclusion(leaf, proof->leaf_index, proof->tree_size, proof->path,
                                         RootFor(proof->tree_size));
  } else {
    auto proof = crypta::audit::DecodeConsistencyProof(input);
    if (!proof) return 0;
    auto again = crypta::audit::EncodeConsistencyProof(*proof);
    if (!again || Bytes(input.begin(), input.end()) != *again) std::abort();
    (void)crypta::audit::VerifyConsistency(proof->old_size, proof->new_size,
                                           RootFor(proof->old_size), RootFor(proof->new_size),
                                           proof->path);
  }
  return 0;
}

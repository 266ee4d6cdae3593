// Fuzz target: the untrusted-text parsers of the release transparency log. The whole input is
// given to ParseVerifierKey, to VerifyCheckpointNote (with the reference PeterNeumann key of
// golang.org/x/mod/sumdb/note's tests, origin "example.com/fuzz"), to ParseCheckpointBody and
// to ParseReleaseLeaf. Must never crash; whatever parses must re-serialize consistently
// (abort otherwise). Corpus: testdata/fuzz/checkpoint/ (notes signed by that key).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/encoding.h"
#include "transparency/checkpoint.h"
#include "transparency/release_entry.h"

namespace {

using crypta::transparency::NoteVerifier;

constexpr char kVerifierKey[] =
    "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
constexpr char kOrigin[] = "example.com/fuzz";

const NoteVerifier& Verifier() {
  static const NoteVerifier* verifier = [] {
    auto v = crypta::transparency::ParseVerifierKey(kVerifierKey);
    if (!v) std::abort();
    return new NoteVerifier(std::move(*v));
  }();
  return *verifier;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace t = crypta::transparency;
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  if (auto v = t::ParseVerifierKey(input)) {
    auto again = t::VerifierKeyString(v->name, v->key);
    if (!again) std::abort();
    auto reparsed = t::ParseVerifierKey(*again);
    if (!reparsed || reparsed->name != v->name || reparsed->key_id != v->key_id) std::abort();
  }

  if (auto cp = t::VerifyCheckpointNote(input, Verifier(), kOrigin)) {
    // The signed text is the body we re-serialize, at the start of the note.
    if (!input.starts_with(t::CheckpointBody(*cp)) || cp->origin != kOrigin) std::abort();
  }

  if (auto body = t::ParseCheckpointBody(input)) {
    if (t::CheckpointBody(*body) != input) std::abort();
  }

  if (auto leaf = t::ParseReleaseLeaf(input)) {
    auto again = t::ReleaseLeafData(leaf->entry, leaf->index);
    if (!again || *again != input) std::abort();
  }
  return 0;
}

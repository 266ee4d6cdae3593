// Fuzz target: what a client does with a release log's answer (client/transparency.h), minus
// the network: the input is parsed as JSON (ParseJsonStrict), then ParseProveAnswer, then
// CheckRelease with the reference PeterNeumann key of golang.org/x/mod/sumdb/note's tests for
// origin "example.com/fuzz", once as a first contact and once against a remembered state.
// Must never crash, and must never accept a release whose leaf is not included.
// Corpus: testdata/fuzz/prove_answer/ (answers whose checkpoints that key signed).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string_view>

#include "audit/merkle.h"
#include "common/json_canonical.h"
#include "transparency/client_check.h"

namespace {

namespace t = crypta::transparency;

constexpr char kVerifierKey[] =
    "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
constexpr char kOrigin[] = "example.com/fuzz";

const t::NoteVerifier& Verifier() {
  static const t::NoteVerifier* verifier = [] {
    auto v = t::ParseVerifierKey(kVerifierKey);
    if (!v) std::abort();
    return new t::NoteVerifier(std::move(*v));
  }();
  return *verifier;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  crypta::JsonParseLimits limits;
  limits.max_bytes = 1 << 20;
  auto json = crypta::ParseJsonStrict(input, limits);
  if (!json) return 0;
  auto answer = t::ParseProveAnswer(*json);
  if (!answer) return 0;
  const t::TransparencyState remembered{kOrigin, 1, crypta::Bytes(32, 0x11)};
  for (const std::optional<t::TransparencyState>& state :
       {std::optional<t::TransparencyState>(), std::optional<t::TransparencyState>(remembered)}) {
    auto verdict =
        t::CheckRelease(answer->checkpoint, Verifier(), kOrigin, answer->release.entry,
                        answer->release.index, answer->inclusion, state, answer->consistency);
    if (!verdict) continue;
    // Accepted: the leaf must really be included under the signed root.
    auto leaf = t::ReleaseLeafHash(answer->release.entry, answer->release.index);
    if (!leaf ||
        !crypta::audit::VerifyInclusion(*leaf, answer->release.index, verdict->checkpoint.size,
                                        answer->inclusion, verdict->checkpoint.root)) {
      std::abort();
    }
  }
  return 0;
}

// What a client does before it trusts a service (issue 17): the service's measurement and model
// digest must be a release in the log, proven by an inclusion proof against a checkpoint signed
// by the log key, and that checkpoint must extend the last one the client remembers.
//
// CheckRelease does no I/O: the caller fetches the checkpoint note, the entry, the proofs (and
// keeps its state file with Load/SaveTransparencyState). The caller must also compare the
// entry's tenant, measurement and model digest with what it verified in the attestation:
// CheckRelease proves the entry is in the log, not that it describes this service.
//
// Pure functions except the state-file helpers; all thread-safe.
#ifndef CRYPTA_TRANSPARENCY_CLIENT_CHECK_H_
#define CRYPTA_TRANSPARENCY_CLIENT_CHECK_H_

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.h"
#include "common/status.h"
#include "transparency/checkpoint.h"
#include "transparency/release_entry.h"

namespace crypta::transparency {

// The last checkpoint a client accepted from a log.
struct TransparencyState {
  std::string origin;
  uint64_t size = 0;
  Bytes root;  // 32 bytes
  bool operator==(const TransparencyState&) const = default;
};

// {"origin":…,"root":"<base64>","size":…,"v":1} (canonical JSON), and its strict parser
// (at most 4 KiB; kInvalidArgument naming the member).
[[nodiscard]] Result<std::string> TransparencyStateJson(const TransparencyState& state);
[[nodiscard]] Result<TransparencyState> ParseTransparencyState(std::string_view json);
// The state file: kNotFound when it does not exist (a first contact), other errors when it
// is unreadable or malformed (callers must not treat those as a first contact). Saving writes
// a temporary file and renames it into place (mode 0600).
[[nodiscard]] Result<TransparencyState> LoadTransparencyState(const std::string& path);
[[nodiscard]] Status SaveTransparencyState(const std::string& path, const TransparencyState& state);

struct TransparencyVerdict {
  Checkpoint checkpoint;       // the verified checkpoint
  Bytes leaf_hash;             // of the entry at its index
  TransparencyState remember;  // the state to save: the checkpoint's
};

// The answer of the control plane's GET /v1/transparency/prove (src/api/README.md):
// {"checkpoint": note, "leaf_hash": hex, "release": leaf object, "inclusion": [base64],
//  "consistency": [base64]}. Untrusted: ParseProveAnswer checks every member's type and size
// (at most 128 hashes of 32 bytes each; the release as ReleaseFromLeafObject) and names the
// one that is wrong (kInvalidArgument); what it returns still needs CheckRelease.
struct ProveAnswer {
  std::string checkpoint;
  IndexedRelease release;
  std::vector<Bytes> inclusion;
  std::vector<Bytes> consistency;
};
[[nodiscard]] Result<ProveAnswer> ParseProveAnswer(const nlohmann::json& answer);

// Checks, in order (the error names the failed step):
//  1. "checkpoint signature: …" / "checkpoint note: …" / "checkpoint body: …" /
//     "checkpoint origin: …": the note verifies with `verifier` for `origin`.
//  2. "remembered state: …" (kInvalidArgument): the remembered state is for another origin or
//     malformed.
//     "rollback: …" (kPermissionDenied): the checkpoint is smaller than the remembered one.
//     "fork: …" (kPermissionDenied): same size with another root, or a larger checkpoint that
//     the consistency proof (RFC 9162 §2.1.4.2) does not link to the remembered one.
//     Without a remembered state (first contact) the consistency proof must be empty.
//  3. "not in the log: …" (kPermissionDenied): the entry is invalid, its index is not below
//     the checkpoint size, or the inclusion proof (RFC 9162 §2.1.3.2) of its leaf does not
//     verify against the checkpoint root.
// On success returns the checkpoint and the state to remember.
[[nodiscard]] Result<TransparencyVerdict> CheckRelease(
    const std::string& checkpoint_note, const NoteVerifier& verifier, std::string_view origin,
    const ReleaseEntry& entry_as_published, uint64_t index, std::span<const Bytes> inclusion_proof,
    const std::optional<TransparencyState>& remembered, std::span<const Bytes> consistency_proof);

}  // namespace crypta::transparency

#endif  // CRYPTA_TRANSPARENCY_CLIENT_CHECK_H_

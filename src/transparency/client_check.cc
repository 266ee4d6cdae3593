#include "transparency/client_check.h"

#include <utility>

#include "audit/merkle.h"
#include "common/encoding.h"
#include "common/file_util.h"
#include "common/json_canonical.h"

namespace crypta::transparency {
namespace {

constexpr size_t kMaxStateBytes = 4096;

Error StateError(const std::string& why) {
  return Error(ErrorCode::kInvalidArgument, "transparency state: " + why);
}

}  // namespace

Result<std::string> TransparencyStateJson(const TransparencyState& state) {
  if (state.root.size() != audit::kMerkleHashSize) {
    return MakeError(StateError("root must be 32 bytes"));
  }
  return CanonicalizeJson(nlohmann::json{{"v", 1},
                                         {"origin", state.origin},
                                         {"size", state.size},
                                         {"root", Base64Encode(state.root)}});
}

Result<TransparencyState> ParseTransparencyState(std::string_view json) {
  auto parsed = ParseJsonStrict(json, {.max_bytes = kMaxStateBytes, .max_depth = 2});
  if (!parsed) return MakeError(parsed.error().WithContext("transparency state"));
  const nlohmann::json& j = *parsed;
  if (!j.is_object() || j.size() != 4 || !j.contains("v") || !j.contains("origin") ||
      !j.contains("size") || !j.contains("root")) {
    return MakeError(StateError("want exactly the members v, origin, size and root"));
  }
  if (!j["v"].is_number_unsigned() || j["v"].get<uint64_t>() != 1) {
    return MakeError(StateError("\"v\" must be 1"));
  }
  TransparencyState state;
  if (!j["origin"].is_string()) return MakeError(StateError("\"origin\" must be a string"));
  state.origin = j["origin"].get<std::string>();
  auto origin_ok = ValidateNoteKeyName(state.origin, "origin");
  if (!origin_ok) return MakeError(StateError(origin_ok.error().message()));
  if (!j["size"].is_number_unsigned()) {
    return MakeError(StateError("\"size\" must be a non-negative integer"));
  }
  state.size = j["size"].get<uint64_t>();
  if (!j["root"].is_string()) return MakeError(StateError("\"root\" must be a string"));
  auto root = Base64Decode(j["root"].get<std::string>());
  if (!root || root->size() != audit::kMerkleHashSize) {
    return MakeError(StateError("\"root\" must be base64 of 32 bytes"));
  }
  state.root = std::move(*root);
  return state;
}

Result<TransparencyState> LoadTransparencyState(const std::string& path) {
  auto bytes = ReadFileBytes(path, kMaxStateBytes);
  if (!bytes) return MakeError(bytes.error().WithContext("transparency state " + path));
  auto state = ParseTransparencyState(AsStringView(*bytes));
  if (!state) return MakeError(state.error().WithContext(path));
  return state;
}

Status SaveTransparencyState(const std::string& path, const TransparencyState& state) {
  CRYPTA_ASSIGN_OR_RETURN(std::string json, TransparencyStateJson(state));
  json += "\n";
  return WriteFileAtomic(path, AsBytes(json), 0600, /*overwrite=*/true);
}

namespace {

// RFC 9162 proofs are at most 2 * 63 hashes for any tree this log can hold.
constexpr size_t kMaxProofHashes = 128;

Error MalformedAnswer(const std::string& what) {
  return Error(ErrorCode::kInvalidArgument, "the log's answer is malformed: " + what);
}

Result<std::vector<Bytes>> ProofHashes(const nlohmann::json& answer, const char* member) {
  auto it = answer.find(member);
  if (it == answer.end() || !it->is_array() || it->size() > kMaxProofHashes) {
    return MakeError(MalformedAnswer(std::string(member) + " is not a list of at most " +
                                     std::to_string(kMaxProofHashes) + " hashes"));
  }
  std::vector<Bytes> out;
  for (const nlohmann::json& h : *it) {
    Result<Bytes> bytes = h.is_string() ? Base64Decode(h.get<std::string>())
                                        : Result<Bytes>(MakeError(MalformedAnswer(member)));
    if (!bytes || bytes->size() != audit::kMerkleHashSize) {
      return MakeError(
          MalformedAnswer(std::string(member) + " holds a value that is not 32 bytes"));
    }
    out.push_back(std::move(*bytes));
  }
  return out;
}

}  // namespace

Result<ProveAnswer> ParseProveAnswer(const nlohmann::json& answer) {
  if (!answer.is_object()) return MakeError(MalformedAnswer("not a JSON object"));
  auto checkpoint = answer.find("checkpoint");
  if (checkpoint == answer.end() || !checkpoint->is_string()) {
    return MakeError(MalformedAnswer("checkpoint is missing or not a string"));
  }
  auto release = answer.find("release");
  if (release == answer.end()) return MakeError(MalformedAnswer("release is missing"));
  ProveAnswer out;
  out.checkpoint = checkpoint->get<std::string>();
  Result<IndexedRelease> parsed = ReleaseFromLeafObject(*release);
  if (!parsed) return MakeError(MalformedAnswer(parsed.error().message()));
  out.release = std::move(*parsed);
  CRYPTA_ASSIGN_OR_RETURN(out.inclusion, ProofHashes(answer, "inclusion"));
  CRYPTA_ASSIGN_OR_RETURN(out.consistency, ProofHashes(answer, "consistency"));
  return out;
}

Result<TransparencyVerdict> CheckRelease(const std::string& checkpoint_note,
                                         const NoteVerifier& verifier, std::string_view origin,
                                         const ReleaseEntry& entry_as_published, uint64_t index,
                                         std::span<const Bytes> inclusion_proof,
                                         const std::optional<TransparencyState>& remembered,
                                         std::span<const Bytes> consistency_proof) {
  // 1. The checkpoint: signed by the log key, for this log (signed-note, tlog-checkpoint).
  CRYPTA_ASSIGN_OR_RETURN(Checkpoint checkpoint,
                          VerifyCheckpointNote(checkpoint_note, verifier, origin));
  const std::string size_text = std::to_string(checkpoint.size);

  // 2. Against the remembered checkpoint: no rollback, no fork.
  if (remembered) {
    if (remembered->origin != origin) {
      return MakeError(ErrorCode::kInvalidArgument, "remembered state: it is for origin \"" +
                                                        remembered->origin + "\", not \"" +
                                                        std::string(origin) + "\"");
    }
    if (remembered->root.size() != audit::kMerkleHashSize) {
      return MakeError(ErrorCode::kInvalidArgument, "remembered state: root is not 32 bytes");
    }
    const std::string old_text = std::to_string(remembered->size);
    if (checkpoint.size < remembered->size) {
      return MakeError(ErrorCode::kPermissionDenied,
                       "rollback: the checkpoint has size " + size_text +
                           ", smaller than the remembered size " + old_text);
    }
    if (checkpoint.size == remembered->size) {
      if (checkpoint.root != remembered->root || !consistency_proof.empty()) {
        return MakeError(ErrorCode::kPermissionDenied,
                         "fork: the checkpoint at size " + size_text +
                             " has another root than the remembered one");
      }
    } else {
      auto consistent = audit::VerifyConsistency(
          remembered->size, checkpoint.size, remembered->root, checkpoint.root, consistency_proof);
      if (!consistent) {
        return MakeError(ErrorCode::kPermissionDenied,
                         "fork: the checkpoint at size " + size_text +
                             " is not consistent with the remembered checkpoint at size " +
                             old_text + " (" + consistent.error().message() + ")");
      }
    }
  } else if (!consistency_proof.empty()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "remembered state: none, but a consistency proof was given");
  }

  // 3. The release: its leaf at `index` is in the tree the checkpoint signs (RFC 9162 §2.1.3).
  auto leaf_hash = ReleaseLeafHash(entry_as_published, index);
  if (!leaf_hash) {
    return MakeError(
        ErrorCode::kPermissionDenied,
        "not in the log: the entry is not a valid release: " + leaf_hash.error().message());
  }
  if (index >= checkpoint.size) {
    return MakeError(ErrorCode::kPermissionDenied,
                     "not in the log: index " + std::to_string(index) +
                         " is not below the checkpoint size " + size_text);
  }
  auto included =
      audit::VerifyInclusion(*leaf_hash, index, checkpoint.size, inclusion_proof, checkpoint.root);
  if (!included) {
    return MakeError(ErrorCode::kPermissionDenied,
                     "not in the log: the inclusion proof of entry " + std::to_string(index) +
                         " does not verify against the checkpoint at size " + size_text + " (" +
                         included.error().message() + ")");
  }
  TransparencyVerdict verdict;
  verdict.remember = TransparencyState{checkpoint.origin, checkpoint.size, checkpoint.root};
  verdict.checkpoint = std::move(checkpoint);
  verdict.leaf_hash = std::move(*leaf_hash);
  return verdict;
}

}  // namespace crypta::transparency

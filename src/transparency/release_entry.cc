#include "transparency/release_entry.h"

#include <utility>

#include "audit/merkle.h"
#include "common/json_canonical.h"
#include "common/names.h"
#include "transparency/text_util.h"

namespace crypta::transparency {
namespace {

Error Bad(std::string message) {
  return Error(ErrorCode::kInvalidArgument, "release " + std::move(message));
}

bool IsLowerHex(std::string_view text) {
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

constexpr const char* kLeafMembers[] = {"host_data", "index", "measurement", "model_digest", "note",
                                        "tenant",    "time",  "v",           "workload"};

}  // namespace

Status ValidateMeasurement(std::string_view measurement) {
  if ((measurement.size() != 96 && measurement.size() != 64) || !IsLowerHex(measurement)) {
    return MakeError(Bad("measurement must be 96 or 64 lowercase hex digits (got " +
                         std::to_string(measurement.size()) + " characters)"));
  }
  return OkStatus();
}

Status ValidateModelDigest(std::string_view digest) {
  constexpr std::string_view kPrefix = "sha256:";
  if (!digest.starts_with(kPrefix) || digest.size() != kPrefix.size() + 64 ||
      !IsLowerHex(digest.substr(kPrefix.size()))) {
    return MakeError(Bad("model_digest must be \"sha256:\" and 64 lowercase hex digits"));
  }
  return OkStatus();
}

Status ValidateReleaseEntry(const ReleaseEntry& entry) {
  CRYPTA_RETURN_IF_ERROR(ValidateName(entry.tenant, "release tenant"));
  CRYPTA_RETURN_IF_ERROR(ValidateName(entry.workload, "release workload"));
  CRYPTA_RETURN_IF_ERROR(ValidateMeasurement(entry.measurement));
  CRYPTA_RETURN_IF_ERROR(ValidateModelDigest(entry.model_digest));
  const std::string& host = entry.host_data;
  if (!host.empty() &&
      (host.size() % 2 != 0 || host.size() > 2 * kMaxHostDataBytes || !IsLowerHex(host))) {
    return MakeError(Bad("host_data must be empty or lowercase hex of 1-" +
                         std::to_string(kMaxHostDataBytes) + " bytes"));
  }
  if (entry.note.size() > kMaxReleaseNoteBytes) {
    return MakeError(Bad("note is " + std::to_string(entry.note.size()) + " bytes, at most " +
                         std::to_string(kMaxReleaseNoteBytes)));
  }
  if (auto problem = internal::FindBadCharacter(entry.note, /*allow_newline=*/false,
                                                /*strict=*/true)) {
    return MakeError(Bad("note: " + *problem));
  }
  if (entry.time < 0 || entry.time > kMaxReleaseTime) {
    return MakeError(Bad("time " + std::to_string(entry.time) + " is out of range (0 to " +
                         std::to_string(kMaxReleaseTime) + ")"));
  }
  return OkStatus();
}

Result<nlohmann::json> ReleaseLeafObject(const ReleaseEntry& entry, uint64_t index) {
  CRYPTA_RETURN_IF_ERROR(ValidateReleaseEntry(entry));
  if (index >= (uint64_t{1} << 53)) {
    return MakeError(ErrorCode::kOutOfRange, "release index exceeds 2^53 - 1");
  }
  return nlohmann::json{{"v", 1},
                        {"index", index},
                        {"tenant", entry.tenant},
                        {"workload", entry.workload},
                        {"measurement", entry.measurement},
                        {"model_digest", entry.model_digest},
                        {"host_data", entry.host_data},
                        {"note", entry.note},
                        {"time", entry.time}};
}

Result<std::string> ReleaseLeafData(const ReleaseEntry& entry, uint64_t index) {
  CRYPTA_ASSIGN_OR_RETURN(nlohmann::json leaf, ReleaseLeafObject(entry, index));
  return CanonicalizeJson(leaf);
}

Result<Bytes> ReleaseLeafHash(const ReleaseEntry& entry, uint64_t index) {
  CRYPTA_ASSIGN_OR_RETURN(std::string data, ReleaseLeafData(entry, index));
  return audit::LeafHash(AsBytes(data));  // RFC 9162 §2.1.1
}

Result<IndexedRelease> ReleaseFromLeafObject(const nlohmann::json& leaf) {
  if (!leaf.is_object()) return MakeError(Bad("leaf is not a JSON object"));
  for (const auto& [key, value] : leaf.items()) {
    bool known = false;
    for (const char* member : kLeafMembers) known = known || key == member;
    if (!known) return MakeError(Bad("leaf has an unknown member \"" + key.substr(0, 64) + "\""));
  }
  for (const char* member : kLeafMembers) {
    if (!leaf.contains(member)) {
      return MakeError(Bad("leaf has no \"" + std::string(member) + "\""));
    }
  }
  const auto& v = leaf.at("v");
  if (!v.is_number_integer() || v.get<int64_t>() != 1) {
    return MakeError(Bad("leaf \"v\" must be 1"));
  }
  const auto& index = leaf.at("index");
  if (!index.is_number_integer() || (!index.is_number_unsigned() && index.get<int64_t>() < 0)) {
    return MakeError(Bad("leaf \"index\" must be a non-negative integer"));
  }
  const auto& time = leaf.at("time");
  if (!time.is_number_integer()) return MakeError(Bad("leaf \"time\" must be an integer"));
  IndexedRelease out;
  out.index = index.get<uint64_t>();
  if (time.is_number_unsigned() && time.get<uint64_t>() > uint64_t(kMaxReleaseTime)) {
    return MakeError(Bad("leaf \"time\" is out of range"));
  }
  out.entry.time = time.get<int64_t>();
  struct Text {
    const char* name;
    std::string* field;
  };
  for (const Text& t :
       {Text{"tenant", &out.entry.tenant}, Text{"workload", &out.entry.workload},
        Text{"measurement", &out.entry.measurement}, Text{"model_digest", &out.entry.model_digest},
        Text{"host_data", &out.entry.host_data}, Text{"note", &out.entry.note}}) {
    const auto& value = leaf.at(t.name);
    if (!value.is_string()) {
      return MakeError(Bad("leaf \"" + std::string(t.name) + "\" must be a string"));
    }
    *t.field = value.get<std::string>();
  }
  CRYPTA_RETURN_IF_ERROR(ValidateReleaseEntry(out.entry));
  if (out.index >= (uint64_t{1} << 53)) {
    return MakeError(Bad("leaf \"index\" exceeds 2^53 - 1"));
  }
  return out;
}

Result<IndexedRelease> ParseReleaseLeaf(std::string_view text) {
  if (text.size() > kMaxReleaseLeafBytes) {
    return MakeError(ErrorCode::kResourceExhausted,
                     "release leaf is " + std::to_string(text.size()) + " bytes, at most " +
                         std::to_string(kMaxReleaseLeafBytes));
  }
  auto leaf = ParseJsonStrict(text, {.max_bytes = kMaxReleaseLeafBytes, .max_depth = 4});
  if (!leaf) return MakeError(leaf.error().WithContext("release leaf"));
  CRYPTA_ASSIGN_OR_RETURN(IndexedRelease release, ReleaseFromLeafObject(*leaf));
  CRYPTA_ASSIGN_OR_RETURN(std::string canonical, ReleaseLeafData(release.entry, release.index));
  if (canonical != text) {
    return MakeError(Bad("leaf is not in RFC 8785 canonical form"));
  }
  return release;
}

}  // namespace crypta::transparency

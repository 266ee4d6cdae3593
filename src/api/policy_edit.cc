#include "api/policy_edit.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>

namespace crypta::api {
namespace {

Status CheckValue(const ReferenceValue& v) {
  if (v.first != "measurements" && v.first != "host_data") {
    return MakeError(
        ErrorCode::kInvalidArgument,
        "reference value field must be measurements or host_data, got " + v.first.substr(0, 40));
  }
  const bool hex = !v.second.empty() && v.second.size() <= 128 && v.second.size() % 2 == 0 &&
                   std::all_of(v.second.begin(), v.second.end(),
                               [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); });
  if (!hex) {
    return MakeError(ErrorCode::kInvalidArgument, v.first + ": \"" + v.second.substr(0, 140) +
                                                      "\" is not hex (at most 64 bytes)");
  }
  return OkStatus();
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

Result<EditedPolicy> EditPolicyLists(const std::optional<std::string>& existing,
                                     const std::string& tee, const PolicyEdit& edit) {
  EditedPolicy out;
  YAML::Node policy;
  try {
    if (existing) {
      policy = YAML::Load(*existing);
      if (!policy.IsMap()) {
        return MakeError(ErrorCode::kFailedPrecondition, "the key's policy is not a mapping");
      }
    } else {
      policy["tee"].push_back(tee);
      policy["allow_simulated"] = tee == "sim";
      policy["allow_debug"] = false;
    }
    auto list_of = [&](const std::string& field) -> Result<YAML::Node> {
      YAML::Node list = policy[field];
      if (list && !list.IsSequence()) {
        return MakeError(ErrorCode::kFailedPrecondition,
                         "the key's policy has a \"" + field +
                             "\" that is not a plain list (per-TEE lists are edited with "
                             "`crypta policy set`)");
      }
      return list;
    };
    for (ReferenceValue v : edit.add) {
      CRYPTA_RETURN_IF_ERROR(CheckValue(v));
      v.second = Lower(v.second);
      CRYPTA_ASSIGN_OR_RETURN(YAML::Node list, list_of(v.first));
      if (!list) out.created_lists.insert(v.first);
      bool present = false;
      for (const auto& item : list) present = present || Lower(item.as<std::string>()) == v.second;
      if (!present) {
        policy[v.first].push_back(v.second);
        out.added.push_back(v);
      }
    }
    for (ReferenceValue v : edit.remove) {
      CRYPTA_RETURN_IF_ERROR(CheckValue(v));
      v.second = Lower(v.second);
      CRYPTA_ASSIGN_OR_RETURN(YAML::Node list, list_of(v.first));
      if (!list) continue;
      YAML::Node kept(YAML::NodeType::Sequence);
      bool found = false;
      for (const auto& item : list) {
        if (Lower(item.as<std::string>()) == v.second) {
          found = true;
        } else {
          kept.push_back(item);
        }
      }
      if (!found) continue;
      out.removed.push_back(v);
      if (kept.size() == 0 && edit.drop_when_empty.count(v.first) != 0) {
        policy.remove(v.first);
      } else {
        policy[v.first] = kept;
      }
    }
  } catch (const YAML::Exception& e) {
    return MakeError(ErrorCode::kFailedPrecondition,
                     std::string("the key's policy cannot be edited: ") + e.what());
  }
  YAML::Emitter emitter;
  emitter << policy;
  out.text = std::string(emitter.c_str()) + "\n";
  return out;
}

}  // namespace crypta::api

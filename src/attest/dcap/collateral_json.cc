// Parsing of Intel PCS TCB info and QE identity JSON (Intel "PCS API v4": TCB Info V3,
// Enclave Identity V2; LAYOUTS.md §2.8).
#include <string>

#include "attest/dcap/collateral.h"
#include "common/encoding.h"
#include "common/json_canonical.h"
#include "common/time_util.h"

namespace crypta::attest::dcap {
namespace {

using nlohmann::json;

Error Invalid(std::string_view what, std::string message) {
  return Error(ErrorCode::kInvalidArgument, std::string(what) + ": " + message);
}

// Index past the JSON value starting at i, in text already validated by ParseJsonStrict.
size_t ValueEnd(std::string_view t, size_t i) {
  if (i >= t.size()) return std::string_view::npos;
  if (t[i] == '"') {
    for (++i; i < t.size(); ++i) {
      if (t[i] == '\\') {
        ++i;
      } else if (t[i] == '"') {
        return i + 1;
      }
    }
    return std::string_view::npos;
  }
  if (t[i] == '{' || t[i] == '[') {
    int depth = 0;
    for (; i < t.size(); ++i) {
      const char c = t[i];
      if (c == '"') {
        size_t end = ValueEnd(t, i);
        if (end == std::string_view::npos) return end;
        i = end - 1;
      } else if (c == '{' || c == '[') {
        ++depth;
      } else if ((c == '}' || c == ']') && --depth == 0) {
        return i + 1;
      }
    }
    return std::string_view::npos;
  }
  while (i < t.size() && std::string_view(",}] \t\r\n").find(t[i]) == std::string_view::npos) ++i;
  return i;
}

size_t SkipWs(std::string_view t, size_t i) {
  while (i < t.size() && (t[i] == ' ' || t[i] == '\t' || t[i] == '\r' || t[i] == '\n')) ++i;
  return i;
}

// The raw text of top-level member `name` of a validated JSON object.
Result<std::string_view> RawMember(std::string_view t, std::string_view name) {
  size_t i = SkipWs(t, 0);
  if (i >= t.size() || t[i] != '{') return MakeError(Invalid("collateral", "not an object"));
  i = SkipWs(t, i + 1);
  while (i < t.size() && t[i] == '"') {
    size_t key_end = ValueEnd(t, i);
    if (key_end == std::string_view::npos) break;
    std::string_view key = t.substr(i + 1, key_end - i - 2);
    i = SkipWs(t, key_end);
    if (i >= t.size() || t[i] != ':') break;
    i = SkipWs(t, i + 1);
    size_t value_end = ValueEnd(t, i);
    if (value_end == std::string_view::npos) break;
    if (key == name) return t.substr(i, value_end - i);
    i = SkipWs(t, value_end);
    if (i < t.size() && t[i] == ',') i = SkipWs(t, i + 1);
  }
  return MakeError(Invalid("collateral", "member \"" + std::string(name) + "\" not found"));
}

Result<const json*> Member(const json& obj, const char* key, std::string_view what) {
  if (!obj.is_object()) return MakeError(Invalid(what, "not an object"));
  auto it = obj.find(key);
  if (it == obj.end()) return MakeError(Invalid(what, std::string("missing \"") + key + "\""));
  return &*it;
}

Result<std::string> GetString(const json& obj, const char* key, std::string_view what) {
  CRYPTA_ASSIGN_OR_RETURN(const json* v, Member(obj, key, what));
  if (!v->is_string()) return MakeError(Invalid(what, std::string(key) + " is not a string"));
  return v->get<std::string>();
}

Result<int64_t> GetInt(const json& obj, const char* key, std::string_view what, int64_t max) {
  CRYPTA_ASSIGN_OR_RETURN(const json* v, Member(obj, key, what));
  if (!v->is_number_integer()) {
    return MakeError(Invalid(what, std::string(key) + " is not an integer"));
  }
  const int64_t n = v->get<int64_t>();
  if (n < 0 || n > max) return MakeError(Invalid(what, std::string(key) + " out of range"));
  return n;
}

Result<Bytes> GetHex(const json& obj, const char* key, std::string_view what, size_t size) {
  CRYPTA_ASSIGN_OR_RETURN(std::string s, GetString(obj, key, what));
  auto b = HexDecode(s);
  if (!b || b->size() != size) {
    return MakeError(
        Invalid(what, std::string(key) + ": want " + std::to_string(size) + " hex-encoded bytes"));
  }
  return *b;
}

Result<int64_t> GetTime(const json& obj, const char* key, std::string_view what) {
  CRYPTA_ASSIGN_OR_RETURN(std::string s, GetString(obj, key, what));
  auto t = ParseRfc3339(s);
  if (!t) return MakeError(Invalid(what, std::string(key) + ": not an RFC 3339 time"));
  return *t;
}

uint32_t LeU32(const Bytes& b) {
  return uint32_t{b[0]} | uint32_t{b[1]} << 8 | uint32_t{b[2]} << 16 | uint32_t{b[3]} << 24;
}

// tcbDate, tcbStatus, advisoryIDs (optional) of a level.
Status ParseLevelStatus(const json& level, std::string_view what, std::string& date,
                        TcbStatus& status, std::vector<std::string>& advisories) {
  if (level.contains("tcbDate")) {
    CRYPTA_ASSIGN_OR_RETURN(date, GetString(level, "tcbDate", what));
  }
  CRYPTA_ASSIGN_OR_RETURN(std::string name, GetString(level, "tcbStatus", what));
  auto s = ParseTcbStatus(name);
  if (!s || *s == TcbStatus::kUnknown) {
    return MakeError(Invalid(what, "unknown tcbStatus \"" + name + "\""));
  }
  status = *s;
  if (level.contains("advisoryIDs")) {
    const json& ids = level["advisoryIDs"];
    if (!ids.is_array()) return MakeError(Invalid(what, "advisoryIDs is not an array"));
    for (const json& id : ids) {
      if (!id.is_string()) return MakeError(Invalid(what, "advisory id is not a string"));
      advisories.push_back(id.get<std::string>());
    }
  }
  return OkStatus();
}

Result<std::vector<IsvLevel>> ParseIsvLevels(const json& obj, std::string_view what) {
  CRYPTA_ASSIGN_OR_RETURN(const json* levels, Member(obj, "tcbLevels", what));
  if (!levels->is_array() || levels->empty()) {
    return MakeError(Invalid(what, "tcbLevels is not a non-empty array"));
  }
  std::vector<IsvLevel> out;
  for (const json& l : *levels) {
    IsvLevel level;
    CRYPTA_ASSIGN_OR_RETURN(const json* tcb, Member(l, "tcb", what));
    CRYPTA_ASSIGN_OR_RETURN(int64_t svn, GetInt(*tcb, "isvsvn", what, 0xffff));
    level.isv_svn = static_cast<uint16_t>(svn);
    CRYPTA_RETURN_IF_ERROR(
        ParseLevelStatus(l, what, level.tcb_date, level.status, level.advisory_ids));
    out.push_back(std::move(level));
  }
  return out;
}

Result<TdxModuleIdentity> ParseModule(const json& m, std::string_view what, bool with_levels) {
  TdxModuleIdentity out;
  if (with_levels) {
    CRYPTA_ASSIGN_OR_RETURN(out.id, GetString(m, "id", what));
  }
  CRYPTA_ASSIGN_OR_RETURN(out.mrsigner, GetHex(m, "mrsigner", what, 48));
  CRYPTA_ASSIGN_OR_RETURN(out.attributes, GetHex(m, "attributes", what, 8));
  CRYPTA_ASSIGN_OR_RETURN(out.attributes_mask, GetHex(m, "attributesMask", what, 8));
  if (with_levels) {
    CRYPTA_ASSIGN_OR_RETURN(out.levels, ParseIsvLevels(m, what));
  }
  return out;
}

// 16 component SVNs: v3 "<key>": [{"svn": n}, ...]; v2 "sgxtcbcompNNsvn" members.
Result<std::array<uint8_t, 16>> ParseComponents(const json& tcb, const char* key, int version,
                                                std::string_view what) {
  std::array<uint8_t, 16> out{};
  if (version == 2) {
    for (int i = 0; i < 16; ++i) {
      char name[20];
      std::snprintf(name, sizeof(name), "sgxtcbcomp%02dsvn", i + 1);
      CRYPTA_ASSIGN_OR_RETURN(int64_t svn, GetInt(tcb, name, what, 255));
      out[i] = static_cast<uint8_t>(svn);
    }
    return out;
  }
  CRYPTA_ASSIGN_OR_RETURN(const json* comps, Member(tcb, key, what));
  if (!comps->is_array() || comps->size() != 16) {
    return MakeError(Invalid(what, std::string(key) + " is not an array of 16"));
  }
  for (int i = 0; i < 16; ++i) {
    CRYPTA_ASSIGN_OR_RETURN(int64_t svn, GetInt((*comps)[i], "svn", what, 255));
    out[i] = static_cast<uint8_t>(svn);
  }
  return out;
}

Result<TcbInfo> ParseTcbInfoJson(const json& j) {
  constexpr std::string_view kWhat = "TCB info";
  TcbInfo t;
  CRYPTA_ASSIGN_OR_RETURN(int64_t version, GetInt(j, "version", kWhat, 100));
  t.version = static_cast<int>(version);
  if (t.version != 2 && t.version != 3) {
    return MakeError(Invalid(kWhat, "version " + std::to_string(version) + ", want 2 or 3"));
  }
  if (t.version == 3) {
    CRYPTA_ASSIGN_OR_RETURN(t.id, GetString(j, "id", kWhat));
    if (t.id != "SGX" && t.id != "TDX") {
      return MakeError(Invalid(kWhat, "id \"" + t.id + "\", want SGX or TDX"));
    }
  } else {
    t.id = "SGX";
  }
  CRYPTA_ASSIGN_OR_RETURN(t.issue_date, GetTime(j, "issueDate", kWhat));
  CRYPTA_ASSIGN_OR_RETURN(t.next_update, GetTime(j, "nextUpdate", kWhat));
  CRYPTA_ASSIGN_OR_RETURN(t.fmspc, GetHex(j, "fmspc", kWhat, 6));
  CRYPTA_ASSIGN_OR_RETURN(t.pce_id, GetHex(j, "pceId", kWhat, 2));
  CRYPTA_ASSIGN_OR_RETURN(t.tcb_type, GetInt(j, "tcbType", kWhat, INT32_MAX));
  CRYPTA_ASSIGN_OR_RETURN(t.tcb_evaluation_data_number,
                          GetInt(j, "tcbEvaluationDataNumber", kWhat, INT32_MAX));
  if (t.id == "TDX") {
    CRYPTA_ASSIGN_OR_RETURN(const json* m, Member(j, "tdxModule", kWhat));
    CRYPTA_ASSIGN_OR_RETURN(t.tdx_module, ParseModule(*m, "TCB info: tdxModule", false));
    if (j.contains("tdxModuleIdentities")) {
      const json& ids = j["tdxModuleIdentities"];
      if (!ids.is_array()) return MakeError(Invalid(kWhat, "tdxModuleIdentities not an array"));
      for (const json& id : ids) {
        CRYPTA_ASSIGN_OR_RETURN(TdxModuleIdentity mi,
                                ParseModule(id, "TCB info: tdxModuleIdentities", true));
        t.tdx_module_identities.push_back(std::move(mi));
      }
    }
  }
  CRYPTA_ASSIGN_OR_RETURN(const json* levels, Member(j, "tcbLevels", kWhat));
  if (!levels->is_array() || levels->empty()) {
    return MakeError(Invalid(kWhat, "tcbLevels is not a non-empty array"));
  }
  for (const json& l : *levels) {
    constexpr std::string_view kLevel = "TCB info: tcbLevels";
    TcbLevel level;
    CRYPTA_ASSIGN_OR_RETURN(const json* tcb, Member(l, "tcb", kLevel));
    CRYPTA_ASSIGN_OR_RETURN(level.sgx_components,
                            ParseComponents(*tcb, "sgxtcbcomponents", t.version, kLevel));
    CRYPTA_ASSIGN_OR_RETURN(int64_t pcesvn, GetInt(*tcb, "pcesvn", kLevel, 0xffff));
    level.pce_svn = static_cast<uint16_t>(pcesvn);
    if (t.id == "TDX") {
      CRYPTA_ASSIGN_OR_RETURN(level.tdx_components,
                              ParseComponents(*tcb, "tdxtcbcomponents", 3, kLevel));
    }
    CRYPTA_RETURN_IF_ERROR(
        ParseLevelStatus(l, kLevel, level.tcb_date, level.status, level.advisory_ids));
    t.levels.push_back(std::move(level));
  }
  return t;
}

Result<EnclaveIdentity> ParseIdentityJson(const json& j) {
  constexpr std::string_view kWhat = "QE identity";
  EnclaveIdentity e;
  CRYPTA_ASSIGN_OR_RETURN(e.id, GetString(j, "id", kWhat));
  CRYPTA_ASSIGN_OR_RETURN(int64_t version, GetInt(j, "version", kWhat, 100));
  e.version = static_cast<int>(version);
  if (e.version != 2) {
    return MakeError(Invalid(kWhat, "version " + std::to_string(version) + ", want 2"));
  }
  CRYPTA_ASSIGN_OR_RETURN(e.issue_date, GetTime(j, "issueDate", kWhat));
  CRYPTA_ASSIGN_OR_RETURN(e.next_update, GetTime(j, "nextUpdate", kWhat));
  CRYPTA_ASSIGN_OR_RETURN(e.tcb_evaluation_data_number,
                          GetInt(j, "tcbEvaluationDataNumber", kWhat, INT32_MAX));
  CRYPTA_ASSIGN_OR_RETURN(Bytes misc, GetHex(j, "miscselect", kWhat, 4));
  CRYPTA_ASSIGN_OR_RETURN(Bytes misc_mask, GetHex(j, "miscselectMask", kWhat, 4));
  // The hex strings are the little-endian bytes as they appear in the report.
  e.miscselect = LeU32(misc);
  e.miscselect_mask = LeU32(misc_mask);
  CRYPTA_ASSIGN_OR_RETURN(e.attributes, GetHex(j, "attributes", kWhat, 16));
  CRYPTA_ASSIGN_OR_RETURN(e.attributes_mask, GetHex(j, "attributesMask", kWhat, 16));
  CRYPTA_ASSIGN_OR_RETURN(e.mrsigner, GetHex(j, "mrsigner", kWhat, 32));
  CRYPTA_ASSIGN_OR_RETURN(int64_t prod, GetInt(j, "isvprodid", kWhat, 0xffff));
  e.isv_prod_id = static_cast<uint16_t>(prod);
  CRYPTA_ASSIGN_OR_RETURN(e.levels, ParseIsvLevels(j, kWhat));
  return e;
}

Result<json> ParseObject(std::string_view text, std::string_view what) {
  JsonParseLimits limits;
  limits.max_bytes = kMaxCollateralJsonSize;
  limits.max_depth = 16;
  auto j = ParseJsonStrict(text, limits);
  if (!j) return MakeError(j.error().WithContext(what));
  if (!j->is_object()) return MakeError(Invalid(what, "not a JSON object"));
  return *j;
}

}  // namespace

Result<SignedJson> SplitSignedJson(std::string_view text, std::string_view member) {
  const std::string what = "collateral " + std::string(member);
  CRYPTA_ASSIGN_OR_RETURN(json j, ParseObject(text, what));
  // The signed body and its signature come together: either alone is an error that says
  // which one is missing.
  const std::string quoted = "\"" + std::string(member) + "\"";
  const bool has_body = j.contains(std::string(member));
  const bool has_signature = j.contains("signature");
  if (!has_body) {
    return MakeError(Invalid(what, has_signature
                                       ? "\"signature\" is present but " + quoted + " is missing"
                                       : quoted + " is missing"));
  }
  if (!has_signature) {
    return MakeError(Invalid(what, quoted + " is present but \"signature\" is missing"));
  }
  CRYPTA_ASSIGN_OR_RETURN(std::string_view raw, RawMember(text, member));
  if (raw.empty() || raw.front() != '{') {
    return MakeError(Invalid(what, std::string(member) + " is not an object"));
  }
  SignedJson out;
  out.body = std::string(raw);
  CRYPTA_ASSIGN_OR_RETURN(out.signature, GetHex(j, "signature", what, 64));
  return out;
}

Result<TcbInfo> ParseTcbInfo(std::string_view text) {
  CRYPTA_ASSIGN_OR_RETURN(json j, ParseObject(text, "TCB info"));
  try {
    return ParseTcbInfoJson(j);
  } catch (const std::exception& e) {
    return MakeError(Invalid("TCB info", e.what()));
  }
}

Result<EnclaveIdentity> ParseEnclaveIdentity(std::string_view text) {
  CRYPTA_ASSIGN_OR_RETURN(json j, ParseObject(text, "QE identity"));
  try {
    return ParseIdentityJson(j);
  } catch (const std::exception& e) {
    return MakeError(Invalid("QE identity", e.what()));
  }
}

}  // namespace crypta::attest::dcap

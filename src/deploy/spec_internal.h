// Field rules shared by the YAML parser (spec_yaml.cc), the JSON reader (spec_json.cc) and
// ValidateSpec (spec.cc). Not part of the public API. Each check fails with
// kInvalidArgument "problem (got VALUE)"; callers prefix the location and field.
#ifndef CRYPTA_DEPLOY_SPEC_INTERNAL_H_
#define CRYPTA_DEPLOY_SPEC_INTERNAL_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"
#include "deploy/spec.h"

namespace crypta::deploy::internal {

// A value for an error message: JSON-quoted, at most 80 bytes shown.
std::string QuoteValue(std::string_view value);
// kInvalidArgument "problem (got "value")".
Error Invalid(std::string_view problem, std::string_view value);
bool IsValidUtf8(std::string_view s);

Result<std::string> CheckName(std::string_view name);
Result<std::string> CheckImage(std::string_view image);
Status CheckPortNumber(int64_t port);                              // 1..65535
Result<std::string> CanonicalProtocol(std::string_view protocol);  // upper case
Status CheckEnvName(std::string_view name);
Status CheckText(std::string_view value, size_t max_bytes);  // size and UTF-8
Status CheckAnnotationKey(std::string_view key);
// The <name> of store://<tenant>/<name>@sha256:<64 lowercase hex>.
Result<std::string> ModelNameFromRef(std::string_view ref);
Status CheckBackend(std::string_view backend);
Status CheckModelName(std::string_view name);
Status CheckCpu(double cpu);
Status CheckMemory(int64_t bytes);
Status CheckGpu(int64_t gpu);
Status CheckPolicy(std::string_view policy_yaml);  // attest::ParseAppraisalPolicy accepts it
// A model signature (infer::ParseModelSignatureJson); returns its canonical JSON text.
Result<std::string> CanonicalSignature(std::string_view json_text);
Result<bool> ParseFlag(std::string_view value);  // true/1, false/0/"" (any case)

}  // namespace crypta::deploy::internal

#endif  // CRYPTA_DEPLOY_SPEC_INTERNAL_H_

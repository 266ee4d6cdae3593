#include "attest/cca/collateral.h"

#include <nlohmann/json.hpp>
#include <string_view>

#include "attest/cca/reference_values.h"
#include "attest/cca/trust_anchor.h"
#include "common/json_canonical.h"

namespace crypta::attest::cca {

Result<std::string> ClassifyCcaCollateralFile(ByteSpan file) {
  if (file.size() > kMaxReferenceValueBytes) {
    return MakeError(ErrorCode::kResourceExhausted, "CCA collateral file is larger than 1 MiB");
  }
  std::string_view text = AsStringView(file);
  const size_t first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) {
    return MakeError(ErrorCode::kInvalidArgument, "CCA collateral file is empty");
  }
  if (text.substr(first).starts_with("-----BEGIN")) {
    auto anchors = CcaTrustAnchors::FromCpakPem(text);
    if (!anchors) return MakeError(anchors.error());
    return std::string(kCcaCpakItem);
  }
  auto doc = ParseJsonStrict(text, {.max_bytes = kMaxReferenceValueBytes, .max_depth = 8});
  if (!doc) return MakeError(doc.error().WithContext("CCA collateral file (neither PEM nor JSON)"));
  if (doc->is_object() && (doc->contains("platform") || doc->contains("realm"))) {
    auto rv = CcaReferenceValues::ParseJson(text);
    if (!rv) return MakeError(rv.error());
    return std::string(kCcaReferenceValuesItem);
  }
  if (doc->is_object() && doc->contains("kty")) {
    auto anchors = CcaTrustAnchors::FromCpakJwk(text);
    if (!anchors) return MakeError(anchors.error());
    return std::string(kCcaCpakItem);
  }
  if (doc->is_array()) {
    auto anchors = CcaTrustAnchors::FromStoreJson(text);
    if (!anchors) return MakeError(anchors.error());
    return std::string(kCcaTrustAnchorsItem);
  }
  return MakeError(ErrorCode::kInvalidArgument,
                   "CCA collateral file is neither a CPAK (PEM or JWK), a trust-anchor store "
                   "nor reference values");
}

Status AddCcaCollateral(ByteSpan file, Collateral* out) {
  CRYPTA_ASSIGN_OR_RETURN(std::string item, ClassifyCcaCollateralFile(file));
  if (out->Find(item)) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "two CCA collateral files provide \"" + item + "\"");
  }
  out->items[item] = Bytes(file.begin(), file.end());
  return OkStatus();
}

}  // namespace crypta::attest::cca

// The collateral items CcaVerifier reads, and how a file given to the CLI's --collateral
// maps onto them.
//
// Items (read from VerifyOptions::collateral only; see verifier.h for why never from
// Evidence::collateral):
//   "cpak"             a CPAK: PEM SubjectPublicKeyInfo or a bare JWK (any instance id)
//   "trust_anchors"    a trust-anchor store JSON (ta-tfa.json / tastore.json)
//   "reference_values" reference values JSON (rv.json / rvstore.json)
//
// Thread-safe (pure functions).
#ifndef CRYPTA_ATTEST_CCA_COLLATERAL_H_
#define CRYPTA_ATTEST_CCA_COLLATERAL_H_

#include <string>

#include "attest/evidence.h"
#include "common/bytes.h"
#include "common/status.h"

namespace crypta::attest::cca {

inline constexpr char kCcaCpakItem[] = "cpak";
inline constexpr char kCcaTrustAnchorsItem[] = "trust_anchors";
inline constexpr char kCcaReferenceValuesItem[] = "reference_values";

// The item a file provides, by content: PEM armor or a JSON object with "kty" -> "cpak";
// a JSON array of {"pkey": ...} entries -> "trust_anchors"; a JSON object with "platform"
// or "realm" -> "reference_values". The file is parsed fully (a malformed key or store
// is an error here, not at verification). kInvalidArgument for anything else.
[[nodiscard]] Result<std::string> ClassifyCcaCollateralFile(ByteSpan file);

// Classifies `file` and stores it in `out` under its item name. Fails if `out` already
// holds that item (two files providing one item), naming it.
[[nodiscard]] Status AddCcaCollateral(ByteSpan file, Collateral* out);

}  // namespace crypta::attest::cca

#endif  // CRYPTA_ATTEST_CCA_COLLATERAL_H_

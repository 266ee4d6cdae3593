// CCA trust anchors: the CPAK (CCA Platform Attestation Key) public keys that may sign
// platform tokens.
//
// CCA has no certificate chain to a vendor root: each platform has its own CPAK, endorsed
// out of band (draft-ffm-rats-cca-token §6 "Verification"; in practice a trust-anchor
// store keyed by instance id). So there is no pinned root; the operator configures one of:
//
//   * a bare CPAK, as a PEM SubjectPublicKeyInfo ("-----BEGIN PUBLIC KEY-----") or a JWK
//     ({"kty":"EC","crv":"P-384","x":..,"y":..}): trusted for ANY instance id;
//   * a trust-anchor store, the JSON of rust-ccatoken / trustee (ta-tfa.json,
//     tastore.json): [{"implementation-id": hex(32), "instance-id": hex(33), "pkey": JWK}],
//     each key trusted only for its instance id (and implementation id).
//
// Keys must be P-384 (the tokens are ES384) and on the curve. Errors are kInvalidArgument
// (kResourceExhausted for the size caps: 256 KiB, 1024 entries) and name the entry.
// Immutable after construction; safe to share between threads.
#ifndef CRYPTA_ATTEST_CCA_TRUST_ANCHOR_H_
#define CRYPTA_ATTEST_CCA_TRUST_ANCHOR_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.h"
#include "common/status.h"
#include "crypto/keys.h"

namespace crypta::attest::cca {

inline constexpr size_t kMaxTrustAnchorBytes = 256 * 1024;
inline constexpr size_t kMaxTrustAnchorEntries = 1024;

struct CcaTrustAnchor {
  PublicKey cpak;
  Bytes spki_der;                          // the CPAK as DER SubjectPublicKeyInfo
  std::optional<Bytes> implementation_id;  // store entries only
  std::optional<Bytes> instance_id;        // nullopt: a bare CPAK, for any instance

  // "cpak:" + the first 16 bytes of SHA-256(spki_der), hex (the verifier's Claims::signer).
  std::string Id() const;
};

class CcaTrustAnchors {
 public:
  CcaTrustAnchors() = default;

  [[nodiscard]] static Result<CcaTrustAnchors> FromCpakPem(std::string_view pem);
  [[nodiscard]] static Result<CcaTrustAnchors> FromCpakJwk(std::string_view json);
  [[nodiscard]] static Result<CcaTrustAnchors> FromStoreJson(std::string_view json);
  // Any of the three forms, told apart by content (PEM armor; a JSON object with "kty";
  // a JSON array of entries with "pkey").
  [[nodiscard]] static Result<CcaTrustAnchors> Parse(ByteSpan bytes);

  // Adds an anchor (an exact duplicate is skipped). Two entries for one instance id with
  // different keys are refused (kInvalidArgument): the store would be ambiguous.
  [[nodiscard]] Status Add(CcaTrustAnchor anchor);
  [[nodiscard]] Status Add(const CcaTrustAnchors& other);

  bool empty() const { return anchors_.empty(); }
  const std::vector<CcaTrustAnchor>& anchors() const { return anchors_; }

  // The anchors that may sign for `instance_id`: store entries for it, then bare CPAKs.
  std::vector<const CcaTrustAnchor*> FindForInstance(ByteSpan instance_id) const;

 private:
  std::vector<CcaTrustAnchor> anchors_;
};

}  // namespace crypta::attest::cca

#endif  // CRYPTA_ATTEST_CCA_TRUST_ANCHOR_H_

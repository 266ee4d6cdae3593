#include "attest/cca/verifier.h"

#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "attest/cca/collateral.h"
#include "common/constant_time.h"
#include "common/encoding.h"
#include "crypto/hash.h"
#include "crypto/signature.h"

namespace crypta::attest::cca {
namespace {

using nlohmann::json;

Error Unauthenticated(const std::string& message) {
  return Error(ErrorCode::kUnauthenticated, message);
}

// The trust anchors for this verification: the verifier's own and VerifyOptions'
// collateral (never Evidence::collateral; see verifier.h).
Result<CcaTrustAnchors> CollectTrustAnchors(const CcaTrustAnchors& configured,
                                            const Evidence& evidence,
                                            const VerifyOptions& options) {
  CcaTrustAnchors anchors;
  CRYPTA_RETURN_IF_ERROR(anchors.Add(configured));
  if (options.collateral) {
    for (const char* item : {kCcaCpakItem, kCcaTrustAnchorsItem}) {
      const Bytes* bytes = options.collateral->Find(item);
      if (!bytes) continue;
      auto parsed = std::string_view(item) == kCcaCpakItem
                        ? CcaTrustAnchors::Parse(*bytes)
                        : CcaTrustAnchors::FromStoreJson(AsStringView(*bytes));
      if (!parsed) {
        return MakeError(parsed.error().WithContext("collateral \"" + std::string(item) + "\""));
      }
      Status added = anchors.Add(*parsed);
      if (!added) {
        return MakeError(added.error().WithContext("collateral \"" + std::string(item) + "\""));
      }
    }
  }
  if (anchors.empty()) {
    std::string hint;
    if (evidence.collateral.Find(kCcaCpakItem) || evidence.collateral.Find(kCcaTrustAnchorsItem)) {
      hint =
          " (the evidence carries one, but a CPAK supplied with the evidence is never "
          "trusted: pass it in VerifyOptions::collateral)";
    }
    return MakeError(ErrorCode::kFailedPrecondition,
                     "no CCA trust anchor (CPAK) configured" + hint);
  }
  return anchors;
}

Result<std::optional<CcaReferenceValues>> CollectReferenceValues(
    const std::optional<CcaReferenceValues>& configured, const VerifyOptions& options) {
  std::optional<CcaReferenceValues> out = configured;
  if (options.collateral) {
    if (const Bytes* bytes = options.collateral->Find(kCcaReferenceValuesItem)) {
      auto parsed = CcaReferenceValues::ParseJson(AsStringView(*bytes));
      if (!parsed) {
        return MakeError(parsed.error().WithContext("collateral \"reference_values\""));
      }
      if (!out) out.emplace();
      out->Add(*parsed);
    }
  }
  return out;
}

// Steps 2-3: the anchor for the instance whose key verifies the platform token.
Result<const CcaTrustAnchor*> VerifyPlatformToken(const CcaToken& token,
                                                  const CcaTrustAnchors& anchors) {
  const CcaPlatformClaims& p = token.platform;
  std::vector<const CcaTrustAnchor*> candidates;
  std::optional<Error> mismatch;
  for (const CcaTrustAnchor* a : anchors.FindForInstance(p.instance_id)) {
    if (a->implementation_id && *a->implementation_id != p.implementation_id) {
      if (!mismatch) {
        mismatch =
            Unauthenticated("platform: unrecognized instance: the trust anchor for instance id " +
                            HexEncode(p.instance_id) + " is for implementation id " +
                            HexEncode(*a->implementation_id) + ", the token says " +
                            HexEncode(p.implementation_id));
      }
      continue;
    }
    candidates.push_back(a);
  }
  if (candidates.empty()) {
    if (mismatch) return MakeError(*mismatch);
    return MakeError(Unauthenticated(
        "platform: unrecognized instance: no trust anchor (CPAK) for instance id (256) " +
        HexEncode(p.instance_id)));
  }
  const Bytes tbs = token.platform_token.ToBeSigned();
  for (const CcaTrustAnchor* a : candidates) {
    // RFC 9053 §2.1: ES384 is ECDSA P-384 with SHA-384, signature r || s.
    if (EcdsaVerify(a->cpak, HashAlg::kSha384, tbs, token.platform_token.signature,
                    {.format = EcdsaFormat::kRaw})) {
      return a;
    }
  }
  return MakeError(
      Unauthenticated("platform token signature does not verify with the CPAK for instance id " +
                      HexEncode(p.instance_id)));
}

// Steps 4-5.
Status VerifyRealmTokenAndBinding(const CcaToken& token) {
  auto rak = RealmAttestationKey(token.realm);
  if (!rak) {
    return MakeError(Unauthenticated("realm token: " + rak.error().message()));
  }
  if (!EcdsaVerify(*rak, HashAlg::kSha384, token.realm_token.ToBeSigned(),
                   token.realm_token.signature, {.format = EcdsaFormat::kRaw})) {
    return MakeError(
        Unauthenticated("realm token signature does not verify with the RAK (claim 44237)"));
  }
  // draft-ffm-rats-cca-token §6: the platform challenge is the hash of the RAK claim, as
  // encoded (the 97-byte point, or the COSE_Key bytes: not a re-encoding of x and y).
  CRYPTA_ASSIGN_OR_RETURN(HashAlg alg, ParseCcaHashAlg(token.realm.rak_hash_algo));
  const Bytes digest = Hash(alg, token.realm.rak);
  if (!ConstantTimeEquals(digest, token.platform.challenge)) {
    return MakeError(Unauthenticated(
        "binding: platform challenge (10) " + HexEncode(token.platform.challenge) +
        " != " + token.realm.rak_hash_algo + "(realm public-key (44237)) " + HexEncode(digest) +
        " (the realm token is not bound to this platform token)"));
  }
  return OkStatus();
}

// Step 7 (RFC 9783 §4.3.1 lifecycle states).
Status CheckLifecycle(uint16_t lifecycle) {
  const uint16_t major = lifecycle >> 8;
  if (major == 0x30 || major == 0x40 || major == 0x50) return OkStatus();
  char hex[8];
  std::snprintf(hex, sizeof(hex), "0x%04x", lifecycle);
  return MakeError(ErrorCode::kPermissionDenied,
                   "platform lifecycle (2395) " + std::string(hex) + " (" +
                       std::string(CcaLifecycleName(lifecycle)) +
                       ") is not secured or a debug state: the platform is not deployed");
}

json SwComponentsJson(const std::vector<CcaSwComponent>& components) {
  json out = json::array();
  for (const CcaSwComponent& c : components) {
    json j = {{"measurement", HexEncode(c.measurement)}, {"signer_id", HexEncode(c.signer_id)}};
    j["type"] = c.type ? json(*c.type) : json(nullptr);
    j["version"] = c.version ? json(*c.version) : json(nullptr);
    j["hash_algo"] = c.hash_algo ? json(*c.hash_algo) : json(nullptr);
    out.push_back(std::move(j));
  }
  return out;
}

}  // namespace

Claims CcaClaims(const CcaToken& token, const CcaTrustAnchor& anchor,
                 const std::optional<CcaAppraisal>& appraisal) {
  const CcaPlatformClaims& p = token.platform;
  const CcaRealmClaims& r = token.realm;
  Claims c;
  c.tee = TeeType::kCca;
  c.measurement = r.initial_measurement;
  c.host_data = r.personalization_value;
  c.report_data = r.challenge;
  const uint16_t major = p.lifecycle >> 8;
  c.debug = major == 0x40 || major == 0x50;
  c.tcb_status = appraisal && appraisal->platform == CcaPlatformAppraisal::kAffirming
                     ? TcbStatus::kUpToDate
                     : TcbStatus::kUnknown;
  // A raw CPAK has no certificate, so there is no CRL to consult.
  c.revocation = Revocation::kNotApplicable;
  c.platform_id = p.instance_id;
  c.signer = anchor.Id();
  c.tcb = {{"implementation_id", HexEncode(p.implementation_id)},
           {"lifecycle", p.lifecycle},
           {"lifecycle_state", std::string(CcaLifecycleName(p.lifecycle))},
           {"config", HexEncode(p.config)},
           {"platform_hash_algo", p.hash_algo},
           {"sw_components", SwComponentsJson(p.sw_components)}};
  c.extra = {{"profile", p.profile},
             {"realm_profile", r.profile ? json(*r.profile) : json(nullptr)},
             {"realm_hash_algo", r.hash_algo},
             {"rak", HexEncode(r.rak)},
             {"rak_hash_algo", r.rak_hash_algo},
             {"platform_challenge", HexEncode(p.challenge)},
             {"verification_service",
              p.verification_service ? json(*p.verification_service) : json(nullptr)}};
  for (size_t i = 0; i < 4; ++i) {
    c.extra["rem" + std::to_string(i)] = HexEncode(r.extensible_measurements[i]);
  }
  if (appraisal) {
    json a = {{"platform", std::string(CcaPlatformAppraisalName(appraisal->platform))},
              {"realm", std::string(CcaRealmAppraisalName(appraisal->realm))}};
    a["personalization_matches"] = appraisal->personalization_matches
                                       ? json(*appraisal->personalization_matches)
                                       : json(nullptr);
    c.extra["appraisal"] = std::move(a);
  }
  return c;
}

Result<VerifiedEvidence> CcaVerifier::Verify(const Evidence& evidence,
                                             const VerifyOptions& options) const {
  if (evidence.tee != TeeType::kCca) {
    return MakeError(ErrorCode::kInvalidArgument, "CcaVerifier: evidence is not cca");
  }
  if (options.verification_time <= 0) {
    return MakeError(ErrorCode::kInvalidArgument, "verification time not set");
  }
  // Step 1.
  CRYPTA_ASSIGN_OR_RETURN(CcaToken token, ParseCcaToken(evidence.raw));
  // Steps 2-3.
  CRYPTA_ASSIGN_OR_RETURN(CcaTrustAnchors anchors,
                          CollectTrustAnchors(options_.trust_anchors, evidence, options));
  CRYPTA_ASSIGN_OR_RETURN(const CcaTrustAnchor* anchor, VerifyPlatformToken(token, anchors));
  // Steps 4-5.
  CRYPTA_RETURN_IF_ERROR(VerifyRealmTokenAndBinding(token));
  // Step 6: the realm challenge is the verifier's nonce.
  Status nonce = CheckReportData(token.realm.challenge, options);
  if (!nonce) return MakeError(nonce.error().WithContext("realm challenge (10)"));
  // Step 7.
  CRYPTA_RETURN_IF_ERROR(CheckLifecycle(token.platform.lifecycle));
  // Step 8.
  CRYPTA_ASSIGN_OR_RETURN(std::optional<CcaReferenceValues> rvs,
                          CollectReferenceValues(options_.reference_values, options));
  std::optional<CcaAppraisal> appraisal;
  if (rvs) {
    appraisal = rvs->Appraise(token.platform, token.realm);
    if (appraisal->platform != CcaPlatformAppraisal::kAffirming) {
      const std::string impl = HexEncode(token.platform.implementation_id);
      return MakeError(
          ErrorCode::kPermissionDenied,
          "platform appraisal: " + std::string(CcaPlatformAppraisalName(appraisal->platform)) +
              (appraisal->platform == CcaPlatformAppraisal::kUnrecognizedInstance
                   ? " (no reference values for implementation id " + impl + ")"
                   : " (no reference value for implementation id " + impl +
                         " matches the configuration and software components)"));
    }
    if (appraisal->realm == CcaRealmAppraisal::kContraindicatedRuntime ||
        appraisal->realm == CcaRealmAppraisal::kUnrecognizedBoot) {
      return MakeError(ErrorCode::kPermissionDenied,
                       "realm appraisal: " + std::string(CcaRealmAppraisalName(appraisal->realm)) +
                           " (initial measurement " + HexEncode(token.realm.initial_measurement) +
                           ")");
    }
  }
  return MakeVerified(CcaClaims(token, *anchor, appraisal), evidence, options);
}

}  // namespace crypta::attest::cca

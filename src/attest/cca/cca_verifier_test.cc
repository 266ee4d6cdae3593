// CcaVerifier on the real tokens of testdata/cca (MANIFEST.md): every case's verdict, every
// mutation recipe, the trust-anchor and reference-value negatives, and the collateral
// plumbing. Claim-set vectors and synthetic tokens are in cca_token_test.cc.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "attest/cca/cbor.h"
#include "attest/cca/collateral.h"
#include "attest/cca/reference_values.h"
#include "attest/cca/token.h"
#include "attest/cca/trust_anchor.h"
#include "attest/cca/verifier.h"
#include "common/encoding.h"
#include "crypto/hash.h"
#include "crypto/jwk.h"
#include "testing/test_util.h"

namespace crypta::attest::cca {
namespace {

using ::crypta::testing::ReadTestdataBytes;
using ::crypta::testing::ReadTestdataString;
using ::crypta::testing::Unhex;
using nlohmann::json;

// CCA tokens carry no certificates: any instant will do (MANIFEST "time: any").
constexpr int64_t kAnyTime = 1748736000;

constexpr char kTfRmm[] = "cca/ccatoken-tfrmm/cca_token.cbor";
constexpr char kTrustee[] = "cca/trustee-example/cca-example-token.cbor";
constexpr char kFfm00[] = "cca/rust-ccatoken-draft-ffm-00/cca-token-draft-ffm-00.cbor";
constexpr char kBug33[] = "cca/rust-ccatoken-bug-33/bug-33-repro.cbor";
constexpr char kToken01[] = "cca/rust-ccatoken-01-appraisal/cca-token-01.cbor";
constexpr char kCpakPem[] = "cca/ccatoken-tfrmm/cpak_pub.pem";
constexpr char kTaTfa[] = "cca/rust-ccatoken-stores/ta-tfa.json";
constexpr char kCpakJson[] = "cca/rust-ccatoken-stores/cpak.json";
constexpr char kRvJson[] = "cca/rust-ccatoken-stores/rv.json";
constexpr char kTrusteeTa[] = "cca/trustee-example/tastore.json";
constexpr char kTrusteeCpak[] = "cca/trustee-example/cpak-pub.json";
constexpr char kTrusteeRv[] = "cca/trustee-example/rvstore.json";

constexpr char kTfRmmInstanceId[] =
    "0107060504030201000f0e0d0c0b0a090817161514131211101f1e1d1c1b1a1918";

CcaTrustAnchors Anchors(const std::string& path) {
  auto a = CcaTrustAnchors::Parse(ReadTestdataBytes(path));
  EXPECT_TRUE(a.has_value()) << path << ": " << a.error().ToString();
  return a.has_value() ? *a : CcaTrustAnchors();
}

CcaReferenceValues RefValues(const std::string& path) {
  auto rv = CcaReferenceValues::ParseJson(ReadTestdataString(path));
  EXPECT_TRUE(rv.has_value()) << path << ": " << rv.error().ToString();
  return rv.has_value() ? *rv : CcaReferenceValues();
}

CcaVerifier MakeVerifier(const std::string& anchors, const std::string& rv = "") {
  CcaVerifierOptions o;
  o.trust_anchors = Anchors(anchors);
  if (!rv.empty()) o.reference_values = RefValues(rv);
  return CcaVerifier(std::move(o));
}

Evidence TokenEvidence(Bytes raw) {
  return Evidence{.tee = TeeType::kCca, .raw = std::move(raw), .collateral = {}};
}

VerifyOptions Opts() {
  VerifyOptions o;
  o.verification_time = kAnyTime;
  return o;
}

Result<VerifiedEvidence> VerifyBytes(const CcaVerifier& v, Bytes raw,
                                     const VerifyOptions& options = Opts()) {
  return v.Verify(TokenEvidence(std::move(raw)), options);
}

std::string ErrorOf(const Result<VerifiedEvidence>& r) {
  return r.has_value() ? "(verified)" : r.error().message();
}

CcaToken Parse(const std::string& path) {
  auto t = ParseCcaToken(ReadTestdataBytes(path));
  EXPECT_TRUE(t.has_value()) << path << ": " << t.error().ToString();
  return t.has_value() ? *t : CcaToken();
}

// --- case table -----------------------------------------------------------------------

TEST(CcaVerifierCases, TfRmmTokenVerifiesWithThePemCpak) {
  CcaVerifier v = MakeVerifier(kCpakPem);
  auto r = VerifyBytes(v, ReadTestdataBytes(kTfRmm));
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  const Claims& c = r->claims();
  EXPECT_EQ(c.tee, TeeType::kCca);
  EXPECT_FALSE(c.simulated);
  EXPECT_EQ(c.measurement, Bytes(32, 0));
  EXPECT_EQ(ToString(c.host_data),
            "The quick brown fox jumps over 13 lazy dogs.The quick brown fox ");
  EXPECT_EQ(c.report_data, Bytes(64, 0xab));
  EXPECT_EQ(c.platform_id, Unhex(kTfRmmInstanceId));
  EXPECT_FALSE(c.debug);
  EXPECT_EQ(c.tcb_status, TcbStatus::kUnknown);  // no reference values
  EXPECT_EQ(c.revocation, Revocation::kNotApplicable);
  EXPECT_EQ(c.signer.rfind("cpak:", 0), 0u);
  EXPECT_EQ(c.signer.size(), 5u + 32u);
  EXPECT_EQ(c.tcb["implementation_id"],
            "7f454c4602010100000000000000000003003e00010000005058000000000000");
  EXPECT_EQ(c.tcb["lifecycle"], 12291);
  EXPECT_EQ(c.tcb["lifecycle_state"], "secured");
  EXPECT_EQ(c.tcb["config"], kTfRmmInstanceId);
  ASSERT_EQ(c.tcb["sw_components"].size(), 4u);
  EXPECT_EQ(c.tcb["sw_components"][0]["type"], "BL");
  EXPECT_EQ(c.tcb["sw_components"][0]["version"], "3.4.2");
  EXPECT_EQ(c.tcb["sw_components"][3]["type"], "M3");
  EXPECT_EQ(c.extra["profile"], "http://arm.com/CCA-SSD/1.0.0");
  EXPECT_TRUE(c.extra["realm_profile"].is_null());
  EXPECT_EQ(c.extra["platform_challenge"],
            "b5973cb68baa9fc55558786b7ec67f69e40df5ba5aa921cd0c27f40587a011ea");
  EXPECT_EQ(c.extra["verification_service"], "whatever.com");
  EXPECT_EQ(c.extra["rak"],
            "0476f988091be585ed41801aecfab858548c63057e16b0e676120bbd0d2f9c29e056c5d41a0130eb9c2151"
            "7899dc23146b28e1b062bd3ea4b315fd219f1cbb528cb6e74ca49be16773734f61a1ca61031b2bbf3d918f"
            "2f94ffc4228e50919544ae");
  EXPECT_EQ(c.extra["rem0"], std::string(64, '0'));
  EXPECT_EQ(c.extra["rem3"], std::string(64, '0'));
  EXPECT_EQ(c.extra["realm_hash_algo"], "sha-256");
  EXPECT_EQ(c.extra["rak_hash_algo"], "sha-256");
  EXPECT_FALSE(c.extra.contains("appraisal"));
  EXPECT_EQ(r->verified_at(), kAnyTime);
  EXPECT_EQ(r->raw(), ReadTestdataBytes(kTfRmm));
  // The ToJson of the claims is well-formed (hex strings, no throw).
  EXPECT_NO_THROW((void)c.ToJson().dump());
}

TEST(CcaVerifierCases, TfRmmTokenVerifiesWithEveryTrustAnchorForm) {
  for (const char* anchors : {kCpakPem, kTaTfa, kCpakJson, kTrusteeTa, kTrusteeCpak}) {
    SCOPED_TRACE(anchors);
    CcaVerifier v = MakeVerifier(anchors);
    auto r = VerifyBytes(v, ReadTestdataBytes(kTfRmm));
    ASSERT_TRUE(r.has_value()) << r.error().ToString();
    // One key in every form: one signer id.
    EXPECT_EQ(r->claims().signer, Anchors(kCpakPem).anchors()[0].Id());
  }
}

TEST(CcaVerifierCases, TrusteeExampleVerifiesAndEveryRvstoreValueMatches) {
  for (const char* anchors : {kTrusteeTa, kTrusteeCpak}) {
    SCOPED_TRACE(anchors);
    CcaVerifier v = MakeVerifier(anchors, kTrusteeRv);
    auto r = VerifyBytes(v, ReadTestdataBytes(kTrustee));
    ASSERT_TRUE(r.has_value()) << r.error().ToString();
    const Claims& c = r->claims();
    EXPECT_EQ(c.tcb_status, TcbStatus::kUpToDate);
    EXPECT_EQ(c.extra["appraisal"]["platform"], "affirming");
    EXPECT_EQ(c.extra["appraisal"]["realm"], "approved runtime");
    EXPECT_EQ(c.extra["appraisal"]["personalization_matches"], true);
    EXPECT_EQ(HexEncode(c.report_data),
              "57e979ae2618de0c1ab73144c440d741cf9236dc9d52ed190053382a4d190252f9f0370403c35dcb155f"
              "b4362d73c66d5b0494bf939315d3dc52b8cdc8b85a96");
    EXPECT_EQ(c.extra["realm_hash_algo"], "sha-512");
    EXPECT_EQ(c.extra["rak_hash_algo"], "sha-256");
  }
  // Every reference value, compared one by one with the token's claims.
  CcaToken t = Parse(kTrustee);
  CcaReferenceValues rv = RefValues(kTrusteeRv);
  ASSERT_EQ(rv.platform().size(), 1u);
  const CcaPlatformRefValue& p = rv.platform()[0];
  EXPECT_EQ(p.implementation_id, t.platform.implementation_id);
  EXPECT_EQ(p.config, Unhex("cfcfcfcf"));
  EXPECT_EQ(p.config, t.platform.config);
  ASSERT_EQ(p.sw_components.size(), 13u);
  ASSERT_EQ(t.platform.sw_components.size(), 13u);
  for (size_t i = 0; i < 13; ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(p.sw_components[i].measurement, t.platform.sw_components[i].measurement);
    EXPECT_EQ(p.sw_components[i].signer_id, t.platform.sw_components[i].signer_id);
    EXPECT_EQ(p.sw_components[i].type, t.platform.sw_components[i].type);
  }
  ASSERT_EQ(rv.realm().size(), 1u);
  const CcaRealmRefValue& r = rv.realm()[0];
  EXPECT_EQ(r.initial_measurement, t.realm.initial_measurement);
  EXPECT_EQ(HexEncode(t.realm.initial_measurement),
            "ae87fbf7f105e71a7827cb6f0896889c73d2beaf4830d4f9cb05e3e96c3fc7b4faa04caf36a26bd094cf9c"
            "7b738617e4c189aaee184dedda5d7a03c39dbdac7c");
  ASSERT_TRUE(r.extensible_measurements.has_value());
  EXPECT_EQ(*r.extensible_measurements, t.realm.extensible_measurements);
  EXPECT_EQ(r.extensible_measurements->at(0), Bytes(64, 0));
  EXPECT_EQ(r.personalization_value, t.realm.personalization_value);
  EXPECT_EQ(t.realm.personalization_value, Bytes(64, 0));
  EXPECT_EQ(r.rak_hash_algo, t.realm.rak_hash_algo);
  // Same RAK point and platform challenge as the TF-RMM token.
  CcaToken tfrmm = Parse(kTfRmm);
  EXPECT_EQ(t.realm.rak, tfrmm.realm.rak);
  EXPECT_EQ(t.platform.challenge, tfrmm.platform.challenge);
}

TEST(CcaVerifierCases, DraftFfm00TokenVerifiesUnderTheNewProfiles) {
  CcaVerifier v = MakeVerifier(kTaTfa);
  auto r = VerifyBytes(v, ReadTestdataBytes(kFfm00));
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  const Claims& c = r->claims();
  EXPECT_EQ(c.extra["profile"], "tag:arm.com,2023:cca_platform#1.0.0");
  EXPECT_EQ(c.extra["realm_profile"], "tag:arm.com,2023:realm#1.0.0");
  EXPECT_EQ(c.extra["platform_challenge"],
            "0d22e08a98469058486318283489bdb36f09dbefeb1864df433fa6e54ea2d711");
  EXPECT_EQ(HexEncode(c.measurement),
            "311314ab73620350cf758834ae5c65d9e8c2dc7febe6e7d9654bbe864e300d49");
  EXPECT_EQ(HexEncode(c.report_data),
            "6e86d6d97cc713bc6dd43dbce491a6b40311c027a8bf85a39da63e9ce44c132a8a119d296fae6a6999e9bf"
            "3e4471b0ce01245d889424c31e89793b3b1d6b1504");
  EXPECT_EQ(c.platform_id, Unhex(kTfRmmInstanceId));
  EXPECT_EQ(c.tcb["lifecycle"], 0x3003);
  EXPECT_EQ(c.tcb["config"], "cfcfcfcf");
  ASSERT_EQ(c.tcb["sw_components"].size(), 13u);
  EXPECT_EQ(c.tcb["sw_components"][0]["type"], "RSE_BL1_2");
  EXPECT_EQ(c.tcb["sw_components"][12]["type"], "SOC_FW_CONFIG");
  EXPECT_EQ(ReadTestdataBytes(kFfm00).size(), 2124u);
  CcaToken t = Parse(kFfm00);
  EXPECT_EQ(t.realm.rak.size(), 107u);
  EXPECT_EQ(HexEncode(t.realm.extensible_measurements[0]).substr(0, 8), "24d5b0a2");
}

TEST(CcaVerifierCases, DraftFfm00AgainstRvJsonIsUnrecognizedHardware) {
  CcaToken t = Parse(kFfm00);
  CcaAppraisal a = RefValues(kRvJson).Appraise(t.platform, t.realm);
  EXPECT_EQ(a.platform, CcaPlatformAppraisal::kUnrecognizedHardware);
  EXPECT_EQ(a.realm, CcaRealmAppraisal::kNotAppraised);  // RC: realm "no claim"
  CcaVerifier v = MakeVerifier(kTaTfa, kRvJson);
  auto r = VerifyBytes(v, ReadTestdataBytes(kFfm00));
  EXPECT_EQ(ErrorOf(r).rfind("platform appraisal: unrecognized hardware", 0), 0u) << ErrorOf(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kPermissionDenied);
}

TEST(CcaVerifierCases, Bug33IsRejectedForTheBinding) {
  CcaVerifier v = MakeVerifier(kTaTfa);
  auto r = VerifyBytes(v, ReadTestdataBytes(kBug33));
  ASSERT_FALSE(r.has_value());
  // Both signatures verify (the checks before the binding passed); the binding fails.
  EXPECT_EQ(ErrorOf(r).rfind("binding: platform challenge (10) 0706", 0), 0u) << ErrorOf(r);
  EXPECT_NE(ErrorOf(r).find("b5973cb68baa9fc55558786b7ec67f69e40df5ba5aa921cd0c27f40587a011ea"),
            std::string::npos);
  EXPECT_EQ(r.error().code(), ErrorCode::kUnauthenticated);
  CcaToken t = Parse(kBug33);
  EXPECT_EQ(t.platform.sw_components.size(), 16u);
  EXPECT_EQ(HexEncode(t.realm.initial_measurement).substr(0, 8), "d215240f");
}

TEST(CcaVerifierCases, Token01AppraisalIsAffirmingAndApprovedRuntime) {
  EXPECT_EQ(ReadTestdataBytes(kToken01), ReadTestdataBytes(kTfRmm));
  CcaToken t = Parse(kToken01);  // RC decode_good_token
  CcaAppraisal a = RefValues(kRvJson).Appraise(t.platform, t.realm);
  EXPECT_EQ(a.platform, CcaPlatformAppraisal::kAffirming);
  EXPECT_EQ(a.realm, CcaRealmAppraisal::kApprovedRuntime);
  EXPECT_EQ(a.personalization_matches, true);
  CcaVerifier v = MakeVerifier(kTaTfa, kRvJson);
  auto r = VerifyBytes(v, ReadTestdataBytes(kToken01));
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  EXPECT_EQ(r->claims().tcb_status, TcbStatus::kUpToDate);
  EXPECT_EQ(r->claims().extra["appraisal"]["platform"], "affirming");
  EXPECT_EQ(r->claims().extra["appraisal"]["realm"], "approved runtime");
}

// --- mutation recipes -----------------------------------------------------------------

struct Mutation {
  const char* token;
  size_t offset;
  const char* fails;  // the error message starts with this
};

class CcaMutationTest : public ::testing::TestWithParam<Mutation> {};

TEST_P(CcaMutationTest, FlippedByteFailsTheNamedCheck) {
  const Mutation& m = GetParam();
  Bytes raw = ReadTestdataBytes(m.token);
  ASSERT_LT(m.offset, raw.size());
  raw[m.offset] ^= 0x01;
  CcaVerifier v = MakeVerifier(kTaTfa);
  auto r = VerifyBytes(v, raw);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(ErrorOf(r).rfind(m.fails, 0), 0u) << ErrorOf(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kUnauthenticated);
}

INSTANTIATE_TEST_SUITE_P(
    Recipes, CcaMutationTest,
    ::testing::Values(Mutation{kFfm00, 1527, "platform token signature does not verify"},
                      Mutation{kFfm00, 2123, "realm token signature does not verify"},
                      Mutation{kFfm00, 65, "platform token signature does not verify"},
                      Mutation{kFfm00, 1582, "realm token signature does not verify"},
                      Mutation{kFfm00, 1854, "realm token signature does not verify"},
                      Mutation{kTfRmm, 668, "platform token signature does not verify"},
                      Mutation{kTfRmm, 1221, "realm token signature does not verify"},
                      Mutation{kTfRmm, 58, "platform token signature does not verify"},
                      Mutation{kTfRmm, 690, "realm token signature does not verify"},
                      Mutation{kToken01, 668, "platform token signature does not verify"},
                      Mutation{kToken01, 1221, "realm token signature does not verify"},
                      Mutation{kToken01, 58, "platform token signature does not verify"},
                      Mutation{kToken01, 690, "realm token signature does not verify"}));

// The recipes' offsets hit the fields MANIFEST names, and the secondary failures hold.
TEST(CcaMutations, PlatformChallengeFlipAlsoBreaksTheBinding) {
  for (auto [path, offset] : {std::pair{kFfm00, size_t{65}}, std::pair{kTfRmm, size_t{58}}}) {
    SCOPED_TRACE(path);
    Bytes raw = ReadTestdataBytes(path);
    CcaToken before = Parse(path);
    raw[offset] ^= 0x01;
    CRYPTA_ASSIGN_OR_FAIL(CcaToken after, ParseCcaToken(raw));
    EXPECT_NE(after.platform.challenge, before.platform.challenge);
    EXPECT_NE(Sha256(after.realm.rak), after.platform.challenge);
  }
}

TEST(CcaMutations, RealmChallengeFlipAlsoFailsTheNonceComparison) {
  for (auto [path, offset] : {std::pair{kFfm00, size_t{1582}}, std::pair{kTfRmm, size_t{690}}}) {
    SCOPED_TRACE(path);
    Bytes raw = ReadTestdataBytes(path);
    CcaToken before = Parse(path);
    raw[offset] ^= 0x01;
    CRYPTA_ASSIGN_OR_FAIL(CcaToken after, ParseCcaToken(raw));
    EXPECT_NE(after.realm.challenge, before.realm.challenge);
    VerifyOptions o = Opts();
    o.expected_report_data = before.realm.challenge;
    EXPECT_FALSE(CheckReportData(after.realm.challenge, o).has_value());
  }
}

TEST(CcaMutations, RimFlipAlsoFailsTheReferenceValueLookup) {
  Bytes raw = ReadTestdataBytes(kFfm00);
  CcaToken before = Parse(kFfm00);
  raw[1854] ^= 0x01;
  CRYPTA_ASSIGN_OR_FAIL(CcaToken after, ParseCcaToken(raw));
  EXPECT_NE(after.realm.initial_measurement, before.realm.initial_measurement);
  const std::string rv_text =
      json{{"realm", {{{"initial-measurement", HexEncode(before.realm.initial_measurement)}}}}}
          .dump();
  CRYPTA_ASSIGN_OR_FAIL(CcaReferenceValues rv, CcaReferenceValues::ParseJson(rv_text));
  EXPECT_EQ(rv.AppraiseRealm(before.realm), CcaRealmAppraisal::kApprovedBoot);
  EXPECT_EQ(rv.AppraiseRealm(after.realm), CcaRealmAppraisal::kUnrecognizedBoot);
}

TEST(CcaMutations, WrongExpectedNonceIsRejected) {
  CcaVerifier v = MakeVerifier(kTaTfa);
  VerifyOptions o = Opts();
  o.expected_report_data = Bytes(64, 0xab);
  EXPECT_TRUE(VerifyBytes(v, ReadTestdataBytes(kTfRmm), o).has_value());
  o.expected_report_data = Bytes(64, 0xac);
  auto r = VerifyBytes(v, ReadTestdataBytes(kTfRmm), o);
  EXPECT_EQ(ErrorOf(r).rfind("realm challenge (10): report_data does not match", 0), 0u)
      << ErrorOf(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kPermissionDenied);
  // A shorter expectation is zero-padded to 64 bytes, so a prefix of the nonce fails.
  o.expected_report_data = Bytes(32, 0xab);
  EXPECT_FALSE(VerifyBytes(v, ReadTestdataBytes(kTfRmm), o).has_value());
  // The new-profile token's nonce.
  o.expected_report_data = Parse(kFfm00).realm.challenge;
  EXPECT_TRUE(VerifyBytes(v, ReadTestdataBytes(kFfm00), o).has_value());
}

json TaTfaJson() { return json::parse(ReadTestdataString(kTaTfa)); }

TEST(CcaMutations, TrustAnchorStoreWithAnotherInstanceIdIsUnrecognizedInstance) {
  json store = TaTfaJson();
  store[0]["instance-id"] = "01" + std::string(64, 'a');
  CRYPTA_ASSIGN_OR_FAIL(CcaTrustAnchors anchors, CcaTrustAnchors::FromStoreJson(store.dump()));
  CcaVerifier v(CcaVerifierOptions{.trust_anchors = anchors, .reference_values = std::nullopt});
  for (const char* token : {kTfRmm, kFfm00}) {
    auto r = VerifyBytes(v, ReadTestdataBytes(token));
    EXPECT_EQ(ErrorOf(r).rfind("platform: unrecognized instance", 0), 0u) << ErrorOf(r);
  }
}

TEST(CcaMutations, TrustAnchorForTheInstanceButAnotherImplementationIsRefused) {
  json store = TaTfaJson();
  store[0]["implementation-id"] = std::string(64, 'b');
  CRYPTA_ASSIGN_OR_FAIL(CcaTrustAnchors anchors, CcaTrustAnchors::FromStoreJson(store.dump()));
  CcaVerifier v(CcaVerifierOptions{.trust_anchors = anchors, .reference_values = std::nullopt});
  auto r = VerifyBytes(v, ReadTestdataBytes(kTfRmm));
  EXPECT_EQ(ErrorOf(r).rfind("platform: unrecognized instance", 0), 0u) << ErrorOf(r);
}

TEST(CcaMutations, AnotherValidP384KeyForTheInstanceFailsThePlatformSignature) {
  CRYPTA_ASSIGN_OR_FAIL(PrivateKey other, PrivateKey::Generate(KeyType::kEcP384));
  CRYPTA_ASSIGN_OR_FAIL(json jwk, PublicKeyToJwk(other.GetPublicKey()));
  json store = TaTfaJson();
  store[0]["pkey"] = jwk;
  CRYPTA_ASSIGN_OR_FAIL(CcaTrustAnchors anchors, CcaTrustAnchors::FromStoreJson(store.dump()));
  CcaVerifier v(CcaVerifierOptions{.trust_anchors = anchors, .reference_values = std::nullopt});
  for (const char* token : {kTfRmm, kFfm00, kTrustee}) {
    auto r = VerifyBytes(v, ReadTestdataBytes(token));
    EXPECT_EQ(ErrorOf(r).rfind("platform token signature does not verify with the CPAK", 0), 0u)
        << ErrorOf(r);
  }
}

TEST(CcaMutations, JwkOffTheCurveIsRefused) {
  json store = TaTfaJson();
  json jwk = store[0]["pkey"];
  // Another 48-byte y: (x, y') is not on P-384.
  CRYPTA_ASSIGN_OR_FAIL(Bytes y, Base64UrlDecode(jwk["y"].get<std::string>()));
  ASSERT_EQ(y.size(), 48u);
  y[47] ^= 0x01;
  store[0]["pkey"]["y"] = Base64UrlEncode(y);
  jwk["y"] = Base64UrlEncode(y);
  EXPECT_FALSE(CcaTrustAnchors::FromStoreJson(store.dump()).has_value());
  EXPECT_FALSE(CcaTrustAnchors::FromCpakJwk(jwk.dump()).has_value());
  EXPECT_FALSE(CcaTrustAnchors::Parse(AsBytes(jwk.dump())).has_value());
  // Given as collateral, it fails the verification rather than being skipped.
  CcaVerifier v;
  Collateral collateral;
  collateral.items["trust_anchors"] = ToBytes(store.dump());
  VerifyOptions o = Opts();
  o.collateral = &collateral;
  auto r = VerifyBytes(v, ReadTestdataBytes(kTfRmm), o);
  EXPECT_EQ(ErrorOf(r).rfind("collateral \"trust_anchors\"", 0), 0u) << ErrorOf(r);
}

TEST(CcaMutations, BindingHashesTheExactCoseKeyBytes) {
  // draft-ffm-rats-cca-token §6: the platform challenge is H(bstr contents of 44237). The
  // verifier passes with that rule; hashing the decoded x || y (or 04 || x || y) would not.
  CcaToken t = Parse(kFfm00);
  ASSERT_FALSE(t.realm.legacy_profile());
  EXPECT_EQ(Sha256(t.realm.rak), t.platform.challenge);
  CRYPTA_ASSIGN_OR_FAIL(CborValue key, DecodeCbor(t.realm.rak, "rak"));
  const CborValue* x = key.FindIntKey(-2);
  const CborValue* y = key.FindIntKey(-3);
  ASSERT_TRUE(x && y);
  EXPECT_NE(Sha256(Concat(x->data, y->data)), t.platform.challenge);
  EXPECT_NE(Sha256(Concat(Bytes{0x04}, x->data, y->data)), t.platform.challenge);
  // Same point as the TF-RMM RAK.
  EXPECT_EQ(Concat(Bytes{0x04}, x->data, y->data), Parse(kTfRmm).realm.rak);
  CcaVerifier v = MakeVerifier(kTaTfa);
  EXPECT_TRUE(VerifyBytes(v, ReadTestdataBytes(kFfm00)).has_value());
}

// --- trust anchors, reference values and collateral ------------------------------------

TEST(CcaTrustAnchors, StoreSelectsByInstanceIdAndBareKeysApplyToAll) {
  CcaTrustAnchors a = Anchors(kTaTfa);
  ASSERT_EQ(a.anchors().size(), 1u);
  EXPECT_EQ(a.FindForInstance(Unhex(kTfRmmInstanceId)).size(), 1u);
  EXPECT_TRUE(a.FindForInstance(Bytes(33, 1)).empty());
  CcaTrustAnchors bare = Anchors(kCpakPem);
  EXPECT_EQ(bare.FindForInstance(Bytes(33, 1)).size(), 1u);
  // The same key as the store's, so the signer ids agree.
  EXPECT_EQ(bare.anchors()[0].Id(), a.anchors()[0].Id());
}

TEST(CcaTrustAnchors, RefusesOtherCurvesAndConflictingEntries) {
  CRYPTA_ASSIGN_OR_FAIL(PrivateKey p256, PrivateKey::Generate(KeyType::kEcP256));
  CRYPTA_ASSIGN_OR_FAIL(std::string pem, p256.GetPublicKey().ToPem());
  auto r = CcaTrustAnchors::FromCpakPem(pem);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message().find("want EC P-384"), std::string::npos);
  json store = TaTfaJson();
  CRYPTA_ASSIGN_OR_FAIL(PrivateKey other, PrivateKey::Generate(KeyType::kEcP384));
  CRYPTA_ASSIGN_OR_FAIL(json jwk, PublicKeyToJwk(other.GetPublicKey()));
  json second = store[0];
  second["pkey"] = jwk;
  store.push_back(second);
  EXPECT_FALSE(CcaTrustAnchors::FromStoreJson(store.dump()).has_value());
  EXPECT_FALSE(CcaTrustAnchors::FromStoreJson("[{\"instance-id\":\"01\"}]").has_value());
  EXPECT_FALSE(CcaTrustAnchors::Parse(AsBytes("not a key")).has_value());
}

TEST(CcaReferenceValuesTest, RealmOutcomes) {
  CcaToken t = Parse(kTfRmm);
  const std::string rim = HexEncode(t.realm.initial_measurement);
  const std::string zero = std::string(64, '0');
  auto appraise = [&](const json& realm) {
    auto rv = CcaReferenceValues::ParseJson(json{{"realm", realm}}.dump());
    EXPECT_TRUE(rv.has_value()) << rv.error().ToString();
    return rv->AppraiseRealm(t.realm);
  };
  EXPECT_EQ(appraise({{{"initial-measurement", rim},
                       {"extensible-measurements", {zero, zero, zero, zero}}}}),
            CcaRealmAppraisal::kApprovedRuntime);
  EXPECT_EQ(appraise({{{"initial-measurement", rim}}}), CcaRealmAppraisal::kApprovedBoot);
  EXPECT_EQ(appraise({{{"initial-measurement", rim},
                       {"extensible-measurements", {zero, zero, zero, std::string(64, '1')}}}}),
            CcaRealmAppraisal::kContraindicatedRuntime);
  EXPECT_EQ(appraise({{{"initial-measurement", std::string(64, '1')}}}),
            CcaRealmAppraisal::kUnrecognizedBoot);
}

TEST(CcaReferenceValuesTest, VerifierRejectsContraindicatedAndUnrecognizedRealms) {
  json rv = json::parse(ReadTestdataString(kRvJson));
  json contra = rv;
  contra["realm"][0]["extensible-measurements"][2] = std::string(64, '1');
  json unknown = rv;
  unknown["realm"][0]["initial-measurement"] = std::string(64, '1');
  for (auto [doc, want] : {std::pair{contra, "realm appraisal: contraindicated runtime"},
                           std::pair{unknown, "realm appraisal: unrecognized boot"}}) {
    CcaVerifier v = MakeVerifier(kTaTfa);
    Collateral collateral;
    collateral.items["reference_values"] = ToBytes(doc.dump());
    VerifyOptions o = Opts();
    o.collateral = &collateral;
    auto r = VerifyBytes(v, ReadTestdataBytes(kToken01), o);
    EXPECT_EQ(ErrorOf(r).rfind(want, 0), 0u) << ErrorOf(r);
  }
  // An unknown implementation id is "unrecognized instance".
  json other = rv;
  other["platform"].erase(1);
  CcaVerifier v = MakeVerifier(kTaTfa);
  Collateral collateral;
  collateral.items["reference_values"] = ToBytes(other.dump());
  VerifyOptions o = Opts();
  o.collateral = &collateral;
  auto r = VerifyBytes(v, ReadTestdataBytes(kToken01), o);
  EXPECT_EQ(ErrorOf(r).rfind("platform appraisal: unrecognized instance", 0), 0u) << ErrorOf(r);
}

TEST(CcaReferenceValuesTest, ComponentTypeAndVersionAreComparedOnlyWhenGiven) {
  CcaToken t = Parse(kTfRmm);
  json rv = json::parse(ReadTestdataString(kRvJson));
  for (json& c : rv["platform"][1]["sw-components"]) {
    c.erase("component-type");
    c.erase("version");
  }
  CRYPTA_ASSIGN_OR_FAIL(CcaReferenceValues without, CcaReferenceValues::ParseJson(rv.dump()));
  EXPECT_EQ(without.AppraisePlatform(t.platform), CcaPlatformAppraisal::kAffirming);
  rv["platform"][1]["sw-components"][0]["version"] = "9.9.9";
  CRYPTA_ASSIGN_OR_FAIL(CcaReferenceValues wrong, CcaReferenceValues::ParseJson(rv.dump()));
  EXPECT_EQ(wrong.AppraisePlatform(t.platform), CcaPlatformAppraisal::kUnrecognizedHardware);
  rv["platform"][1]["sw-components"][0].erase("version");
  rv["platform"][1]["sw-components"][0]["signer-id"] = std::string(64, '0');
  CRYPTA_ASSIGN_OR_FAIL(CcaReferenceValues signer, CcaReferenceValues::ParseJson(rv.dump()));
  EXPECT_EQ(signer.AppraisePlatform(t.platform), CcaPlatformAppraisal::kUnrecognizedHardware);
}

TEST(CcaCollateral, ClassifiesEachFileKind) {
  const std::pair<const char*, const char*> cases[] = {{kCpakPem, "cpak"},
                                                       {kCpakJson, "cpak"},
                                                       {kTrusteeCpak, "cpak"},
                                                       {kTaTfa, "trust_anchors"},
                                                       {kTrusteeTa, "trust_anchors"},
                                                       {kRvJson, "reference_values"},
                                                       {kTrusteeRv, "reference_values"}};
  for (auto [path, item] : cases) {
    SCOPED_TRACE(path);
    auto got = ClassifyCcaCollateralFile(ReadTestdataBytes(path));
    ASSERT_TRUE(got.has_value()) << got.error().ToString();
    EXPECT_EQ(*got, item);
  }
  EXPECT_FALSE(ClassifyCcaCollateralFile(AsBytes("{\"foo\":1}")).has_value());
  EXPECT_FALSE(ClassifyCcaCollateralFile(ReadTestdataBytes(kTfRmm)).has_value());
  Collateral c;
  CRYPTA_ASSERT_OK(AddCcaCollateral(ReadTestdataBytes(kTaTfa), &c));
  CRYPTA_ASSERT_OK(AddCcaCollateral(ReadTestdataBytes(kRvJson), &c));
  auto dup = AddCcaCollateral(ReadTestdataBytes(kTrusteeTa), &c);
  ASSERT_FALSE(dup.has_value());
  EXPECT_NE(dup.error().message().find("trust_anchors"), std::string::npos);
}

TEST(CcaCollateral, VerifierReadsAnchorsAndReferenceValuesFromOptions) {
  CcaVerifier v;  // nothing configured
  Collateral c;
  CRYPTA_ASSERT_OK(AddCcaCollateral(ReadTestdataBytes(kCpakPem), &c));
  CRYPTA_ASSERT_OK(AddCcaCollateral(ReadTestdataBytes(kTrusteeRv), &c));
  VerifyOptions o = Opts();
  o.collateral = &c;
  auto r = VerifyBytes(v, ReadTestdataBytes(kTrustee), o);
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  EXPECT_EQ(r->claims().extra["appraisal"]["realm"], "approved runtime");
}

TEST(CcaCollateral, AnchorsCarriedByTheEvidenceAreNeverTrusted) {
  CcaVerifier v;
  Evidence e = TokenEvidence(ReadTestdataBytes(kTfRmm));
  e.collateral.items["cpak"] = ReadTestdataBytes(kCpakPem);
  e.collateral.items["trust_anchors"] = ReadTestdataBytes(kTaTfa);
  auto r = v.Verify(e, Opts());
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_NE(r.error().message().find("never trusted"), std::string::npos);
  // Reference values in the evidence are ignored too: a configured verifier still
  // verifies, without an appraisal.
  e.collateral.items["reference_values"] = ReadTestdataBytes(kRvJson);
  CcaVerifier configured = MakeVerifier(kTaTfa);
  auto ok = configured.Verify(e, Opts());
  ASSERT_TRUE(ok.has_value()) << ok.error().ToString();
  EXPECT_FALSE(ok->claims().extra.contains("appraisal"));
}

TEST(CcaVerifierInputs, RefusesOtherTeesMissingTimeAndOversizedTokens) {
  CcaVerifier v = MakeVerifier(kTaTfa);
  Evidence e = TokenEvidence(ReadTestdataBytes(kTfRmm));
  e.tee = TeeType::kSevSnp;
  EXPECT_FALSE(v.Verify(e, Opts()).has_value());
  e.tee = TeeType::kCca;
  EXPECT_FALSE(v.Verify(e, VerifyOptions{}).has_value());
  auto big = VerifyBytes(v, Bytes(kMaxCcaTokenBytes + 1, 0));
  ASSERT_FALSE(big.has_value());
  EXPECT_EQ(big.error().code(), ErrorCode::kResourceExhausted);
  EXPECT_FALSE(VerifyBytes(v, Bytes{}).has_value());
}

TEST(CcaVerifierInputs, EveryTruncationIsRejected) {
  CcaVerifier v = MakeVerifier(kTaTfa);
  const Bytes raw = ReadTestdataBytes(kFfm00);
  for (size_t n = 0; n < raw.size(); n += 7) {
    EXPECT_FALSE(VerifyBytes(v, Bytes(raw.begin(), raw.begin() + n)).has_value()) << n;
  }
  Bytes trailing = raw;
  trailing.push_back(0);
  EXPECT_FALSE(VerifyBytes(v, trailing).has_value());
}

}  // namespace
}  // namespace crypta::attest::cca

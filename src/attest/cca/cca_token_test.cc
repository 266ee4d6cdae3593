// CCA token parsing: the claim-set vectors of testdata/cca (rust-ccatoken CBOR, veraison
// ccatoken JSON) and RC's inline negatives, the CBOR reader's refusals, and tokens built
// with test keys (cca_test_builder.h) where each negative changes one field.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "attest/cca/cbor.h"
#include "attest/cca/cca_test_builder.h"
#include "attest/cca/token.h"
#include "attest/cca/trust_anchor.h"
#include "attest/cca/verifier.h"
#include "common/encoding.h"
#include "testing/test_util.h"

namespace crypta::attest::cca {
namespace {

using ::crypta::testing::ReadTestdataBytes;
using ::crypta::testing::ReadTestdataString;
using ::crypta::testing::TestdataPath;
using ::crypta::testing::Unhex;
using testing::BuildToken;
using testing::TokenSpec;
namespace cb = testing::cbor;

constexpr char kClaimsCbor[] = "cca/rust-ccatoken-claims-cbor/";

// --- rust-ccatoken claim-set vectors ----------------------------------------------------

TEST(CcaClaimsCbor, PlatformClaimsDecodeAndValidate) {
  CRYPTA_ASSIGN_OR_FAIL(
      CcaPlatformClaims p,
      ParseCcaPlatformClaims(ReadTestdataBytes(std::string(kClaimsCbor) + "platform-claims.cbor")));
  EXPECT_TRUE(p.legacy_profile());
  EXPECT_EQ(p.challenge, Bytes(64, 0xaa));
  EXPECT_EQ(p.implementation_id, Bytes(32, 0xaa));
  EXPECT_EQ(p.instance_id, Concat(Bytes{0x01, 0x0b}, Bytes(31, 0xbb)));
  EXPECT_EQ(p.config, Unhex("cfcfcfcf"));
  EXPECT_EQ(p.lifecycle, 12288);
  ASSERT_EQ(p.sw_components.size(), 2u);
  EXPECT_EQ(p.sw_components[1].signer_id, Bytes(64, 0xdd));
  EXPECT_EQ(p.verification_service, "https://cca_verifier.org");
  EXPECT_EQ(p.hash_algo, "sha-256");
}

TEST(CcaClaimsCbor, RealmClaimsVectors) {
  for (const char* ok : {"realm-claims.cbor", "realm-claims+spurious-numeric-key.cbor",
                         "realm-claims+spurious-text-key.cbor"}) {
    SCOPED_TRACE(ok);
    auto r = ParseCcaRealmClaims(ReadTestdataBytes(std::string(kClaimsCbor) + ok));
    ASSERT_TRUE(r.has_value()) << r.error().ToString();
    EXPECT_EQ(r->challenge, Bytes(64, 0xab));
    EXPECT_EQ(r->rak.size(), 97u);
    EXPECT_TRUE(r->legacy_profile());
  }
  auto missing = ParseCcaRealmClaims(
      ReadTestdataBytes(std::string(kClaimsCbor) + "realm-claims-missing-challenge.cbor"));
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().message(), "realm claim challenge (10) is missing (mandatory claim)");
}

TEST(CcaClaimsCbor, RustCcatokenInlineNegatives) {
  for (const char* hex : {"a0", "a10a48deadbeefdeadbeef", "ffffffff", "a10a0a"}) {
    SCOPED_TRACE(hex);
    EXPECT_FALSE(ParseCcaRealmClaims(Unhex(hex)).has_value());
  }
  auto dup = ParseCcaPlatformClaims(Unhex("a219096061781909606178"));
  ASSERT_FALSE(dup.has_value());
  EXPECT_NE(dup.error().message().find("duplicate map key"), std::string::npos);
}

// --- veraison ccatoken JSON vectors ------------------------------------------------------

std::vector<std::string> JsonVectors(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(TestdataPath(dir))) {
    out.push_back(dir + "/" + e.path().filename().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

TEST(CcaClaimsJson, OnlyTheValidPlatformVectorValidates) {
  auto files = JsonVectors("cca/ccatoken-claims-json/platform");
  ASSERT_EQ(files.size(), 16u);
  for (const std::string& f : files) {
    SCOPED_TRACE(f);
    auto r = ParseCcaPlatformClaimsJson(ReadTestdataString(f));
    if (f.ends_with("test-token-valid-full.json")) {
      ASSERT_TRUE(r.has_value()) << r.error().ToString();
      EXPECT_EQ(r->instance_id.size(), 33u);
      EXPECT_EQ(r->config, Unhex("010203"));
    } else {
      EXPECT_FALSE(r.has_value());
    }
  }
}

TEST(CcaClaimsJson, OnlyTheValidRealmVectorValidates) {
  auto files = JsonVectors("cca/ccatoken-claims-json/realm");
  ASSERT_EQ(files.size(), 13u);
  for (const std::string& f : files) {
    SCOPED_TRACE(f);
    auto r = ParseCcaRealmClaimsJson(ReadTestdataString(f));
    if (f.ends_with("test-cca-claims-all-valid.json")) {
      ASSERT_TRUE(r.has_value()) << r.error().ToString();
      EXPECT_EQ(r->rak.size(), 97u);
      EXPECT_EQ(r->rak_hash_algo, "sha-512");
    } else {
      EXPECT_FALSE(r.has_value());
    }
  }
}

TEST(CcaClaimsJson, NegativesFailForTheirStatedReason) {
  const std::pair<const char*, const char*> cases[] = {
      {"platform/test-config-missing.json", "config (2401) is missing"},
      {"platform/test-hash-algid-invalid.json", "hash-algo-id (2402)"},
      {"platform/test-hash-algid-missing.json", "hash-algo-id (2402) is missing"},
      {"platform/test-implementation-id-invalid-long.json", "implementation-id (2396) is 34"},
      {"platform/test-implementation-id-invalid-missing.json", "implementation-id (2396) is mis"},
      {"platform/test-instance-id-invalid.json", "instance-id (256) is 3 bytes"},
      {"platform/test-instance-id-missing.json", "instance-id (256) is missing"},
      {"platform/test-invalid-profile.json", "profile (265)"},
      {"platform/test-invalid-psa-claims.json", "implementation-id (2396) is missing"},
      {"platform/test-lifecycle-invalid.json", "lifecycle (2395) 32565"},
      {"platform/test-no-sw-components.json", "sw-components (2399) is missing"},
      {"platform/test-nonce-invalid.json", "challenge (10) is"},
      {"platform/test-sw-components-invalid-combo.json", "measurement-value"},
      {"platform/test-vsi-invalid-empty.json", "verification-service (2400) is empty"},
      {"realm/test-invalid-extended-meas.json", "extensible-measurements (44239)[0]"},
      {"realm/test-invalid-initial-meas.json", "initial-measurement (44238) is"},
      {"realm/test-invalid-nonce.json", "challenge (10) is"},
      {"realm/test-invalid-personalization-val.json", "personalization-value (44235) is"},
      {"realm/test-invalid-public-key.json", "public-key (44237) is 15 bytes"},
      {"realm/test-missing-extended-meas.json", "extensible-measurements (44239) is missing"},
      {"realm/test-missing-hash-alg-id.json", "realm claim hash-algo-id (44236) is missing"},
      {"realm/test-missing-initial-meas.json", "initial-measurement (44238) is missing"},
      {"realm/test-missing-nonce.json", "challenge (10) is missing"},
      {"realm/test-missing-personalization-val.json", "personalization-value (44235) is missing"},
      {"realm/test-missing-public-key.json", "public-key (44237) is missing"},
      {"realm/test-missing-public-key-alg-id.json", "public-key-hash-algo-id (44240) is missing"},
  };
  for (auto [file, want] : cases) {
    SCOPED_TRACE(file);
    const std::string text = ReadTestdataString(std::string("cca/ccatoken-claims-json/") + file);
    auto r = std::string(file).starts_with("platform")
                 ? ParseCcaPlatformClaimsJson(text).map([](auto&&) { return 0; })
                 : ParseCcaRealmClaimsJson(text).map([](auto&&) { return 0; });
    ASSERT_FALSE(r.has_value());
    EXPECT_NE(r.error().message().find(want), std::string::npos) << r.error().message();
  }
}

// --- the CBOR reader --------------------------------------------------------------------

TEST(CcaCbor, RefusesDeclaredSizesTheInputCannotHold) {
  // Arrays, maps and strings claiming 2^64-1 or 2^32 entries/bytes in a few bytes.
  for (const char* hex : {"9bffffffffffffffff", "bbffffffffffffffff", "5bffffffffffffffff",
                          "9a80000000", "d9018fba80000000", "7a00010000"}) {
    SCOPED_TRACE(hex);
    auto r = DecodeCbor(Unhex(hex), "test");
    ASSERT_FALSE(r.has_value());
    EXPECT_NE(r.error().message().find("remain"), std::string::npos) << r.error().message();
  }
}

TEST(CcaCbor, RefusesIndefiniteLengthsReservedValuesAndTrailingBytes) {
  for (const char* hex :
       {"5f4100ff", "9f01ff", "bf0101ff", "1c", "f8", "f818", "ff", "0000", "62c328"}) {
    SCOPED_TRACE(hex);
    EXPECT_FALSE(DecodeCbor(Unhex(hex), "test").has_value());
  }
}

TEST(CcaCbor, RefusesDuplicateKeysByValueAndDeepNesting) {
  // 10 and its non-shortest encoding 0x180a are one key.
  EXPECT_FALSE(DecodeCbor(Unhex("a20a01180a02"), "test").has_value());
  EXPECT_FALSE(DecodeCbor(Unhex("a2616101616102"), "test").has_value());
  EXPECT_TRUE(DecodeCbor(Unhex("a20a01200a"), "test").has_value());  // 10 and -1 differ
  Bytes deep(20, 0x81);
  deep.push_back(0x00);
  auto r = DecodeCbor(deep, "test");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), ErrorCode::kResourceExhausted);
}

TEST(CcaCbor, DecodesEveryMajorType) {
  // 24({0: " ", 1: h'00', -501: true, -1: -0.0 (half), "aj": [1, 2], 3: {3: 4}})
  const Bytes input = Unhex("d818a60061200141003901f4f520f9800062616a82010203a10304");
  CRYPTA_ASSIGN_OR_FAIL(CborValue v, DecodeCbor(input, "t"));  // spans into `input`
  ASSERT_EQ(v.type, CborType::kTag);
  EXPECT_EQ(v.number, 24u);
  const CborValue& m = v.items[0];
  ASSERT_EQ(m.type, CborType::kMap);
  ASSERT_EQ(m.map_size(), 6u);
  EXPECT_EQ(m.FindIntKey(0)->text(), " ");
  EXPECT_EQ(m.items[3].type, CborType::kBytes);
  EXPECT_EQ(m.items[4].AsInt(), -501);
  EXPECT_EQ(m.FindIntKey(-501)->type, CborType::kSimple);
  EXPECT_EQ(m.FindIntKey(-501)->number, 21u);
  EXPECT_EQ(m.FindIntKey(-1)->type, CborType::kFloat);
  EXPECT_EQ(m.items[8].text(), "aj");
  EXPECT_EQ(m.items[9].items.size(), 2u);
  EXPECT_EQ(m.FindIntKey(3)->FindIntKey(3)->AsInt(), 4);
  EXPECT_EQ(m.encoded.size(), 25u);
}

// --- synthetic tokens -------------------------------------------------------------------

CcaVerifier VerifierFor(const TokenSpec& spec) {
  CcaTrustAnchors anchors = *CcaTrustAnchors::FromCpakPem(*spec.cpak.GetPublicKey().ToPem());
  return CcaVerifier(CcaVerifierOptions{.trust_anchors = anchors, .reference_values = {}});
}

Result<VerifiedEvidence> VerifySpec(const TokenSpec& spec, const Bytes& token) {
  VerifyOptions o;
  o.verification_time = 1;
  o.expected_report_data = spec.realm_challenge;
  return VerifierFor(spec).Verify(Evidence{.tee = TeeType::kCca, .raw = token, .collateral = {}},
                                  o);
}

TEST(CcaBuiltTokens, LegacyAndCurrentProfilesVerify) {
  for (bool new_profile : {false, true}) {
    SCOPED_TRACE(new_profile);
    TokenSpec spec;
    spec.new_profile = new_profile;
    auto r = VerifySpec(spec, BuildToken(spec));
    ASSERT_TRUE(r.has_value()) << r.error().ToString();
    EXPECT_EQ(r->claims().measurement, spec.rim);
    EXPECT_EQ(r->claims().platform_id, spec.instance_id);
  }
}

TEST(CcaBuiltTokens, LifecycleDecidesDebugOrRejection) {
  const std::pair<uint64_t, int> cases[] = {
      {0x3000, 0}, {0x30ff, 0}, {0x4001, 1}, {0x5000, 1},  // 0 secured, 1 debug
      {0x0000, 2}, {0x1000, 2}, {0x2000, 2}, {0x6000, 2},  // 2 rejected
  };
  for (auto [lifecycle, want] : cases) {
    SCOPED_TRACE(lifecycle);
    TokenSpec spec;
    spec.lifecycle = lifecycle;
    auto r = VerifySpec(spec, BuildToken(spec));
    if (want == 2) {
      ASSERT_FALSE(r.has_value());
      EXPECT_EQ(r.error().message().rfind("platform lifecycle (2395)", 0), 0u);
    } else {
      ASSERT_TRUE(r.has_value()) << r.error().ToString();
      EXPECT_EQ(r->claims().debug, want == 1);
    }
  }
  TokenSpec bad;
  bad.lifecycle = 0x7000;  // not a PSA state at all: a parse error
  EXPECT_FALSE(ParseCcaToken(BuildToken(bad)).has_value());
}

TEST(CcaBuiltTokens, ProtectedHeaderMustBeExactlyEs384) {
  const char* headers[] = {"a10126" /* ES256 */, "a20138220300" /* extra member */, "a0", "",
                           "a1013823" /* ES512 */};
  for (const char* hex : headers) {
    SCOPED_TRACE(hex);
    TokenSpec spec;
    spec.protected_header = Unhex(hex);
    auto r = ParseCcaToken(BuildToken(spec));
    ASSERT_FALSE(r.has_value());
    EXPECT_NE(r.error().message().find("protected header"), std::string::npos);
  }
}

TEST(CcaBuiltTokens, EnvelopeShapeIsChecked) {
  TokenSpec spec;
  const Bytes platform =
      testing::SignCose(spec.cpak, spec.protected_header, testing::PlatformClaims(spec));
  const Bytes realm =
      testing::SignCose(spec.rak, spec.protected_header, testing::RealmClaims(spec));
  CRYPTA_ASSERT_OK(ParseCcaToken(testing::Collection(platform, realm)));
  // Untagged COSE_Sign1; tag 17 (COSE_Mac0) instead of 18.
  const Bytes untagged(platform.begin() + 1, platform.end());
  EXPECT_FALSE(ParseCcaToken(testing::Collection(untagged, realm)).has_value());
  Bytes mac0 = platform;
  mac0[0] = 0xd1;
  EXPECT_FALSE(ParseCcaToken(testing::Collection(mac0, realm)).has_value());
  // The collection: not tag 399, a third key, a missing token, the tokens swapped.
  Bytes wrong_tag = testing::Collection(platform, realm);
  wrong_tag[2] = 0x90;
  EXPECT_FALSE(ParseCcaToken(wrong_tag).has_value());
  const Bytes three = cb::Tag(399, cb::Map({{cb::Int(44234), cb::Bstr(platform)},
                                            {cb::Int(44241), cb::Bstr(realm)},
                                            {cb::Int(1), cb::Int(0)}}));
  EXPECT_FALSE(ParseCcaToken(three).has_value());
  const Bytes one = cb::Tag(399, cb::Map({{cb::Int(44234), cb::Bstr(platform)}}));
  EXPECT_FALSE(ParseCcaToken(one).has_value());
  EXPECT_FALSE(ParseCcaToken(testing::Collection(realm, platform)).has_value());
  // An algorithm in the unprotected header.
  CoseSign1 cose{.protected_header = spec.protected_header,
                 .payload = testing::PlatformClaims(spec),
                 .signature = {}};
  const Bytes sig =
      *EcdsaSign(spec.cpak, HashAlg::kSha384, cose.ToBeSigned(), {.format = EcdsaFormat::kRaw});
  const Bytes with_alg =
      cb::Tag(18, cb::Array({cb::Bstr(spec.protected_header), cb::Map({{cb::Int(1), cb::Int(-35)}}),
                             cb::Bstr(cose.payload), cb::Bstr(sig)}));
  EXPECT_FALSE(ParseCcaToken(testing::Collection(with_alg, realm)).has_value());
}

TEST(CcaBuiltTokens, DuplicateRealmClaimIsRefused) {
  TokenSpec spec;
  spec.extra_realm_claims.push_back({cb::Int(10), cb::Bstr(Bytes(64, 0x99))});
  auto r = ParseCcaToken(BuildToken(spec));
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message().find("duplicate map key"), std::string::npos);
}

TEST(CcaBuiltTokens, BindingToAnotherKeyFails) {
  TokenSpec spec;
  spec.platform_challenge = Bytes(32, 0x12);
  auto r = VerifySpec(spec, BuildToken(spec));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().message().rfind("binding:", 0), 0u) << r.error().message();
}

TEST(CcaBuiltTokens, RakMustBeAPointOnTheCurve) {
  // A legacy RAK claim that is 97 bytes but not a point: the claim set parses, the key
  // does not.
  TokenSpec spec;
  CcaRealmClaims realm;
  realm.rak = Bytes(97, 0x04);
  EXPECT_FALSE(RealmAttestationKey(realm).has_value());
  realm.rak = *spec.rak.GetPublicKey().EcPoint();
  EXPECT_TRUE(RealmAttestationKey(realm).has_value());
  // A COSE_Key on another curve (crv 1, P-256) under the current profile.
  realm.profile = std::string(kCcaRealmProfile);
  realm.rak = cb::Map({{cb::Int(1), cb::Int(2)},
                       {cb::Int(-1), cb::Int(1)},
                       {cb::Int(-2), cb::Bstr(Bytes(48, 1))},
                       {cb::Int(-3), cb::Bstr(Bytes(48, 2))}});
  EXPECT_FALSE(RealmAttestationKey(realm).has_value());
}

}  // namespace
}  // namespace crypta::attest::cca

// DCAP collateral checks that sit around the TCB evaluation: freshness windows at their
// exact bounds (real PCS vectors, times from the tdx/sgx MANIFESTs), signed bodies given
// without their signatures or the reverse, unknown item names, partial collateral, and
// the claims' revocation. Each negative test changes one thing from collateral
// that loads.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "attest/dcap/collateral.h"
#include "attest/dcap/dcap_test_builder.h"
#include "attest/dcap/pck.h"
#include "attest/sgx/sgx_verifier.h"
#include "attest/tdx/tdx_verifier.h"
#include "common/encoding.h"
#include "common/time_util.h"
#include "testing/test_util.h"

namespace crypta::attest::dcap {
namespace {

using ::crypta::testing::ReadTestdataBytes;
using ::crypta::testing::ReadTestdataJson;
using ::testing::HasSubstr;

int64_t T(const char* rfc3339) { return *ParseRfc3339(rfc3339); }

const char kSprDir[] = "dcap/tdx/go-tdx-guest-spr-v4/";
const char kDebugQuote[] = "dcap/tdx/trustee-v4-debug/tdx_quote_4.dat";
const char kSgxDir[] = "dcap/sgx/dcap-qvl-00a067110000/";
// go-tdx-guest-spr-v4 (tdx MANIFEST): TCB info and QE identity windows.
const char kTcbIssueDate[] = "2023-06-18T08:42:58Z";
const char kTcbNextUpdate[] = "2023-07-18T08:42:58Z";
const char kQeIssueDate[] = "2023-06-08T07:24:59Z";
const char kQeNextUpdate[] = "2023-07-08T07:24:59Z";
const char kSprTime[] = "2023-07-01T01:00:00Z";
const char kSgxTime[] = "2025-07-01T00:00:00Z";

Result<DcapCollateral> Load(const Collateral& c, int64_t time) {
  static const DcapTrustRoots roots = *DcapTrustRoots::PinnedIntel();
  return LoadDcapCollateral([&c](const std::string& name) { return c.Find(name); }, roots, time);
}

Collateral Items(std::initializer_list<std::pair<const char*, const char*>> name_and_file) {
  Collateral c;
  for (auto [name, file] : name_and_file) c.items[name] = ReadTestdataBytes(file);
  return c;
}

Collateral SprTcbInfo() {
  return Items({{"tcb_info", "dcap/tdx/go-tdx-guest-spr-v4/tcb_info.json"}});
}
Collateral SprQeIdentity() {
  return Items({{"qe_identity", "dcap/tdx/go-tdx-guest-spr-v4/qe_identity.json"}});
}

// The dcap-qvl collateral JSON with `edit` applied to its fields.
template <typename Edit>
Collateral QvlCollateral(Edit edit) {
  nlohmann::json j = ReadTestdataJson(std::string(kSgxDir) + "collateral.json");
  edit(j);
  Collateral c;
  c.items["collateral_json"] = ToBytes(j.dump());
  return c;
}

void ExpectInvalidArgument(const Result<DcapCollateral>& r, const std::string& message) {
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument) << r.error().ToString();
  EXPECT_THAT(r.error().message(), HasSubstr(message));
}

void ExpectWindowError(const Result<DcapCollateral>& r, const std::string& message) {
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), ErrorCode::kFailedPrecondition) << r.error().ToString();
  EXPECT_THAT(r.error().message(), HasSubstr(message));
}

Result<VerifiedEvidence> VerifyTdx(const char* quote, Collateral c, const char* time) {
  auto verifier = *tdx::TdxVerifier::CreatePinned();
  VerifyOptions options;
  options.verification_time = T(time);
  return verifier->Verify({TeeType::kTdx, ReadTestdataBytes(quote), std::move(c)}, options);
}

// ------------------------------------------------ freshness: issueDate <= t <= nextUpdate

TEST(DcapCollateralWindow, TcbInfoIsNotYetValidOneSecondBeforeIssueDate) {
  ExpectWindowError(Load(SprTcbInfo(), T(kTcbIssueDate) - 1),
                    "TCB info not yet valid: issueDate 2023-06-18T08:42:58Z is after the "
                    "verification time 2023-06-18T08:42:57Z");
}

TEST(DcapCollateralWindow, TcbInfoIsValidAtExactlyIssueDate) {
  CRYPTA_ASSIGN_OR_FAIL(DcapCollateral c, Load(SprTcbInfo(), T(kTcbIssueDate)));
  ASSERT_TRUE(c.tcb_info.has_value());
  EXPECT_EQ(c.tcb_info->issue_date, T(kTcbIssueDate));
}

TEST(DcapCollateralWindow, TcbInfoIsStillValidAtExactlyNextUpdate) {
  CRYPTA_ASSIGN_OR_FAIL(DcapCollateral c, Load(SprTcbInfo(), T(kTcbNextUpdate)));
  ASSERT_TRUE(c.tcb_info.has_value());
  EXPECT_EQ(c.tcb_info->next_update, T(kTcbNextUpdate));
}

TEST(DcapCollateralWindow, TcbInfoIsExpiredOneSecondAfterNextUpdate) {
  ExpectWindowError(Load(SprTcbInfo(), T(kTcbNextUpdate) + 1),
                    "TCB info expired: nextUpdate 2023-07-18T08:42:58Z is before the "
                    "verification time 2023-07-18T08:42:59Z");
}

TEST(DcapCollateralWindow, QeIdentityIsNotYetValidOneSecondBeforeIssueDate) {
  ExpectWindowError(Load(SprQeIdentity(), T(kQeIssueDate) - 1),
                    "QE identity not yet valid: issueDate 2023-06-08T07:24:59Z");
}

TEST(DcapCollateralWindow, QeIdentityIsValidAtExactlyIssueDate) {
  CRYPTA_ASSIGN_OR_FAIL(DcapCollateral c, Load(SprQeIdentity(), T(kQeIssueDate)));
  ASSERT_TRUE(c.qe_identity.has_value());
  EXPECT_EQ(c.qe_identity->issue_date, T(kQeIssueDate));
}

TEST(DcapCollateralWindow, QeIdentityIsStillValidAtExactlyNextUpdate) {
  CRYPTA_ASSIGN_OR_FAIL(DcapCollateral c, Load(SprQeIdentity(), T(kQeNextUpdate)));
  ASSERT_TRUE(c.qe_identity.has_value());
  EXPECT_EQ(c.qe_identity->next_update, T(kQeNextUpdate));
}

TEST(DcapCollateralWindow, QeIdentityIsExpiredOneSecondAfterNextUpdate) {
  ExpectWindowError(Load(SprQeIdentity(), T(kQeNextUpdate) + 1),
                    "QE identity expired: nextUpdate 2023-07-08T07:24:59Z");
}

// The whole SGX verification (PCK chain with both CRLs, TCB info, QE identity) at the
// QE identity's last second, which is the first bound of the collateral to pass
// (sgx MANIFEST: 2025-07-19T10:01:18Z; dcap-qvl's own tests stop one second earlier).
TEST(DcapCollateralWindow, SgxQuoteVerifiesAtExactlyTheQeIdentityNextUpdate) {
  auto verifier = *sgx::SgxVerifier::CreatePinned();
  Evidence ev{TeeType::kSgx, ReadTestdataBytes(std::string(kSgxDir) + "sgx_quote.dat"),
              QvlCollateral([](nlohmann::json&) {})};
  VerifyOptions options;
  options.verification_time = T("2025-07-19T10:01:18Z");
  CRYPTA_ASSIGN_OR_FAIL(VerifiedEvidence v, verifier->Verify(ev, options));
  EXPECT_EQ(v.claims().tcb_status, TcbStatus::kConfigurationAndSwHardeningNeeded);
  options.verification_time += 1;
  auto r = verifier->Verify(ev, options);
  ASSERT_FALSE(r.has_value());
  EXPECT_THAT(r.error().message(), HasSubstr("QE identity expired"));
}

// ------------------------------------------------ signed bodies and their signatures

// The known bug: the body removed, its signature left, verified as tcb_status Unknown.
TEST(DcapCollateralBody, CollateralJsonSignatureWithoutItsBodyIsRejectedNamingTheBody) {
  for (std::string field : {"tcb_info", "qe_identity"}) {
    SCOPED_TRACE(field);
    Collateral c = QvlCollateral([&](nlohmann::json& j) { j.erase(field); });
    ExpectInvalidArgument(
        Load(c, T(kSgxTime)),
        "collateral_json: " + field + "_signature is present but " + field + " is missing");
  }
}

TEST(DcapCollateralBody, CollateralJsonSignatureWithoutItsBodyFailsTheSgxVerifier) {
  auto verifier = *sgx::SgxVerifier::CreatePinned();
  Evidence ev{TeeType::kSgx, ReadTestdataBytes(std::string(kSgxDir) + "sgx_quote.dat"),
              QvlCollateral([](nlohmann::json& j) { j.erase("tcb_info"); })};
  VerifyOptions options;
  options.verification_time = T(kSgxTime);
  auto r = verifier->Verify(ev, options);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_THAT(r.error().message(),
              HasSubstr("tcb_info_signature is present but tcb_info is missing"));
}

TEST(DcapCollateralBody, CollateralJsonBodyWithoutItsSignatureIsRejectedNamingTheSignature) {
  for (std::string field : {"tcb_info", "qe_identity"}) {
    SCOPED_TRACE(field);
    Collateral c = QvlCollateral([&](nlohmann::json& j) { j.erase(field + "_signature"); });
    ExpectInvalidArgument(Load(c, T(kSgxTime)), "collateral_json: " + field + " is present but " +
                                                    field + "_signature is missing");
  }
}

TEST(DcapCollateralBody, CollateralJsonWithoutBodyAndSignatureIsRejectedNamingTheBody) {
  for (std::string field : {"tcb_info", "qe_identity"}) {
    SCOPED_TRACE(field);
    Collateral c = QvlCollateral([&](nlohmann::json& j) {
      j.erase(field);
      j.erase(field + "_signature");
    });
    ExpectInvalidArgument(Load(c, T(kSgxTime)), "collateral_json: " + field + " is missing");
  }
}

TEST(DcapCollateralBody, CollateralJsonBodyThatIsNotJsonIsRejectedNamingIt) {
  for (std::string field : {"tcb_info", "qe_identity"}) {
    SCOPED_TRACE(field);
    Collateral c = QvlCollateral([&](nlohmann::json& j) {
      j[field] = j[field].get<std::string>().substr(0, 40);  // cut mid-object
    });
    ExpectInvalidArgument(Load(c, T(kSgxTime)), "collateral_json: " + field + " is not valid JSON");
  }
}

TEST(DcapCollateralBody, CollateralJsonBodyThatIsNotAnObjectIsRejectedNamingIt) {
  Collateral c = QvlCollateral([](nlohmann::json& j) { j["tcb_info"] = "[1,2]"; });
  ExpectInvalidArgument(Load(c, T(kSgxTime)), "collateral_json: tcb_info is not a JSON object");
}

TEST(DcapCollateralBody, CollateralJsonEmptyBodyIsRejectedNamingIt) {
  for (std::string field : {"tcb_info", "qe_identity"}) {
    SCOPED_TRACE(field);
    Collateral c = QvlCollateral([&](nlohmann::json& j) { j[field] = ""; });
    ExpectInvalidArgument(Load(c, T(kSgxTime)), "collateral_json: " + field + " is empty");
  }
}

TEST(DcapCollateralBody, CollateralJsonEmptySignatureIsRejectedNamingIt) {
  Collateral c = QvlCollateral([](nlohmann::json& j) { j["qe_identity_signature"] = ""; });
  ExpectInvalidArgument(Load(c, T(kSgxTime)), "collateral_json: qe_identity_signature is empty");
}

TEST(DcapCollateralBody, EmptyCollateralJsonItemIsRejected) {
  Collateral c;
  c.items["collateral_json"] = {};
  ExpectInvalidArgument(Load(c, T(kSgxTime)), "collateral_json: empty");
}

TEST(DcapCollateralBody, PcsSignatureWithoutItsBodyIsRejectedNamingTheItem) {
  for (auto [item, member, file] :
       {std::tuple{"tcb_info", "tcbInfo", "tcb_info.json"},
        std::tuple{"qe_identity", "enclaveIdentity", "qe_identity.json"}}) {
    SCOPED_TRACE(item);
    nlohmann::json j = ReadTestdataJson(std::string(kSprDir) + file);
    j.erase(member);
    Collateral c;
    c.items[item] = ToBytes(j.dump());
    ExpectInvalidArgument(Load(c, T(kSprTime)), std::string(item) + ": collateral " + member +
                                                    ": \"signature\" is present but \"" + member +
                                                    "\" is missing");
  }
}

TEST(DcapCollateralBody, PcsBodyWithoutItsSignatureIsRejectedNamingTheItem) {
  nlohmann::json j = ReadTestdataJson(std::string(kSprDir) + "tcb_info.json");
  j.erase("signature");
  Collateral c;
  c.items["tcb_info"] = ToBytes(j.dump());
  ExpectInvalidArgument(Load(c, T(kSprTime)),
                        "tcb_info: collateral tcbInfo: \"tcbInfo\" is present but \"signature\" "
                        "is missing");
}

TEST(DcapCollateralBody, PcsItemThatIsNotJsonIsRejectedNamingTheItem) {
  Collateral c = SprQeIdentity();
  c.items["qe_identity"].resize(50);
  ExpectInvalidArgument(Load(c, T(kSprTime)), "qe_identity: collateral enclaveIdentity");
}

TEST(DcapCollateralBody, EmptyPcsItemIsRejectedNamingTheItem) {
  for (const char* item : {"tcb_info", "qe_identity"}) {
    SCOPED_TRACE(item);
    Collateral c;
    c.items[item] = {};
    ExpectInvalidArgument(Load(c, T(kSprTime)), std::string(item) + ": empty");
  }
}

// ------------------------------------------------ item names

TEST(DcapCollateralNames, MisspeltOrUnknownItemIsRejectedNamingItAndTheAcceptedNames) {
  for (const char* name : {"pck_crI", "root_crl", "vcek"}) {
    SCOPED_TRACE(name);
    Collateral c = Items({{"tcb_info", "dcap/tdx/go-tdx-guest-spr-v4/tcb_info.json"},
                          {"qe_identity", "dcap/tdx/go-tdx-guest-spr-v4/qe_identity.json"},
                          {name, "dcap/tdx/go-tdx-guest-spr-v4/pck_platform_crl.der"}});
    auto r = VerifyTdx(kDebugQuote, c, kSprTime);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_THAT(r.error().message(),
                HasSubstr("DCAP collateral: unknown item \"" + std::string(name) +
                          "\" (accepted items: collateral_json, pck_crl, qe_identity, "
                          "root_ca_crl, tcb_info, tcb_signing_chain)"));
  }
}

TEST(DcapCollateralNames, UnknownItemInVerifyOptionsCollateralIsRejected) {
  auto verifier = *tdx::TdxVerifier::CreatePinned();
  Collateral c;
  c.items["pck_crI"] = ReadTestdataBytes(std::string(kSprDir) + "pck_platform_crl.der");
  VerifyOptions options;
  options.verification_time = T(kSprTime);
  options.collateral = &c;
  auto r = verifier->Verify({TeeType::kTdx, ReadTestdataBytes(kDebugQuote), {}}, options);
  ASSERT_FALSE(r.has_value());
  EXPECT_THAT(r.error().message(), HasSubstr("unknown item \"pck_crI\""));
}

TEST(DcapCollateralNames, UnprintableItemNameIsEscapedInTheMessage) {
  Collateral c;
  c.items[std::string("x\n\"y", 4)] = {};
  Status s = CheckDcapCollateralItemNames(c);
  ASSERT_FALSE(s.has_value());
  EXPECT_THAT(s.error().message(), HasSubstr("unknown item \"x\\x0a\\x22y\""));
}

// ------------------------------------------------ partial collateral

TEST(DcapCollateralPartial, QeIdentityWithoutTcbInfoIsRejectedNamingTcbInfo) {
  auto r = VerifyTdx(kDebugQuote, SprQeIdentity(), kSprTime);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_THAT(r.error().message(), HasSubstr("qe_identity is given but tcb_info is missing"));
}

TEST(DcapCollateralPartial, QuoteWithoutAnyCollateralVerifiesWithUnknownTcbStatus) {
  CRYPTA_ASSIGN_OR_FAIL(VerifiedEvidence v, VerifyTdx(kDebugQuote, {}, kSprTime));
  EXPECT_EQ(v.claims().tcb_status, TcbStatus::kUnknown);
  EXPECT_FALSE(v.claims().tcb.contains("qe_status"));
  EXPECT_EQ(v.claims().revocation, Revocation::kAbsent);
}

// ------------------------------------------------ revocation

TEST(DcapCollateralRevocation, RevocationIsCheckedOnlyWithBothCrls) {
  const std::string crl = std::string(kSprDir) + "pck_platform_crl.der";
  const std::string root_crl = std::string(kSprDir) + "root_ca_crl.der";
  Collateral both = Items({{"tcb_info", "dcap/tdx/go-tdx-guest-spr-v4/tcb_info.json"},
                           {"qe_identity", "dcap/tdx/go-tdx-guest-spr-v4/qe_identity.json"}});
  both.items["pck_crl"] = ReadTestdataBytes(crl);
  both.items["root_ca_crl"] = ReadTestdataBytes(root_crl);
  CRYPTA_ASSIGN_OR_FAIL(VerifiedEvidence v, VerifyTdx(kDebugQuote, both, kSprTime));
  EXPECT_EQ(v.claims().revocation, Revocation::kChecked);
  for (const char* dropped : {"pck_crl", "root_ca_crl"}) {
    SCOPED_TRACE(dropped);
    Collateral one = both;
    one.items.erase(dropped);
    CRYPTA_ASSIGN_OR_FAIL(VerifiedEvidence w, VerifyTdx(kDebugQuote, one, kSprTime));
    EXPECT_EQ(w.claims().revocation, Revocation::kAbsent);
  }
}

TEST(DcapCollateralRevocation, BothCrlsFromTheCollateralJsonCountAsChecked) {
  auto verifier = *sgx::SgxVerifier::CreatePinned();
  Evidence ev{TeeType::kSgx, ReadTestdataBytes(std::string(kSgxDir) + "sgx_quote.dat"),
              QvlCollateral([](nlohmann::json&) {})};
  VerifyOptions options;
  options.verification_time = T(kSgxTime);
  CRYPTA_ASSIGN_OR_FAIL(VerifiedEvidence v, verifier->Verify(ev, options));
  EXPECT_EQ(v.claims().revocation, Revocation::kChecked);
}

// With both CRLs given, one that does not cover the chain (here the Root CA CRL twice, so
// the PCK certificate has no CRL) is an error, never revocation "checked".
TEST(DcapCollateralRevocation, BothCrlsThatDoNotCoverThePckFailInsteadOfCountingAsChecked) {
  Collateral c = Items({{"pck_crl", "dcap/tdx/go-tdx-guest-spr-v4/root_ca_crl.der"},
                        {"root_ca_crl", "dcap/tdx/go-tdx-guest-spr-v4/root_ca_crl.der"}});
  auto r = VerifyTdx(kDebugQuote, c, kSprTime);
  ASSERT_FALSE(r.has_value());
  EXPECT_THAT(r.error().message(), HasSubstr("no CRL"));
}

TEST(DcapCollateralRevocation, GeneratedPkiWithBothCrlsReportsRevocationChecked) {
  Bytes raw = ReadTestdataBytes(std::string(kSprDir) + "quote.dat");
  CRYPTA_ASSIGN_OR_FAIL(ParsedQuote q, ParseQuote(raw));
  auto bundle = Certificate::ParsePemBundle(AsStringView(q.cert_data));
  ASSERT_TRUE(bundle.has_value());
  CRYPTA_ASSIGN_OR_FAIL(CertificateExtension ext, (*bundle)[0].FindExtension(kSgxExtensionsOid));
  const int64_t now = T("2025-06-01T00:00:00Z");
  auto pki = testing::TestPki::Make(now, ext.value);
  tdx::TdxVerifier verifier(pki.Roots());
  VerifyOptions options;
  options.verification_time = now;
  Collateral c;
  c.items["root_ca_crl"] = testing::MakeCrlDer(*pki.root, pki.root_key, now - 60, now, {});
  c.items["pck_crl"] = testing::MakeCrlDer(*pki.ca, pki.ca_key, now - 60, now, {});
  // Both CRLs at exactly their nextUpdate are still current.
  CRYPTA_ASSIGN_OR_FAIL(VerifiedEvidence v,
                        verifier.Verify({TeeType::kTdx, testing::BuildQuote(q, pki), c}, options));
  EXPECT_EQ(v.claims().revocation, Revocation::kChecked);
  options.verification_time = now + 1;
  auto r = verifier.Verify({TeeType::kTdx, testing::BuildQuote(q, pki), c}, options);
  ASSERT_FALSE(r.has_value());
  EXPECT_THAT(r.error().message(), HasSubstr("CRL expired"));
}

}  // namespace
}  // namespace crypta::attest::dcap

// DCAP collateral (TCB info, QE identity, CRLs, dcap-qvl collateral JSON) and TCB
// evaluation against the MANIFEST verdicts; revocation with a PKI generated at test time.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "attest/dcap/collateral.h"
#include "attest/dcap/dcap_test_builder.h"
#include "attest/dcap/pck.h"
#include "attest/dcap/tcb.h"
#include "attest/sgx/sgx_verifier.h"
#include "attest/tdx/tdx_verifier.h"
#include "common/encoding.h"
#include "common/time_util.h"
#include "testing/test_util.h"

namespace crypta::attest::dcap {
namespace {

using ::crypta::testing::ReadTestdataBytes;
using ::crypta::testing::ReadTestdataJson;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

int64_t T(const char* rfc3339) { return *ParseRfc3339(rfc3339); }

Collateral SprCollateral() {
  Collateral c;
  const std::string dir = "dcap/tdx/go-tdx-guest-spr-v4/";
  c.items["tcb_info"] = ReadTestdataBytes(dir + "tcb_info.json");
  c.items["qe_identity"] = ReadTestdataBytes(dir + "qe_identity.json");
  c.items["pck_crl"] = ReadTestdataBytes(dir + "pck_platform_crl.der");
  c.items["root_ca_crl"] = ReadTestdataBytes(dir + "root_ca_crl.der");
  return c;
}

Result<VerifiedEvidence> VerifyTdx(const char* quote, Collateral c, const char* time) {
  auto verifier = *tdx::TdxVerifier::CreatePinned();
  VerifyOptions options;
  options.verification_time = T(time);
  return verifier->Verify({TeeType::kTdx, ReadTestdataBytes(quote), std::move(c)}, options);
}

TEST(DcapCollateral, SprQuoteHasNoMatchingTcbLevel) {
  auto r =
      VerifyTdx("dcap/tdx/go-tdx-guest-spr-v4/quote.dat", SprCollateral(), "2023-07-01T01:00:00Z");
  ASSERT_FALSE(r.has_value());
  EXPECT_THAT(r.error().message(), HasSubstr("no matching TCB level"));
}

TEST(DcapCollateral, DebugTdIsUpToDateAndReportedDebug) {
  CRYPTA_ASSIGN_OR_FAIL(VerifiedEvidence v, VerifyTdx("dcap/tdx/trustee-v4-debug/tdx_quote_4.dat",
                                                      SprCollateral(), "2023-07-01T01:00:00Z"));
  EXPECT_EQ(v.claims().tcb_status, TcbStatus::kUpToDate);
  EXPECT_TRUE(v.claims().debug);
  EXPECT_EQ(v.claims().tcb["qe_status"], "UpToDate");
  EXPECT_EQ(v.claims().tcb["tcb_date"], "2023-02-15T00:00:00Z");
}

TEST(DcapCollateral, ExpiredTcbInfoSaysExpired) {
  auto r = VerifyTdx("dcap/tdx/trustee-v4-debug/tdx_quote_4.dat", SprCollateral(),
                     "2023-07-20T00:00:00Z");
  ASSERT_FALSE(r.has_value());
  EXPECT_THAT(r.error().message(), HasSubstr("TCB info expired"));
}

TEST(DcapCollateral, TamperedTcbInfoRejected) {
  Collateral c = SprCollateral();
  std::string text = ToString(c.items["tcb_info"]);
  text.replace(text.find("\"tcbType\":0"), 11, "\"tcbType\":1");
  c.items["tcb_info"] = ToBytes(text);
  auto r = VerifyTdx("dcap/tdx/trustee-v4-debug/tdx_quote_4.dat", c, "2023-07-01T01:00:00Z");
  ASSERT_FALSE(r.has_value());
  EXPECT_THAT(r.error().message(), HasSubstr("signature does not verify"));
}

TEST(DcapCollateral, V5ModuleIdentityUpToDate) {
  Collateral c;
  c.items["tcb_info"] = ReadTestdataBytes("dcap/tdx/go-tdx-guest-v5/tcb_info_v5.json");
  CRYPTA_ASSIGN_OR_FAIL(VerifiedEvidence v, VerifyTdx("dcap/tdx/go-tdx-guest-v5/quote_v5.dat", c,
                                                      "2026-02-03T01:00:00Z"));
  EXPECT_EQ(v.claims().tcb_status, TcbStatus::kUpToDate);
  EXPECT_EQ(v.claims().tcb["module_status"], "UpToDate");
  EXPECT_EQ(v.claims().tcb["tcb_date"], "2024-11-13T00:00:00Z");
}

TEST(DcapCollateral, TrusteeV5BelowEveryLevel) {
  Collateral c;
  c.items["tcb_info"] = ReadTestdataBytes("dcap/tdx/go-tdx-guest-v5/tcb_info_v5.json");
  auto r = VerifyTdx("dcap/tdx/trustee-v5/tdx_quote_5.dat", c, "2026-02-03T01:00:00Z");
  ASSERT_FALSE(r.has_value());
  EXPECT_THAT(r.error().message(), HasSubstr("no matching TCB level"));
}

TEST(DcapCollateral, PlatformOutOfDateWinsOverModuleUpToDate) {
  Collateral c;
  const std::string dir = "dcap/tdx/trustee-v4-00a06d080000/";
  c.items["tcb_info"] = ReadTestdataBytes(dir + "tcb_info.json");
  c.items["qe_identity"] = ReadTestdataBytes(dir + "qe_identity.json");
  auto qvl = ReadTestdataJson("dcap/sgx/dcap-qvl-00a067110000/collateral.json");
  c.items["root_ca_crl"] = *HexDecode(qvl["root_ca_crl"].get<std::string>());
  CRYPTA_ASSIGN_OR_FAIL(
      VerifiedEvidence v,
      VerifyTdx("dcap/tdx/trustee-v4-00a06d080000/tdx_quote_6.dat", c, "2025-11-01T00:00:00Z"));
  EXPECT_EQ(v.claims().tcb_status, TcbStatus::kOutOfDate);
  EXPECT_EQ(v.claims().tcb["platform_status"], "OutOfDate");
  EXPECT_EQ(v.claims().tcb["module_status"], "UpToDate");
  EXPECT_EQ(v.claims().tcb["qe_status"], "UpToDate");
}

TEST(DcapCollateral, SgxCollateralJsonGivesConfigurationAndSwHardeningNeeded) {
  auto verifier = *sgx::SgxVerifier::CreatePinned();
  Collateral c;
  c.items["collateral_json"] = ReadTestdataBytes("dcap/sgx/dcap-qvl-00a067110000/collateral.json");
  VerifyOptions options;
  options.verification_time = T("2025-07-01T00:00:00Z");
  options.collateral = &c;
  Evidence ev{TeeType::kSgx, ReadTestdataBytes("dcap/sgx/dcap-qvl-00a067110000/sgx_quote.dat"), {}};
  CRYPTA_ASSIGN_OR_FAIL(VerifiedEvidence v, verifier->Verify(ev, options));
  EXPECT_EQ(v.claims().tcb_status, TcbStatus::kConfigurationAndSwHardeningNeeded);
  EXPECT_THAT(v.claims().advisory_ids, ElementsAre("INTEL-SA-00289", "INTEL-SA-00615"));
  EXPECT_FALSE(v.claims().debug);
  EXPECT_EQ(v.claims().tcb["qe_status"], "UpToDate");
  // After the QE identity's nextUpdate the collateral is expired.
  options.verification_time = T("2025-07-19T12:00:00Z");
  auto r = verifier->Verify(ev, options);
  ASSERT_FALSE(r.has_value());
  EXPECT_THAT(r.error().message(), HasSubstr("expired"));
}

TEST(DcapCollateral, FmspcAndPceIdMismatch) {
  Bytes raw = ReadTestdataBytes("dcap/tdx/trustee-v4-debug/tdx_quote_4.dat");
  CRYPTA_ASSIGN_OR_FAIL(ParsedQuote q, ParseQuote(raw));
  auto split = SplitSignedJson(
      ToString(ReadTestdataBytes("dcap/tdx/go-tdx-guest-spr-v4/tcb_info.json")), "tcbInfo");
  ASSERT_TRUE(split.has_value());
  CRYPTA_ASSIGN_OR_FAIL(TcbInfo info, ParseTcbInfo(split->body));
  EXPECT_EQ(info.tcb_evaluation_data_number, 15);
  auto bundle = Certificate::ParsePemBundle(AsStringView(q.cert_data));
  ASSERT_TRUE(bundle.has_value());
  CRYPTA_ASSIGN_OR_FAIL(PckExtensions pck, ParsePckExtensions((*bundle)[0]));
  EXPECT_EQ(HexEncode(pck.ppid), "df4c32a9d8d86009aaf380ec43cfcefb");
  EXPECT_EQ(pck.sgx_type, 1);
  CRYPTA_EXPECT_OK(EvaluateTcb(q, pck, info, nullptr));
  TcbInfo bad = info;
  bad.fmspc = *HexDecode("11111f000000");
  EXPECT_THAT(EvaluateTcb(q, pck, bad, nullptr).error().message(), HasSubstr("FMSPC"));
  bad = info;
  bad.pce_id = *HexDecode("1111");
  EXPECT_THAT(EvaluateTcb(q, pck, bad, nullptr).error().message(), HasSubstr("PCE-ID"));
  bad = info;
  bad.tdx_module->mrsigner[0] ^= 1;
  EXPECT_THAT(EvaluateTcb(q, pck, bad, nullptr).error().message(), HasSubstr("MRSIGNERSEAM"));
  // The QE identity of the other TEE does not fit.
  EnclaveIdentity qe;
  qe.id = "QE";
  EXPECT_THAT(EvaluateTcb(q, pck, info, &qe).error().message(), HasSubstr("QE identity id"));
}

TEST(DcapCollateral, ConvergeTcbStatus) {
  using S = TcbStatus;
  EXPECT_EQ(ConvergeTcbStatus(S::kUpToDate, S::kUpToDate), S::kUpToDate);
  EXPECT_EQ(ConvergeTcbStatus(S::kSwHardeningNeeded, S::kOutOfDate), S::kOutOfDate);
  EXPECT_EQ(ConvergeTcbStatus(S::kConfigurationAndSwHardeningNeeded, S::kOutOfDate),
            S::kOutOfDateConfigurationNeeded);
  EXPECT_EQ(ConvergeTcbStatus(S::kConfigurationNeeded, S::kSwHardeningNeeded),
            S::kConfigurationAndSwHardeningNeeded);
  EXPECT_EQ(ConvergeTcbStatus(S::kOutOfDate, S::kUpToDate), S::kOutOfDate);
  EXPECT_EQ(ConvergeTcbStatus(S::kUpToDate, S::kRevoked), S::kRevoked);
  EXPECT_EQ(ConvergeTcbStatus(S::kUnknown, S::kSwHardeningNeeded), S::kSwHardeningNeeded);
}

TEST(DcapCollateral, SignedJsonKeepsExactBytes) {
  const std::string text = R"({ "tcbInfo" : {"b":1,  "a":[1,{"x":"}"}]} , "signature":")" +
                           std::string(128, 'a') + R"("})";
  CRYPTA_ASSIGN_OR_FAIL(SignedJson s, SplitSignedJson(text, "tcbInfo"));
  EXPECT_EQ(s.body, R"({"b":1,  "a":[1,{"x":"}"}]})");
  EXPECT_FALSE(SplitSignedJson(R"({"tcbInfo":{},"tcbInfo":{},"signature":"00"})", "tcbInfo"));
  EXPECT_FALSE(SplitSignedJson(R"({"signature":"00"})", "tcbInfo"));
}

// A quote re-signed under a generated root whose PCK certificate a CRL revokes.
TEST(DcapCollateral, RevokedPckRejected) {
  Bytes raw = ReadTestdataBytes("dcap/tdx/go-tdx-guest-spr-v4/quote.dat");
  CRYPTA_ASSIGN_OR_FAIL(ParsedQuote q, ParseQuote(raw));
  auto bundle = Certificate::ParsePemBundle(AsStringView(q.cert_data));
  ASSERT_TRUE(bundle.has_value());
  CRYPTA_ASSIGN_OR_FAIL(CertificateExtension ext, (*bundle)[0].FindExtension(kSgxExtensionsOid));
  const int64_t now = T("2025-06-01T00:00:00Z");
  auto pki = testing::TestPki::Make(now, ext.value, {0x42});
  Bytes quote = testing::BuildQuote(q, pki);
  tdx::TdxVerifier verifier(pki.Roots());
  VerifyOptions options;
  options.verification_time = now;
  CRYPTA_ASSERT_OK(verifier.Verify({TeeType::kTdx, quote, {}}, options));
  // The real Intel root does not accept it.
  EXPECT_FALSE((*tdx::TdxVerifier::CreatePinned())->Verify({TeeType::kTdx, quote, {}}, options));

  Collateral c;
  c.items["root_ca_crl"] =
      testing::MakeCrlDer(*pki.root, pki.root_key, now - 86400, now + 86400, {});
  c.items["pck_crl"] = testing::MakeCrlDer(*pki.ca, pki.ca_key, now - 86400, now + 86400, {7});
  CRYPTA_ASSERT_OK(verifier.Verify({TeeType::kTdx, quote, c}, options));
  c.items["pck_crl"] =
      testing::MakeCrlDer(*pki.ca, pki.ca_key, now - 86400, now + 86400, {7, 0x42});
  auto r = verifier.Verify({TeeType::kTdx, quote, c}, options);
  ASSERT_FALSE(r.has_value());
  EXPECT_THAT(r.error().message(), HasSubstr("revoked"));
  // With both CRLs required, a missing Root CA CRL for the CA is not silently skipped:
  // an expired PCK CRL fails too.
  c.items["pck_crl"] = testing::MakeCrlDer(*pki.ca, pki.ca_key, now - 3 * 86400, now - 86400, {});
  EXPECT_FALSE(verifier.Verify({TeeType::kTdx, quote, c}, options));
}

}  // namespace
}  // namespace crypta::attest::dcap

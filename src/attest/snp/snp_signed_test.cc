// SnpVerifier on test-signed evidence (snp_test_builder.h): a valid report verifies, and
// each negative test changes exactly one field and re-signs, so that only the check under
// test can fail.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "attest/dcap/dcap_test_builder.h"
#include "attest/snp/snp_test_builder.h"
#include "attest/snp/verifier.h"
#include "testing/test_util.h"

namespace crypta::attest::snp {
namespace {

using testing::At;
using testing::WithRoots;

using testing::kTestTime;
using testing::SnpTestPki;
using testing::TestReportFields;

class SnpSignedTest : public ::testing::Test {
 protected:
  explicit SnpSignedTest(SnpProduct product = SnpProduct::kMilan) : pki_(product) {}
  void SetUp() override {
    auto v = SnpVerifier::Create(WithRoots(pki_.Roots()));
    ASSERT_TRUE(v.has_value());
    verifier_ = std::move(*v);
  }
  Evidence Make(const Bytes& report, const std::string& item = "vcek") {
    Evidence e{.tee = TeeType::kSevSnp, .raw = report, .collateral = {}};
    e.collateral.items[item] = item == "vcek" ? pki_.Vcek().der() : pki_.Vlek().der();
    return e;
  }
  Result<VerifiedEvidence> Verify(const Evidence& e) { return verifier_->Verify(e, At(kTestTime)); }
  std::string ErrorOf(const Evidence& e) {
    auto r = Verify(e);
    return r.has_value() ? "(verified)" : r.error().message();
  }

  SnpTestPki pki_;
  std::unique_ptr<SnpVerifier> verifier_;
};

TEST_F(SnpSignedTest, VerifiesValidTestSignedReport) {
  CRYPTA_ASSIGN_OR_FAIL(VerifiedEvidence v, Verify(Make(pki_.Report())));
  EXPECT_EQ(v.claims().signer, "VCEK");
  EXPECT_EQ(v.claims().report_data, Bytes(64, 0xAB));
  EXPECT_EQ(v.claims().measurement, Bytes(48, 0x4D));
  EXPECT_EQ(v.claims().host_data, Bytes(32, 0x48));
  EXPECT_EQ(v.claims().extra["guest_svn"], 7);
  EXPECT_EQ(v.claims().extra["product"], "Milan");
  EXPECT_EQ(v.claims().tcb_status, TcbStatus::kUpToDate);
}

TEST_F(SnpSignedTest, ReportsDebugPolicyBitInClaims) {
  TestReportFields f;
  f.policy = 0xb0000;  // DEBUG (bit 19) set, as in the held-out vector
  CRYPTA_ASSIGN_OR_FAIL(VerifiedEvidence v, Verify(Make(pki_.Report(f))));
  EXPECT_TRUE(v.claims().debug);
  EXPECT_EQ(v.claims().extra["policy"]["debug"], true);
}

TEST_F(SnpSignedTest, RejectsNonZeroReservedByte) {
  Bytes r = pki_.Unsigned({});
  r[0x210] = 1;
  pki_.Sign(r);
  EXPECT_NE(ErrorOf(Make(r)).find("reserved 0x208..0x29F"), std::string::npos);
}

TEST_F(SnpSignedTest, RejectsNonZeroSignaturePadding) {
  Bytes r = pki_.Report();
  r[0x2A0 + 48] = 1;  // above R's 48 significant bytes
  EXPECT_NE(ErrorOf(Make(r)).find("signature R padding"), std::string::npos);
  Bytes s = pki_.Report();
  s[0x400] = 1;
  EXPECT_NE(ErrorOf(Make(s)).find("reserved signature area"), std::string::npos);
}

TEST_F(SnpSignedTest, RejectsSigningKeyMismatch) {
  TestReportFields f;
  f.signer_info = 1 << 2;  // claims VLEK, collateral holds the VCEK
  f.chip_id = Bytes(64, 0);
  EXPECT_EQ(ErrorOf(Make(pki_.Report(f))),
            "report SIGNING_KEY (0x048) is VLEK but the collateral holds a VCEK");
  f.signer_info = 7 << 2;
  EXPECT_NE(ErrorOf(Make(pki_.Report(f))).find("not signed"), std::string::npos);
}

TEST_F(SnpSignedTest, RejectsChipIdMismatch) {
  TestReportFields f;
  f.chip_id = Bytes(64, 0);
  std::copy(pki_.hwid().begin(), pki_.hwid().end(), f.chip_id.begin());
  f.chip_id[63] ^= 1;
  EXPECT_NE(ErrorOf(Make(pki_.Report(f))).find("hwID"), std::string::npos);
}

TEST_F(SnpSignedTest, MaskChipKeySkipsHwIdBinding) {
  TestReportFields f;
  f.signer_info = 2;  // MASK_CHIP_KEY
  f.chip_id = Bytes(64, 0);
  CRYPTA_ASSIGN_OR_FAIL(VerifiedEvidence v, Verify(Make(pki_.Report(f))));
  EXPECT_EQ(v.claims().extra["signer_info"]["mask_chip_key"], true);
}

TEST_F(SnpSignedTest, RejectsEachTcbComponentMismatch) {
  struct Case {
    uint64_t tcb;
    const char* error;
  };
  // Certified: bl 3, tee 0, snp 8, ucode 115 (0x7308000000000003).
  const Case cases[] = {
      {0x7308000000000004, "reported TCB bl_spl 4 != VCEK blSPL 3"},
      {0x7308000000000103, "reported TCB tee_spl 1 != VCEK teeSPL 0"},
      {0x7309000000000003, "reported TCB snp_spl 9 != VCEK snpSPL 8"},
      {0x7208000000000003, "reported TCB ucode_spl 114 != VCEK ucodeSPL 115"},
      {0x7308000000010003, "REPORTED_TCB (0x180): reserved bytes are not zero"},
  };
  for (const Case& c : cases) {
    TestReportFields f;
    f.reported_tcb = c.tcb;
    EXPECT_EQ(ErrorOf(Make(pki_.Report(f))), c.error);
  }
}

TEST_F(SnpSignedTest, RejectsReportDataMismatch) {
  Evidence e = Make(pki_.Report());
  VerifyOptions opts = At(kTestTime);
  opts.expected_report_data = Bytes(64, 0xAC);
  auto r = verifier_->Verify(e, opts);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), ErrorCode::kPermissionDenied);
  opts.expected_report_data = Bytes(64, 0xAB);
  CRYPTA_EXPECT_OK(verifier_->Verify(e, opts));
}

TEST_F(SnpSignedTest, RejectsSignatureByAnotherKey) {
  SnpTestPki other;
  Bytes r = other.Report();  // same fields, another leaf key
  std::copy(pki_.hwid().begin(), pki_.hwid().end(), r.begin() + 0x1A0);
  other.Sign(r);
  EXPECT_NE(ErrorOf(Make(r)).find("report signature does not verify"), std::string::npos);
}

TEST_F(SnpSignedTest, RejectsCpuidProductDifferentFromVcek) {
  TestReportFields f;
  f.cpuid_mod = 0x11;  // Genoa CPUID, Milan VCEK
  EXPECT_NE(ErrorOf(Make(pki_.Report(f))).find("CPUID (0x188) says Genoa"), std::string::npos);
}

TEST_F(SnpSignedTest, VerifiesVlekThroughAsvkOnly) {
  TestReportFields f;
  f.signer_info = 1 << 2;
  CRYPTA_ASSIGN_OR_FAIL(VerifiedEvidence v, Verify(Make(pki_.Report(f), "vlek")));
  EXPECT_EQ(v.claims().signer, "VLEK");
  // A VLEK issued by the ASK instead of the ASVK fails the VLEK chain.
  CRYPTA_ASSIGN_OR_FAIL(SnpTrustRoots roots, Result<SnpTrustRoots>(pki_.Roots()));
  EXPECT_FALSE(
      VerifySnpCertChain(pki_.Vlek(), SnpCertKind::kVcek, *roots.Find(pki_.product()), kTestTime)
          .has_value());
}

TEST_F(SnpSignedTest, AcceptsOctetStringWrappedHwId) {
  std::vector<testing::TestExtension> ext = pki_.LeafExtensions(false);
  Bytes wrapped = Concat(Bytes{0x04, 0x40}, pki_.hwid());
  ext.back().second = wrapped;
  Evidence e = Make(pki_.Report());
  e.collateral.items["vcek"] = pki_.MakeVcek(ext).der();
  CRYPTA_EXPECT_OK(Verify(e));
}

TEST_F(SnpSignedTest, RejectsVcekWithoutUcodeSpl) {
  std::vector<testing::TestExtension> ext = pki_.LeafExtensions(false);
  std::erase_if(ext, [](const auto& e) { return e.first == kOidUcodeSpl; });
  Evidence e = Make(pki_.Report());
  e.collateral.items["vcek"] = pki_.MakeVcek(ext).der();
  EXPECT_NE(ErrorOf(e).find("1.3.6.1.4.1.3704.1.3.8"), std::string::npos);
}

TEST_F(SnpSignedTest, Version5AndVersion2ReportsVerify) {
  TestReportFields v5;
  v5.version = 5;
  v5.mit_current = 3;
  CRYPTA_ASSIGN_OR_FAIL(VerifiedEvidence v, Verify(Make(pki_.Report(v5))));
  EXPECT_EQ(v.claims().extra["current_mit_vector"], "0x0000000000000003");
  TestReportFields v2;
  v2.version = 2;
  CRYPTA_EXPECT_OK(Verify(Make(pki_.Report(v2))));
}

class SnpSignedTurinTest : public SnpSignedTest {
 protected:
  SnpSignedTurinTest() : SnpSignedTest(SnpProduct::kTurin) {}
};

TEST_F(SnpSignedTurinTest, VerifiesTurinReportWithFmcAndEightByteHwId) {
  TestReportFields f;
  f.cpuid_fam = 0x1A;
  f.cpuid_mod = 0x02;
  CRYPTA_ASSIGN_OR_FAIL(VerifiedEvidence v, Verify(Make(pki_.Report(f))));
  EXPECT_EQ(v.claims().tcb["reported"]["fmc_spl"], 1);
  EXPECT_EQ(v.claims().tcb["reported"]["bl_spl"], 3);
  f.reported_tcb = EncodeTcb({.fmc = 2, .boot_loader = 3, .tee = 0, .snp = 8, .microcode = 115},
                             SnpProduct::kTurin);
  EXPECT_EQ(ErrorOf(Make(pki_.Report(f))), "reported TCB fmc_spl 2 != VCEK fmcSPL 1");
}

// The AMD CRL, when supplied, is checked (revocation "checked"); without it revocation is
// "absent"; a CRL listing the ASK, one from another issuer or an expired one fails.
TEST_F(SnpSignedTest, ChecksTheAmdCrlWhenSuppliedAndSaysWhenItWasNot) {
  CRYPTA_ASSIGN_OR_FAIL(VerifiedEvidence plain, Verify(Make(pki_.Report())));
  EXPECT_EQ(plain.claims().revocation, Revocation::kAbsent);

  using dcap::testing::MakeCrlDer;
  Evidence e = Make(pki_.Report());
  e.collateral.items["crl"] =
      MakeCrlDer(pki_.ark(), pki_.ark_key(), kTestTime - 86400, kTestTime + 86400, {42});
  CRYPTA_ASSIGN_OR_FAIL(VerifiedEvidence checked, Verify(e));
  EXPECT_EQ(checked.claims().revocation, Revocation::kChecked);

  e.collateral.items["crl"] =
      MakeCrlDer(pki_.ark(), pki_.ark_key(), kTestTime - 86400, kTestTime + 86400, {1});
  EXPECT_THAT(ErrorOf(e), ::testing::HasSubstr("revoked"));  // the ASK's serial is 1
  e.collateral.items["crl"] =
      MakeCrlDer(pki_.ark(), pki_.ark_key(), kTestTime - 2 * 86400, kTestTime - 86400, {});
  EXPECT_THAT(ErrorOf(e), ::testing::HasSubstr("CRL expired"));
  PrivateKey other = *PrivateKey::Generate(KeyType::kEcP384);
  e.collateral.items["crl"] =
      MakeCrlDer(pki_.ask(), other, kTestTime - 86400, kTestTime + 86400, {});
  EXPECT_THAT(ErrorOf(e), ::testing::HasSubstr("AMD CRL"));
  e.collateral.items["crl"] = Bytes{0x30, 0x03, 0x02, 0x01, 0x01};
  EXPECT_THAT(ErrorOf(e), ::testing::HasSubstr("AMD CRL"));
}

}  // namespace
}  // namespace crypta::attest::snp

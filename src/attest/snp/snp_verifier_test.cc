// SnpVerifier on the real evidence of testdata/snp (MANIFEST.md): every case's verdict at
// its stated time, trustee's mutations, and chain negatives against the pinned AMD roots.
#include <gtest/gtest.h>

#include <ctime>

#include "attest/snp/amd_roots.h"
#include "attest/snp/snp_test_builder.h"
#include "attest/snp/vcek.h"
#include "attest/snp/verifier.h"
#include "common/encoding.h"
#include "testing/test_util.h"

namespace crypta::attest::snp {
namespace {

using testing::At;
using testing::WithRoots;

using ::crypta::testing::ReadTestdataBytes;
using ::crypta::testing::Unhex;

constexpr int64_t k20250601 = 1748736000;  // MANIFEST's suggested verification time
constexpr int64_t k20260601 = 1780272000;  // after the VLEK's notAfter (2025-12-10)

Evidence MakeEvidence(const std::string& report, const std::string& item, const std::string& cert) {
  Evidence e{.tee = TeeType::kSevSnp, .raw = ReadTestdataBytes(report), .collateral = {}};
  e.collateral.items[item] = ReadTestdataBytes(cert);
  return e;
}
Evidence TrusteeVcek() {
  return MakeEvidence("snp/trustee-milan-vcek/report.bin", "vcek",
                      "snp/trustee-milan-vcek/vcek.der");
}
Evidence TrusteeVlek() {
  return MakeEvidence("snp/trustee-milan-vlek/report.bin", "vlek",
                      "snp/trustee-milan-vlek/vlek.der");
}

class SnpVerifierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto v = SnpVerifier::Create();
    ASSERT_TRUE(v.has_value()) << v.error().ToString();
    verifier_ = std::move(*v);
  }
  Result<VerifiedEvidence> Verify(const Evidence& e, int64_t time = k20250601) {
    return verifier_->Verify(e, At(time));
  }
  std::string ErrorOf(const Evidence& e, int64_t time = k20250601) {
    auto r = Verify(e, time);
    return r.has_value() ? "(verified)" : r.error().message();
  }
  std::unique_ptr<SnpVerifier> verifier_;
};

TEST_F(SnpVerifierTest, PinnedRootsHaveAmdNames) {
  CRYPTA_ASSIGN_OR_FAIL(SnpTrustRoots roots, SnpTrustRoots::PinnedAmdRoots());
  for (SnpProduct p : kAllSnpProducts) {
    const SnpProductRoots* r = roots.Find(p);
    ASSERT_NE(r, nullptr);
    std::string name(SnpProductName(p));
    EXPECT_NE(r->ark.subject().find("CN=ARK-" + name), std::string::npos) << r->ark.subject();
    EXPECT_NE(r->ask.subject().find("CN=SEV-" + name), std::string::npos);
    EXPECT_NE(r->asvk.subject().find("CN=SEV-VLEK-" + name), std::string::npos);
    EXPECT_TRUE(r->ark.is_self_issued());
  }
}

TEST_F(SnpVerifierTest, VerifiesTrusteeMilanVcekReport) {
  CRYPTA_ASSIGN_OR_FAIL(VerifiedEvidence v, Verify(TrusteeVcek()));
  const Claims& c = v.claims();
  EXPECT_EQ(c.tee, TeeType::kSevSnp);
  EXPECT_FALSE(c.simulated);
  EXPECT_EQ(c.signer, "VCEK");
  EXPECT_FALSE(c.debug);
  EXPECT_EQ(c.tcb_status, TcbStatus::kUpToDate);
  EXPECT_EQ(HexEncode(c.measurement).substr(0, 16), "a1f3930413247bb3");
  EXPECT_EQ(HexEncode(c.platform_id).substr(0, 16), "c38427a30d4c7af9");
  EXPECT_EQ(c.tcb["product"], "Milan");
  EXPECT_EQ(c.tcb["reported"]["ucode_spl"], 115);
  EXPECT_EQ(c.tcb["current"]["ucode_spl"], 206);
  EXPECT_EQ(c.extra["guest_svn"], 4);
  EXPECT_EQ(c.extra["policy"]["abi_minor"], 31);
  EXPECT_EQ(c.extra["current_fw"]["minor"], 52);
  EXPECT_EQ(c.extra["vmpl"], 0);
  EXPECT_EQ(v.verified_at(), k20250601);
}

TEST_F(SnpVerifierTest, ChecksExpectedReportData) {
  Bytes nonce = Unhex("ec6c52d7533cc2c4f45be7849cf112ab82b2009fe7bd43e71ed08c14400ad7e2");
  VerifyOptions opts = At(k20250601);
  opts.expected_report_data = nonce;
  CRYPTA_EXPECT_OK(verifier_->Verify(TrusteeVcek(), opts));
  nonce[0] ^= 1;
  opts.expected_report_data = nonce;
  auto r = verifier_->Verify(TrusteeVcek(), opts);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), ErrorCode::kPermissionDenied);
}

TEST_F(SnpVerifierTest, VerifiesVlekReportBeforeItsExpiry) {
  CRYPTA_ASSIGN_OR_FAIL(VerifiedEvidence v, Verify(TrusteeVlek()));
  EXPECT_EQ(v.claims().signer, "VLEK");
  EXPECT_EQ(v.claims().extra["vmpl"], 1);
  EXPECT_EQ(v.claims().tcb["reported"]["ucode_spl"], 217);
  EXPECT_EQ(v.claims().platform_id, Bytes(64, 0));
}

TEST_F(SnpVerifierTest, RejectsVlekReportAfterItsExpiry) {
  for (int64_t t : {k20260601, static_cast<int64_t>(std::time(nullptr))}) {
    std::string err = ErrorOf(TrusteeVlek(), t);
    EXPECT_NE(err.find("VLEK chain"), std::string::npos) << err;
    EXPECT_NE(err.find("expired"), std::string::npos) << err;
  }
}

TEST_F(SnpVerifierTest, VerifiesAzureMilanWithVcekAskArkPem) {
  CRYPTA_ASSIGN_OR_FAIL(VerifiedEvidence v,
                        Verify(MakeEvidence("snp/azure-milan/report.bin", "vcek",
                                            "snp/azure-milan/vcek-ask-ark.pem")));
  EXPECT_EQ(v.claims().extra["guest_svn"], 5);
  EXPECT_EQ(HexEncode(v.claims().platform_id).substr(0, 16), "19752a447db501a3");
}

TEST_F(SnpVerifierTest, VerifiesAzureGenoaReport) {
  CRYPTA_ASSIGN_OR_FAIL(
      VerifiedEvidence v,
      Verify(MakeEvidence("snp/azure-genoa/report.bin", "vcek", "snp/azure-genoa/vcek.pem")));
  EXPECT_EQ(v.claims().tcb["product"], "Genoa");
  EXPECT_EQ(v.claims().tcb["reported"]["bl_spl"], 10);
  EXPECT_EQ(v.claims().extra["cpuid"]["model"], 0x11);
  // Valid from 2025-01-24 for 7 years (MANIFEST); not before.
  EXPECT_NE(ErrorOf(MakeEvidence("snp/azure-genoa/report.bin", "vcek", "snp/azure-genoa/vcek.pem"),
                    1735689600 /* 2025-01-01 */)
                .find("not yet valid"),
            std::string::npos);
}

TEST_F(SnpVerifierTest, TurinVcekChainsToPinnedTurinRoots) {
  CRYPTA_ASSIGN_OR_FAIL(SnpTrustRoots roots, SnpTrustRoots::PinnedAmdRoots());
  CRYPTA_ASSIGN_OR_FAIL(
      Certificate vcek,
      SelectLeafCertificate(ReadTestdataBytes("snp/virtee-turin-vcek/vcek_turin.der")));
  CRYPTA_EXPECT_OK(
      VerifySnpCertChain(vcek, SnpCertKind::kVcek, *roots.Find(SnpProduct::kTurin), k20250601));
  EXPECT_FALSE(
      VerifySnpCertChain(vcek, SnpCertKind::kVcek, *roots.Find(SnpProduct::kMilan), k20250601)
          .has_value());
  CRYPTA_ASSIGN_OR_FAIL(SnpCertExtensions ext, ParseSnpCertExtensions(vcek));
  EXPECT_EQ(ext.product_name, "Turin");
  EXPECT_EQ(ext.struct_version, 1);
  EXPECT_EQ(ext.fmc_spl, 0);
  EXPECT_EQ(ext.ucode_spl, 9);
  ASSERT_TRUE(ext.hwid.has_value());
  EXPECT_EQ(HexEncode(*ext.hwid), "1e550a8ee5cf9f4d");
  EXPECT_EQ(CertTcb(ext, SnpProduct::kTurin).raw, 0x0900000000000000u);
}

TEST_F(SnpVerifierTest, ReadsVcekExtensionsIncludingVlekCspId) {
  CRYPTA_ASSIGN_OR_FAIL(
      Certificate vcek,
      SelectLeafCertificate(ReadTestdataBytes("snp/trustee-milan-vcek/vcek.der")));
  CRYPTA_ASSIGN_OR_FAIL(SnpCertExtensions ext, ParseSnpCertExtensions(vcek));
  EXPECT_EQ(ext.product_name, "Milan-B0");
  EXPECT_EQ(ext.bl_spl, 3);
  EXPECT_EQ(ext.snp_spl, 8);
  EXPECT_EQ(ext.ucode_spl, 115);
  EXPECT_FALSE(ext.fmc_spl.has_value());
  EXPECT_EQ(ext.hwid->size(), 64u);
  CRYPTA_ASSIGN_OR_FAIL(
      Certificate vlek,
      SelectLeafCertificate(ReadTestdataBytes("snp/trustee-milan-vlek/vlek.der")));
  CRYPTA_ASSIGN_OR_FAIL(SnpCertExtensions vext, ParseSnpCertExtensions(vlek));
  EXPECT_EQ(vext.product_name, "Milan");
  EXPECT_EQ(vext.ucode_spl, 217);
  EXPECT_EQ(vext.csp_id, "CN=cc-us-east-2.amazonaws.com");
  EXPECT_FALSE(vext.hwid.has_value());
}

TEST_F(SnpVerifierTest, BadVceksParseButDoNotChain) {
  CRYPTA_ASSIGN_OR_FAIL(SnpTrustRoots roots, SnpTrustRoots::PinnedAmdRoots());
  Bytes dummy(64);
  for (size_t i = 0; i < 64; ++i) dummy[i] = static_cast<uint8_t>(i);
  for (const char* f : {"snp/trustee-bad-vcek/test-vcek-invalid-legacy.der",
                        "snp/trustee-bad-vcek/test-vcek-invalid-new.der"}) {
    CRYPTA_ASSIGN_OR_FAIL(Certificate vcek, SelectLeafCertificate(ReadTestdataBytes(f)));
    CRYPTA_ASSIGN_OR_FAIL(SnpCertExtensions ext, ParseSnpCertExtensions(vcek));
    EXPECT_EQ(ext.hwid, dummy) << f;
    auto chain =
        VerifySnpCertChain(vcek, SnpCertKind::kVcek, *roots.Find(SnpProduct::kMilan), k20250601);
    ASSERT_FALSE(chain.has_value()) << f;
    EXPECT_NE(chain.error().message().find("VCEK chain"), std::string::npos);
  }
}

TEST_F(SnpVerifierTest, RejectsTrusteeReportByte42Mutation) {
  Evidence e = TrusteeVcek();
  e.raw[42] += 1;
  EXPECT_NE(ErrorOf(e).find("report signature does not verify"), std::string::npos);
}

TEST_F(SnpVerifierTest, RejectsTrusteeReportedTcbMutation) {
  Evidence e = TrusteeVcek();
  e.raw[384] += 1;
  EXPECT_EQ(ErrorOf(e), "reported TCB bl_spl 4 != VCEK blSPL 3");
  Evidence v = TrusteeVlek();
  v.raw[384] += 1;
  EXPECT_EQ(ErrorOf(v), "reported TCB bl_spl 5 != VLEK blSPL 4");
  Evidence v42 = TrusteeVlek();
  v42.raw[42] += 1;
  EXPECT_NE(ErrorOf(v42).find("report signature does not verify"), std::string::npos);
}

TEST_F(SnpVerifierTest, RejectsTrusteeVcekByte42Mutation) {
  Evidence e = TrusteeVcek();
  e.collateral.items["vcek"][42] += 1;
  std::string err = ErrorOf(e);
  EXPECT_NE(err.find("VCEK chain"), std::string::npos) << err;
}

TEST_F(SnpVerifierTest, RejectsOneFlippedByteEverySixteenAcrossSignedRange) {
  for (size_t i = 0; i < 0x2A0; i += 16) {
    Evidence e = TrusteeVcek();
    e.raw[i] ^= 0x01;
    EXPECT_FALSE(Verify(e).has_value()) << "offset " << i;
  }
  EXPECT_EQ(verifier_->cached_chain_count(), 1u);  // the chain was verified once
}

TEST_F(SnpVerifierTest, VcekThroughAsvkFails) {
  CRYPTA_ASSIGN_OR_FAIL(SnpTrustRoots pinned, SnpTrustRoots::PinnedAmdRoots());
  const SnpProductRoots& milan = *pinned.Find(SnpProduct::kMilan);
  CRYPTA_ASSIGN_OR_FAIL(
      Certificate vcek,
      SelectLeafCertificate(ReadTestdataBytes("snp/trustee-milan-vcek/vcek.der")));
  CRYPTA_EXPECT_OK(VerifySnpCertChain(vcek, SnpCertKind::kVcek, milan, k20250601));
  EXPECT_FALSE(VerifySnpCertChain(vcek, SnpCertKind::kVlek, milan, k20250601).has_value());
  // Roots whose "ASK" slot holds the ASVK: the VCEK must not verify.
  SnpTrustRoots swapped;
  swapped.Set(SnpProduct::kMilan,
              SnpProductRoots{.ark = milan.ark, .ask = milan.asvk, .asvk = milan.asvk});
  CRYPTA_ASSIGN_OR_FAIL(auto v, SnpVerifier::Create(WithRoots(swapped)));
  auto r = v->Verify(TrusteeVcek(), At(k20250601));
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message().find("VCEK chain"), std::string::npos);
}

TEST_F(SnpVerifierTest, WrongProductRootsFail) {
  CRYPTA_ASSIGN_OR_FAIL(SnpTrustRoots pinned, SnpTrustRoots::PinnedAmdRoots());
  SnpTrustRoots wrong;
  wrong.Set(SnpProduct::kMilan, *pinned.Find(SnpProduct::kGenoa));
  CRYPTA_ASSIGN_OR_FAIL(auto v, SnpVerifier::Create(WithRoots(wrong)));
  auto r = v->Verify(TrusteeVcek(), At(k20250601));
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message().find("VCEK chain"), std::string::npos);
  SnpTrustRoots genoa_only;
  genoa_only.Set(SnpProduct::kGenoa, *pinned.Find(SnpProduct::kGenoa));
  CRYPTA_ASSIGN_OR_FAIL(auto g, SnpVerifier::Create(WithRoots(genoa_only)));
  EXPECT_FALSE(g->Verify(TrusteeVcek(), At(k20250601)).has_value());
}

TEST_F(SnpVerifierTest, IgnoresCollateralAskAndArk) {
  // A forged "ark" in the collateral cannot replace the pinned one: the real one still
  // verifies, and collateral roots never make the bad VCEK verify.
  Evidence e = TrusteeVcek();
  e.collateral.items["ark"] = ReadTestdataBytes("snp/trustee-bad-vcek/test-vcek-invalid-new.der");
  CRYPTA_EXPECT_OK(Verify(e));
  e.collateral.items["vcek"] =
      ReadTestdataBytes("snp/trustee-bad-vcek/test-vcek-invalid-legacy.der");
  EXPECT_FALSE(Verify(e).has_value());
}

TEST_F(SnpVerifierTest, RejectsCollateralKindNotMatchingSigningKey) {
  Evidence e =
      MakeEvidence("snp/trustee-milan-vlek/report.bin", "vcek", "snp/trustee-milan-vcek/vcek.der");
  EXPECT_EQ(ErrorOf(e), "report SIGNING_KEY (0x048) is VLEK but the collateral holds a VCEK");
  Evidence none = TrusteeVcek();
  none.collateral.items.clear();
  auto r = Verify(none);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), ErrorCode::kNotFound);
}

TEST_F(SnpVerifierTest, CachedChainStillHonoursVerificationTime) {
  CRYPTA_EXPECT_OK(Verify(TrusteeVcek()));
  EXPECT_EQ(verifier_->cached_chain_count(), 1u);
  CRYPTA_EXPECT_OK(Verify(TrusteeVcek(), k20250601 + 86400));
  // The VCEK expires 2030-01-24: a later time re-checks the chain and fails.
  std::string err = ErrorOf(TrusteeVcek(), 1900000000 /* 2030-03-17 */);
  EXPECT_NE(err.find("expired"), std::string::npos) << err;
}

TEST_F(SnpVerifierTest, RejectsWithoutVerificationTime) {
  EXPECT_FALSE(Verify(TrusteeVcek(), 0).has_value());
}

}  // namespace
}  // namespace crypta::attest::snp

// ReferenceAppraiser (issue 16): RIMs and OCSP from the collateral or from the owner's
// cache, plugged into NvidiaGpuVerifier, on NVIDIA's public H100 sample.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "attest/nvidia/reference_appraiser.h"
#include "common/encoding.h"
#include "testing/test_util.h"

namespace crypta::attest::nvidia {
namespace {

using ::testing::HasSubstr;

constexpr int64_t kAt = 1748736000;        // 2025-06-01T00:00:00Z: every certificate valid
constexpr int64_t kRimsGone = 1757116800;  // 2025-09-06T00:00:00Z: every RIM signer expired

Bytes Read(const std::string& relative) {
  return crypta::testing::ReadTestdataBytes("nvidia/" + relative);
}

class ReferenceAppraiserTest : public ::testing::Test {
 protected:
  std::shared_ptr<NvidiaGpuVerifier> WithCache(GpuReferenceCache cache) {
    NvidiaGpuVerifierOptions options;
    options.appraiser =
        std::make_shared<ReferenceAppraiser>(*PinnedNvidiaRimRoot(), std::move(cache));
    return *NvidiaGpuVerifier::CreatePinned(std::nullopt, std::move(options));
  }
  Evidence Sample() {
    Evidence e{TeeType::kNvidiaGpu, Read("nvtrust-hopper-sample/report.bin"), {}};
    e.collateral.items["certificate_chain"] = Read("nvtrust-hopper-sample/hopperCertChain.txt");
    return e;
  }
  Result<VerifiedEvidence> Verify(const NvidiaGpuVerifier& v, const Evidence& e, int64_t at = kAt) {
    VerifyOptions options;
    options.verification_time = at;
    return v.Verify(e, options);
  }
  const Bytes driver_ = Read("nvtrust-rims/Driver_RIM_test_no_gpu.swidtag");
  const Bytes vbios_ = Read("nvtrust-rims/1010_0200_882_96005E0001_PROD.swidtag");
};

TEST_F(ReferenceAppraiserTest, RimsInTheCollateralAreAppraisedIndexByIndex) {
  Evidence e = Sample();
  e.collateral.items["rim0"] = driver_;
  e.collateral.items["rim1"] = vbios_;
  auto v = Verify(*WithCache({}), e);
  ASSERT_FALSE(v);
  EXPECT_THAT(v.error().message(), HasSubstr("do not match NVIDIA's RIMs"));
  EXPECT_THAT(v.error().message(), HasSubstr("driver RIM index 7"));
  EXPECT_THAT(v.error().message(), HasSubstr("VBIOS RIM index 11"));

  e.collateral.items.erase("rim1");
  auto one = Verify(*WithCache({}), e);
  ASSERT_FALSE(one);
  EXPECT_THAT(one.error().message(), HasSubstr("the VBIOS RIM is missing"));
}

TEST_F(ReferenceAppraiserTest, TheCacheServesOnlyRimsOfTheReportsVersions) {
  // NVIDIA's sample RIMs are for driver 545.00 / VBIOS 96.00.5E.00.01; the report is
  // 550.90.07 / 96.00.9F.00.01: nothing is appraised, and the claims say why.
  auto v = Verify(*WithCache({{driver_, vbios_}, {}}), Sample());
  ASSERT_TRUE(v) << v.error().ToString();
  EXPECT_EQ(v->claims().tcb_status, TcbStatus::kUnknown);
  EXPECT_THAT(v->claims().extra["rim"]["not_appraised"].get<std::string>(),
              HasSubstr("driver 550.90.07 and VBIOS 96.00.9f.00.01"));
  // Collateral RIMs take precedence over the cache.
  Evidence e = Sample();
  e.collateral.items["rim0"] = driver_;
  e.collateral.items["rim1"] = vbios_;
  EXPECT_FALSE(Verify(*WithCache({{driver_, vbios_}, {}}), e));
  // Cached RIMs whose signers expired are skipped, never used.
  auto later = Verify(*WithCache({{driver_, vbios_}, {}}), Sample(), kRimsGone);
  ASSERT_TRUE(later) << later.error().ToString();
  EXPECT_EQ(later->claims().tcb_status, TcbStatus::kUnknown);
}

TEST_F(ReferenceAppraiserTest, ACachedOcspBundleThatDoesNotCheckFailsClosed) {
  auto v = Verify(*WithCache({{}, ToBytes(R"({"responses": ["AAAA"]})")}), Sample());
  ASSERT_FALSE(v);
  EXPECT_THAT(v.error().message(), HasSubstr("GPU RIM appraisal"));
  auto absent = Verify(*WithCache({}), Sample());
  ASSERT_TRUE(absent);
  EXPECT_EQ(absent->claims().revocation, Revocation::kAbsent);
}

}  // namespace
}  // namespace crypta::attest::nvidia

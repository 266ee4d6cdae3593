// KDS URLs (LAYOUTS §1.5) and the directory cache of VCEKs.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>

#include "attest/snp/collateral.h"
#include "attest/snp/snp_test_builder.h"
#include "attest/snp/verifier.h"
#include "testing/test_util.h"

namespace crypta::attest::snp {
namespace {

using testing::At;

using ::crypta::testing::ReadTestdataBytes;
using ::crypta::testing::Unhex;

const char kTrusteeChipId[] =
    "c38427a30d4c7af9d96f7a15b97269825a64cb76a2352ffd5d18115d89ad473f8e8c0bcd9a5d9286612bad4aa"
    "dfb4426205a3b9e4fea82301135a170e477524e";

TEST(SnpCollateralTest, BuildsMilanVcekUrl) {
  CRYPTA_ASSIGN_OR_FAIL(std::string url,
                        KdsVcekUrl(SnpProduct::kMilan, Unhex(kTrusteeChipId), 0x7308000000000003));
  EXPECT_EQ(url, std::string("https://kdsintf.amd.com/vcek/v1/Milan/") + kTrusteeChipId +
                     "?blSPL=3&teeSPL=0&snpSPL=8&ucodeSPL=115");
}

TEST(SnpCollateralTest, BuildsTurinVcekUrlWithFmcAndEightByteHwId) {
  Bytes chip(64, 0);
  Bytes hwid = Unhex("1e550a8ee5cf9f4d");
  std::copy(hwid.begin(), hwid.end(), chip.begin());
  // fmc 1, bl 2, tee 3, snp 4, ucode 9.
  CRYPTA_ASSIGN_OR_FAIL(std::string url, KdsVcekUrl(SnpProduct::kTurin, chip, 0x0900000004030201));
  EXPECT_EQ(url,
            "https://kdsintf.amd.com/vcek/v1/Turin/1e550a8ee5cf9f4d"
            "?fmcSPL=1&blSPL=2&teeSPL=3&snpSPL=4&ucodeSPL=9");
  chip[20] = 1;  // Turin uses 8 bytes; the rest must be zero
  EXPECT_FALSE(KdsVcekUrl(SnpProduct::kTurin, chip, 0).has_value());
}

TEST(SnpCollateralTest, RejectsZeroOrShortChipId) {
  EXPECT_FALSE(KdsVcekUrl(SnpProduct::kMilan, Bytes(64, 0), 0).has_value());
  EXPECT_FALSE(KdsVcekUrl(SnpProduct::kMilan, Bytes(32, 1), 0).has_value());
}

TEST(SnpCollateralTest, BuildsCertChainAndCrlUrls) {
  EXPECT_EQ(KdsCertChainUrl(SnpProduct::kGenoa, false),
            "https://kdsintf.amd.com/vcek/v1/Genoa/cert_chain");
  EXPECT_EQ(KdsCertChainUrl(SnpProduct::kMilan, true),
            "https://kdsintf.amd.com/vlek/v1/Milan/cert_chain");
  EXPECT_EQ(KdsCrlUrl(SnpProduct::kTurin), "https://kdsintf.amd.com/vcek/v1/Turin/crl");
}

class CountingSource : public SnpCollateralSource {
 public:
  explicit CountingSource(Bytes der) : der_(std::move(der)) {}
  Result<Bytes> FetchVcek(SnpProduct, ByteSpan, uint64_t) const override {
    ++calls;
    return der_;
  }
  mutable std::atomic<int> calls{0};

 private:
  Bytes der_;
};

class SnpDirectoryCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("crypta_snp_cache_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
  Bytes vcek_ = ReadTestdataBytes("snp/trustee-milan-vcek/vcek.der");
  Bytes chip_ = Unhex(kTrusteeChipId);
};

TEST_F(SnpDirectoryCacheTest, StoresUnderProductHwIdAndTcb) {
  DirectoryCache cache(dir_);
  EXPECT_EQ(cache.FetchVcek(SnpProduct::kMilan, chip_, 0x7308000000000003).error().code(),
            ErrorCode::kNotFound);
  CRYPTA_ASSERT_OK(cache.StoreVcek(SnpProduct::kMilan, chip_, 0x7308000000000003, vcek_));
  EXPECT_TRUE(std::filesystem::exists(dir_ / "Milan" /
                                      (std::string(kTrusteeChipId) + "-7308000000000003.der")));
  CRYPTA_ASSIGN_OR_FAIL(Bytes got, cache.FetchVcek(SnpProduct::kMilan, chip_, 0x7308000000000003));
  EXPECT_EQ(got, vcek_);
  EXPECT_FALSE(cache.FetchVcek(SnpProduct::kMilan, chip_, 0x7308000000000004).has_value());
}

TEST_F(SnpDirectoryCacheTest, FillsFromUpstreamOnce) {
  auto upstream = std::make_shared<CountingSource>(vcek_);
  DirectoryCache cache(dir_, upstream);
  for (int i = 0; i < 3; ++i) {
    CRYPTA_ASSIGN_OR_FAIL(Bytes got,
                          cache.FetchVcek(SnpProduct::kMilan, chip_, 0x7308000000000003));
    EXPECT_EQ(got, vcek_);
  }
  EXPECT_EQ(upstream->calls.load(), 1);
}

TEST_F(SnpDirectoryCacheTest, VerifierFetchesVcekFromCacheWhenCollateralIsEmpty) {
  auto cache = std::make_shared<DirectoryCache>(dir_);
  CRYPTA_ASSERT_OK(cache->StoreVcek(SnpProduct::kMilan, chip_, 0x7308000000000003, vcek_));
  // The trustee report is version 2 (no CPUID), so the product comes from configuration.
  SnpVerifierOptions options;
  options.vcek_source = cache;
  options.default_product = SnpProduct::kMilan;
  CRYPTA_ASSIGN_OR_FAIL(auto verifier, SnpVerifier::Create(options));
  Evidence e{.tee = TeeType::kSevSnp,
             .raw = ReadTestdataBytes("snp/trustee-milan-vcek/report.bin"),
             .collateral = {}};
  CRYPTA_ASSIGN_OR_FAIL(VerifiedEvidence v, verifier->Verify(e, At(1748736000)));
  EXPECT_EQ(v.claims().signer, "VCEK");
  options.default_product.reset();
  CRYPTA_ASSIGN_OR_FAIL(auto no_product, SnpVerifier::Create(options));
  EXPECT_EQ(no_product->Verify(e, At(1748736000)).error().code(), ErrorCode::kNotFound);
}

}  // namespace
}  // namespace crypta::attest::snp

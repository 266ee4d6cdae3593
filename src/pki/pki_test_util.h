// Test helpers for src/pki: a PlatformCa on a temporary SQLite file with a settable clock.
#ifndef CRYPTA_PKI_PKI_TEST_UTIL_H_
#define CRYPTA_PKI_PKI_TEST_UTIL_H_

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>

#include "crypto/random.h"
#include "pki/csr.h"
#include "pki/platform_ca.h"
#include "testing/test_util.h"

namespace crypta::pki::testing {

inline constexpr int64_t kTestNow = 1'750'000'000;  // 2025-06-15

class PkiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("crypta_pki_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    auto db = store::Database::Open((dir_ / "control.db").string());
    ASSERT_TRUE(db.has_value()) << db.error().ToString();
    db_ = std::shared_ptr<store::Database>(std::move(*db));
    root_key_ = *RandomBytes(32);
    now_->store(kTestNow);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  PkiOptions Options() {
    PkiOptions options;
    auto now = now_;
    options.clock = [now] { return now->load(); };
    return options;
  }
  Result<std::unique_ptr<PlatformCa>> OpenCa(PkiOptions options) {
    return PlatformCa::Open(db_, SecretBytes(root_key_), std::move(options));
  }
  Result<std::unique_ptr<PlatformCa>> OpenCa() { return OpenCa(Options()); }

  static Bytes MakeCsr(KeyType type = KeyType::kEcP256) {
    auto key = PrivateKey::Generate(type);
    EXPECT_TRUE(key.has_value());
    auto csr = CreateCsr(*key, "workload");
    EXPECT_TRUE(csr.has_value());
    return csr.value_or(Bytes{});
  }

  std::filesystem::path dir_;
  std::shared_ptr<store::Database> db_;
  Bytes root_key_;
  std::shared_ptr<std::atomic<int64_t>> now_ = std::make_shared<std::atomic<int64_t>>(kTestNow);
};

}  // namespace crypta::pki::testing

#endif  // CRYPTA_PKI_PKI_TEST_UTIL_H_

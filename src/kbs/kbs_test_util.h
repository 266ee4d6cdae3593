// Shared fixtures for the kbs tests: a temporary data dir and sim-verified evidence.
#ifndef CRYPTA_KBS_KBS_TEST_UTIL_H_
#define CRYPTA_KBS_KBS_TEST_UTIL_H_

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <string>

#include "attest/sim/sim_tee.h"
#include "common/encoding.h"

namespace crypta::kbs::testing {

inline constexpr int64_t kTestNow = 1764000000;

// A fresh directory under TMPDIR, removed on destruction.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "crypta_kbs_XXXXXX").string();
    char* made = ::mkdtemp(tmpl.data());
    EXPECT_NE(made, nullptr);
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Sim evidence with a fixed measurement (48 × 0xaa), verified by the real SimVerifier.
struct SimWorld {
  attest::SimCa ca;
  attest::SimNodeIdentity node;
  attest::SimLaunch launch{Bytes(attest::kSimMeasurementSize, 0xaa),
                           Bytes(attest::kSimHostDataSize, 0x01), false, 1};

  static SimWorld Create() {
    attest::SimCa ca = *attest::CreateSimRootCa(kTestNow - 100);
    attest::SimNodeIdentity node = *attest::IssueSimNode(ca, "node-1", kTestNow - 100);
    return SimWorld{std::move(ca), std::move(node)};
  }
  std::string MeasurementHex() const { return HexEncode(launch.measurement); }
  Result<attest::VerifiedEvidence> Verified(ByteSpan report_data = {}) const {
    CRYPTA_ASSIGN_OR_RETURN(Bytes raw, attest::SignSimReport(node, launch, report_data, kTestNow));
    attest::VerifyOptions options;
    options.verification_time = kTestNow;
    return attest::SimVerifier(ca.cert).Verify({attest::TeeType::kSim, raw, {}}, options);
  }
  std::string AllowPolicy() const {
    return "tee: [sim]\nallow_simulated: true\nmeasurements: [" + MeasurementHex() + "]\n";
  }
};

}  // namespace crypta::kbs::testing

#endif  // CRYPTA_KBS_KBS_TEST_UTIL_H_

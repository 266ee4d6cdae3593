// The simulated TEE (DESIGN.md §4.2). It gives NO isolation: the "hardware key" is a
// node key in a file. It exists so the whole platform runs on machines without TEE
// hardware, and everything it produces says `simulated`.
//
// Evidence is a JSON object {"format":"crypta-sim-evidence-v1","jws":…,"chain":[…]}:
// a compact JWS (ES384) by the node key over the report claims
//   {"tee":"sim","version":1,"measurement":hex(48),"host_data":hex(32),
//    "report_data":hex(64),"debug":bool,"svn":N,"node_id":…,"iat":…}
// and the node's certificate chain (base64 DER, node first) up to the sim root CA.
#ifndef CRYPTA_ATTEST_SIM_SIM_TEE_H_
#define CRYPTA_ATTEST_SIM_SIM_TEE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "attest/verifier.h"
#include "common/bytes.h"
#include "common/status.h"
#include "crypto/keys.h"
#include "crypto/x509.h"

namespace crypta::attest {

inline constexpr size_t kSimMeasurementSize = 48;
inline constexpr size_t kSimHostDataSize = 32;
inline constexpr size_t kReportDataSize = 64;
inline constexpr size_t kMaxSimEvidenceBytes = 64 * 1024;

// What the node fixes when it launches a workload (the workload cannot choose these).
struct SimLaunch {
  Bytes measurement;  // 48 bytes
  Bytes host_data;    // 32 bytes
  bool debug = false;
  uint32_t svn = 1;
};

// SHA-384 over the runtime binary, its arguments and the model reference, each
// length-prefixed: the sim equivalent of a launch measurement.
Bytes ComputeSimMeasurement(ByteSpan runtime_binary, const std::vector<std::string>& args,
                            const std::string& model_ref);

// The sim root CA and node identities.
struct SimCa {
  PrivateKey key;
  Certificate cert;
};
// A new self-signed sim root (EC P-384), valid for `validity_s` from `now`.
Result<SimCa> CreateSimRootCa(int64_t now, int64_t validity_s = 10ll * 365 * 86400);

// A node's signing identity: its key and chain (node certificate, then the root).
struct SimNodeIdentity {
  std::string node_id;
  PrivateKey key;
  std::vector<Certificate> chain;
};
Result<SimNodeIdentity> IssueSimNode(const SimCa& ca, const std::string& node_id, int64_t now,
                                     int64_t validity_s = 365ll * 86400);

// Plays the hardware: signs a report over the launch's fixed values and the
// workload-chosen report_data. Thread-safe.
Result<Bytes> SignSimReport(const SimNodeIdentity& node, const SimLaunch& launch,
                            ByteSpan report_data, int64_t now);

// Verifies sim evidence against the pinned sim root. Claims are always `simulated`.
class SimVerifier : public Verifier {
 public:
  explicit SimVerifier(Certificate root) : root_(std::move(root)) {}
  TeeType tee() const override { return TeeType::kSim; }
  Result<VerifiedEvidence> Verify(const Evidence& evidence,
                                  const VerifyOptions& options) const override;

 private:
  Certificate root_;
};

}  // namespace crypta::attest

#endif  // CRYPTA_ATTEST_SIM_SIM_TEE_H_

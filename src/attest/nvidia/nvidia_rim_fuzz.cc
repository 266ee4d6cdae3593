// Fuzzes the NVIDIA RIM path: RimVerifier::Verify (XML parse, DOCTYPE refusal, KeyInfo
// certificates, chain, XML-DSig) with NVIDIA's RIM root (pinned in nvidia_roots.cc) at
// 2025-06-01, and the payload reader plus
// AppraiseMeasurements on the same bytes without the signature (otherwise a mutated RIM
// never gets past its digest). Never crashes; any result is fine.
#include <cstddef>
#include <cstdint>
#include <map>

#include "attest/nvidia/rim.h"
#include "attest/nvidia/verifier.h"

namespace {

const crypta::attest::nvidia::RimVerifier& TheVerifier() {
  static const crypta::attest::nvidia::RimVerifier verifier(
      *crypta::attest::nvidia::PinnedNvidiaRimRoot());
  return verifier;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace crypta::attest::nvidia;
  crypta::ByteSpan input(data, size);
  (void)TheVerifier().Verify(input, 1748736000);  // 2025-06-01T00:00:00Z
  auto rim = internal::ReadRimUnverifiedForTesting(input);
  if (rim) {
    std::map<uint32_t, crypta::Bytes> blocks;
    for (uint32_t b = 1; b <= 64; ++b) blocks[b] = crypta::Bytes(48, static_cast<uint8_t>(b));
    Rim other = *rim;
    other.kind = rim->kind == "driver" ? "vbios" : "driver";
    for (RimMeasurement& m : other.measurements) m.active = false;
    const Rim& driver = rim->kind == "driver" ? *rim : other;
    const Rim& vbios = rim->kind == "driver" ? other : *rim;
    (void)AppraiseMeasurements(blocks, driver, vbios, rim->version, "96.00.5E.00.01");
  }
  return 0;
}

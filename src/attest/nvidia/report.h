// NVIDIA Hopper (H100) GPU attestation reports and the multi-GPU evidence envelope.
//
// A Hopper attestation report, as NVML's nvmlDeviceGetConfComputeGpuAttestationReport
// returns it, is the SPDM 1.1 GET_MEASUREMENTS request the driver sent (with the verifier's
// nonce) followed by the GPU's signed MEASUREMENTS response (DMTF DSP0274 1.1 §10.11;
// testdata/nvidia/LAYOUTS.md §2-5):
//
//   request  (37 bytes): SPDMVersion 0x11, code 0xE0, Param1 (bit 0: signature requested),
//                        Param2 (0xFF: all blocks), Nonce[32], SlotIDParam
//   response:            SPDMVersion 0x11, code 0x60, Param1, Param2 (slot), NumberOfBlocks,
//                        MeasurementRecordLength (u24 LE), MeasurementRecord, Nonce[32],
//                        OpaqueLength (u16 LE), OpaqueData (NVIDIA TLVs), Signature[96]
//
// The signature is ECDSA P-384 / SHA-384, r || s big-endian, over every byte before it
// (request and response: DSP0274 1.1 §10.11, "L1/L2" transcript). All multi-byte integers
// are little-endian. Parsing is strict: unknown or duplicate opaque fields, wrong field
// lengths, a record that its blocks do not fill exactly and any byte after the signature
// are errors; the input is capped at kMaxGpuReportSize.
//
// Nothing here verifies anything: NvidiaGpuVerifier (verifier.h) checks the signature,
// the certificate chain, the FWID binding and the nonce. All functions are pure and
// thread-safe.
#ifndef CRYPTA_ATTEST_NVIDIA_REPORT_H_
#define CRYPTA_ATTEST_NVIDIA_REPORT_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "common/status.h"

namespace crypta::attest::nvidia {

inline constexpr size_t kMaxGpuReportSize = 64 * 1024;
inline constexpr size_t kSpdmRequestSize = 37;
inline constexpr size_t kSpdmNonceSize = 32;
inline constexpr size_t kHopperSignatureSize = 96;  // ECDSA P-384 r || s
inline constexpr size_t kFwidSize = 48;             // SHA-384 digest
inline constexpr uint8_t kSpdmVersion11 = 0x11;
inline constexpr uint8_t kSpdmGetMeasurements = 0xE0;
inline constexpr uint8_t kSpdmMeasurements = 0x60;
// SPDM 1.1 caps OpaqueLength at 1024 bytes (§10.11, Table 45).
inline constexpr size_t kMaxSpdmOpaqueSize = 1024;

// NVIDIA opaque-data field types (LAYOUTS §5; names as in NVIDIA's parsers).
enum class OpaqueFieldType : uint16_t {
  kCertIssuerName = 1,
  kCertAuthorityKeyIdentifier = 2,
  kDriverVersion = 3,
  kGpuInfo = 4,
  kSku = 5,
  kVbiosVersion = 6,
  kManufacturerId = 7,
  kTamperDetection = 8,
  kSmc = 9,
  kVpr = 10,
  kNvdec0Status = 11,
  kMsrsCnt = 12,
  kCprInfo = 13,
  kBoardId = 14,
  kChipSku = 15,
  kChipSkuMod = 16,
  kProject = 17,
  kProjectSku = 18,
  kProjectSkuMod = 19,
  kFwid = 20,
  kProtectedPcieStatus = 21,
  kSwitchPdi = 22,
  kFloorsweptPorts = 23,
  kPositionId = 24,
  kLockSwitchStatus = 25,
  kGpuLinkConn = 32,
  kSysEnableStatus = 33,
  kOpaqueDataVersion = 34,
  kChipInfo = 35,
  kFeatureFlag = 36,
};

// FEATURE_FLAG (type 36, newer firmware) low byte: the GPU's confidential-computing
// topology as NVIDIA's attestation SDK names it: 0 SPT (single-GPU passthrough), 1 MPT
// (multi-GPU passthrough), 2 PPCIE (protected PCIe). Any other value is an error.
enum class GpuCcTopology : uint8_t { kSpt = 0, kMpt = 1, kPpcie = 2 };
std::string_view GpuCcTopologyName(GpuCcTopology t);  // "spt", "mpt", "ppcie"

// Bits above the low byte of FEATURE_FLAG are not defined by NVIDIA. crypta's simulated GPU
// (sim_gpu.h) uses two of them to say what a real report cannot (the GPU's CC mode is not
// in Hopper's signed opaque data); the verifier honours them only for sim chains and
// rejects a hardware report that sets any of them.
inline constexpr uint64_t kSimFeatureCcOff = 1ull << 16;
inline constexpr uint64_t kSimFeatureDevtools = 1ull << 17;
inline constexpr uint64_t kNvidiaFeatureFlagMask = 0xFF;

// One SPDM measurement block with a DMTF measurement (DSP0274 1.1 §10.11.1, Tables 47-48).
struct MeasurementBlock {
  uint8_t index = 0;       // 1..254, strictly ascending within a report
  uint8_t value_type = 0;  // DMTFSpecMeasurementValueType (bit 7: raw bit stream)
  Bytes value;             // Hopper: a 48-byte SHA-384 digest (all zero = unused)
};

// The NVIDIA opaque data, decoded (LAYOUTS §5). Strings are ASCII without their NUL
// terminator or padding; raw fields are kept as bytes.
struct GpuOpaqueData {
  std::string driver_version;  // type 3, e.g. "550.90.07" (required)
  std::string vbios_version;   // type 6, formatted "96.00.9f.00.01" (required)
  Bytes vbios_raw;             // the 8 raw bytes of type 6
  std::optional<Bytes> fwid;   // type 20, 48 bytes
  std::optional<Bytes> gpu_info, cpr_info, board_id, project_sku_mod;
  std::optional<std::string> chip_sku, chip_sku_mod, project, project_sku, sku, chip_info;
  std::optional<uint8_t> nvdec0_status;          // 0xAA enabled, 0x55 disabled
  std::optional<uint8_t> protected_pcie_status;  // 1 byte
  std::vector<uint32_t> msrs_cnt;                // type 12, per block (block 1 first)
  std::vector<Bytes> switch_pdis;                // type 22, 8 bytes each
  std::optional<uint64_t> opaque_data_version;   // type 34, unsigned LE (1..8 bytes)
  std::optional<uint64_t> feature_flag;          // type 36, unsigned LE (1..8 bytes)
  // Every field as received (type -> value), including the ones decoded above.
  std::map<uint16_t, Bytes> raw_fields;
};

struct GpuReport {
  // GET_MEASUREMENTS request (bytes 0..36).
  uint8_t request_param1 = 0;
  uint8_t request_param2 = 0;
  Bytes nonce;  // the requester's (verifier's) 32-byte nonce, request bytes 4..35
  uint8_t slot_id = 0;
  // MEASUREMENTS response.
  uint8_t response_param1 = 0;
  uint8_t response_param2 = 0;
  std::vector<MeasurementBlock> blocks;
  Bytes responder_nonce;  // 32 bytes, chosen by the GPU (signed, not compared)
  GpuOpaqueData opaque;
  ByteSpan signed_bytes;  // view into the parsed input: request + response up to the signature
  Bytes signature;        // 96 bytes, r || s big-endian

  // SPDM block index -> measurement value. RIM appraisal compares RIM index i with block
  // i + 1 (LAYOUTS §8.4).
  std::map<uint32_t, Bytes> Measurements() const;
};

// Parses one binary report (views in the result point into `report`, which must outlive it).
Result<GpuReport> ParseGpuReport(ByteSpan report);

// The binary report from either encoding NVIDIA's tools write: the raw bytes (which start
// with SPDMVersion 0x11) or hex text (surrounding ASCII whitespace allowed, as in the NV
// and Trustee sample files). Caps the text at 2 * kMaxGpuReportSize + 64 bytes.
Result<Bytes> DecodeGpuReportBytes(ByteSpan binary_or_hex);

// "96.00.9f.00.01" from the 8 bytes of opaque type 6: bytes 3,2,1,0 then byte 4, each as
// two lowercase hex digits, joined by dots (LAYOUTS §5). Fails unless exactly 8 bytes.
Result<std::string> FormatVbiosVersion(ByteSpan raw);
// The inverse, for the simulated GPU: 5 dot-separated 2-digit hex bytes -> 8 bytes.
Result<Bytes> EncodeVbiosVersion(const std::string& version);

// ---------------------------------------------------------------------------------------
// Evidence envelope for one or more GPUs: the JSON object Trustee's NVIDIA attester sends and
// its verifier (deps/verifier/src/nvidia/mod.rs) reads:
//
//   {"device_evidence_list": [
//      {"arch": "HOPPER", "uuid": "GPU-…", "evidence": <report, hex or base64>,
//       "certificate": <base64 of the PEM chain text, leaf first>}, …]}
//
// arch is matched case-insensitively ("HOPPER"/"Hopper", "BLACKWELL", "LS10").

inline constexpr size_t kMaxGpuDevices = 8;
inline constexpr size_t kMaxGpuEvidenceSize = 2 * 1024 * 1024;
inline constexpr size_t kMaxGpuChainPemSize = 64 * 1024;

struct GpuDeviceEvidence {
  Bytes report;                       // the binary report
  std::string certificate_chain_pem;  // empty: the verifier takes it from collateral
  std::string arch;                   // lowercase: "hopper", "blackwell", "ls10"
  std::string uuid;                   // as given (Trustee requires the member), may be empty
};

// Accepts the JSON envelope with 1..kMaxGpuDevices devices (exactly the members above;
// evidence as hex or standard base64; certificate as standard base64 of PEM text), or a
// single binary or hex report (then arch "hopper" and no chain). Errors name the device
// index and member. Each report is decoded but not parsed.
Result<std::vector<GpuDeviceEvidence>> ParseGpuEvidence(ByteSpan evidence);

// Writes the JSON envelope (evidence base64, certificate base64 of the PEM text, arch upper
// case, uuid as given): what ParseGpuEvidence and Trustee's verifier read.
Bytes EncodeGpuEvidence(std::span<const GpuDeviceEvidence> devices);

}  // namespace crypta::attest::nvidia

#endif  // CRYPTA_ATTEST_NVIDIA_REPORT_H_

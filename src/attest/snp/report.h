// AMD SEV-SNP ATTESTATION_REPORT parsing (SNP Firmware ABI 56860 §7.3 Table 23; the
// offsets are restated in LAYOUTS §1).
//
// ParseAttestationReport reads an untrusted 1184-byte report with a ByteReader: every
// field at its fixed offset, every reserved range required to be zero, versions 2..5,
// SIGNATURE_ALGO 1 (ECDSA P-384 with SHA-384) only. It checks structure only, never
// signatures: the result is untrusted until SnpVerifier has verified it. Pure and
// thread-safe.
#ifndef CRYPTA_ATTEST_SNP_REPORT_H_
#define CRYPTA_ATTEST_SNP_REPORT_H_

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>

#include "attest/snp/product.h"
#include "common/bytes.h"
#include "common/status.h"

namespace crypta::attest::snp {

inline constexpr size_t kReportSize = 0x4A0;       // 1184
inline constexpr size_t kSignedRangeSize = 0x2A0;  // bytes 0x000..0x29F are signed
inline constexpr size_t kSignatureOffset = 0x2A0;
inline constexpr size_t kSignatureComponentSize = 72;  // R and S, little-endian, zero-extended
inline constexpr uint32_t kMinReportVersion = 2;
inline constexpr uint32_t kMaxReportVersion = 5;
inline constexpr uint32_t kSignatureAlgoEcdsaP384Sha384 = 1;

// GUEST_POLICY (LAYOUTS §1.1; ABI Table 9). Bit 17 must be 1; bits 63:26 must be zero.
struct GuestPolicy {
  uint64_t raw = 0;
  uint8_t abi_minor = 0;           // bits 7:0
  uint8_t abi_major = 0;           // bits 15:8
  bool smt = false;                // bit 16: SMT allowed
  bool migrate_ma = false;         // bit 18: migration agent allowed
  bool debug = false;              // bit 19: debugging allowed (host can read guest memory)
  bool single_socket = false;      // bit 20
  bool cxl_allow = false;          // bit 21
  bool mem_aes_256_xts = false;    // bit 22
  bool rapl_dis = false;           // bit 23
  bool ciphertext_hiding = false;  // bit 24
  bool page_swap_disable = false;  // bit 25
};

// PLATFORM_INFO (LAYOUTS §1.2). Other bits are kept in `raw` and not interpreted.
struct PlatformInfo {
  uint64_t raw = 0;
  bool smt_en = false;                // bit 0
  bool tsme_en = false;               // bit 1
  bool ecc_en = false;                // bit 2
  bool rapl_dis = false;              // bit 3
  bool ciphertext_hiding_en = false;  // bit 4
  bool alias_check_complete = false;  // bit 5
  bool tio_en = false;                // bit 7
};

// Which key signed the report (signer info bits 4:2).
enum class SigningKey : uint8_t { kVcek = 0, kVlek = 1, kNone = 7 };
std::string_view SigningKeyName(SigningKey key);  // "VCEK", "VLEK", "none"

// The u32 at 0x048. Bits 31:5 must be zero; SIGNING_KEY values 2..6 are rejected.
struct SignerInfo {
  uint32_t raw = 0;
  bool author_key_en = false;  // bit 0
  bool mask_chip_key = false;  // bit 1: CHIP_ID (and the VCEK hwID binding) masked
  SigningKey signing_key = SigningKey::kVcek;
};

struct FirmwareVersion {
  uint8_t major = 0;
  uint8_t minor = 0;
  uint8_t build = 0;
  nlohmann::json ToJson() const;  // {"major":1,"minor":52,"build":4}
};

// Every field of ATTESTATION_REPORT, offsets per LAYOUTS §1. TCB fields are kept raw,
// because their layout depends on the product (see DecodeTcb).
struct AttestationReport {
  uint32_t version = 0;             // 0x000
  uint32_t guest_svn = 0;           // 0x004
  GuestPolicy policy;               // 0x008
  Bytes family_id;                  // 0x010, 16 bytes
  Bytes image_id;                   // 0x020, 16 bytes
  uint32_t vmpl = 0;                // 0x030
  uint32_t signature_algo = 0;      // 0x034
  uint64_t current_tcb = 0;         // 0x038
  PlatformInfo platform_info;       // 0x040
  SignerInfo signer_info;           // 0x048 (0x04C: 4 reserved bytes)
  Bytes report_data;                // 0x050, 64 bytes
  Bytes measurement;                // 0x090, 48 bytes
  Bytes host_data;                  // 0x0C0, 32 bytes
  Bytes id_key_digest;              // 0x0E0, 48 bytes
  Bytes author_key_digest;          // 0x110, 48 bytes
  Bytes report_id;                  // 0x140, 32 bytes
  Bytes report_id_ma;               // 0x160, 32 bytes
  uint64_t reported_tcb = 0;        // 0x180
  uint8_t cpuid_fam_id = 0;         // 0x188 (version >= 3; zero before)
  uint8_t cpuid_mod_id = 0;         // 0x189 (version >= 3)
  uint8_t cpuid_step = 0;           // 0x18A (version >= 3) (0x18B: 21 reserved bytes)
  Bytes chip_id;                    // 0x1A0, 64 bytes
  uint64_t committed_tcb = 0;       // 0x1E0
  FirmwareVersion current_fw;       // 0x1E8 build, 0x1E9 minor, 0x1EA major, 0x1EB reserved
  FirmwareVersion committed_fw;     // 0x1EC build, 0x1ED minor, 0x1EE major, 0x1EF reserved
  uint64_t launch_tcb = 0;          // 0x1F0
  uint64_t launch_mit_vector = 0;   // 0x1F8 (version 5; must be zero before)
  uint64_t current_mit_vector = 0;  // 0x200 (version 5) (0x208: 0x98 reserved bytes)
  Bytes signature_r;                // 0x2A0, 72 bytes little-endian (bytes 48..71 zero)
  Bytes signature_s;                // 0x2E8, 72 bytes little-endian (0x330..0x49F zero)

  Bytes signed_bytes;  // the exact bytes 0x000..0x29F, for verification
  Bytes signature;     // signature_r || signature_s (144 bytes, kRawLE)

  // The product implied by the CPUID fields, when the version has them and they are known.
  std::optional<SnpProduct> CpuidProduct() const;
  // Whether CHIP_ID is all zero (masked, or a VLEK-signed report).
  bool ChipIdIsZero() const;
};

// Parses exactly kReportSize bytes. Fails with kInvalidArgument naming the field or the
// reserved range's offset ("reserved 0x208..0x29F must be zero"), the unsupported
// version, or the unknown SIGNATURE_ALGO.
Result<AttestationReport> ParseAttestationReport(ByteSpan raw);

}  // namespace crypta::attest::snp

#endif  // CRYPTA_ATTEST_SNP_REPORT_H_

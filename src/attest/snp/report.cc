#include "attest/snp/report.h"

#include <algorithm>
#include <string>

#include "common/byte_reader.h"

namespace crypta::attest::snp {
namespace {

Result<Bytes> ReadField(ByteReader& r, size_t n, std::string_view field) {
  CRYPTA_ASSIGN_OR_RETURN(ByteSpan b, r.ReadBytes(n, field));
  return Bytes(b.begin(), b.end());
}

bool Bit(uint64_t v, int bit) { return ((v >> bit) & 1) != 0; }

// LAYOUTS §1.1 (ABI 56860 Table 9).
Result<GuestPolicy> DecodePolicy(uint64_t raw) {
  if (!Bit(raw, 17)) {
    return MakeError(ErrorCode::kInvalidArgument, "POLICY (0x008): reserved bit 17 must be 1");
  }
  if ((raw >> 26) != 0) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "POLICY (0x008): reserved bits 63:26 must be zero");
  }
  GuestPolicy p;
  p.raw = raw;
  p.abi_minor = static_cast<uint8_t>(raw);
  p.abi_major = static_cast<uint8_t>(raw >> 8);
  p.smt = Bit(raw, 16);
  p.migrate_ma = Bit(raw, 18);
  p.debug = Bit(raw, 19);
  p.single_socket = Bit(raw, 20);
  p.cxl_allow = Bit(raw, 21);
  p.mem_aes_256_xts = Bit(raw, 22);
  p.rapl_dis = Bit(raw, 23);
  p.ciphertext_hiding = Bit(raw, 24);
  p.page_swap_disable = Bit(raw, 25);
  return p;
}

// LAYOUTS §1.2.
PlatformInfo DecodePlatformInfo(uint64_t raw) {
  PlatformInfo p;
  p.raw = raw;
  p.smt_en = Bit(raw, 0);
  p.tsme_en = Bit(raw, 1);
  p.ecc_en = Bit(raw, 2);
  p.rapl_dis = Bit(raw, 3);
  p.ciphertext_hiding_en = Bit(raw, 4);
  p.alias_check_complete = Bit(raw, 5);
  p.tio_en = Bit(raw, 7);
  return p;
}

// The u32 at 0x048: bit 0 AUTHOR_KEY_EN, bit 1 MASK_CHIP_KEY, bits 4:2 SIGNING_KEY.
Result<SignerInfo> DecodeSignerInfo(uint32_t raw) {
  if ((raw >> 5) != 0) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "signer info (0x048): reserved bits 31:5 must be zero");
  }
  SignerInfo s;
  s.raw = raw;
  s.author_key_en = Bit(raw, 0);
  s.mask_chip_key = Bit(raw, 1);
  uint32_t key = (raw >> 2) & 7;
  switch (key) {
    case 0:
      s.signing_key = SigningKey::kVcek;
      break;
    case 1:
      s.signing_key = SigningKey::kVlek;
      break;
    case 7:
      s.signing_key = SigningKey::kNone;
      break;
    default:
      return MakeError(ErrorCode::kInvalidArgument,
                       "signer info (0x048): reserved SIGNING_KEY value " + std::to_string(key));
  }
  return s;
}

Result<FirmwareVersion> ReadFirmware(ByteReader& r, std::string_view name,
                                     std::string_view reserved_name) {
  FirmwareVersion v;
  CRYPTA_ASSIGN_OR_RETURN(v.build, r.ReadU8(name));
  CRYPTA_ASSIGN_OR_RETURN(v.minor, r.ReadU8(name));
  CRYPTA_ASSIGN_OR_RETURN(v.major, r.ReadU8(name));
  CRYPTA_RETURN_IF_ERROR(r.ExpectZero(1, reserved_name));
  return v;
}

}  // namespace

std::string_view SigningKeyName(SigningKey key) {
  switch (key) {
    case SigningKey::kVcek:
      return "VCEK";
    case SigningKey::kVlek:
      return "VLEK";
    case SigningKey::kNone:
      return "none";
  }
  return "unknown";
}

nlohmann::json FirmwareVersion::ToJson() const {
  return {{"major", major}, {"minor", minor}, {"build", build}};
}

std::optional<SnpProduct> AttestationReport::CpuidProduct() const {
  if (version < 3) return std::nullopt;
  return SnpProductFromCpuid(cpuid_fam_id, cpuid_mod_id);
}

bool AttestationReport::ChipIdIsZero() const {
  return std::all_of(chip_id.begin(), chip_id.end(), [](uint8_t b) { return b == 0; });
}

Result<AttestationReport> ParseAttestationReport(ByteSpan raw) {
  if (raw.size() != kReportSize) {
    return MakeError(ErrorCode::kInvalidArgument, "SNP report: length " +
                                                      std::to_string(raw.size()) + ", want " +
                                                      std::to_string(kReportSize));
  }
  ByteReader r(raw);
  AttestationReport rep;
  CRYPTA_ASSIGN_OR_RETURN(rep.version, r.ReadU32LE("VERSION (0x000)"));
  if (rep.version < kMinReportVersion || rep.version > kMaxReportVersion) {
    return MakeError(ErrorCode::kInvalidArgument, "VERSION (0x000): unsupported report version " +
                                                      std::to_string(rep.version) +
                                                      " (accepted 2..5)");
  }
  CRYPTA_ASSIGN_OR_RETURN(rep.guest_svn, r.ReadU32LE("GUEST_SVN (0x004)"));
  CRYPTA_ASSIGN_OR_RETURN(uint64_t policy, r.ReadU64LE("POLICY (0x008)"));
  CRYPTA_ASSIGN_OR_RETURN(rep.policy, DecodePolicy(policy));
  CRYPTA_ASSIGN_OR_RETURN(rep.family_id, ReadField(r, 16, "FAMILY_ID (0x010)"));
  CRYPTA_ASSIGN_OR_RETURN(rep.image_id, ReadField(r, 16, "IMAGE_ID (0x020)"));
  CRYPTA_ASSIGN_OR_RETURN(rep.vmpl, r.ReadU32LE("VMPL (0x030)"));
  if (rep.vmpl > 3) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "VMPL (0x030): " + std::to_string(rep.vmpl) + " is not in 0..3");
  }
  CRYPTA_ASSIGN_OR_RETURN(rep.signature_algo, r.ReadU32LE("SIGNATURE_ALGO (0x034)"));
  if (rep.signature_algo != kSignatureAlgoEcdsaP384Sha384) {
    return MakeError(ErrorCode::kInvalidArgument, "SIGNATURE_ALGO (0x034): unknown algorithm " +
                                                      std::to_string(rep.signature_algo) +
                                                      " (only 1, ECDSA P-384/SHA-384)");
  }
  CRYPTA_ASSIGN_OR_RETURN(rep.current_tcb, r.ReadU64LE("CURRENT_TCB (0x038)"));
  CRYPTA_ASSIGN_OR_RETURN(uint64_t platform_info, r.ReadU64LE("PLATFORM_INFO (0x040)"));
  rep.platform_info = DecodePlatformInfo(platform_info);
  CRYPTA_ASSIGN_OR_RETURN(uint32_t signer, r.ReadU32LE("signer info (0x048)"));
  CRYPTA_ASSIGN_OR_RETURN(rep.signer_info, DecodeSignerInfo(signer));
  CRYPTA_RETURN_IF_ERROR(r.ExpectZero(4, "reserved 0x04C..0x04F"));
  CRYPTA_ASSIGN_OR_RETURN(rep.report_data, ReadField(r, 64, "REPORT_DATA (0x050)"));
  CRYPTA_ASSIGN_OR_RETURN(rep.measurement, ReadField(r, 48, "MEASUREMENT (0x090)"));
  CRYPTA_ASSIGN_OR_RETURN(rep.host_data, ReadField(r, 32, "HOST_DATA (0x0C0)"));
  CRYPTA_ASSIGN_OR_RETURN(rep.id_key_digest, ReadField(r, 48, "ID_KEY_DIGEST (0x0E0)"));
  CRYPTA_ASSIGN_OR_RETURN(rep.author_key_digest, ReadField(r, 48, "AUTHOR_KEY_DIGEST (0x110)"));
  CRYPTA_ASSIGN_OR_RETURN(rep.report_id, ReadField(r, 32, "REPORT_ID (0x140)"));
  CRYPTA_ASSIGN_OR_RETURN(rep.report_id_ma, ReadField(r, 32, "REPORT_ID_MA (0x160)"));
  CRYPTA_ASSIGN_OR_RETURN(rep.reported_tcb, r.ReadU64LE("REPORTED_TCB (0x180)"));
  if (rep.version >= 3) {
    CRYPTA_ASSIGN_OR_RETURN(rep.cpuid_fam_id, r.ReadU8("CPUID_FAM_ID (0x188)"));
    CRYPTA_ASSIGN_OR_RETURN(rep.cpuid_mod_id, r.ReadU8("CPUID_MOD_ID (0x189)"));
    CRYPTA_ASSIGN_OR_RETURN(rep.cpuid_step, r.ReadU8("CPUID_STEP (0x18A)"));
    CRYPTA_RETURN_IF_ERROR(r.ExpectZero(21, "reserved 0x18B..0x19F"));
  } else {
    CRYPTA_RETURN_IF_ERROR(r.ExpectZero(24, "reserved 0x188..0x19F (version 2)"));
  }
  CRYPTA_ASSIGN_OR_RETURN(rep.chip_id, ReadField(r, 64, "CHIP_ID (0x1A0)"));
  CRYPTA_ASSIGN_OR_RETURN(rep.committed_tcb, r.ReadU64LE("COMMITTED_TCB (0x1E0)"));
  CRYPTA_ASSIGN_OR_RETURN(rep.current_fw,
                          ReadFirmware(r, "CURRENT_BUILD/MINOR/MAJOR (0x1E8)", "reserved 0x1EB"));
  CRYPTA_ASSIGN_OR_RETURN(rep.committed_fw,
                          ReadFirmware(r, "COMMITTED_BUILD/MINOR/MAJOR (0x1EC)", "reserved 0x1EF"));
  CRYPTA_ASSIGN_OR_RETURN(rep.launch_tcb, r.ReadU64LE("LAUNCH_TCB (0x1F0)"));
  if (rep.version >= 5) {
    CRYPTA_ASSIGN_OR_RETURN(rep.launch_mit_vector, r.ReadU64LE("LAUNCH_MIT_VECTOR (0x1F8)"));
    CRYPTA_ASSIGN_OR_RETURN(rep.current_mit_vector, r.ReadU64LE("CURRENT_MIT_VECTOR (0x200)"));
  } else {
    CRYPTA_RETURN_IF_ERROR(r.ExpectZero(16, "reserved 0x1F8..0x207 (mitigation vectors, v5)"));
  }
  CRYPTA_RETURN_IF_ERROR(r.ExpectZero(0x98, "reserved 0x208..0x29F"));
  // SNP ABI Table 139 (ECDSA P-384 signature): R and S little-endian in 72-byte fields,
  // the 24 bytes above the 48-byte value zero; the rest of the signature area zero.
  CRYPTA_ASSIGN_OR_RETURN(rep.signature_r, ReadField(r, 48, "SIGNATURE R (0x2A0)"));
  CRYPTA_RETURN_IF_ERROR(r.ExpectZero(24, "signature R padding 0x2D0..0x2E7"));
  CRYPTA_ASSIGN_OR_RETURN(rep.signature_s, ReadField(r, 48, "SIGNATURE S (0x2E8)"));
  CRYPTA_RETURN_IF_ERROR(r.ExpectZero(24, "signature S padding 0x318..0x32F"));
  CRYPTA_RETURN_IF_ERROR(r.ExpectZero(0x170, "reserved signature area 0x330..0x49F"));
  CRYPTA_RETURN_IF_ERROR(r.Finish("SNP report"));

  rep.signature_r.resize(kSignatureComponentSize, 0);
  rep.signature_s.resize(kSignatureComponentSize, 0);
  rep.signed_bytes.assign(raw.begin(), raw.begin() + kSignedRangeSize);
  rep.signature = Concat(rep.signature_r, rep.signature_s);
  return rep;
}

}  // namespace crypta::attest::snp

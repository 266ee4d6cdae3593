#include "attest/nvidia/sim_gpu.h"

#include "attest/nvidia/report.h"
#include "attest/nvidia/verifier.h"
#include "crypto/hash.h"
#include "crypto/random.h"
#include "crypto/signature.h"
#include "crypto/x509_builder.h"

namespace crypta::attest::nvidia {
namespace {

constexpr uint8_t kSimBlockCount = 64;
constexpr size_t kSimValueSize = 48;  // SHA-384

// Little-endian appends (SPDM integers are LE; ByteWriter writes BE).
void PutU16(Bytes& out, uint16_t v) {
  out.push_back(static_cast<uint8_t>(v));
  out.push_back(static_cast<uint8_t>(v >> 8));
}
void PutU32(Bytes& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

void PutOpaque(Bytes& out, OpaqueFieldType type, ByteSpan value) {
  PutU16(out, static_cast<uint16_t>(type));
  PutU16(out, static_cast<uint16_t>(value.size()));
  out.insert(out.end(), value.begin(), value.end());
}

// NUL-padded ASCII, as the GPU writes CHIP_SKU and PROJECT fields.
Bytes Padded(const std::string& s, size_t size) {
  Bytes b(s.begin(), s.end());
  b.resize(size, 0);
  return b;
}

// The FWID extension value: SEQUENCE { SEQUENCE { OID sha384, OCTET STRING (48) } }, the
// FWID structure of the TCG DICE arc (it ends in the 48-byte digest, as on Hopper leaves).
Bytes FwidExtensionValue(ByteSpan fwid) {
  const uint8_t sha384_oid[] = {0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02};
  const uint8_t digest_len = static_cast<uint8_t>(fwid.size());
  const uint8_t inner_len = static_cast<uint8_t>(sizeof(sha384_oid) + 2 + fwid.size());
  const uint8_t outer_len = static_cast<uint8_t>(inner_len + 2);
  const uint8_t outer_head[] = {0x30, outer_len, 0x30, inner_len};
  const uint8_t octet_head[] = {0x04, digest_len};
  return Concat(ByteSpan(outer_head), ByteSpan(sha384_oid), ByteSpan(octet_head), fwid);
}

}  // namespace

Bytes SimGpuMeasurement(uint8_t index, const std::string& driver_version,
                        const std::string& vbios_version) {
  Hasher h(HashAlg::kSha384);
  h.Update(AsBytes("crypta sim GPU measurement v1"));
  h.Update(ByteSpan(&index, 1));
  const uint8_t sep = 0;
  h.Update(AsBytes(driver_version));
  h.Update(ByteSpan(&sep, 1));
  h.Update(AsBytes(vbios_version));
  return h.Finish();
}

Result<SimGpu> IssueSimGpu(const attest::SimCa& ca, const std::string& gpu_id, int64_t now) {
  if (gpu_id.empty() || gpu_id.size() > 64) {
    return MakeError(ErrorCode::kInvalidArgument, "sim GPU id must be 1..64 characters");
  }
  for (char c : gpu_id) {
    if (c < 0x21 || c > 0x7E || c == ',' || c == '\\' || c == '+' || c == '"') {
      return MakeError(ErrorCode::kInvalidArgument,
                       "sim GPU id: printable ASCII without spaces or , \\ + \"");
    }
  }
  CRYPTA_ASSIGN_OR_RETURN(PrivateKey key, PrivateKey::Generate(KeyType::kEcP384));
  const Bytes fwid = Sha384(Concat(AsBytes("crypta sim GPU FMC"), AsBytes(gpu_id)));
  CertificateTemplate t;
  t.common_name = "crypta SIMULATED GPU " + gpu_id;
  t.organization = "crypta sim (NOT A REAL GPU)";
  t.not_before = now - 300;
  t.not_after = now + 365ll * 86400;
  t.extensions.push_back({kTcgDiceFwidOid, false, FwidExtensionValue(fwid)});
  CRYPTA_ASSIGN_OR_RETURN(Certificate leaf,
                          IssueCertificate(t, key.GetPublicKey(), &ca.cert, ca.key));
  return SimGpu{gpu_id, std::move(key), {std::move(leaf), ca.cert}};
}

Result<Bytes> SignSimGpuReport(const SimGpu& gpu, const SimGpuReport& in) {
  if (in.nonce.size() != kSpdmNonceSize) {
    return MakeError(ErrorCode::kInvalidArgument, "sim GPU report: nonce must be 32 bytes");
  }
  if (in.driver_version.empty() || in.driver_version.size() > 32) {
    return MakeError(ErrorCode::kInvalidArgument, "sim GPU report: driver version 1..32 chars");
  }
  if (gpu.chain.empty()) return MakeError(ErrorCode::kInvalidArgument, "sim GPU: no chain");
  CRYPTA_ASSIGN_OR_RETURN(Bytes vbios, EncodeVbiosVersion(in.vbios_version));
  CRYPTA_ASSIGN_OR_RETURN(Bytes fwid, LeafFwid(gpu.chain.front()));

  Bytes out;
  // GET_MEASUREMENTS request: SPDM 1.1, signature requested, all blocks, slot 0.
  out.insert(out.end(), {kSpdmVersion11, kSpdmGetMeasurements, 0x01, 0xFF});
  out.insert(out.end(), in.nonce.begin(), in.nonce.end());
  out.push_back(0x00);
  // MEASUREMENTS response header.
  const uint32_t record_length = kSimBlockCount * (4 + 3 + kSimValueSize);
  out.insert(out.end(), {kSpdmVersion11, kSpdmMeasurements, 0x00, 0x00, kSimBlockCount});
  out.push_back(static_cast<uint8_t>(record_length));
  out.push_back(static_cast<uint8_t>(record_length >> 8));
  out.push_back(static_cast<uint8_t>(record_length >> 16));
  for (uint8_t i = 1; i <= kSimBlockCount; ++i) {
    out.push_back(i);     // Index
    out.push_back(0x01);  // DMTF
    PutU16(out, 3 + kSimValueSize);
    out.push_back(0x01);  // mutable firmware, digest
    PutU16(out, kSimValueSize);
    Bytes v = SimGpuMeasurement(i, in.driver_version, in.vbios_version);
    out.insert(out.end(), v.begin(), v.end());
  }
  CRYPTA_ASSIGN_OR_RETURN(Bytes responder_nonce, RandomBytes(kSpdmNonceSize));
  out.insert(out.end(), responder_nonce.begin(), responder_nonce.end());

  Bytes opaque;
  PutOpaque(opaque, OpaqueFieldType::kVbiosVersion, vbios);
  PutOpaque(opaque, OpaqueFieldType::kChipSku, Padded("sim", 4));
  PutOpaque(opaque, OpaqueFieldType::kChipSkuMod, Padded("0", 4));
  PutOpaque(opaque, OpaqueFieldType::kProject, Padded("sim", 5));
  PutOpaque(opaque, OpaqueFieldType::kProjectSku, Padded("0000", 5));
  Bytes driver(in.driver_version.begin(), in.driver_version.end());
  driver.push_back(0);
  PutOpaque(opaque, OpaqueFieldType::kDriverVersion, driver);
  Bytes counts;
  for (uint8_t i = 0; i < kSimBlockCount; ++i) PutU32(counts, 1);
  PutOpaque(opaque, OpaqueFieldType::kMsrsCnt, counts);
  const uint8_t disabled = 0x55;
  PutOpaque(opaque, OpaqueFieldType::kNvdec0Status, ByteSpan(&disabled, 1));
  PutOpaque(opaque, OpaqueFieldType::kFwid, fwid);
  PutOpaque(opaque, OpaqueFieldType::kProtectedPcieStatus, ByteSpan(&disabled, 1));
  uint32_t flag = static_cast<uint32_t>(GpuCcTopology::kSpt);
  if (in.devtools) {
    flag |= kSimFeatureDevtools;
  } else if (!in.cc_mode) {
    flag |= kSimFeatureCcOff;
  }
  Bytes flag_bytes;
  PutU32(flag_bytes, flag);
  PutOpaque(opaque, OpaqueFieldType::kFeatureFlag, flag_bytes);
  PutU16(out, static_cast<uint16_t>(opaque.size()));
  out.insert(out.end(), opaque.begin(), opaque.end());

  CRYPTA_ASSIGN_OR_RETURN(Bytes sig,
                          EcdsaSign(gpu.key, HashAlg::kSha384, out, {.format = EcdsaFormat::kRaw}));
  if (sig.size() != kHopperSignatureSize) {
    return MakeError(ErrorCode::kInternal, "sim GPU report: signature is not 96 bytes");
  }
  out.insert(out.end(), sig.begin(), sig.end());
  return out;
}

}  // namespace crypta::attest::nvidia

#include "attest/nvidia/report.h"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>
#include <set>
#include <string_view>

#include "common/byte_reader.h"
#include "common/encoding.h"
#include "common/json_canonical.h"

namespace crypta::attest::nvidia {
namespace {

constexpr size_t kMaxOpaqueStringSize = 64;

Error Bad(const std::string& what) {
  return Error(ErrorCode::kInvalidArgument, "GPU report: " + what);
}

std::string Num(uint64_t v) { return std::to_string(v); }

// ASCII text of a string field: NUL padding/termination removed from the end, every
// remaining byte printable ASCII (0x20..0x7E), 1..kMaxOpaqueStringSize characters.
Result<std::string> OpaqueString(ByteSpan value, const char* name) {
  size_t n = value.size();
  while (n > 0 && value[n - 1] == 0) --n;
  if (n == 0 || n > kMaxOpaqueStringSize) {
    return MakeError(Bad(std::string(name) + ": " + Num(n) + " characters, want 1.." +
                         Num(kMaxOpaqueStringSize)));
  }
  for (size_t i = 0; i < n; ++i) {
    if (value[i] < 0x20 || value[i] > 0x7E) {
      return MakeError(Bad(std::string(name) + ": byte " + Num(i) + " is not printable ASCII"));
    }
  }
  return std::string(reinterpret_cast<const char*>(value.data()), n);
}

Status ExpectSize(ByteSpan value, size_t want, const char* name) {
  if (value.size() != want) {
    return MakeError(
        Bad(std::string(name) + ": " + Num(value.size()) + " bytes, want " + Num(want)));
  }
  return OkStatus();
}

Result<uint64_t> OpaqueUnsigned(ByteSpan value, const char* name) {
  if (value.empty() || value.size() > 8) {
    return MakeError(Bad(std::string(name) + ": " + Num(value.size()) + " bytes, want 1..8"));
  }
  uint64_t v = 0;
  for (size_t i = value.size(); i-- > 0;) v = (v << 8) | value[i];
  return v;
}

bool IsKnownOpaqueType(uint16_t t) { return (t >= 1 && t <= 25) || (t >= 32 && t <= 36); }

// LAYOUTS §5: repeated type (u16 LE) || length (u16 LE) || value; known types only, each
// at most once, lengths exact where the encoding fixes them.
Result<GpuOpaqueData> ParseOpaqueData(ByteSpan data) {
  GpuOpaqueData out;
  ByteReader r(data);
  while (!r.empty()) {
    CRYPTA_ASSIGN_OR_RETURN(uint16_t type, r.ReadU16LE("opaque field type"));
    CRYPTA_ASSIGN_OR_RETURN(uint16_t length, r.ReadU16LE("opaque field length"));
    auto value_or = r.ReadBytes(length, "opaque field value");
    if (!value_or) {
      return MakeError(Bad("opaque field " + Num(type) + " declares " + Num(length) +
                           " bytes but only " + Num(r.remaining()) + " remain"));
    }
    ByteSpan value = *value_or;
    if (!IsKnownOpaqueType(type)) return MakeError(Bad("unknown opaque field type " + Num(type)));
    if (!out.raw_fields.emplace(type, Bytes(value.begin(), value.end())).second) {
      return MakeError(Bad("opaque field " + Num(type) + " occurs twice"));
    }
    switch (static_cast<OpaqueFieldType>(type)) {
      case OpaqueFieldType::kDriverVersion: {
        CRYPTA_ASSIGN_OR_RETURN(out.driver_version, OpaqueString(value, "DRIVER_VERSION"));
        break;
      }
      case OpaqueFieldType::kVbiosVersion: {
        CRYPTA_ASSIGN_OR_RETURN(out.vbios_version, FormatVbiosVersion(value));
        out.vbios_raw.assign(value.begin(), value.end());
        break;
      }
      case OpaqueFieldType::kFwid:
        CRYPTA_RETURN_IF_ERROR(ExpectSize(value, kFwidSize, "FWID"));
        out.fwid = Bytes(value.begin(), value.end());
        break;
      case OpaqueFieldType::kNvdec0Status:
        CRYPTA_RETURN_IF_ERROR(ExpectSize(value, 1, "NVDEC0_STATUS"));
        out.nvdec0_status = value[0];
        break;
      case OpaqueFieldType::kProtectedPcieStatus:
        CRYPTA_RETURN_IF_ERROR(ExpectSize(value, 1, "PROTECTED_PCIE_STATUS"));
        out.protected_pcie_status = value[0];
        break;
      case OpaqueFieldType::kMsrsCnt: {
        if (value.size() % 4 != 0) {
          return MakeError(Bad("MSRSCNT: " + Num(value.size()) + " bytes, not a multiple of 4"));
        }
        ByteReader m(value);
        while (!m.empty()) {
          CRYPTA_ASSIGN_OR_RETURN(uint32_t c, m.ReadU32LE("MSRSCNT"));
          out.msrs_cnt.push_back(c);
        }
        break;
      }
      case OpaqueFieldType::kSwitchPdi: {
        if (value.size() % 8 != 0) {
          return MakeError(Bad("SWITCH_PDI: " + Num(value.size()) + " bytes, not a multiple of 8"));
        }
        for (size_t i = 0; i < value.size(); i += 8) {
          out.switch_pdis.emplace_back(value.begin() + i, value.begin() + i + 8);
        }
        break;
      }
      case OpaqueFieldType::kGpuInfo:
        out.gpu_info = Bytes(value.begin(), value.end());
        break;
      case OpaqueFieldType::kCprInfo:
        out.cpr_info = Bytes(value.begin(), value.end());
        break;
      case OpaqueFieldType::kBoardId:
        out.board_id = Bytes(value.begin(), value.end());
        break;
      case OpaqueFieldType::kProjectSkuMod:
        out.project_sku_mod = Bytes(value.begin(), value.end());
        break;
      case OpaqueFieldType::kChipSku: {
        CRYPTA_ASSIGN_OR_RETURN(out.chip_sku, OpaqueString(value, "CHIP_SKU"));
        break;
      }
      case OpaqueFieldType::kChipSkuMod: {
        CRYPTA_ASSIGN_OR_RETURN(out.chip_sku_mod, OpaqueString(value, "CHIP_SKU_MOD"));
        break;
      }
      case OpaqueFieldType::kProject: {
        CRYPTA_ASSIGN_OR_RETURN(out.project, OpaqueString(value, "PROJECT"));
        break;
      }
      case OpaqueFieldType::kProjectSku: {
        CRYPTA_ASSIGN_OR_RETURN(out.project_sku, OpaqueString(value, "PROJECT_SKU"));
        break;
      }
      case OpaqueFieldType::kSku: {
        CRYPTA_ASSIGN_OR_RETURN(out.sku, OpaqueString(value, "SKU"));
        break;
      }
      case OpaqueFieldType::kChipInfo: {
        CRYPTA_ASSIGN_OR_RETURN(out.chip_info, OpaqueString(value, "CHIP_INFO"));
        break;
      }
      case OpaqueFieldType::kOpaqueDataVersion: {
        CRYPTA_ASSIGN_OR_RETURN(out.opaque_data_version,
                                OpaqueUnsigned(value, "OPAQUE_DATA_VERSION"));
        break;
      }
      case OpaqueFieldType::kFeatureFlag: {
        CRYPTA_ASSIGN_OR_RETURN(uint64_t flag, OpaqueUnsigned(value, "FEATURE_FLAG"));
        if ((flag & kNvidiaFeatureFlagMask) > static_cast<uint64_t>(GpuCcTopology::kPpcie)) {
          return MakeError(Bad("FEATURE_FLAG: mode " + Num(flag & kNvidiaFeatureFlagMask) +
                               " is not SPT (0), MPT (1) or PPCIE (2)"));
        }
        out.feature_flag = flag;
        break;
      }
      default:
        break;  // kept raw only
    }
  }
  // Trustee requires both versions; RIM selection needs them (LAYOUTS §8.2).
  if (out.driver_version.empty()) return MakeError(Bad("opaque data has no DRIVER_VERSION (3)"));
  if (out.vbios_version.empty()) return MakeError(Bad("opaque data has no VBIOS_VERSION (6)"));
  return out;
}

bool IsHexText(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isxdigit(static_cast<unsigned char>(c)) != 0;
  });
}

std::string_view TrimAscii(std::string_view s) {
  auto ws = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!s.empty() && ws(s.front())) s.remove_prefix(1);
  while (!s.empty() && ws(s.back())) s.remove_suffix(1);
  return s;
}

Error BadEnvelope(const std::string& what) {
  return Error(ErrorCode::kInvalidArgument, "GPU evidence: " + what);
}

// The report of one envelope entry: hex (the original encoding) when it decodes to
// something that starts like a report, else standard base64 (Trustee accepts both).
Result<Bytes> DecodeEnvelopeReport(const std::string& text, const std::string& where) {
  if (text.size() > 2 * kMaxGpuReportSize) {
    return MakeError(BadEnvelope(where + ".evidence: larger than the report size cap"));
  }
  if (IsHexText(text)) {
    if (auto hex = HexDecode(text); hex && !hex->empty() && (*hex)[0] == kSpdmVersion11) {
      return *hex;
    }
  }
  auto b64 = Base64Decode(text);
  if (!b64) {
    return MakeError(
        BadEnvelope(where + ".evidence: neither hex nor base64 (" + b64.error().message() + ")"));
  }
  if (b64->empty() || b64->size() > kMaxGpuReportSize) {
    return MakeError(BadEnvelope(where + ".evidence: " + Num(b64->size()) + " bytes, want 1.." +
                                 Num(kMaxGpuReportSize)));
  }
  return *b64;
}

Result<std::string> NormalizeArch(const std::string& arch, const std::string& where) {
  std::string lower;
  for (char c : arch)
    lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  if (lower == "hopper" || lower == "blackwell" || lower == "ls10") return lower;
  return MakeError(
      BadEnvelope(where + ".arch \"" + arch.substr(0, 32) + "\" is not HOPPER, BLACKWELL or LS10"));
}

Result<GpuDeviceEvidence> ParseEnvelopeDevice(const nlohmann::json& d, size_t i) {
  const std::string where = "device_evidence_list[" + Num(i) + "]";
  if (!d.is_object()) return MakeError(BadEnvelope(where + " is not an object"));
  static const std::set<std::string> kMembers = {"arch", "uuid", "evidence", "certificate"};
  for (auto it = d.begin(); it != d.end(); ++it) {
    if (!kMembers.count(it.key())) {
      return MakeError(
          BadEnvelope(where + " has an unknown member \"" + it.key().substr(0, 32) + "\""));
    }
  }
  for (const char* m : {"arch", "evidence", "certificate"}) {
    auto it = d.find(m);
    if (it == d.end() || !it->is_string()) {
      return MakeError(BadEnvelope(where + "." + m + " is missing or not a string"));
    }
  }
  GpuDeviceEvidence out;
  if (auto it = d.find("uuid"); it != d.end()) {
    if (!it->is_string() || it->get_ref<const std::string&>().size() > 128) {
      return MakeError(BadEnvelope(where + ".uuid must be a string of at most 128 characters"));
    }
    out.uuid = it->get<std::string>();
  }
  CRYPTA_ASSIGN_OR_RETURN(out.arch, NormalizeArch(d["arch"].get<std::string>(), where));
  CRYPTA_ASSIGN_OR_RETURN(out.report,
                          DecodeEnvelopeReport(d["evidence"].get<std::string>(), where));
  const std::string& cert_b64 = d["certificate"].get_ref<const std::string&>();
  if (!cert_b64.empty()) {
    auto pem = Base64Decode(cert_b64);
    if (!pem) {
      return MakeError(
          BadEnvelope(where + ".certificate is not base64 (" + pem.error().message() + ")"));
    }
    if (pem->size() > kMaxGpuChainPemSize) {
      return MakeError(BadEnvelope(where + ".certificate: chain larger than " +
                                   Num(kMaxGpuChainPemSize) + " bytes"));
    }
    out.certificate_chain_pem = ToString(*pem);
  }
  return out;
}

}  // namespace

std::string_view GpuCcTopologyName(GpuCcTopology t) {
  switch (t) {
    case GpuCcTopology::kSpt:
      return "spt";
    case GpuCcTopology::kMpt:
      return "mpt";
    case GpuCcTopology::kPpcie:
      return "ppcie";
  }
  return "unknown";
}

std::map<uint32_t, Bytes> GpuReport::Measurements() const {
  std::map<uint32_t, Bytes> out;
  for (const MeasurementBlock& b : blocks) out.emplace(b.index, b.value);
  return out;
}

Result<std::string> FormatVbiosVersion(ByteSpan raw) {
  if (raw.size() != 8) {
    return MakeError(Bad("VBIOS_VERSION: " + Num(raw.size()) + " bytes, want 8"));
  }
  const uint8_t order[] = {raw[3], raw[2], raw[1], raw[0], raw[4]};
  std::string out;
  for (size_t i = 0; i < 5; ++i) {
    if (i) out.push_back('.');
    out += HexEncode(ByteSpan(&order[i], 1));
  }
  return out;
}

Result<Bytes> EncodeVbiosVersion(const std::string& version) {
  // "hh.hh.hh.hh.hh"
  if (version.size() != 14) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "VBIOS version \"" + version.substr(0, 32) + "\" is not hh.hh.hh.hh.hh");
  }
  Bytes parts;
  for (size_t i = 0; i < 5; ++i) {
    if (i < 4 && version[3 * i + 2] != '.') {
      return MakeError(ErrorCode::kInvalidArgument, "VBIOS version: '.' expected");
    }
    auto b = HexDecode(std::string_view(version).substr(3 * i, 2));
    if (!b) return MakeError(ErrorCode::kInvalidArgument, "VBIOS version: bad hex");
    parts.push_back((*b)[0]);
  }
  return Bytes{parts[3], parts[2], parts[1], parts[0], parts[4], 0, 0, 0};
}

Result<GpuReport> ParseGpuReport(ByteSpan report) {
  if (report.size() > kMaxGpuReportSize) {
    return MakeError(ErrorCode::kResourceExhausted, "GPU report: " + Num(report.size()) +
                                                        " bytes, over the " +
                                                        Num(kMaxGpuReportSize) + "-byte cap");
  }
  GpuReport out;
  ByteReader r(report);
  // GET_MEASUREMENTS request (DSP0274 1.1 §10.11, Table 43; LAYOUTS §2).
  auto head = r.ReadBytes(kSpdmRequestSize, "GET_MEASUREMENTS request");
  if (!head) {
    return MakeError(Bad(Num(report.size()) + " bytes, shorter than the 37-byte request"));
  }
  ByteSpan req = *head;
  if (req[0] != kSpdmVersion11) {
    return MakeError(
        Bad("request SPDMVersion 0x" + HexEncode(req.subspan(0, 1)) + ", want 0x11 (SPDM 1.1)"));
  }
  if (req[1] != kSpdmGetMeasurements) {
    return MakeError(
        Bad("request code 0x" + HexEncode(req.subspan(1, 1)) + ", want 0xE0 (GET_MEASUREMENTS)"));
  }
  out.request_param1 = req[2];
  out.request_param2 = req[3];
  if ((out.request_param1 & 0x01) == 0) {
    return MakeError(Bad("request Param1 bit 0 clear: no signature was requested"));
  }
  out.nonce.assign(req.begin() + 4, req.begin() + 4 + kSpdmNonceSize);
  out.slot_id = req[36] & 0x0F;
  if ((req[36] & 0xF0) != 0) return MakeError(Bad("request SlotIDParam bits 7:4 not zero"));

  // MEASUREMENTS response (§10.11, Table 45; LAYOUTS §3).
  auto rhead = r.ReadBytes(8, "MEASUREMENTS header");
  if (!rhead) return MakeError(Bad("truncated MEASUREMENTS header"));
  ByteSpan h = *rhead;
  if (h[0] != kSpdmVersion11) {
    return MakeError(
        Bad("response SPDMVersion 0x" + HexEncode(h.subspan(0, 1)) + ", want 0x11 (SPDM 1.1)"));
  }
  if (h[1] != kSpdmMeasurements) {
    return MakeError(
        Bad("response code 0x" + HexEncode(h.subspan(1, 1)) + ", want 0x60 (MEASUREMENTS)"));
  }
  out.response_param1 = h[2];
  out.response_param2 = h[3];
  // SPDM 1.1 Table 45: Param2 bits 3:0 = the slot of the certificate chain used.
  if ((out.response_param2 & 0x0F) != out.slot_id) {
    return MakeError(Bad("response slot " + Num(out.response_param2 & 0x0F) + " != request slot " +
                         Num(out.slot_id)));
  }
  const uint8_t block_count = h[4];
  const uint32_t record_length = h[5] | (h[6] << 8) | (static_cast<uint32_t>(h[7]) << 16);
  if (block_count == 0) return MakeError(Bad("NumberOfBlocks is 0"));
  auto record_or = r.ReadBytes(record_length, "MeasurementRecord");
  if (!record_or) {
    return MakeError(Bad("MeasurementRecordLength " + Num(record_length) + " exceeds the " +
                         Num(r.remaining()) + " remaining bytes"));
  }
  // Measurement blocks (§10.11.1, Table 47) with DMTF measurements (Table 48).
  ByteReader rec(*record_or);
  for (unsigned i = 0; i < block_count; ++i) {
    const std::string b = "block " + Num(i + 1) + ": ";
    auto index = rec.ReadU8("Index");
    auto spec = rec.ReadU8("MeasurementSpecification");
    auto size = rec.ReadU16LE("MeasurementSize");
    if (!index || !spec || !size) {
      return MakeError(Bad(b + "record ends inside the block header (" + Num(block_count) +
                           " blocks in " + Num(record_length) + " bytes)"));
    }
    if (*index == 0 || *index == 0xFF) {
      return MakeError(Bad(b + "Index " + Num(*index) + " is reserved"));
    }
    if (!out.blocks.empty() && *index <= out.blocks.back().index) {
      return MakeError(Bad(b + "Index " + Num(*index) + " not ascending"));
    }
    if (*spec != 0x01) {
      return MakeError(Bad(b + "MeasurementSpecification 0x" + HexEncode(ByteSpan(&*spec, 1)) +
                           ", want 0x01 (DMTF)"));
    }
    auto dmtf = rec.ReadBytes(*size, "DMTF measurement");
    if (!dmtf) return MakeError(Bad(b + "MeasurementSize " + Num(*size) + " overruns the record"));
    ByteReader m(*dmtf);
    auto type = m.ReadU8("DMTFSpecMeasurementValueType");
    auto vsize = m.ReadU16LE("DMTFSpecMeasurementValueSize");
    if (!type || !vsize || m.remaining() != *vsize) {
      return MakeError(Bad(b + "DMTF value size does not fill MeasurementSize " + Num(*size)));
    }
    ByteSpan value = m.rest();
    out.blocks.push_back(MeasurementBlock{*index, *type, Bytes(value.begin(), value.end())});
  }
  if (!rec.empty()) {
    return MakeError(Bad(Num(rec.remaining()) + " bytes of MeasurementRecord left after " +
                         Num(block_count) + " blocks"));
  }
  auto rnonce = r.ReadBytes(kSpdmNonceSize, "responder Nonce");
  if (!rnonce) return MakeError(Bad("truncated before the responder nonce"));
  out.responder_nonce.assign(rnonce->begin(), rnonce->end());
  auto opaque_length = r.ReadU16LE("OpaqueLength");
  if (!opaque_length) return MakeError(Bad("truncated before OpaqueLength"));
  if (*opaque_length > kMaxSpdmOpaqueSize) {
    return MakeError(Bad("OpaqueLength " + Num(*opaque_length) + " over SPDM 1.1's 1024"));
  }
  auto opaque = r.ReadBytes(*opaque_length, "OpaqueData");
  if (!opaque) {
    return MakeError(Bad("OpaqueLength " + Num(*opaque_length) + " exceeds the " +
                         Num(r.remaining()) + " remaining bytes"));
  }
  CRYPTA_ASSIGN_OR_RETURN(out.opaque, ParseOpaqueData(*opaque));
  const size_t signed_size = r.position();
  if (r.remaining() != kHopperSignatureSize) {
    return MakeError(Bad(Num(r.remaining()) + " bytes after the opaque data, want exactly the " +
                         Num(kHopperSignatureSize) + "-byte ECDSA P-384 signature"));
  }
  ByteSpan sig = r.rest();
  out.signature.assign(sig.begin(), sig.end());
  out.signed_bytes = report.subspan(0, signed_size);
  return out;
}

Result<Bytes> DecodeGpuReportBytes(ByteSpan input) {
  if (!input.empty() && input[0] == kSpdmVersion11) {
    if (input.size() > kMaxGpuReportSize) {
      return MakeError(ErrorCode::kResourceExhausted, "GPU report: over the size cap");
    }
    return Bytes(input.begin(), input.end());
  }
  if (input.size() > 2 * kMaxGpuReportSize + 64) {
    return MakeError(ErrorCode::kResourceExhausted, "GPU report hex: over the size cap");
  }
  std::string_view text = TrimAscii(AsStringView(input));
  if (!IsHexText(text)) {
    return MakeError(Bad("neither a binary report (first byte 0x11) nor hex text"));
  }
  auto bytes = HexDecode(text);
  if (!bytes) return MakeError(bytes.error().WithContext("GPU report hex"));
  return *bytes;
}

Result<std::vector<GpuDeviceEvidence>> ParseGpuEvidence(ByteSpan evidence) {
  if (evidence.size() > kMaxGpuEvidenceSize) {
    return MakeError(ErrorCode::kResourceExhausted,
                     "GPU evidence: " + Num(evidence.size()) + " bytes, over the cap");
  }
  std::string_view text = TrimAscii(AsStringView(evidence));
  if (text.empty() || text.front() != '{') {
    CRYPTA_ASSIGN_OR_RETURN(Bytes report, DecodeGpuReportBytes(evidence));
    std::vector<GpuDeviceEvidence> one(1);
    one[0].report = std::move(report);
    one[0].arch = "hopper";
    return one;
  }
  auto doc = ParseJsonStrict(text, {.max_bytes = kMaxGpuEvidenceSize, .max_depth = 8});
  if (!doc) return MakeError(doc.error().WithContext("GPU evidence JSON"));
  if (!doc->is_object() || doc->size() != 1 || !doc->contains("device_evidence_list")) {
    return MakeError(BadEnvelope("want an object with exactly \"device_evidence_list\""));
  }
  const nlohmann::json& list = (*doc)["device_evidence_list"];
  if (!list.is_array() || list.empty() || list.size() > kMaxGpuDevices) {
    return MakeError(BadEnvelope("device_evidence_list must be an array of 1.." +
                                 Num(kMaxGpuDevices) + " devices"));
  }
  std::vector<GpuDeviceEvidence> out;
  for (size_t i = 0; i < list.size(); ++i) {
    CRYPTA_ASSIGN_OR_RETURN(GpuDeviceEvidence d, ParseEnvelopeDevice(list[i], i));
    out.push_back(std::move(d));
  }
  return out;
}

Bytes EncodeGpuEvidence(std::span<const GpuDeviceEvidence> devices) {
  nlohmann::json list = nlohmann::json::array();
  for (const GpuDeviceEvidence& d : devices) {
    std::string arch;
    for (char c : d.arch)
      arch.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
    list.push_back({{"arch", arch},
                    {"uuid", d.uuid},
                    {"evidence", Base64Encode(d.report)},
                    {"certificate", Base64Encode(AsBytes(d.certificate_chain_pem))}});
  }
  nlohmann::json doc = {{"device_evidence_list", list}};
  // Replace (rather than throw on) invalid UTF-8 in a caller's uuid.
  return ToBytes(doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

}  // namespace crypta::attest::nvidia

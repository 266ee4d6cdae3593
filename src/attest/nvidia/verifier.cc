#include "attest/nvidia/verifier.h"

#include <algorithm>
#include <climits>
#include <string>
#include <vector>

#include "common/constant_time.h"
#include "common/encoding.h"
#include "crypto/hash.h"
#include "crypto/signature.h"

namespace crypta::attest::nvidia {
namespace {

// Hopper device chains: FMC leaf, BROM, Provisioner ICA, GH100 Identity, root (LAYOUTS §6;
// NVIDIA's verifier requires exactly five).
constexpr size_t kHardwareChainLength = 5;
constexpr size_t kMaxSimChainLength = 8;
constexpr char kSimGpuCnPrefix[] = "crypta SIMULATED GPU ";

Error ChainError(const std::string& what) {
  return Error(ErrorCode::kUnauthenticated, "GPU certificate chain: " + what);
}

const Bytes* FindItem(const Evidence& evidence, const VerifyOptions& options,
                      const std::string& name) {
  if (options.collateral) {
    if (const Bytes* b = options.collateral->Find(name)) return b;
  }
  return evidence.collateral.Find(name);
}

// The CN attribute of an RFC 2253 name ("CN=GH100 A01 GSP BROM,O=NVIDIA Corporation,...").
// Escaped commas ("\,") stay inside the value; the backslashes are dropped.
std::string CommonName(const std::string& rfc2253) {
  size_t pos = 0;
  while (pos < rfc2253.size()) {
    if (rfc2253.compare(pos, 3, "CN=") == 0) {
      std::string out;
      for (size_t i = pos + 3; i < rfc2253.size(); ++i) {
        if (rfc2253[i] == '\\' && i + 1 < rfc2253.size()) {
          out.push_back(rfc2253[++i]);
        } else if (rfc2253[i] == ',') {
          break;
        } else {
          out.push_back(rfc2253[i]);
        }
      }
      return out;
    }
    // Skip to the next unescaped ','.
    while (pos < rfc2253.size() && rfc2253[pos] != ',') pos += rfc2253[pos] == '\\' ? 2 : 1;
    ++pos;
  }
  return "";
}

std::string UpperHex(ByteSpan b) {
  std::string s = HexEncode(b);
  std::transform(s.begin(), s.end(), s.begin(), ::toupper);
  return s;
}

Bytes SerialBytes(const Certificate& cert) {
  std::string hex = cert.serial_hex();
  if (hex.empty() || hex[0] == '-') return {};
  if (hex.size() % 2) hex.insert(hex.begin(), '0');
  auto b = HexDecode(hex);
  return b ? *b : Bytes{};
}

// GPU nonce binding (see verifier.h step 6).
Status CheckGpuNonce(const GpuReport& report, const VerifyOptions& options) {
  if (!options.expected_report_data) return OkStatus();
  const Bytes& want = *options.expected_report_data;
  if (want.size() > kSpdmNonceSize) {
    return MakeError(ErrorCode::kInvalidArgument, "GPU nonce: expected report data is " +
                                                      std::to_string(want.size()) +
                                                      " bytes; a GPU nonce holds at most 32");
  }
  Bytes padded = want;
  padded.resize(kSpdmNonceSize, 0);
  if (!ConstantTimeEquals(padded, report.nonce)) {
    return MakeError(ErrorCode::kUnauthenticated,
                     "GPU nonce: the report's request nonce (bytes 4..35) does not match the "
                     "expected report data");
  }
  return OkStatus();
}

std::string HexByte(uint8_t b) { return HexEncode(ByteSpan(&b, 1)); }

}  // namespace

Result<Bytes> LeafFwid(const Certificate& leaf) {
  auto ext = leaf.FindExtension(kTcgDiceFwidOid);
  if (!ext && ext.error().code() == ErrorCode::kNotFound) {
    ext = leaf.FindExtension(kTcgDiceFwidOidAlt);
  }
  if (!ext) {
    if (ext.error().code() == ErrorCode::kNotFound) {
      return MakeError(ErrorCode::kNotFound,
                       "FWID: certificate \"" + leaf.subject() +
                           "\" has no TCG DICE FWID extension (2.23.133.5.4.1): it is not "
                           "the GPU's FMC leaf");
    }
    return MakeError(ext.error().WithContext("FWID"));
  }
  const Bytes& v = ext->value;
  // The value ends in the FWID digest, OCTET STRING (48) (LAYOUTS §6).
  if (v.size() < kFwidSize + 2 || v[v.size() - kFwidSize - 2] != 0x04 ||
      v[v.size() - kFwidSize - 1] != kFwidSize) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "FWID: the leaf's extension 2.23.133.5.4.1 does not end in a 48-byte "
                     "OCTET STRING");
  }
  return Bytes(v.end() - kFwidSize, v.end());
}

NvidiaGpuVerifier::NvidiaGpuVerifier(Certificate device_root, std::optional<Certificate> sim_root,
                                     NvidiaGpuVerifierOptions options)
    : device_root_(std::move(device_root)),
      sim_root_(std::move(sim_root)),
      options_(std::move(options)) {}

Result<std::shared_ptr<NvidiaGpuVerifier>> NvidiaGpuVerifier::CreatePinned(
    std::optional<Certificate> sim_root, NvidiaGpuVerifierOptions options) {
  CRYPTA_ASSIGN_OR_RETURN(Certificate root, PinnedNvidiaDeviceRoot());
  return std::make_shared<NvidiaGpuVerifier>(std::move(root), std::move(sim_root),
                                             std::move(options));
}

size_t NvidiaGpuVerifier::cached_chain_count() const {
  std::lock_guard<std::mutex> lock(cache_mu_);
  return cache_.size();
}

Result<std::shared_ptr<const NvidiaGpuVerifier::VerifiedGpuChain>>
NvidiaGpuVerifier::VerifyDeviceChainUncached(const std::string& pem, const GpuReport& report,
                                             int64_t time) const {
  if (pem.size() > kMaxGpuChainPemSize) {
    return MakeError(ChainError("larger than " + std::to_string(kMaxGpuChainPemSize) + " bytes"));
  }
  auto parsed = Certificate::ParsePemBundle(pem);
  if (!parsed) return MakeError(parsed.error().WithContext("GPU certificate chain"));
  std::vector<Certificate> certs = std::move(*parsed);
  if (certs.size() < 2) {
    return MakeError(ChainError(std::to_string(certs.size()) +
                                " certificate(s); it must hold at least the signing leaf and "
                                "the root (Hopper: 5, FMC leaf -> BROM -> ICA -> GH100 "
                                "Identity -> root)"));
  }
  // Step 3 first: it needs only the first certificate and names a wrong leaf precisely.
  CRYPTA_ASSIGN_OR_RETURN(Bytes fwid, LeafFwid(certs.front()));
  if (!report.opaque.fwid) {
    return MakeError(ErrorCode::kUnauthenticated, "FWID: the report has no FWID field (20)");
  }
  if (!ConstantTimeEquals(fwid, *report.opaque.fwid)) {
    return MakeError(ErrorCode::kUnauthenticated,
                     "FWID: the report's FWID (opaque field 20) != the leaf certificate's FWID");
  }
  // Step 4: which root, and the shape its chains have.
  const Certificate& last = certs.back();
  bool simulated = false;
  const Certificate* anchor = nullptr;
  if (last.der() == device_root_.der()) {
    if (certs.size() != kHardwareChainLength) {
      return MakeError(ChainError(std::to_string(certs.size()) +
                                  " certificates, want 5 (FMC leaf -> BROM -> ICA -> GH100 "
                                  "Identity -> root)"));
    }
    anchor = &device_root_;
  } else if (sim_root_ && last.der() == sim_root_->der()) {
    if (certs.size() > kMaxSimChainLength) {
      return MakeError(ChainError("sim chain longer than 8 certificates"));
    }
    anchor = &*sim_root_;
    simulated = true;
  } else {
    return MakeError(ChainError("its root \"" + last.subject() +
                                "\" is not the pinned device root (NVIDIA Device Identity CA)" +
                                (sim_root_ ? " nor the configured sim root" : "")));
  }
  std::vector<Certificate> intermediates(certs.begin() + 1, certs.end() - 1);
  const Certificate anchors[] = {*anchor};
  auto verified = VerifyChain(certs.front(), intermediates, anchors, time, {},
                              {.max_depth = static_cast<int>(kMaxSimChainLength)});
  if (!verified) return MakeError(verified.error().WithContext("GPU certificate chain"));
  // Leaf first, in the given order, every certificate used.
  if (verified->certificates.size() != certs.size()) {
    return MakeError(ChainError("the path to the root uses " +
                                std::to_string(verified->certificates.size()) + " of the " +
                                std::to_string(certs.size()) + " certificates"));
  }
  for (size_t i = 0; i < certs.size(); ++i) {
    if (verified->certificates[i].der() != certs[i].der()) {
      return MakeError(ChainError("certificate " + std::to_string(i) + " is out of order"));
    }
  }
  CRYPTA_ASSIGN_OR_RETURN(PublicKey key, certs.front().public_key());
  if (key.type() != KeyType::kEcP384) {
    return MakeError(
        ChainError("leaf key is " + std::string(KeyTypeName(key.type())) + ", want P-384"));
  }
  if (simulated && CommonName(certs.front().subject()).rfind(kSimGpuCnPrefix, 0) != 0) {
    return MakeError(ChainError("a sim GPU leaf's CN must start with \"crypta SIMULATED GPU\""));
  }
  int64_t from = 0, until = INT64_MAX;
  for (const Certificate& c : certs) {
    from = std::max(from, c.not_before());
    until = std::min(until, c.not_after());
  }
  return std::make_shared<const VerifiedGpuChain>(
      VerifiedGpuChain{std::move(certs), std::move(key), std::move(fwid), simulated, from, until});
}

Result<std::shared_ptr<const NvidiaGpuVerifier::VerifiedGpuChain>>
NvidiaGpuVerifier::VerifyDeviceChain(const std::string& pem, const GpuReport& report,
                                     int64_t time) const {
  if (options_.chain_cache_capacity == 0) return VerifyDeviceChainUncached(pem, report, time);
  const std::string key = ToString(Sha256(AsBytes(pem)));
  {
    std::lock_guard<std::mutex> lock(cache_mu_);
    auto it = cache_.find(key);
    if (it != cache_.end() && time >= it->second->valid_from && time <= it->second->valid_until) {
      return it->second;
    }
  }
  CRYPTA_ASSIGN_OR_RETURN(auto verified, VerifyDeviceChainUncached(pem, report, time));
  std::lock_guard<std::mutex> lock(cache_mu_);
  if (cache_.size() >= options_.chain_cache_capacity) cache_.clear();
  cache_[key] = verified;
  return verified;
}

Result<VerifiedEvidence> NvidiaGpuVerifier::Verify(const Evidence& evidence,
                                                   const VerifyOptions& options) const {
  if (evidence.tee != TeeType::kNvidiaGpu) {
    return MakeError(ErrorCode::kInvalidArgument, "NvidiaGpuVerifier: evidence is not nvidia-gpu");
  }
  if (options.verification_time <= 0) {
    return MakeError(ErrorCode::kInvalidArgument, "verification time not set");
  }
  // Step 1.
  CRYPTA_ASSIGN_OR_RETURN(std::vector<GpuDeviceEvidence> devices, ParseGpuEvidence(evidence.raw));
  if (devices.size() != 1) {
    return MakeError(ErrorCode::kInvalidArgument, "GPU evidence holds " +
                                                      std::to_string(devices.size()) +
                                                      " devices: verify each device separately");
  }
  const GpuDeviceEvidence& device = devices.front();
  if (device.arch != "hopper") {
    return MakeError(ErrorCode::kUnimplemented,
                     "GPU evidence: arch \"" + device.arch + "\" is not supported (Hopper only)");
  }
  CRYPTA_ASSIGN_OR_RETURN(GpuReport report, ParseGpuReport(device.report));
  // Step 2.
  std::string pem = device.certificate_chain_pem;
  if (pem.empty()) {
    const Bytes* item = FindItem(evidence, options, "certificate_chain");
    if (!item) {
      return MakeError(ErrorCode::kNotFound,
                       "GPU certificate chain: none in the evidence and no collateral "
                       "\"certificate_chain\"");
    }
    pem = ToString(*item);
  }
  // Steps 3-4.
  CRYPTA_ASSIGN_OR_RETURN(auto chain, VerifyDeviceChain(pem, report, options.verification_time));
  if (!report.opaque.fwid || !ConstantTimeEquals(chain->fwid, *report.opaque.fwid)) {
    return MakeError(ErrorCode::kUnauthenticated,
                     "FWID: the report's FWID (opaque field 20) != the leaf certificate's FWID");
  }
  // FEATURE_FLAG bits beyond NVIDIA's mode byte are crypta sim-only (report.h).
  if (!chain->simulated && report.opaque.feature_flag &&
      (*report.opaque.feature_flag & ~kNvidiaFeatureFlagMask) != 0) {
    return MakeError(ErrorCode::kUnauthenticated,
                     "GPU report: FEATURE_FLAG sets bits NVIDIA does not define (sim-only bits "
                     "in a hardware report)");
  }
  // Step 5 (DSP0274 1.1 §10.11: signature over the request and response before it).
  Status sig = EcdsaVerify(chain->leaf_key, HashAlg::kSha384, report.signed_bytes, report.signature,
                           {.format = EcdsaFormat::kRaw});
  if (!sig) {
    return MakeError(ErrorCode::kUnauthenticated,
                     "GPU report signature does not verify with the leaf certificate's key (" +
                         sig.error().message() + ")");
  }
  // Step 6.
  CRYPTA_RETURN_IF_ERROR(CheckGpuNonce(report, options));
  Claims claims = NvidiaGpuClaims(report, chain->certificates, chain->simulated);
  // RIM appraisal and OCSP (rim.h / ocsp.h) plug in here, for hardware reports.
  if (options_.appraiser && !chain->simulated) {
    auto appraisal = options_.appraiser->Appraise(report, chain->certificates, evidence, options);
    if (!appraisal) return MakeError(appraisal.error().WithContext("GPU RIM appraisal"));
    claims.tcb_status = appraisal->tcb_status;
    claims.revocation = appraisal->revocation;
    claims.extra["rim"] = std::move(appraisal->details);
  }
  return MakeVerified(std::move(claims), evidence, options);
}

Claims NvidiaGpuClaims(const GpuReport& report, const std::vector<Certificate>& chain,
                       bool simulated) {
  const GpuOpaqueData& o = report.opaque;
  Claims c;
  c.tee = TeeType::kNvidiaGpu;
  c.simulated = simulated;
  c.report_data = report.nonce;
  c.tcb_status = TcbStatus::kUnknown;
  c.revocation = simulated ? Revocation::kNotApplicable : Revocation::kAbsent;
  const Certificate& leaf = chain.front();
  c.platform_id = SerialBytes(leaf);
  const std::string leaf_cn = CommonName(leaf.subject());
  const std::string hwmodel = chain.size() > 1 ? CommonName(chain[1].subject()) : "";
  if (simulated) {
    c.signer = "sim-gpu:" + (leaf_cn.rfind(kSimGpuCnPrefix, 0) == 0
                                 ? leaf_cn.substr(sizeof(kSimGpuCnPrefix) - 1)
                                 : leaf_cn);
  } else {
    c.signer = "nvidia-gpu:" + hwmodel;
  }
  c.tcb = {{"driver_version", o.driver_version}, {"vbios_version", o.vbios_version}};

  std::string cc_mode = "unknown";
  bool devtools = false;
  nlohmann::json extra = nlohmann::json::object();
  if (o.feature_flag) {
    const uint64_t flag = *o.feature_flag;
    extra["cc_topology"] =
        GpuCcTopologyName(static_cast<GpuCcTopology>(flag & kNvidiaFeatureFlagMask));
    // The verifier rejects the sim-only bits in hardware reports; a FEATURE_FLAG is only
    // emitted by firmware running in a confidential-computing mode.
    if (flag & kSimFeatureDevtools) {
      cc_mode = "devtools";
      devtools = true;
    } else if (flag & kSimFeatureCcOff) {
      cc_mode = "off";
    } else {
      cc_mode = "on";
    }
  }
  c.debug = devtools;
  extra["arch"] = "hopper";
  extra["driver_version"] = o.driver_version;
  extra["vbios_version"] = o.vbios_version;
  auto opt_str = [&](const char* k, const std::optional<std::string>& v) {
    if (v) extra[k] = *v;
  };
  auto opt_hex = [&](const char* k, const std::optional<Bytes>& v) {
    if (v) extra[k] = HexEncode(*v);
  };
  opt_str("chip_sku", o.chip_sku);
  opt_str("chip_sku_mod", o.chip_sku_mod);
  opt_str("project", o.project);
  opt_str("project_sku", o.project_sku);
  opt_hex("project_sku_mod", o.project_sku_mod);
  opt_hex("board_id", o.board_id);
  opt_hex("gpu_info", o.gpu_info);
  opt_hex("cpr_info", o.cpr_info);
  opt_hex("fwid", o.fwid);
  extra["cc_mode"] = cc_mode;
  if (o.opaque_data_version) extra["opaque_data_version"] = *o.opaque_data_version;
  if (o.nvdec0_status) extra["nvdec0_status"] = HexByte(*o.nvdec0_status);
  if (o.protected_pcie_status) extra["protected_pcie_status"] = HexByte(*o.protected_pcie_status);
  nlohmann::json measurements = nlohmann::json::object();
  for (const MeasurementBlock& b : report.blocks) {
    measurements[std::to_string(b.index)] = HexEncode(b.value);
  }
  extra["measurements"] = std::move(measurements);
  extra["measurement_count"] = report.blocks.size();
  if (!o.msrs_cnt.empty()) {
    nlohmann::json counts = nlohmann::json::object();
    for (size_t i = 0; i < o.msrs_cnt.size(); ++i) counts[std::to_string(i + 1)] = o.msrs_cnt[i];
    extra["msrscnt"] = std::move(counts);
  }
  extra["responder_nonce"] = HexEncode(report.responder_nonce);
  if (!hwmodel.empty()) extra["hwmodel"] = hwmodel;
  extra["ueid"] = UpperHex(c.platform_id);
  c.extra = std::move(extra);
  return c;
}

}  // namespace crypta::attest::nvidia

// NvidiaGpuVerifier on the MANIFEST cases of testdata/nvidia: NVIDIA's Hopper sample with its
// real device chain and the pinned root, Trustee's broken chains, and mutation recipes 1-10.
#include <gtest/gtest.h>

#include <string>

#include "attest/nvidia/verifier.h"
#include "common/encoding.h"
#include "crypto/signature.h"
#include "testing/test_util.h"

namespace crypta::attest::nvidia {
namespace {

using ::crypta::testing::ReadTestdataBytes;
using ::crypta::testing::ReadTestdataJson;
using ::crypta::testing::ReadTestdataString;
using ::crypta::testing::Unhex;

constexpr int64_t kVerificationTime = 1748736000;  // 2025-06-01T00:00:00Z
constexpr int64_t kBeforeIca = 1646006400;         // 2022-02-28T00:00:00Z
constexpr char kSampleNonce[] = "931d8dd0add203ac3d8b4fbde75e115278eefcdceac5b87671a748f32364dfcb";
constexpr char kDir[] = "nvidia/nvtrust-hopper-sample/";

Bytes SampleReport() { return ReadTestdataBytes(std::string(kDir) + "report.bin"); }
std::string SampleChain() { return ReadTestdataString(std::string(kDir) + "hopperCertChain.txt"); }

Evidence GpuEvidence(Bytes raw, const std::string& chain) {
  Evidence e{.tee = TeeType::kNvidiaGpu, .raw = std::move(raw), .collateral = {}};
  if (!chain.empty()) e.collateral.items["certificate_chain"] = ToBytes(chain);
  return e;
}

VerifyOptions Options(int64_t time = kVerificationTime) {
  VerifyOptions o;
  o.verification_time = time;
  o.expected_report_data = Unhex(kSampleNonce);
  return o;
}

std::shared_ptr<NvidiaGpuVerifier> Pinned() {
  auto v = NvidiaGpuVerifier::CreatePinned();
  EXPECT_TRUE(v.has_value());
  return *v;
}

// Verification must fail, with `needle` in the message.
void ExpectRejected(const Result<VerifiedEvidence>& r, const std::string& needle,
                    const std::string& label) {
  ASSERT_FALSE(r.has_value()) << label << ": verified";
  EXPECT_NE(r.error().message().find(needle), std::string::npos)
      << label << ": " << r.error().message();
}

TEST(NvidiaGpuVerifier, PinnedRootsMatchTheTestdataAnchors) {
  CRYPTA_ASSIGN_OR_FAIL(Certificate device, PinnedNvidiaDeviceRoot());
  CRYPTA_ASSIGN_OR_FAIL(Certificate rim, PinnedNvidiaRimRoot());
  CRYPTA_ASSIGN_OR_FAIL(
      Certificate device_file,
      Certificate::Parse(ReadTestdataBytes("nvidia/nvidia-roots/verifier_device_root.pem")));
  CRYPTA_ASSIGN_OR_FAIL(
      Certificate rim_file,
      Certificate::Parse(ReadTestdataBytes("nvidia/nvidia-roots/verifier_RIM_root.pem")));
  EXPECT_EQ(device.der(), device_file.der());
  EXPECT_EQ(rim.der(), rim_file.der());
  EXPECT_EQ(HexEncode(device.Sha256Fingerprint()),
            "102bf659d5419614c9d8e6aecebc80454eb26b1df6a769ac720b9a690b167b48");
  EXPECT_EQ(HexEncode(rim.Sha256Fingerprint()),
            "12977b5115acb0381179279fffeb5a8c4d264971ebb32298023a465fa41df5d1");
}

TEST(NvidiaGpuVerifier, VerifiesTheNvtrustSample) {
  auto verifier = Pinned();
  // The hex text, as NVIDIA and Trustee ship it; the chain from collateral.
  Evidence e = GpuEvidence(ReadTestdataBytes(std::string(kDir) + "hopperAttestationReport.txt"),
                           SampleChain());
  CRYPTA_ASSIGN_OR_FAIL(VerifiedEvidence v, verifier->Verify(e, Options()));
  const Claims& c = v.claims();
  EXPECT_EQ(c.tee, TeeType::kNvidiaGpu);
  EXPECT_FALSE(c.simulated);
  EXPECT_TRUE(c.measurement.empty());
  EXPECT_EQ(HexEncode(c.report_data), kSampleNonce);
  EXPECT_FALSE(c.debug);
  EXPECT_EQ(c.tcb_status, TcbStatus::kUnknown);
  EXPECT_EQ(c.revocation, Revocation::kAbsent);
  EXPECT_EQ(HexEncode(c.platform_id), "53c22ba15e5d68088282da074ed9fb37aa585771");
  EXPECT_EQ(c.signer, "nvidia-gpu:GH100 A01 GSP BROM");
  EXPECT_EQ(c.tcb["driver_version"], "550.90.07");
  EXPECT_EQ(c.tcb["vbios_version"], "96.00.9f.00.01");
  const nlohmann::json& x = c.extra;
  EXPECT_EQ(x["arch"], "hopper");
  EXPECT_EQ(x["cc_mode"], "unknown");
  EXPECT_FALSE(x.contains("cc_topology"));
  EXPECT_EQ(x["measurement_count"], 64);
  EXPECT_EQ(x["hwmodel"], "GH100 A01 GSP BROM");
  EXPECT_EQ(x["ueid"], "53C22BA15E5D68088282DA074ED9FB37AA585771");
  EXPECT_EQ(x["nvdec0_status"], "55");
  EXPECT_EQ(x["protected_pcie_status"], "55");
  EXPECT_EQ(x["responder_nonce"],
            "b4b8a06aaaa35542839388e159d447a5d6f6194998fd86513e2d591ccf640985");
  // Every claim Trustee derives (test_build_claims_for_one_hopper_device) agrees.
  const nlohmann::json tr =
      ReadTestdataJson(std::string(kDir) + "hopperAttestationReport-claims.txt");
  EXPECT_EQ(x["measurements"], tr["measurements"]);
  EXPECT_EQ(x["msrscnt"], tr["config"]["measurement_count"]);
  for (const char* k :
       {"board_id", "chip_sku", "chip_sku_mod", "cpr_info", "driver_version", "fwid", "gpu_info",
        "project", "project_sku", "project_sku_mod", "vbios_version"}) {
    EXPECT_EQ(x[k], tr["config"][k]) << k;
  }
  int non_zero = 0;
  for (const auto& [k, v] : x["measurements"].items()) {
    if (v.get<std::string>() != std::string(96, '0')) ++non_zero;
  }
  EXPECT_EQ(non_zero, 26);
  // Claims serialize.
  EXPECT_EQ(c.ToJson()["tee"], "nvidia-gpu");
}

TEST(NvidiaGpuVerifier, VerifiesTrusteeEnvelopeWithItsOwnChain) {
  auto verifier = Pinned();
  GpuDeviceEvidence d{SampleReport(), SampleChain(), "hopper", "1111-2222-33333-444444-555555"};
  Evidence e = GpuEvidence(EncodeGpuEvidence(std::span(&d, 1)), "");
  CRYPTA_ASSIGN_OR_FAIL(VerifiedEvidence v, verifier->Verify(e, Options()));
  EXPECT_EQ(v.claims().signer, "nvidia-gpu:GH100 A01 GSP BROM");
  // A 2-device envelope is refused: each device is verified on its own.
  GpuDeviceEvidence two[] = {d, d};
  ExpectRejected(verifier->Verify(GpuEvidence(EncodeGpuEvidence(two), ""), Options()),
                 "verify each device separately", "two devices");
}

TEST(NvidiaGpuVerifier, SignatureOnlyWithTrusteeSigningCert) {
  CRYPTA_ASSIGN_OR_FAIL(
      Certificate leaf,
      Certificate::Parse(ReadTestdataBytes(std::string(kDir) + "hopper_signing_cert.pem")));
  CRYPTA_ASSIGN_OR_FAIL(PublicKey key, leaf.public_key());
  const Bytes raw = SampleReport();
  CRYPTA_ASSIGN_OR_FAIL(GpuReport r, ParseGpuReport(raw));
  EXPECT_EQ(r.signed_bytes.size(), 4021u);
  CRYPTA_EXPECT_OK(EcdsaVerify(key, HashAlg::kSha384, r.signed_bytes, r.signature,
                               {.format = EcdsaFormat::kRaw}));
  CRYPTA_ASSIGN_OR_FAIL(Bytes fwid, LeafFwid(leaf));
  EXPECT_EQ(fwid, *r.opaque.fwid);
  // Recipe 7: the GSP BROM key (first certificate of trustee-chain-no-leaf) does not verify it.
  CRYPTA_ASSIGN_OR_FAIL(auto no_leaf,
                        Certificate::ParsePemBundle(ReadTestdataString(
                            "nvidia/trustee-chain-no-leaf/hopper_cert_chain_case4.txt")));
  CRYPTA_ASSIGN_OR_FAIL(PublicKey brom, no_leaf.front().public_key());
  EXPECT_FALSE(EcdsaVerify(brom, HashAlg::kSha384, r.signed_bytes, r.signature,
                           {.format = EcdsaFormat::kRaw}));
}

TEST(NvidiaGpuVerifier, RejectsTrusteeBrokenChains) {
  auto verifier = Pinned();
  const Bytes raw = SampleReport();
  ExpectRejected(
      verifier->Verify(GpuEvidence(raw, ReadTestdataString("nvidia/trustee-chain-root-only/"
                                                           "hopper_cert_chain_case2.txt")),
                       Options()),
      "at least the signing leaf and the root", "root only");
  ExpectRejected(
      verifier->Verify(GpuEvidence(raw, ReadTestdataString("nvidia/trustee-chain-missing-ica/"
                                                           "hopper_cert_chain_case3.txt")),
                       Options()),
      "GPU certificate chain: 4 certificates, want 5", "missing ICA");
  ExpectRejected(
      verifier->Verify(GpuEvidence(raw, ReadTestdataString("nvidia/trustee-chain-no-leaf/"
                                                           "hopper_cert_chain_case4.txt")),
                       Options()),
      "FWID: certificate \"CN=GH100 A01 GSP BROM", "no leaf");
}

// MANIFEST mutation recipes 1-6 on report.bin: each flipped byte is refused.
TEST(NvidiaGpuVerifier, RejectsMutatedReports) {
  auto verifier = Pinned();
  struct Flip {
    const char* recipe;
    size_t offset;
    const char* needle;
  };
  const Flip flips[] = {
      {"1 signature r", 4021, "signature does not verify"},
      {"1 signature s", 4116, "signature does not verify"},
      {"2 block 2 value", 107, "signature does not verify"},
      {"3 request nonce", 4, "signature does not verify"},
      {"4 driver version", 3669, "signature does not verify"},
      {"4 FWID", 3968, "FWID: the report's FWID"},
      {"5 responder nonce", 3565, "signature does not verify"},
      {"6 block count", 41, "GPU report:"},
  };
  for (const Flip& f : flips) {
    Bytes raw = SampleReport();
    raw[f.offset] ^= (f.offset == 41 ? 0x7F : 0x01);  // 64 ^ 0x7F = 63 blocks
    ExpectRejected(verifier->Verify(GpuEvidence(raw, SampleChain()), Options()), f.needle,
                   f.recipe);
  }
  Bytes shorter = SampleReport();
  shorter.pop_back();
  ExpectRejected(verifier->Verify(GpuEvidence(shorter, SampleChain()), Options()),
                 "want exactly the 96-byte", "6 truncated");
  Bytes longer_record = SampleReport();
  longer_record[42] = 0xC1;  // 3521
  ExpectRejected(verifier->Verify(GpuEvidence(longer_record, SampleChain()), Options()),
                 "GPU report:", "6 record length");
}

TEST(NvidiaGpuVerifier, RejectsAnotherNonce) {
  auto verifier = Pinned();
  VerifyOptions o = Options();
  o.expected_report_data->back() ^= 0x01;  // ...dfca (recipe 3)
  ExpectRejected(verifier->Verify(GpuEvidence(SampleReport(), SampleChain()), o), "GPU nonce",
                 "other nonce");
  o.expected_report_data = Bytes(33, 0);
  ExpectRejected(verifier->Verify(GpuEvidence(SampleReport(), SampleChain()), o), "at most 32",
                 "33-byte nonce");
  // A shorter expectation is zero-padded (the sample's nonce ends in 0xcb, so a prefix fails).
  Bytes prefix = Unhex(kSampleNonce);
  prefix.pop_back();
  o.expected_report_data = prefix;
  ExpectRejected(verifier->Verify(GpuEvidence(SampleReport(), SampleChain()), o), "GPU nonce",
                 "prefix");
  o.expected_report_data.reset();  // no expectation: no nonce check
  CRYPTA_EXPECT_OK(verifier->Verify(GpuEvidence(SampleReport(), SampleChain()), o));
}

TEST(NvidiaGpuVerifier, RejectsWrongRoots) {
  // Recipe 8: the RIM root as the device anchor.
  CRYPTA_ASSIGN_OR_FAIL(Certificate rim_root, PinnedNvidiaRimRoot());
  NvidiaGpuVerifier wrong(rim_root, std::nullopt);
  ExpectRejected(wrong.Verify(GpuEvidence(SampleReport(), SampleChain()), Options()),
                 "is not the pinned device root", "RIM root as anchor");
  // Recipe 8b: the chain's last certificate replaced by another self-signed one.
  std::string chain = SampleChain();
  const size_t last = chain.rfind("-----BEGIN CERTIFICATE-----");
  chain = chain.substr(0, last) + ReadTestdataString("nvidia/nvidia-roots/verifier_RIM_root.pem") +
          "\n";
  ExpectRejected(Pinned()->Verify(GpuEvidence(SampleReport(), chain), Options()),
                 "is not the pinned device root", "replaced root");
}

TEST(NvidiaGpuVerifier, RejectsChainBeforeIcaIsValid) {
  // Recipe 10: the Provisioner ICA's notBefore is 2022-03-01.
  ExpectRejected(Pinned()->Verify(GpuEvidence(SampleReport(), SampleChain()), Options(kBeforeIca)),
                 "not yet valid", "2022-02-28");
}

TEST(NvidiaGpuVerifier, RejectsReorderedChain) {
  // Swap the ICA and the GH100 Identity in the PEM text.
  std::vector<std::string> blocks;
  const std::string text = SampleChain();
  size_t pos = 0;
  while ((pos = text.find("-----BEGIN CERTIFICATE-----", pos)) != std::string::npos) {
    size_t end = text.find("-----END CERTIFICATE-----", pos) + 25;
    blocks.push_back(text.substr(pos, end - pos));
    pos = end;
  }
  ASSERT_EQ(blocks.size(), 5u);
  std::swap(blocks[2], blocks[3]);
  std::string swapped;
  for (const auto& b : blocks) swapped += b + "\n";
  ExpectRejected(Pinned()->Verify(GpuEvidence(SampleReport(), swapped), Options()), "out of order",
                 "swapped");
}

TEST(NvidiaGpuVerifier, ChainComesFromCollateralInOrder) {
  auto verifier = Pinned();
  Evidence e = GpuEvidence(SampleReport(), "");
  ExpectRejected(verifier->Verify(e, Options()), "no collateral \"certificate_chain\"", "no chain");
  // options.collateral is consulted before the evidence's.
  e.collateral.items["certificate_chain"] =
      ToBytes(ReadTestdataString("nvidia/trustee-chain-root-only/hopper_cert_chain_case2.txt"));
  Collateral good;
  good.items["certificate_chain"] = ToBytes(SampleChain());
  VerifyOptions o = Options();
  o.collateral = &good;
  CRYPTA_EXPECT_OK(verifier->Verify(e, o));
  ExpectRejected(verifier->Verify(e, Options()), "at least the signing leaf", "evidence chain");
}

TEST(NvidiaGpuVerifier, CachedChainStillChecksEveryReport) {
  auto verifier = Pinned();
  CRYPTA_EXPECT_OK(verifier->Verify(GpuEvidence(SampleReport(), SampleChain()), Options()));
  EXPECT_EQ(verifier->cached_chain_count(), 1u);
  CRYPTA_EXPECT_OK(verifier->Verify(GpuEvidence(SampleReport(), SampleChain()), Options()));
  EXPECT_EQ(verifier->cached_chain_count(), 1u);
  Bytes bad = SampleReport();
  bad[107] ^= 1;
  ExpectRejected(verifier->Verify(GpuEvidence(bad, SampleChain()), Options()),
                 "signature does not verify", "cached: measurement");
  bad = SampleReport();
  bad[3968] ^= 1;
  ExpectRejected(verifier->Verify(GpuEvidence(bad, SampleChain()), Options()), "FWID",
                 "cached: FWID");
  // Outside the cached window the chain is checked again (and fails).
  ExpectRejected(verifier->Verify(GpuEvidence(SampleReport(), SampleChain()), Options(kBeforeIca)),
                 "not yet valid", "cached: time");
  // Without a cache the result is the same.
  NvidiaGpuVerifierOptions no_cache;
  no_cache.chain_cache_capacity = 0;
  auto uncached = *NvidiaGpuVerifier::CreatePinned(std::nullopt, no_cache);
  CRYPTA_EXPECT_OK(uncached->Verify(GpuEvidence(SampleReport(), SampleChain()), Options()));
  EXPECT_EQ(uncached->cached_chain_count(), 0u);
}

TEST(NvidiaGpuVerifier, RejectsOtherTeeAndMissingTime) {
  auto verifier = Pinned();
  Evidence e = GpuEvidence(SampleReport(), SampleChain());
  e.tee = TeeType::kSevSnp;
  EXPECT_FALSE(verifier->Verify(e, Options()));
  e.tee = TeeType::kNvidiaGpu;
  EXPECT_FALSE(verifier->Verify(e, Options(0)));
  EXPECT_EQ(verifier->tee(), TeeType::kNvidiaGpu);
}

class FakeAppraiser : public GpuReferenceAppraiser {
 public:
  Result<GpuReferenceAppraisal> Appraise(const GpuReport& report,
                                         const std::vector<Certificate>& chain, const Evidence&,
                                         const VerifyOptions&) const override {
    EXPECT_EQ(chain.size(), 5u);
    EXPECT_EQ(report.Measurements().size(), 64u);
    return GpuReferenceAppraisal{TcbStatus::kUpToDate, Revocation::kChecked, {{"driver", "ok"}}};
  }
};

TEST(NvidiaGpuVerifier, AppraiserHookSetsTcbStatus) {
  NvidiaGpuVerifierOptions options;
  options.appraiser = std::make_shared<FakeAppraiser>();
  auto verifier = *NvidiaGpuVerifier::CreatePinned(std::nullopt, options);
  CRYPTA_ASSIGN_OR_FAIL(VerifiedEvidence v,
                        verifier->Verify(GpuEvidence(SampleReport(), SampleChain()), Options()));
  EXPECT_EQ(v.claims().tcb_status, TcbStatus::kUpToDate);
  EXPECT_EQ(v.claims().revocation, Revocation::kChecked);
  EXPECT_EQ(v.claims().extra["rim"]["driver"], "ok");
}

}  // namespace
}  // namespace crypta::attest::nvidia

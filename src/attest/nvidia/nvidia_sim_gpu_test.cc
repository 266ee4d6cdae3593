// The simulated GPU: its reports take the same parser and verifier path as hardware ones,
// are accepted only with the configured sim root, and always say simulated.
#include <gtest/gtest.h>

#include "attest/nvidia/report.h"
#include "attest/nvidia/sim_gpu.h"
#include "attest/nvidia/verifier.h"
#include "common/encoding.h"
#include "crypto/x509_builder.h"
#include "testing/test_util.h"

namespace crypta::attest::nvidia {
namespace {

constexpr int64_t kNow = 1748736000;  // 2025-06-01T00:00:00Z

Bytes Nonce(uint8_t fill) { return Bytes(32, fill); }

class SimGpuTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto ca = CreateSimRootCa(kNow);
    ASSERT_TRUE(ca.has_value());
    ca_ = std::make_unique<SimCa>(std::move(*ca));
    auto gpu = IssueSimGpu(*ca_, "gpu0", kNow);
    ASSERT_TRUE(gpu.has_value()) << gpu.error().ToString();
    gpu_ = std::make_unique<SimGpu>(std::move(*gpu));
    verifier_ = *NvidiaGpuVerifier::CreatePinned(ca_->cert);
  }

  Evidence EvidenceFor(const SimGpu& gpu, const SimGpuReport& report) {
    auto raw = SignSimGpuReport(gpu, report);
    EXPECT_TRUE(raw.has_value()) << raw.error().ToString();
    std::string pem;
    for (const Certificate& c : gpu.chain) {
      auto p = CertificatePem(c);
      pem += p;
    }
    GpuDeviceEvidence d{*raw, pem, "hopper", "GPU-" + gpu.id};
    return Evidence{
        .tee = TeeType::kNvidiaGpu, .raw = EncodeGpuEvidence(std::span(&d, 1)), .collateral = {}};
  }

  static std::string CertificatePem(const Certificate& c) {
    std::string b64 = Base64Encode(c.der());
    std::string out = "-----BEGIN CERTIFICATE-----\n";
    for (size_t i = 0; i < b64.size(); i += 64) out += b64.substr(i, 64) + "\n";
    return out + "-----END CERTIFICATE-----\n";
  }

  static VerifyOptions Options(const Bytes& nonce) {
    VerifyOptions o;
    o.verification_time = kNow;
    o.expected_report_data = nonce;
    return o;
  }

  std::unique_ptr<SimCa> ca_;
  std::unique_ptr<SimGpu> gpu_;
  std::shared_ptr<NvidiaGpuVerifier> verifier_;
};

TEST_F(SimGpuTest, ReportUsesTheHopperWireFormat) {
  CRYPTA_ASSIGN_OR_FAIL(Bytes raw, SignSimGpuReport(*gpu_, {.nonce = Nonce(7)}));
  CRYPTA_ASSIGN_OR_FAIL(GpuReport r, ParseGpuReport(raw));
  EXPECT_EQ(r.nonce, Nonce(7));
  ASSERT_EQ(r.blocks.size(), 64u);
  EXPECT_EQ(r.blocks[9].value, SimGpuMeasurement(10, "550.90.07", "96.00.9f.00.01"));
  EXPECT_EQ(r.opaque.driver_version, "550.90.07");
  EXPECT_EQ(r.opaque.vbios_version, "96.00.9f.00.01");
  EXPECT_EQ(r.opaque.feature_flag, 0u);
  CRYPTA_ASSIGN_OR_FAIL(Bytes fwid, LeafFwid(gpu_->chain.front()));
  EXPECT_EQ(*r.opaque.fwid, fwid);
  EXPECT_EQ(r.signature.size(), 96u);
  EXPECT_EQ(gpu_->chain.size(), 2u);
  EXPECT_EQ(gpu_->chain.front().subject().rfind("CN=crypta SIMULATED GPU gpu0", 0), 0u);
  EXPECT_FALSE(SignSimGpuReport(*gpu_, {.nonce = Bytes(31, 0)}));
  EXPECT_FALSE(IssueSimGpu(*ca_, "", kNow));
  EXPECT_FALSE(IssueSimGpu(*ca_, "a,b", kNow));
}

TEST_F(SimGpuTest, VerifiesWithTheSimRoot) {
  Evidence e = EvidenceFor(*gpu_, {.nonce = Nonce(1)});
  CRYPTA_ASSIGN_OR_FAIL(VerifiedEvidence v, verifier_->Verify(e, Options(Nonce(1))));
  const Claims& c = v.claims();
  EXPECT_TRUE(c.simulated);
  EXPECT_FALSE(c.debug);
  EXPECT_EQ(c.signer, "sim-gpu:gpu0");
  EXPECT_EQ(c.revocation, Revocation::kNotApplicable);
  EXPECT_EQ(c.tcb_status, TcbStatus::kUnknown);
  EXPECT_EQ(c.report_data, Nonce(1));
  EXPECT_TRUE(c.measurement.empty());
  EXPECT_EQ(c.extra["cc_mode"], "on");
  EXPECT_EQ(c.extra["cc_topology"], "spt");
  EXPECT_EQ(c.extra["measurement_count"], 64);
  EXPECT_EQ(c.extra["measurements"]["64"],
            HexEncode(SimGpuMeasurement(64, "550.90.07", "96.00.9f.00.01")));
  auto wrong = verifier_->Verify(e, Options(Nonce(2)));
  ASSERT_FALSE(wrong);
  EXPECT_NE(wrong.error().message().find("GPU nonce"), std::string::npos);
}

TEST_F(SimGpuTest, DevtoolsAndCcOffAreReported) {
  CRYPTA_ASSIGN_OR_FAIL(VerifiedEvidence dev,
                        verifier_->Verify(EvidenceFor(*gpu_, {.nonce = Nonce(2), .devtools = true}),
                                          Options(Nonce(2))));
  EXPECT_TRUE(dev.claims().debug);
  EXPECT_EQ(dev.claims().extra["cc_mode"], "devtools");
  CRYPTA_ASSIGN_OR_FAIL(VerifiedEvidence off,
                        verifier_->Verify(EvidenceFor(*gpu_, {.nonce = Nonce(3), .cc_mode = false}),
                                          Options(Nonce(3))));
  EXPECT_FALSE(off.claims().debug);
  EXPECT_EQ(off.claims().extra["cc_mode"], "off");
  CRYPTA_ASSIGN_OR_FAIL(VerifiedEvidence versions,
                        verifier_->Verify(EvidenceFor(*gpu_, {.nonce = Nonce(4),
                                                              .driver_version = "560.35.03",
                                                              .vbios_version = "96.00.74.00.1f"}),
                                          Options(Nonce(4))));
  EXPECT_EQ(versions.claims().tcb["driver_version"], "560.35.03");
  EXPECT_EQ(versions.claims().tcb["vbios_version"], "96.00.74.00.1f");
}

TEST_F(SimGpuTest, RefusedWithoutTheSimRoot) {
  Evidence e = EvidenceFor(*gpu_, {.nonce = Nonce(1)});
  auto pinned_only = *NvidiaGpuVerifier::CreatePinned();
  auto r = pinned_only->Verify(e, Options(Nonce(1)));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("is not the pinned device root"), std::string::npos)
      << r.error().message();
  CRYPTA_ASSIGN_OR_FAIL(SimCa other, CreateSimRootCa(kNow));
  auto other_verifier = *NvidiaGpuVerifier::CreatePinned(other.cert);
  EXPECT_FALSE(other_verifier->Verify(e, Options(Nonce(1))));
}

TEST_F(SimGpuTest, RefusesTamperingAndForeignLeaves) {
  CRYPTA_ASSIGN_OR_FAIL(Bytes raw, SignSimGpuReport(*gpu_, {.nonce = Nonce(5)}));
  raw[107] ^= 1;  // first byte of block 2's value
  GpuDeviceEvidence d{raw, CertificatePem(gpu_->chain[0]) + CertificatePem(gpu_->chain[1]),
                      "hopper", ""};
  Evidence e{
      .tee = TeeType::kNvidiaGpu, .raw = EncodeGpuEvidence(std::span(&d, 1)), .collateral = {}};
  auto r = verifier_->Verify(e, Options(Nonce(5)));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("signature does not verify"), std::string::npos);
  // Another sim GPU's report with this GPU's chain: the FWIDs differ.
  CRYPTA_ASSIGN_OR_FAIL(SimGpu gpu1, IssueSimGpu(*ca_, "gpu1", kNow));
  CRYPTA_ASSIGN_OR_FAIL(Bytes other, SignSimGpuReport(gpu1, {.nonce = Nonce(5)}));
  d.report = other;
  e.raw = EncodeGpuEvidence(std::span(&d, 1));
  r = verifier_->Verify(e, Options(Nonce(5)));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("FWID"), std::string::npos);
}

TEST_F(SimGpuTest, MultiDeviceEnvelopeRoundTrip) {
  CRYPTA_ASSIGN_OR_FAIL(SimGpu gpu1, IssueSimGpu(*ca_, "gpu1", kNow));
  Evidence e0 = EvidenceFor(*gpu_, {.nonce = Nonce(9)});
  Evidence e1 = EvidenceFor(gpu1, {.nonce = Nonce(9)});
  CRYPTA_ASSIGN_OR_FAIL(auto d0, ParseGpuEvidence(e0.raw));
  CRYPTA_ASSIGN_OR_FAIL(auto d1, ParseGpuEvidence(e1.raw));
  std::vector<GpuDeviceEvidence> both = {d0[0], d1[0]};
  const Bytes envelope = EncodeGpuEvidence(both);
  CRYPTA_ASSIGN_OR_FAIL(auto parsed, ParseGpuEvidence(envelope));
  ASSERT_EQ(parsed.size(), 2u);
  EXPECT_EQ(parsed[1].uuid, "GPU-gpu1");
  // The whole envelope is refused; each device verifies on its own.
  Evidence whole{.tee = TeeType::kNvidiaGpu, .raw = envelope, .collateral = {}};
  EXPECT_FALSE(verifier_->Verify(whole, Options(Nonce(9))));
  std::vector<std::string> signers;
  for (const GpuDeviceEvidence& d : parsed) {
    Evidence one{
        .tee = TeeType::kNvidiaGpu, .raw = EncodeGpuEvidence(std::span(&d, 1)), .collateral = {}};
    CRYPTA_ASSIGN_OR_FAIL(VerifiedEvidence v, verifier_->Verify(one, Options(Nonce(9))));
    signers.push_back(v.claims().signer);
  }
  EXPECT_EQ(signers, (std::vector<std::string>{"sim-gpu:gpu0", "sim-gpu:gpu1"}));
}

// A hardware-shaped chain under a test device root (5 certificates, like NVIDIA's): the
// verifier treats it as hardware, and then refuses the sim-only FEATURE_FLAG bits.
TEST_F(SimGpuTest, HardwareChainRefusesSimOnlyFeatureBits) {
  CRYPTA_ASSIGN_OR_FAIL(PrivateKey root_key, PrivateKey::Generate(KeyType::kEcP384));
  CertificateTemplate t;
  t.not_before = kNow - 3600;
  t.not_after = kNow + 86400;
  t.is_ca = true;
  t.common_name = "Test Device Identity CA";
  CRYPTA_ASSIGN_OR_FAIL(Certificate root,
                        IssueCertificate(t, root_key.GetPublicKey(), nullptr, root_key));
  std::vector<Certificate> cas = {root};
  std::vector<PrivateKey> keys = {root_key};
  for (const char* cn : {"Test GH100 Identity", "Test Provisioner ICA", "Test GSP BROM"}) {
    CRYPTA_ASSIGN_OR_FAIL(PrivateKey k, PrivateKey::Generate(KeyType::kEcP384));
    t.common_name = cn;
    CRYPTA_ASSIGN_OR_FAIL(Certificate c,
                          IssueCertificate(t, k.GetPublicKey(), &cas.back(), keys.back()));
    cas.push_back(c);
    keys.push_back(k);
  }
  // The leaf: reuse the sim leaf's FWID extension on a new certificate from the BROM.
  CRYPTA_ASSIGN_OR_FAIL(auto fwid_ext, gpu_->chain.front().FindExtension(kTcgDiceFwidOid));
  CRYPTA_ASSIGN_OR_FAIL(PrivateKey leaf_key, PrivateKey::Generate(KeyType::kEcP384));
  t.is_ca = false;
  t.common_name = "Test GSP FMC LF";
  t.extensions.push_back({kTcgDiceFwidOid, false, fwid_ext.value});
  CRYPTA_ASSIGN_OR_FAIL(Certificate leaf,
                        IssueCertificate(t, leaf_key.GetPublicKey(), &cas.back(), keys.back()));
  SimGpu hw{"hw", leaf_key, {leaf, cas[3], cas[2], cas[1], cas[0]}};
  NvidiaGpuVerifier verifier(root, std::nullopt);

  CRYPTA_ASSIGN_OR_FAIL(VerifiedEvidence ok,
                        verifier.Verify(EvidenceFor(hw, {.nonce = Nonce(6)}), Options(Nonce(6))));
  EXPECT_FALSE(ok.claims().simulated);
  EXPECT_EQ(ok.claims().signer, "nvidia-gpu:Test GSP BROM");
  EXPECT_EQ(ok.claims().revocation, Revocation::kAbsent);
  EXPECT_EQ(ok.claims().extra["cc_mode"], "on");

  auto dev =
      verifier.Verify(EvidenceFor(hw, {.nonce = Nonce(6), .devtools = true}), Options(Nonce(6)));
  ASSERT_FALSE(dev);
  EXPECT_NE(dev.error().message().find("sim-only bits"), std::string::npos)
      << dev.error().message();
  // A 4-certificate hardware chain is refused.
  SimGpu short_chain{"hw", leaf_key, {leaf, cas[3], cas[2], cas[0]}};
  auto four = verifier.Verify(EvidenceFor(short_chain, {.nonce = Nonce(6)}), Options(Nonce(6)));
  ASSERT_FALSE(four);
  EXPECT_NE(four.error().message().find("4 certificates, want 5"), std::string::npos);
}

}  // namespace
}  // namespace crypta::attest::nvidia

// Verification cost of AWS Nitro documents, NVIDIA GPU reports and NVIDIA RIM appraisal
// (issue 16), each against the signature check it cannot avoid, measured in the same run.
//
// Targets:
//  - BM_NitroDocumentVerify <= 1.3 x BM_NitroEcdsaP384Verify. The baseline is the
//    document's own COSE signature (ES384 over the 7.5 KB Sig_structure, raw r || s) with
//    the leaf's key. The full verify re-verifies the same document after a warm-up, so the
//    intermediate chain and the leaf come from the verifier's caches; it adds parsing, the
//    cache lookups, the nonce check and the claims. BM_NitroDocumentVerifyNewLeaf disables
//    the leaf cache: the cost of a fresh document from a known parent instance (the NSM
//    issues a ~3-hour leaf per document), i.e. one more P-384 verify plus the key check.
//  - BM_GpuReportVerify <= 1.3 x BM_GpuEcdsaP384Verify. The baseline is the report's own
//    P-384 signature over its 4021 signed bytes with the FMC leaf's key; the full verify
//    adds parsing, the chain-cache lookup (the 5-certificate chain was verified once before
//    timing), the FWID binding, the nonce and the claims (64 measurements as hex).
//  - BM_RimAppraisalCached <= 1 ms: the driver and VBIOS RIMs were verified once before
//    timing; each iteration verifies both again (cache hits) and appraises the sample H100
//    report's 64 blocks against them. BM_RimVerifyUncached (information): one full RIM
//    verification (XML parse, the signer chain, XML-DSig with c14n 1.1 and ECDSA P-384).
// Inputs: testdata/nitro, testdata/nvidia, through CRYPTA_TESTDATA_DIR or next to this file.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "attest/nitro/document.h"
#include "attest/nitro/verifier.h"
#include "attest/nvidia/report.h"
#include "attest/nvidia/rim.h"
#include "attest/nvidia/verifier.h"
#include "common/encoding.h"
#include "common/file_util.h"
#include "crypto/signature.h"
#include "crypto/x509.h"

namespace crypta::attest {
namespace {

constexpr int64_t kNitroTime = 1725719859;  // 2024-09-07T14:37:39Z
constexpr int64_t kGpuTime = 1748736000;    // 2025-06-01T00:00:00Z
constexpr char kGpuNonce[] = "931d8dd0add203ac3d8b4fbde75e115278eefcdceac5b87671a748f32364dfcb";

template <typename T>
T Must(Result<T> r) {
  if (!r) {
    std::fprintf(stderr, "attest_devices_bench: %s\n", r.error().ToString().c_str());
    std::abort();
  }
  return std::move(*r);
}

Bytes ReadTestdata(const std::string& relative) {
  const char* env = std::getenv("CRYPTA_TESTDATA_DIR");
  std::filesystem::path dir =
      env ? std::filesystem::path(env)
          : std::filesystem::path(__FILE__).parent_path().parent_path() / "testdata";
  return Must(ReadFileBytes((dir / relative).string(), 1 << 20));
}

void RawP384Verify(benchmark::State& state, const PublicKey& key, ByteSpan message,
                   ByteSpan signature) {
  for (auto _ : state) {
    Status s =
        EcdsaVerify(key, HashAlg::kSha384, message, signature, {.format = EcdsaFormat::kRaw});
    if (!s) state.SkipWithError("signature does not verify");
    benchmark::DoNotOptimize(s);
  }
}

// Verifies `evidence` once (filling the verifier's caches), then times verifications.
void TimeVerify(benchmark::State& state, const Verifier& verifier, const Evidence& evidence,
                const VerifyOptions& options) {
  Must(verifier.Verify(evidence, options));
  for (auto _ : state) {
    auto verified = verifier.Verify(evidence, options);
    if (!verified) state.SkipWithError(verified.error().message().c_str());
    benchmark::DoNotOptimize(verified);
  }
}

// --- AWS Nitro ---
Bytes NitroDocument() { return ReadTestdata("nitro/nitrite-2024-09-07-prod/attestation.bin"); }

void BM_NitroEcdsaP384Verify(benchmark::State& state) {
  const nitro::NitroDocument doc = Must(nitro::ParseNitroDocument(NitroDocument()));
  const Bytes message = doc.SigStructure();
  RawP384Verify(state, Must(Must(Certificate::FromDer(doc.certificate)).public_key()), message,
                doc.signature);
}
BENCHMARK(BM_NitroEcdsaP384Verify);

void NitroVerify(benchmark::State& state, nitro::NitroVerifierOptions verifier_options) {
  VerifyOptions options;
  options.verification_time = kNitroTime;
  options.expected_report_data = Bytes(1024, 0x01);
  TimeVerify(state, *Must(nitro::NitroVerifier::CreatePinned(verifier_options)),
             {TeeType::kNitro, NitroDocument(), {}}, options);
}
void BM_NitroDocumentVerify(benchmark::State& state) { NitroVerify(state, {}); }
BENCHMARK(BM_NitroDocumentVerify);
void BM_NitroDocumentVerifyNewLeaf(benchmark::State& state) {
  NitroVerify(state, {.chain_cache_capacity = 256, .leaf_cache_capacity = 0});
}
BENCHMARK(BM_NitroDocumentVerifyNewLeaf);

// --- NVIDIA GPU report ---
Bytes GpuChain() { return ReadTestdata("nvidia/nvtrust-hopper-sample/hopperCertChain.txt"); }
Bytes GpuReport() { return ReadTestdata("nvidia/nvtrust-hopper-sample/report.bin"); }

void BM_GpuEcdsaP384Verify(benchmark::State& state) {
  const Bytes raw = GpuReport();
  const nvidia::GpuReport report = Must(nvidia::ParseGpuReport(raw));
  const auto chain = Must(Certificate::ParsePemBundle(ToString(GpuChain())));
  RawP384Verify(state, Must(chain.front().public_key()), report.signed_bytes, report.signature);
}
BENCHMARK(BM_GpuEcdsaP384Verify);

void BM_GpuReportVerify(benchmark::State& state) {
  Evidence evidence{TeeType::kNvidiaGpu, GpuReport(), {}};
  evidence.collateral.items["certificate_chain"] = GpuChain();
  VerifyOptions options;
  options.verification_time = kGpuTime;
  options.expected_report_data = Must(HexDecode(kGpuNonce));
  TimeVerify(state, *Must(nvidia::NvidiaGpuVerifier::CreatePinned()), evidence, options);
}
BENCHMARK(BM_GpuReportVerify);

// --- NVIDIA RIMs ---
Certificate RimRoot() {
  return Must(
      Certificate::FromPem(ToString(ReadTestdata("nvidia/nvidia-roots/verifier_RIM_root.pem"))));
}
Bytes DriverRim() { return ReadTestdata("nvidia/nvtrust-rims/Driver_RIM_test_no_gpu.swidtag"); }

void BM_RimAppraisalCached(benchmark::State& state) {
  const nvidia::RimVerifier verifier(RimRoot());
  const Bytes driver_xml = DriverRim();
  const Bytes vbios_xml = ReadTestdata("nvidia/nvtrust-rims/1010_0200_882_96005E0001_PROD.swidtag");
  const std::map<uint32_t, Bytes> blocks = Must(nvidia::ParseGpuReport(GpuReport())).Measurements();
  Must(verifier.Verify(driver_xml, kGpuTime));  // fills the cache
  Must(verifier.Verify(vbios_xml, kGpuTime));
  for (auto _ : state) {
    nvidia::Rim driver = Must(verifier.Verify(driver_xml, kGpuTime));
    nvidia::Rim vbios = Must(verifier.Verify(vbios_xml, kGpuTime));
    nvidia::RimAppraisal appraisal =
        Must(nvidia::AppraiseMeasurements(blocks, driver, vbios, "550.90.07", "96.00.9f.00.01"));
    // The sample report matches neither RIM (MANIFEST): 19 mismatches, 2 version problems.
    if (appraisal.mismatches.size() != 19) state.SkipWithError("unexpected appraisal");
    benchmark::DoNotOptimize(appraisal);
  }
}
BENCHMARK(BM_RimAppraisalCached)->Unit(benchmark::kMicrosecond);

void BM_RimVerifyUncached(benchmark::State& state) {
  const Certificate root = RimRoot();
  const Bytes driver_xml = DriverRim();
  for (auto _ : state) {
    const nvidia::RimVerifier verifier(root);  // a fresh, empty cache
    nvidia::Rim rim = Must(verifier.Verify(driver_xml, kGpuTime));
    benchmark::DoNotOptimize(rim);
  }
}
BENCHMARK(BM_RimVerifyUncached)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace crypta::attest

BENCHMARK_MAIN();

// SEV-SNP report verification cost against the one ECDSA verification it is built on.
//
// Target: BM_SnpVerifyReport <= 1.2 x BM_EcdsaP384Verify. The baseline is the report's own
// P-384/SHA-384 signature over its 672 signed bytes (0x000..0x29F), checked with the
// VCEK's key; the full verification adds parsing, the chain-cache lookup (SHA-256 of the
// VCEK bytes; the VCEK -> ASK -> ARK chain was verified once, before timing), the TCB and
// hwID bindings and the claims. Input: testdata/snp/trustee-milan-vcek (a real Milan
// report), found through CRYPTA_TESTDATA_DIR or next to this source file.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "attest/snp/report.h"
#include "attest/snp/verifier.h"
#include "common/file_util.h"
#include "crypto/signature.h"
#include "crypto/x509.h"

namespace crypta::attest::snp {
namespace {

constexpr int64_t kVerificationTime = 1748736000;  // 2025-06-01T00:00:00Z

template <typename T>
T Must(Result<T> r) {
  if (!r) {
    std::fprintf(stderr, "snp_bench: %s\n", r.error().ToString().c_str());
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

void BM_EcdsaP384Verify(benchmark::State& state) {
  const Bytes raw = ReadTestdata("snp/trustee-milan-vcek/report.bin");
  const AttestationReport report = Must(ParseAttestationReport(raw));
  const Certificate vcek =
      Must(Certificate::FromDer(ReadTestdata("snp/trustee-milan-vcek/vcek.der")));
  const PublicKey key = Must(vcek.public_key());
  const EcdsaOptions options{.format = EcdsaFormat::kRawLE, .component_size = 72};
  for (auto _ : state) {
    Status s = EcdsaVerify(key, HashAlg::kSha384, report.signed_bytes, report.signature, options);
    if (!s) state.SkipWithError("signature does not verify");
    benchmark::DoNotOptimize(s);
  }
}
BENCHMARK(BM_EcdsaP384Verify);

void BM_SnpVerifyReport(benchmark::State& state) {
  const std::unique_ptr<SnpVerifier> verifier = Must(SnpVerifier::Create());
  Evidence evidence{.tee = TeeType::kSevSnp,
                    .raw = ReadTestdata("snp/trustee-milan-vcek/report.bin"),
                    .collateral = {}};
  evidence.collateral.items["vcek"] = ReadTestdata("snp/trustee-milan-vcek/vcek.der");
  VerifyOptions options;
  options.verification_time = kVerificationTime;
  Must(verifier->Verify(evidence, options));  // verifies and caches the chain
  for (auto _ : state) {
    auto verified = verifier->Verify(evidence, options);
    if (!verified) state.SkipWithError(verified.error().message().c_str());
    benchmark::DoNotOptimize(verified);
  }
}
BENCHMARK(BM_SnpVerifyReport);

}  // namespace
}  // namespace crypta::attest::snp

BENCHMARK_MAIN();

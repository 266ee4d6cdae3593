// DCAP quote verification cost against the two ECDSA P-256 verifications it is built on.
//
// Target: BM_TdxVerifyQuote (TdxVerifier::Verify of the go-tdx-guest SPR v4 quote, no
// collateral, PCK chain verified once and then served from the chain cache) <= 1.2 x
// BM_TwoEcdsaP256Verify (the QE report signature by the PCK key and the quote signature by
// the attestation key, keys already imported). BM_TdxVerifyQuoteNoCache shows the cost of
// the full chain check for comparison. The quote is read from CRYPTA_TESTDATA_DIR or the
// source tree's testdata/.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>

#include "attest/dcap/quote.h"
#include "attest/tdx/tdx_verifier.h"
#include "common/time_util.h"
#include "crypto/signature.h"
#include "crypto/x509.h"

namespace crypta {
namespace {

template <typename T>
T Must(Result<T> r) {
  if (!r) {
    std::fprintf(stderr, "dcap_bench: %s\n", r.error().ToString().c_str());
    std::abort();
  }
  return std::move(*r);
}

Bytes ReadQuote() {
  const char* env = std::getenv("CRYPTA_TESTDATA_DIR");
  std::string dir =
      env ? env
          : std::string(__FILE__).substr(0, std::string(__FILE__).rfind('/')) + "/../testdata";
  std::ifstream in(dir + "/dcap/tdx/go-tdx-guest-spr-v4/quote.dat", std::ios::binary);
  Bytes b((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (b.empty()) {
    std::fprintf(stderr, "dcap_bench: cannot read the quote under %s\n", dir.c_str());
    std::abort();
  }
  return b;
}

const int64_t kTime = *ParseRfc3339("2023-07-01T01:00:00Z");

void BM_TwoEcdsaP256Verify(benchmark::State& state) {
  const Bytes raw = ReadQuote();
  attest::dcap::ParsedQuote q = Must(attest::dcap::ParseQuote(raw));
  auto certs = Must(Certificate::ParsePemBundle(AsStringView(q.cert_data)));
  PublicKey pck = Must(certs[0].public_key());
  ByteSpan ak(q.attestation_key);
  PublicKey att =
      Must(PublicKey::FromEcCoordinates(KeyType::kEcP256, ak.first(32), ak.subspan(32)));
  const EcdsaOptions rawfmt{EcdsaFormat::kRaw, 0};
  for (auto _ : state) {
    bool ok = EcdsaVerify(pck, HashAlg::kSha256, q.qe_report, q.qe_report_signature, rawfmt) &&
              EcdsaVerify(att, HashAlg::kSha256, q.signed_data, q.quote_signature, rawfmt);
    if (!ok) std::abort();
    benchmark::DoNotOptimize(ok);
  }
}
BENCHMARK(BM_TwoEcdsaP256Verify);

void VerifyLoop(benchmark::State& state, size_t cache_capacity) {
  const Bytes raw = ReadQuote();
  auto roots = Must(attest::dcap::DcapTrustRoots::PinnedIntel());
  attest::tdx::TdxVerifier verifier(std::move(roots), cache_capacity);
  attest::Evidence ev{attest::TeeType::kTdx, raw, {}};
  attest::VerifyOptions options;
  options.verification_time = kTime;
  for (auto _ : state) {
    auto v = verifier.Verify(ev, options);
    if (!v) std::abort();
    benchmark::DoNotOptimize(v);
  }
}

void BM_TdxVerifyQuote(benchmark::State& state) { VerifyLoop(state, 16); }
BENCHMARK(BM_TdxVerifyQuote);

void BM_TdxVerifyQuoteNoCache(benchmark::State& state) { VerifyLoop(state, 0); }
BENCHMARK(BM_TdxVerifyQuoteNoCache);

}  // namespace
}  // namespace crypta

BENCHMARK_MAIN();

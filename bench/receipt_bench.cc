// Issue 17: what signing a receipt adds to one confidential request on the server — the whole
// per-request work of runtime/receipts.h: SHA-256 of the encapsulated request (600 KB, the
// size of a 224x224x3 float32 image in OIP binary form), SHA-256 of the response content
// (4 KB), the payload JSON (RFC 8785) and the JWS signature, with Ed25519 (EdDSA, the
// default) and P-256 (ES256). Each iteration is timed on its own; the counters p50_us and
// p99_us are per-request latencies (Google Benchmark's own time is the mean).
// BM_ReceiptDigests and BM_ReceiptJws* split the work into its two parts.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/bhttp.h"
#include "crypto/hash.h"
#include "crypto/ohttp.h"
#include "crypto/random.h"
#include "runtime/key_ring.h"
#include "runtime/ohttp_service.h"
#include "runtime/oip_router.h"
#include "runtime/receipts.h"

namespace crypta::runtime {
namespace {

constexpr size_t kRequestBytes = 600 * 1000;
constexpr size_t kResponseBytes = 4 * 1024;

std::unique_ptr<ReceiptSigner> MakeSigner(ReceiptAlg alg) {
  ReceiptSignerOptions o;
  o.workload = "radiology-cnn";
  o.model_digest = "sha256:" + std::string(64, 'a');
  o.measurement_hex = std::string(96, 'b');
  // The runtime's digest of its cached evidence: a string copy under a lock in production.
  o.attestation_digest = [] { return Result<std::string>("sha256:" + std::string(64, 'e')); };
  o.clock = [] { return int64_t{1767225600}; };
  auto signer = ReceiptSigner::Generate(alg, std::move(o));
  if (!signer) std::abort();
  return std::move(*signer);
}

void ReportPercentiles(benchmark::State& state, std::vector<double>& us) {
  if (us.empty()) return;
  std::sort(us.begin(), us.end());
  state.counters["p50_us"] = us[us.size() / 2];
  state.counters["p99_us"] = us[std::min(us.size() - 1, us.size() * 99 / 100)];
}

// `digests`: hash the 600 KB request and 4 KB response; `sign`: the payload and signature.
void Run(benchmark::State& state, ReceiptAlg alg, bool digests, bool sign) {
  std::unique_ptr<ReceiptSigner> signer = MakeSigner(alg);
  Bytes request = RandomBytes(kRequestBytes).value();
  Bytes response = RandomBytes(kResponseBytes).value();
  std::vector<double> us;
  us.reserve(1 << 16);
  for (auto _ : state) {
    const auto start = std::chrono::steady_clock::now();
    if (sign) {
      // Sign hashes the response itself; without `digests` it gets an empty one.
      Bytes request_sha256 = digests ? Sha256(request) : Bytes(32, 0);
      auto receipt = signer->Sign(request_sha256, digests ? ByteSpan(response) : ByteSpan());
      if (!receipt) state.SkipWithError("sign failed");
      benchmark::DoNotOptimize(receipt);
    } else {
      Bytes a = Sha256(request);
      Bytes b = Sha256(response);
      benchmark::DoNotOptimize(a);
      benchmark::DoNotOptimize(b);
    }
    us.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start)
                     .count());
  }
  ReportPercentiles(state, us);
  state.SetBytesProcessed(digests ? state.iterations() * (kRequestBytes + kResponseBytes) : 0);
}

void BM_ReceiptSignEd25519(benchmark::State& state) {
  Run(state, ReceiptAlg::kEd25519, true, true);
}
void BM_ReceiptSignP256(benchmark::State& state) { Run(state, ReceiptAlg::kP256, true, true); }
void BM_ReceiptDigests(benchmark::State& state) { Run(state, ReceiptAlg::kEd25519, true, false); }
void BM_ReceiptJwsEd25519(benchmark::State& state) {
  Run(state, ReceiptAlg::kEd25519, false, true);
}
void BM_ReceiptJwsP256(benchmark::State& state) { Run(state, ReceiptAlg::kP256, false, true); }
// The part of an ES256 receipt left on the request's path when its nonce was prepared ahead
// (ReceiptSigner::PrepareSignature, done by a worker while the model runs): the payload and
// the signature's last step.
void BM_ReceiptJwsP256Prepared(benchmark::State& state) {
  std::unique_ptr<ReceiptSigner> signer = MakeSigner(ReceiptAlg::kP256);
  const Bytes request_sha256(32, 1);
  std::vector<double> us;
  for (auto _ : state) {
    state.PauseTiming();
    auto presignature = signer->PrepareSignature();
    if (!presignature) std::abort();
    state.ResumeTiming();
    const auto start = std::chrono::steady_clock::now();
    auto receipt = signer->Sign(request_sha256, {}, &*presignature);
    us.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start)
                     .count());
    if (!receipt) state.SkipWithError("sign failed");
  }
  ReportPercentiles(state, us);
}

// A model stand-in: busy for `compute_us` of one core (what inference does), answering 4 KB.
class BusyModel : public ModelService {
 public:
  explicit BusyModel(int64_t compute_us) : compute_us_(compute_us) {}
  const std::string& name() const override { return name_; }
  nlohmann::json Metadata() const override { return {{"name", name_}}; }
  Result<InferPayload> Infer(std::string_view, std::optional<std::string_view>) override {
    const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(compute_us_);
    while (std::chrono::steady_clock::now() < until) {
    }
    return InferPayload{std::string(kResponseBytes, 'r'), std::nullopt};
  }

 private:
  std::string name_ = "m";
  int64_t compute_us_;
};

// The whole server side of one confidential request (decapsulate, route, model, receipt,
// encapsulate) for a 600 KB request, timed around OhttpService::HandleOhttpInPlace: args
// {receipts: 0 none, 1 Ed25519, 2 P-256; model compute in µs}. With receipts the request
// digest runs on a RequestHasher worker beside decryption and the model, so what a receipt
// adds is p50(receipts) - p50(none) at the same compute.
void BM_ConfidentialRequest(benchmark::State& state) {
  const int receipts = static_cast<int>(state.range(0));
  BusyModel model(state.range(1));
  OipRouter router(&model);
  auto ring = OhttpKeyRing::Create(1 << 20);
  if (!ring) std::abort();
  std::unique_ptr<ReceiptSigner> signer;
  if (receipts != 0) signer = MakeSigner(receipts == 1 ? ReceiptAlg::kEd25519 : ReceiptAlg::kP256);
  OhttpService service(ring->get(), &router, nullptr, OhttpServiceLimits{}, signer.get(), 1);
  auto config = ParseOhttpKeyConfig((*ring)->Current()->encoded_config);
  const std::string body(kRequestBytes - 200, 'i');
  auto bhttp = EncodeBhttpRequest(
      BhttpRequest{"POST", "https", "runtime", "/v2/models/m/infer", {}, ToBytes(body), {}});
  if (!config || !bhttp) std::abort();
  std::vector<double> us;
  for (auto _ : state) {
    state.PauseTiming();
    auto sealed = EncapsulateOhttpRequest(*config, *bhttp);
    if (!sealed) std::abort();
    state.ResumeTiming();
    const auto start = std::chrono::steady_clock::now();
    HttpReply reply = service.HandleOhttpInPlace(sealed->encapsulated_request);
    us.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start)
                     .count());
    if (reply.status != 200) state.SkipWithError("request failed");
  }
  ReportPercentiles(state, us);
}

BENCHMARK(BM_ReceiptSignEd25519)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_ReceiptSignP256)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_ReceiptDigests)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_ReceiptJwsEd25519)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_ReceiptJwsP256)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_ReceiptJwsP256Prepared)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_ConfidentialRequest)
    ->ArgsProduct({{0, 1, 2}, {0, 5000}})
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

}  // namespace
}  // namespace crypta::runtime

BENCHMARK_MAIN();

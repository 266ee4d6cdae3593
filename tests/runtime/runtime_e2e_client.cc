// The client side of tests/runtime/runtime_e2e_test.sh, built only from the crypto, attest
// and tensor libraries (independent of the client SDK, so the runtime is checked against
// the wire formats themselves):
//
//   runtime_e2e_client URL SIM_ROOT_PEM MEASUREMENT_HEX MODEL INPUT.npy EXPECTED.npy
//
// 1. GET /v1/attestation?nonce=<random>: the nonce is echoed, the sim evidence verifies
//    against the sim root with report_data = SHA-384(JCS(runtime_data)) padded, the
//    measurement is the expected one; only then is the OHTTP key config used.
// 2. An OIP infer request in BHTTP in OHTTP to POST /v1/ohttp: the decrypted outputs equal
//    EXPECTED.npy (within 1e-4).
// 3. The same encapsulated request again is refused (400, "replayed"); a tampered one too;
//    the response does not open with another request's context.
// 4. POST /predict with a fresh encapsulation answers the same prediction.
// Prints one line per check; exit 0 when all pass. `runtime_e2e_client http ...` is a
// plain HTTP helper for the script (see PlainHttp).
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "attest/sim/sim_tee.h"
#include "common/encoding.h"
#include "common/file_util.h"
#include "common/json_canonical.h"
#include "common/time_util.h"
#include "crypto/bhttp.h"
#include "crypto/hash.h"
#include "crypto/ohttp.h"
#include "crypto/random.h"
#include "crypto/x509.h"
#include "infer/npy.h"
#include "infer/oip.h"
#include "testing/slow_clients.h"

namespace crypta {
namespace {

using nlohmann::json;

int failures = 0;
void Check(bool ok, const std::string& what) {
  std::printf("%s: %s\n", ok ? "ok" : "FAIL", what.c_str());
  if (!ok) ++failures;
}
[[noreturn]] void Die(const std::string& what) {
  std::printf("FAIL: %s\n", what.c_str());
  std::exit(1);
}
template <typename T>
T Must(Result<T> r, const std::string& what) {
  if (!r) Die(what + ": " + r.error().ToString());
  return std::move(*r);
}

Bytes Encapsulate(const OhttpKeyConfig& config, const std::string& model, const std::string& body,
                  std::optional<OhttpClientContext>* context) {
  BhttpRequest request{"POST",
                       "https",
                       "runtime",
                       "/v2/models/" + model + "/infer",
                       {{"content-type", "application/json"}},
                       ToBytes(body),
                       {}};
  Bytes bhttp = Must(EncodeBhttpRequest(request), "bhttp encode");
  OhttpEncapsulatedRequest sealed = Must(EncapsulateOhttpRequest(config, bhttp), "encapsulate");
  context->emplace(std::move(sealed.context));
  return std::move(sealed.encapsulated_request);
}

bool OutputsMatch(const std::string& response_body, const infer::Tensor& expected) {
  auto outputs = infer::ParseInferResponse(response_body);
  if (!outputs || outputs->size() != 1) return false;
  const infer::Tensor& got = (*outputs)[0];
  if (got.shape != expected.shape || got.dtype != infer::DataType::kFp32 ||
      got.data.size() != expected.data.size()) {
    return false;
  }
  for (size_t i = 0; i < got.data.size(); i += 4) {
    float a, b;
    std::memcpy(&a, &got.data[i], 4);
    std::memcpy(&b, &expected.data[i], 4);
    if (!(std::fabs(a - b) <= 1e-4f + 1e-4f * std::fabs(b))) return false;
  }
  return true;
}

// `http GET|POST BASE_URL PATH [BODY]`: prints the status on the first line, then the body
// (so the test script needs no curl). Exit 1 when the server cannot be reached.
int PlainHttp(int argc, char** argv) {
  if (argc < 5) Die("usage: http GET|POST BASE_URL PATH [BODY]");
  httplib::Client http(argv[3]);
  http.set_connection_timeout(2);
  http.set_read_timeout(30);
  const std::string method = argv[2], path = argv[4];
  auto res = method == "GET" ? http.Get(path)
                             : http.Post(path, argc > 5 ? argv[5] : "", "application/json");
  if (!res) return 1;
  std::printf("%d\n%s\n", res->status, res->body.c_str());
  return 0;
}

// `slow PORT N SECONDS`: holds N slow connections (testing/slow_clients.h) for SECONDS.
int Slow(int argc, char** argv) {
  if (argc != 5) Die("usage: slow PORT N SECONDS");
  return testing::HoldSlowClients(std::stoi(argv[2]), std::stoul(argv[3]), std::stoi(argv[4]),
                                  testing::SlowClients::Kind::kPlainHeader);
}

int Main(int argc, char** argv) {
  if (argc > 1 && std::string(argv[1]) == "http") return PlainHttp(argc, argv);
  if (argc > 1 && std::string(argv[1]) == "slow") return Slow(argc, argv);
  if (argc != 7) Die("usage: URL SIM_ROOT_PEM MEASUREMENT_HEX MODEL INPUT.npy EXPECTED.npy");
  const std::string url = argv[1], model = argv[4];
  httplib::Client http(url);
  http.set_read_timeout(60);

  // 1. Attestation.
  const std::string nonce = HexEncode(Must(RandomBytes(32), "nonce"));
  auto att = http.Get("/v1/attestation?nonce=" + nonce);
  if (!att || att->status != 200) Die("GET /v1/attestation");
  json body = Must(ParseJsonStrict(att->body), "attestation JSON");
  const json& rd = body["runtime_data"];
  Check(rd["nonce"] == nonce, "the nonce is echoed in runtime_data");
  Check(body["tee"] == "sim" && body["simulated"] == true, "the TEE says it is simulated");
  Bytes report_data = Sha384(AsBytes(Must(CanonicalizeJson(rd), "JCS")));
  report_data.resize(64, 0);
  Bytes root_pem = Must(ReadFileBytes(argv[2], 1 << 20), "sim root");
  Certificate root = Must(Certificate::FromPem(ToString(root_pem)), "sim root PEM");
  attest::SimVerifier verifier(std::move(root));
  attest::VerifyOptions options;
  options.verification_time = UnixNow();
  options.expected_report_data = report_data;
  attest::Evidence evidence{
      attest::TeeType::kSim, ToBytes(body["evidence"].get<std::string>()), {}};
  auto verified = verifier.Verify(evidence, options);
  Check(verified.has_value(), "the evidence verifies and binds runtime_data");
  if (!verified) return 1;
  Check(HexEncode(verified->claims().measurement) == argv[3],
        "the measurement is the expected one");
  if (failures != 0) return 1;
  Bytes config_bytes =
      Must(Base64UrlDecode(rd["ohttp-key-config"].get<std::string>()), "ohttp-key-config");
  OhttpKeyConfig config = Must(ParseOhttpKeyConfig(config_bytes), "key config");

  // 2. One encrypted prediction.
  infer::Tensor input =
      Must(infer::ParseNpy(Must(ReadFileBytes(argv[5], 64 << 20), "input"), "input"), "input npy");
  infer::Tensor expected = Must(
      infer::ParseNpy(Must(ReadFileBytes(argv[6], 64 << 20), "expected"), "logits"), "expected");
  const std::string oip = infer::EncodeInferRequest({"e2e-1", {input}, {}});
  std::optional<OhttpClientContext> context;
  Bytes request = Encapsulate(config, model, oip, &context);
  auto res = http.Post("/v1/ohttp", ToString(request), "message/ohttp-req");
  if (!res || res->status != 200) Die("POST /v1/ohttp: " + (res ? res->body : std::string("-")));
  Check(res->get_header_value("Content-Type") == "message/ohttp-res", "message/ohttp-res");
  Bytes inner = Must(context->DecapsulateResponse(AsBytes(res->body)), "decapsulate");
  BhttpResponse response = Must(DecodeBhttpResponse(inner), "bhttp response");
  Check(response.status == 200, "the inner response is 200");
  Check(OutputsMatch(ToString(response.content), expected),
        "the decrypted prediction equals torch's");

  // 3. Replay, tampering and another client's context.
  auto replay = http.Post("/v1/ohttp", ToString(request), "message/ohttp-req");
  Check(replay && replay->status == 400 && replay->body.find("replayed") != std::string::npos,
        "a replayed request is refused with 400");
  std::optional<OhttpClientContext> other;
  Bytes tampered = Encapsulate(config, model, oip, &other);
  tampered[tampered.size() - 3] ^= 1;
  auto bad = http.Post("/v1/ohttp", ToString(tampered), "message/ohttp-req");
  Check(bad && bad->status == 400, "a tampered request is refused with 400");
  Check(!other->DecapsulateResponse(AsBytes(res->body)).has_value(),
        "the response does not open with another request's context");

  // 4. The seed's /predict shape.
  std::optional<OhttpClientContext> context2;
  Bytes request2 = Encapsulate(config, model, oip, &context2);
  auto pred = http.Post("/predict", json{{"encrypted_input", Base64Encode(request2)}}.dump(),
                        "application/json");
  if (!pred || pred->status != 200) Die("POST /predict: " + (pred ? pred->body : std::string("-")));
  json pred_body = Must(ParseJsonStrict(pred->body), "predict JSON");
  Check(pred_body["success"] == true, "/predict succeeds");
  Bytes sealed = Must(Base64Decode(pred_body["encrypted_result"].get<std::string>()), "base64");
  BhttpResponse response2 = Must(
      DecodeBhttpResponse(Must(context2->DecapsulateResponse(sealed), "decapsulate")), "bhttp");
  Check(OutputsMatch(ToString(response2.content), expected),
        "/predict answers the same prediction");

  // 5. Concurrent clients (batched together by the runtime): each gets its own row back.
  const int64_t rows = input.shape[0];
  const size_t in_row = input.data.size() / rows, out_row = expected.data.size() / rows;
  constexpr int kClients = 8;
  std::vector<std::thread> threads;
  std::atomic<int> right{0};
  for (int t = 0; t < kClients; ++t) {
    threads.emplace_back([&, t] {
      const int64_t row = t % rows;
      infer::Tensor one = input;
      one.shape[0] = 1;
      one.data.assign(input.data.begin() + row * in_row, input.data.begin() + (row + 1) * in_row);
      infer::Tensor want = expected;
      want.shape[0] = 1;
      want.data.assign(expected.data.begin() + row * out_row,
                       expected.data.begin() + (row + 1) * out_row);
      std::optional<OhttpClientContext> ctx;
      Bytes req = Encapsulate(config, model, infer::EncodeInferRequest({"", {one}, {}}), &ctx);
      httplib::Client c(url);
      c.set_read_timeout(60);
      auto r = c.Post("/v1/ohttp", ToString(req), "message/ohttp-req");
      if (!r || r->status != 200) return;
      auto plain = ctx->DecapsulateResponse(AsBytes(r->body));
      if (!plain) return;
      auto inner_response = DecodeBhttpResponse(*plain);
      if (inner_response && OutputsMatch(ToString(inner_response->content), want)) ++right;
    });
  }
  for (std::thread& t : threads) t.join();
  Check(right.load() == kClients, std::to_string(kClients) +
                                      " concurrent clients each decrypt their own prediction (" +
                                      std::to_string(right.load()) + " right)");
  return failures == 0 ? 0 : 1;
}

}  // namespace
}  // namespace crypta

int main(int argc, char** argv) { return crypta::Main(argc, argv); }

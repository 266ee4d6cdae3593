// The SDK-level half of predict_e2e_test.sh, against a real crypta-runtime in the sim TEE:
//
//   client_e2e_probe compare OUT.json EXPECTED.npy
//       the first output tensor of an OIP response equals the expected tensor (1e-4)
//   client_e2e_probe attacks URL MEASUREMENT SIM_ROOT MODEL INPUT.npy INPUT_NAME
//       a tampered or replayed OHTTP request is refused by the gateway; a tampered response
//       is refused by the client; one client's response does not open with another's context
//   client_e2e_probe concurrent URL MEASUREMENT SIM_ROOT MODEL INPUT.npy INPUT_NAME N
//       N clients (each verifying the service itself) send distinct inputs at once and each
//       gets the output of its own input (as computed alone beforehand)
//
// Prints one line per failed check and exits 1 if any failed.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "client/client.h"
#include "common/encoding.h"
#include "common/file_util.h"
#include "infer/npy.h"
#include "infer/oip.h"

namespace crypta::client {
namespace {

int failures = 0;
void Check(bool ok, const std::string& what) {
  if (!ok) {
    std::printf("FAIL: %s\n", what.c_str());
    ++failures;
  }
}

std::vector<float> Floats(const infer::Tensor& t) {
  std::vector<float> out(t.data.size() / 4);
  std::memcpy(out.data(), t.data.data(), out.size() * 4);
  return out;
}

// Largest |a-b| / (1 + |b|); infinity when shapes differ.
double Distance(const infer::Tensor& a, const infer::Tensor& b) {
  if (a.shape != b.shape || a.dtype != infer::DataType::kFp32 || a.dtype != b.dtype) {
    return INFINITY;
  }
  std::vector<float> x = Floats(a), y = Floats(b);
  double worst = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    worst = std::max(worst, std::fabs(double(x[i]) - y[i]) / (1 + std::fabs(double(y[i]))));
  }
  return worst;
}

Result<infer::Tensor> ReadNpy(const std::string& path, const std::string& name) {
  CRYPTA_ASSIGN_OR_RETURN(Bytes file, ReadFileBytes(path, 64u << 20));
  return infer::ParseNpy(file, name);
}

struct Target {
  std::string url, model, input_path, input_name;
  Expectations expect;
};

Result<Target> ParseTarget(char** argv) {
  Target t;
  t.url = argv[2];
  CRYPTA_ASSIGN_OR_RETURN(Bytes m, HexDecode(argv[3]));
  t.expect.measurements = {m};
  t.expect.allow_simulated = true;
  CRYPTA_ASSIGN_OR_RETURN(Bytes root, ReadFileBytes(argv[4], 64 * 1024));
  t.expect.sim_root_pem = ToString(root);
  t.model = argv[5];
  t.input_path = argv[6];
  t.input_name = argv[7];
  return t;
}

// Fresh attestation is rate-limited (429): clients back off and retry.
Result<VerifiedService> Verify(const Target& t) {
  for (int attempt = 1;; ++attempt) {
    Result<VerifiedService> s = VerifyService(t.url, t.expect);
    if (s || s.error().code() != ErrorCode::kResourceExhausted || attempt == 30) return s;
    std::this_thread::sleep_for(std::chrono::milliseconds(100 * attempt));
  }
}

int Compare(const std::string& out_json, const std::string& expected_npy) {
  Result<Bytes> body = ReadFileBytes(out_json, 64u << 20);
  Check(body.has_value(), "read " + out_json);
  if (!body) return 1;
  Result<std::vector<infer::Tensor>> outputs = infer::ParseInferResponse(AsStringView(*body));
  Check(outputs && !outputs->empty(), "an OIP response with outputs in " + out_json);
  Result<infer::Tensor> expected = ReadNpy(expected_npy, "expected");
  Check(expected.has_value(), "read " + expected_npy);
  if (!outputs || outputs->empty() || !expected) return 1;
  const double d = Distance((*outputs)[0], *expected);
  Check(d <= 1e-4, "prediction differs from the expected output by " + std::to_string(d));
  return failures ? 1 : 0;
}

int Attacks(const Target& t) {
  Result<VerifiedService> alice = Verify(t);
  Result<VerifiedService> bob = Verify(t);
  Check(alice && bob,
        "verify: " + (alice ? (bob ? "" : bob.error().message()) : alice.error().message()));
  if (!alice || !bob) return 1;
  Result<std::shared_ptr<const HttpTransport>> http = MakeHttpTransport(t.url);
  if (!http) return 1;
  const BhttpRequest metadata{"GET", "https", "crypta-runtime", "/v2/models/" + t.model, {},
                              {},    {}};
  auto post = [&](ByteSpan body) {
    return (*http)->Post("/v1/ohttp", "message/ohttp-req", body, 1u << 20);
  };

  // A tampered request (one bit of the AEAD ciphertext) is refused by the gateway. (Its
  // own encapsulation: the genuine request below must not look like a replay of it.)
  Result<OhttpEncapsulatedRequest> spoiled = alice->Encrypt(metadata);
  Result<OhttpEncapsulatedRequest> request = alice->Encrypt(metadata);
  Check(spoiled && request, "encrypt");
  if (!spoiled || !request) return 1;
  Bytes tampered = spoiled->encapsulated_request;
  tampered.back() ^= 1;
  Result<HttpReply> reply = post(tampered);
  Check(reply && reply->status == 400,
        "tampered request: status " + (reply ? std::to_string(reply->status) : "none"));

  // The genuine request is answered; its response opens only with its own context.
  reply = post(request->encapsulated_request);
  Check(reply && reply->status == 200,
        "genuine request: status " + (reply ? std::to_string(reply->status) : "none"));
  if (!reply || reply->status != 200) return 1;
  Check(alice->Decrypt(request->context, AsBytes(reply->body)).has_value(),
        "the response opens with its own context");
  Result<OhttpEncapsulatedRequest> bobs = bob->Encrypt(metadata);
  Check(bobs && !bob->Decrypt(bobs->context, AsBytes(reply->body)).has_value(),
        "another client's context must not open the response");
  Bytes flipped(reply->body.begin(), reply->body.end());
  flipped[flipped.size() / 2] ^= 0x40;
  Result<BhttpResponse> opened = alice->Decrypt(request->context, flipped);
  Check(!opened && opened.error().code() == ErrorCode::kUnauthenticated,
        "a tampered response must not authenticate");

  // The same encapsulated request again is a replay.
  reply = post(request->encapsulated_request);
  Check(reply && reply->status == 400,
        "replayed request: status " + (reply ? std::to_string(reply->status) : "none"));
  return failures ? 1 : 0;
}

int Concurrent(const Target& t, int n) {
  Result<infer::Tensor> base = ReadNpy(t.input_path, t.input_name);
  Check(base.has_value(), "read " + t.input_path);
  if (!base || base->dtype != infer::DataType::kFp32) return 1;
  std::vector<infer::Tensor> inputs(n, *base);
  for (int i = 0; i < n; ++i) {
    std::vector<float> v = Floats(*base);
    for (float& f : v) f = f * (1.0f + 0.25f * i) + 0.05f * i;
    std::memcpy(inputs[i].data.data(), v.data(), v.size() * 4);
  }
  Result<VerifiedService> solo = Verify(t);
  Check(solo.has_value(), "verify: " + (solo ? "" : solo.error().message()));
  if (!solo) return 1;
  std::vector<infer::Tensor> alone(n);
  for (int i = 0; i < n; ++i) {
    Result<std::vector<infer::Tensor>> out = solo->Infer(t.model, {inputs[i]});
    Check(out && !out->empty(),
          "input " + std::to_string(i) + " alone: " + (out ? "" : out.error().message()));
    if (!out || out->empty()) return 1;
    alone[i] = (*out)[0];
  }
  for (int i = 1; i < n; ++i) {
    Check(Distance(alone[i], alone[0]) > 1e-3, "inputs 0 and " + std::to_string(i) +
                                                   " give the same output: the test cannot "
                                                   "tell results apart");
  }

  std::vector<std::optional<VerifiedService>> clients(n);
  for (int i = 0; i < n; ++i) {
    Result<VerifiedService> s = Verify(t);
    Check(s.has_value(),
          "client " + std::to_string(i) + " verify: " + (s ? "" : s.error().message()));
    if (!s) return 1;
    clients[i] = std::move(*s);
  }
  std::vector<Result<std::vector<infer::Tensor>>> results(
      n, MakeError(ErrorCode::kInternal, "not run"));
  std::vector<std::thread> threads;
  const auto start = std::chrono::steady_clock::now() + std::chrono::milliseconds(50);
  for (int i = 0; i < n; ++i) {
    threads.emplace_back([&, i] {
      std::this_thread::sleep_until(start);
      results[i] = clients[i]->Infer(t.model, {inputs[i]});
    });
  }
  for (std::thread& th : threads) th.join();
  for (int i = 0; i < n; ++i) {
    const std::string who = "concurrent client " + std::to_string(i);
    Check(results[i] && !results[i]->empty(),
          who + ": " + (results[i] ? "no outputs" : results[i].error().message()));
    if (results[i] && !results[i]->empty()) {
      Check(Distance((*results[i])[0], alone[i]) <= 1e-4, who + " got another output");
    }
  }
  return failures ? 1 : 0;
}

}  // namespace
}  // namespace crypta::client

int main(int argc, char** argv) {
  using namespace crypta::client;
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "compare" && argc == 4) return Compare(argv[2], argv[3]);
  if ((mode == "attacks" && argc == 8) || (mode == "concurrent" && argc == 9)) {
    crypta::Result<Target> t = ParseTarget(argv);
    if (!t) {
      std::printf("FAIL: arguments: %s\n", t.error().message().c_str());
      return 2;
    }
    return mode == "attacks" ? Attacks(*t) : Concurrent(*t, std::atoi(argv[8]));
  }
  std::fprintf(
      stderr,
      "usage: client_e2e_probe compare OUT.json EXPECTED.npy\n"
      "       client_e2e_probe attacks URL MEASUREMENT SIM_ROOT MODEL INPUT.npy NAME\n"
      "       client_e2e_probe concurrent URL MEASUREMENT SIM_ROOT MODEL INPUT.npy NAME N\n");
  return 2;
}

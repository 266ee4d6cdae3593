// The C++ SDK's predictions against a crypta-runtime: the baseline the Python and Node.js SDK
// benchmarks compare with (issue 11), measured in the same run by scripts/bench_sdk.sh.
//
// Verifies the service once (client::VerifyService with the sim root and the measurement),
// then calls VerifiedService::Infer — exactly what crypta.VerifiedService.predict and the
// Node.js svc.predict call — with the .npy input:
//   sequential: --requests N calls on one thread: p50 and p90 latency (ms);
//   threads:    --threads T threads, --requests N calls each: predictions per second.
// Prints one JSON object.
//
// Usage: sdk_predict_load --url URL --model M --input X.npy --input-name NAME
//          --data-dir DIR --measurement HEX [--requests 200] [--threads 8]
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "client/verify_options.h"
#include "common/file_util.h"
#include "infer/npy.h"

namespace {

using Clock = std::chrono::steady_clock;

[[noreturn]] void Die(const std::string& message) {
  std::fprintf(stderr, "sdk_predict_load: %s\n", message.c_str());
  std::exit(1);
}

double Percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

}  // namespace

int main(int argc, char** argv) {
  using namespace crypta;
  std::string url, model, input, input_name = "input", data_dir, measurement;
  int requests = 200, threads = 8;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--url")
      url = value;
    else if (flag == "--model")
      model = value;
    else if (flag == "--input")
      input = value;
    else if (flag == "--input-name")
      input_name = value;
    else if (flag == "--data-dir")
      data_dir = value;
    else if (flag == "--measurement")
      measurement = value;
    else if (flag == "--requests")
      requests = std::stoi(value);
    else if (flag == "--threads")
      threads = std::stoi(value);
    else
      Die("unknown flag " + flag);
  }
  client::VerifyOptions options;
  options.measurements = {measurement};
  options.allow_simulated = true;
  options.data_dir = data_dir;
  Result<client::VerifiedService> service = client::VerifyService(url, options);
  if (!service) Die(service.error().message());
  Result<Bytes> file = ReadFileBytes(input, 64 << 20);
  if (!file) Die(file.error().message());
  Result<infer::Tensor> tensor = infer::ParseNpy(*file, input_name);
  if (!tensor) Die(tensor.error().message());
  const std::vector<infer::TensorView> views = {
      {tensor->name, tensor->dtype, tensor->shape, tensor->data}};
  auto call = [&] {
    Result<std::vector<infer::Tensor>> out = service->Infer(model, views);
    if (!out) Die(out.error().message());
  };
  for (int i = 0; i < 20; ++i) call();  // warm up

  std::vector<double> ms;
  for (int i = 0; i < requests; ++i) {
    const auto start = Clock::now();
    call();
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
  }
  const auto start = Clock::now();
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      for (int i = 0; i < requests; ++i) call();
    });
  }
  for (auto& t : pool) t.join();
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  const nlohmann::json out = {{"p50_ms", Percentile(ms, 0.5)},
                              {"p90_ms", Percentile(ms, 0.9)},
                              {"n", requests},
                              {"threads", threads},
                              {"threaded_per_s", threads * requests / seconds}};
  std::printf("%s\n", out.dump().c_str());
  return 0;
}

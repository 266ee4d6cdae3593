#include "infer/batcher.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "infer/test_models.h"
#include "testing/test_util.h"

namespace crypta::infer {
namespace {

using namespace std::chrono_literals;

// y = 10 * x element-wise: every caller can check it got its own rows back. Records the
// rows of every run, sleeps a little so other callers can queue, and can be told to fail.
class ScaleRunner : public ModelRunner {
 public:
  explicit ScaleRunner(int64_t batch_dim = -1) {
    sig_.inputs = {{"x", DataType::kFp32, {batch_dim, -1}}};
    sig_.outputs = {{"y", DataType::kFp32, {batch_dim, -1}}};
  }
  std::string_view backend() const override { return "fake"; }
  const ModelSignature& signature() const override { return sig_; }
  Result<std::vector<Tensor>> Run(const std::vector<Tensor>& inputs) override {
    CRYPTA_ASSIGN_OR_RETURN(auto ordered, MatchInputs(sig_, inputs));
    {
      std::lock_guard<std::mutex> lock(mu_);
      run_rows_.push_back(ordered[0]->shape[0]);
    }
    std::this_thread::sleep_for(2ms);  // long enough for other callers to queue up
    if (fail_) return MakeError(ErrorCode::kInternal, "fake runner failed");
    Tensor y = *ordered[0];
    y.name = "y";
    float* v = reinterpret_cast<float*>(y.data.data());
    for (size_t i = 0; i < y.data.size() / 4; ++i) v[i] = v[i] * 10.0f;
    return std::vector<Tensor>{std::move(y)};
  }
  std::vector<int64_t> run_rows() {
    std::lock_guard<std::mutex> lock(mu_);
    return run_rows_;
  }
  std::atomic<bool> fail_{false};

 private:
  ModelSignature sig_;
  std::mutex mu_;
  std::vector<int64_t> run_rows_;
};

Tensor Row(float value, int width = 2, int rows = 1) {
  Tensor t{"x", DataType::kFp32, {rows, width}, {}};
  std::vector<float> v(static_cast<size_t>(rows * width));
  for (size_t i = 0; i < v.size(); ++i) v[i] = value + static_cast<float>(i);
  t.data.resize(v.size() * 4);
  std::memcpy(t.data.data(), v.data(), t.data.size());
  return t;
}

// Runs `n` concurrent callers; caller i sends make(i).
std::vector<Result<std::vector<Tensor>>> RunConcurrently(Batcher& batcher, int n,
                                                         const std::function<Tensor(int)>& make) {
  std::vector<Result<std::vector<Tensor>>> results(n, MakeError(ErrorCode::kInternal, "unset"));
  std::vector<std::thread> threads;
  for (int i = 0; i < n; ++i) {
    threads.emplace_back([&, i] { results[i] = batcher.Infer({make(i)}); });
  }
  for (auto& t : threads) t.join();
  return results;
}

// Where a test asserts that batches formed, the window is long: 24 callers fill 3 batches of
// 8 long before it ends, however slowly the threads are scheduled.
TEST(BatcherTest, ConcurrentCallersGetTheirOwnOutputs) {
  ScaleRunner runner;
  Batcher batcher(&runner, {.max_batch = 8, .max_delay = 30s});
  const int n = 24;
  auto results = RunConcurrently(batcher, n, [](int i) { return Row(100.0f * i); });
  for (int i = 0; i < n; ++i) {
    ASSERT_TRUE(results[i].has_value()) << results[i].error().ToString();
    const std::vector<float> got = testing::Floats((*results[i])[0]);
    EXPECT_EQ((*results[i])[0].shape, (std::vector<int64_t>{1, 2}));
    EXPECT_EQ(got, (std::vector<float>{1000.0f * i, 1000.0f * i + 10.0f})) << "caller " << i;
  }
  const Batcher::Stats stats = batcher.stats();
  EXPECT_EQ(stats.requests, static_cast<uint64_t>(n));
  EXPECT_LT(stats.batches, static_cast<uint64_t>(n));  // some requests shared a run
  uint64_t batched = 0;
  for (size_t size = 2; size < stats.batch_size_counts.size(); ++size) {
    batched += stats.batch_size_counts[size];
  }
  EXPECT_GT(batched, 0u);
  for (int64_t rows : runner.run_rows()) EXPECT_LE(rows, 8);
}

TEST(BatcherTest, MultiRowRequestsSplitBackByRows) {
  ScaleRunner runner;
  Batcher batcher(&runner, {.max_batch = 8, .max_delay = 20ms});
  auto results = RunConcurrently(batcher, 6, [](int i) { return Row(i * 50.0f, 2, 1 + i % 3); });
  for (int i = 0; i < 6; ++i) {
    ASSERT_TRUE(results[i].has_value());
    const Tensor expected = Row(i * 500.0f, 2, 1 + i % 3);
    const std::vector<float> got = testing::Floats((*results[i])[0]);
    ASSERT_EQ(got.size(), expected.data.size() / 4);
    for (size_t k = 0; k < got.size(); ++k) EXPECT_EQ(got[k], (i * 50.0f + k) * 10.0f);
  }
  for (int64_t rows : runner.run_rows()) EXPECT_LE(rows, 8);
}

TEST(BatcherTest, RequestsWithOtherNonBatchDimsAreNotMixed) {
  ScaleRunner runner;
  Batcher batcher(&runner, {.max_batch = 8, .max_delay = 20ms});
  auto results = RunConcurrently(batcher, 12, [](int i) { return Row(i, 2 + i % 2); });
  for (int i = 0; i < 12; ++i) {
    ASSERT_TRUE(results[i].has_value()) << results[i].error().ToString();
    EXPECT_EQ((*results[i])[0].shape, (std::vector<int64_t>{1, 2 + i % 2}));
    EXPECT_EQ(testing::Floats((*results[i])[0])[0], 10.0f * i);
  }
}

TEST(BatcherTest, RunFailureGoesToEveryRequestOfTheBatch) {
  ScaleRunner runner;
  runner.fail_ = true;
  Batcher batcher(&runner, {.max_batch = 4, .max_delay = 30s});
  auto results = RunConcurrently(batcher, 8, [](int i) { return Row(i); });
  for (auto& r : results) {
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().message(), "fake runner failed");
  }
  EXPECT_LT(batcher.stats().batches, 8u);
}

TEST(BatcherTest, InvalidRequestFailsAloneBeforeBatching) {
  ScaleRunner runner;
  Batcher batcher(&runner, {.max_batch = 8, .max_delay = 5ms});
  auto results = RunConcurrently(batcher, 6, [](int i) {
    Tensor t = Row(i);
    if (i == 3) t.dtype = DataType::kInt32;
    return t;
  });
  for (int i = 0; i < 6; ++i) {
    if (i == 3) {
      ASSERT_FALSE(results[i].has_value());
      EXPECT_NE(results[i].error().message().find("datatype INT32, want FP32"), std::string::npos);
    } else {
      EXPECT_TRUE(results[i].has_value());
    }
  }
}

TEST(BatcherTest, FixedBatchDimensionRunsEachRequestAlone) {
  ScaleRunner runner(/*batch_dim=*/1);
  Batcher batcher(&runner, {.max_batch = 8, .max_delay = 20ms});
  auto results = RunConcurrently(batcher, 4, [](int i) { return Row(i); });
  for (auto& r : results) EXPECT_TRUE(r.has_value());
  EXPECT_EQ(batcher.stats().batches, 4u);
  EXPECT_EQ(batcher.stats().batch_size_counts[1], 4u);
}

TEST(BatcherTest, DestructorDrainsQueuedRequestsWithoutWaitingForTheDelay) {
  ScaleRunner runner;
  auto batcher = std::make_unique<Batcher>(
      &runner, BatchOptions{.max_batch = 64, .max_delay = std::chrono::seconds(30)});
  std::vector<Result<std::vector<Tensor>>> results(3, MakeError(ErrorCode::kInternal, "unset"));
  std::vector<std::thread> threads;
  for (int i = 0; i < 3; ++i) {
    threads.emplace_back([&, i] { results[i] = batcher->Infer({Row(i)}); });
  }
  std::this_thread::sleep_for(200ms);  // all three are queued, waiting for the batch to fill
  const auto start = std::chrono::steady_clock::now();
  batcher.reset();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  for (auto& t : threads) t.join();
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(results[i].has_value()) << results[i].error().ToString();
    EXPECT_EQ(testing::Floats((*results[i])[0])[0], 10.0f * i);
  }
}

// The real TinyCnn: each caller sends one image of the sample batch; batched results must
// equal running that image alone.
TEST(BatcherTest, TinyCnnBatchedEqualsIndividual) {
  CRYPTA_REQUIRE_MODEL("tiny_cnn.pt");
  LoadOptions options;
  options.backend = "torchscript";
  options.signature = testing::ReadSignature("tiny_cnn.signature.json");
  CRYPTA_ASSIGN_OR_FAIL(auto runner, LoadModel(testing::ReadModelFile("tiny_cnn.pt"), options));
  const Tensor batch = testing::ReadNpy("tiny_cnn.input.npy", "input");
  const int64_t rows = batch.shape[0];
  const size_t row_bytes = batch.data.size() / static_cast<size_t>(rows);
  std::vector<Tensor> images;
  std::vector<Tensor> alone;
  for (int64_t r = 0; r < rows; ++r) {
    Tensor image{"input", DataType::kFp32, {1, 3, 32, 32}, {}};
    image.data.assign(batch.data.begin() + r * row_bytes, batch.data.begin() + (r + 1) * row_bytes);
    CRYPTA_ASSIGN_OR_FAIL(auto out, runner->Run({image}));
    images.push_back(std::move(image));
    alone.push_back(std::move(out[0]));
  }
  Batcher batcher(runner.get(), {.max_batch = 4, .max_delay = 30s});
  const int callers = 16;
  auto results = RunConcurrently(batcher, callers, [&](int i) { return images[i % rows]; });
  for (int i = 0; i < callers; ++i) {
    ASSERT_TRUE(results[i].has_value()) << results[i].error().ToString();
    testing::ExpectClose((*results[i])[0], alone[i % rows], 1e-5, 1e-6);
  }
  EXPECT_LT(batcher.stats().batches, static_cast<uint64_t>(callers));
}

}  // namespace
}  // namespace crypta::infer

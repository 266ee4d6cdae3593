// Dynamic batching: concurrent requests to one model are run as one batch.
//
// Requests whose inputs have equal non-batch dimensions (everything after dim 0) are
// concatenated along dim 0, run once, and the outputs split back by each request's row
// count. A batch closes when it holds max_batch rows or when its first request has waited
// max_delay. One worker thread runs batches, one at a time.
// A request is run on its own, in the caller's thread, when batching cannot apply: the
// model's inputs do not all have a dynamic (-1) first dimension, the request's inputs differ
// in dim 0, or it alone has more than max_batch rows.
#ifndef CRYPTA_INFER_BATCHER_H_
#define CRYPTA_INFER_BATCHER_H_

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "common/status.h"
#include "infer/model_runner.h"

namespace crypta::infer {

struct BatchOptions {
  int max_batch = 8;                          // rows per batch; <= 1 disables batching
  std::chrono::microseconds max_delay{2000};  // longest wait for a batch to fill
};

class Batcher {
 public:
  // `runner` must outlive the Batcher. Starts the worker thread.
  Batcher(ModelRunner* runner, BatchOptions options);
  // Stops accepting requests, runs every queued request (drains), joins the worker.
  ~Batcher();
  Batcher(const Batcher&) = delete;
  Batcher& operator=(const Batcher&) = delete;

  // Thread-safe. Blocks until this request's outputs are ready; returns them in
  // signature().outputs order, with this request's rows only. Invalid inputs fail alone
  // (kInvalidArgument, as ModelRunner::Run); a failure of the batched run goes to every
  // request of that batch. kUnavailable once the destructor has started.
  Result<std::vector<Tensor>> Infer(std::vector<Tensor> inputs);

  struct Stats {
    uint64_t batches = 0;   // model runs (a request run on its own counts as one)
    uint64_t requests = 0;  // requests answered
    // batch_size_counts[n]: runs that served n requests (index 0 unused; size max_batch+1).
    std::vector<uint64_t> batch_size_counts;
  };
  Stats stats() const;

 private:
  struct Pending;

  void WorkerLoop();
  void RunBatch(std::vector<std::shared_ptr<Pending>> batch);
  void Record(size_t requests);
  bool Batchable() const;

  ModelRunner* const runner_;
  const BatchOptions options_;
  const bool batchable_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<Pending>> queue_;  // guarded by mu_
  bool stopping_ = false;                       // guarded by mu_

  mutable std::mutex stats_mu_;
  Stats stats_;  // guarded by stats_mu_

  std::thread worker_;  // last: starts after everything above is initialised
};

}  // namespace crypta::infer

#endif  // CRYPTA_INFER_BATCHER_H_

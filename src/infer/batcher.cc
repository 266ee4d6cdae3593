// Dynamic batching (see batcher.h).
#include "infer/batcher.h"

#include <future>
#include <string>
#include <utility>

namespace crypta::infer {

struct Batcher::Pending {
  std::vector<Tensor> inputs;  // signature order
  int64_t rows = 0;
  std::chrono::steady_clock::time_point enqueued;
  std::promise<Result<std::vector<Tensor>>> promise;
};

namespace {

// Requests can share a batch when every input has the same non-batch dimensions.
bool SameNonBatchDims(const std::vector<Tensor>& a, const std::vector<Tensor>& b) {
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].shape.size() != b[i].shape.size()) return false;
    for (size_t d = 1; d < a[i].shape.size(); ++d) {
      if (a[i].shape[d] != b[i].shape[d]) return false;
    }
  }
  return true;
}

}  // namespace

Batcher::Batcher(ModelRunner* runner, BatchOptions options)
    : runner_(runner),
      options_(options),
      batchable_(Batchable()),
      worker_([this] { WorkerLoop(); }) {
  stats_.batch_size_counts.assign(static_cast<size_t>(std::max(options_.max_batch, 1)) + 1, 0);
}

Batcher::~Batcher() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  worker_.join();
}

bool Batcher::Batchable() const {
  if (options_.max_batch <= 1) return false;
  const ModelSignature& sig = runner_->signature();
  for (const auto* specs : {&sig.inputs, &sig.outputs}) {
    for (const TensorSpec& spec : *specs) {
      if (spec.shape.empty() || spec.shape[0] != -1) return false;
    }
  }
  return true;
}

void Batcher::Record(size_t requests) {
  std::lock_guard<std::mutex> lock(stats_mu_);
  ++stats_.batches;
  stats_.requests += requests;
  if (requests < stats_.batch_size_counts.size()) {
    ++stats_.batch_size_counts[requests];
  } else {
    ++stats_.batch_size_counts.back();
  }
}

Batcher::Stats Batcher::stats() const {
  std::lock_guard<std::mutex> lock(stats_mu_);
  return stats_;
}

Result<std::vector<Tensor>> Batcher::Infer(std::vector<Tensor> inputs) {
  CRYPTA_ASSIGN_OR_RETURN(std::vector<const Tensor*> ordered,
                          MatchInputs(runner_->signature(), inputs));
  int64_t rows = -1;
  bool uniform = true;
  for (const Tensor* t : ordered) {
    const int64_t r = t->shape.empty() ? -1 : t->shape[0];
    if (rows == -1) rows = r;
    if (r != rows || r < 1) uniform = false;
  }
  if (!batchable_ || !uniform || rows > options_.max_batch) {
    Result<std::vector<Tensor>> result = runner_->Run(inputs);
    Record(1);
    return result;
  }
  auto pending = std::make_shared<Pending>();
  pending->inputs.reserve(ordered.size());
  for (const Tensor* t : ordered) {
    pending->inputs.push_back(std::move(inputs[static_cast<size_t>(t - inputs.data())]));
  }
  pending->rows = rows;
  pending->enqueued = std::chrono::steady_clock::now();
  std::future<Result<std::vector<Tensor>>> future = pending->promise.get_future();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return MakeError(ErrorCode::kUnavailable, "batcher: shutting down");
    queue_.push_back(std::move(pending));
  }
  cv_.notify_all();
  return future.get();
}

void Batcher::WorkerLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, and everything queued has been answered
    const std::shared_ptr<Pending> first = queue_.front();
    const auto deadline = first->enqueued + options_.max_delay;
    const auto ready_rows = [&] {
      int64_t rows = 0;
      for (const auto& p : queue_) {
        if (SameNonBatchDims(first->inputs, p->inputs)) rows += p->rows;
      }
      return rows;
    };
    while (!stopping_ && ready_rows() < options_.max_batch) {
      if (cv_.wait_until(lock, deadline) == std::cv_status::timeout) break;
    }
    std::vector<std::shared_ptr<Pending>> batch;
    int64_t rows = 0;
    for (auto it = queue_.begin(); it != queue_.end();) {
      if (rows + (*it)->rows <= options_.max_batch &&
          SameNonBatchDims(first->inputs, (*it)->inputs)) {
        rows += (*it)->rows;
        batch.push_back(std::move(*it));
        it = queue_.erase(it);
      } else {
        ++it;
      }
    }
    lock.unlock();
    RunBatch(std::move(batch));
    lock.lock();
  }
}

void Batcher::RunBatch(std::vector<std::shared_ptr<Pending>> batch) {
  Record(batch.size());
  if (batch.size() == 1) {
    batch[0]->promise.set_value(runner_->Run(batch[0]->inputs));
    return;
  }
  const auto fail_all = [&](const Error& error) {
    for (auto& p : batch) p->promise.set_value(MakeError(error));
  };
  // Row-major tensors concatenate along dim 0 by appending their bytes.
  int64_t total_rows = 0;
  for (const auto& p : batch) total_rows += p->rows;
  std::vector<Tensor> joined;
  for (size_t i = 0; i < batch[0]->inputs.size(); ++i) {
    Tensor t;
    t.name = batch[0]->inputs[i].name;
    t.dtype = batch[0]->inputs[i].dtype;
    t.shape = batch[0]->inputs[i].shape;
    t.shape[0] = total_rows;
    size_t bytes = 0;
    for (const auto& p : batch) bytes += p->inputs[i].data.size();
    t.data.reserve(bytes);
    for (const auto& p : batch) {
      t.data.insert(t.data.end(), p->inputs[i].data.begin(), p->inputs[i].data.end());
    }
    joined.push_back(std::move(t));
  }
  Result<std::vector<Tensor>> result = runner_->Run(joined);
  if (!result) return fail_all(result.error());
  for (const Tensor& out : *result) {
    if (out.shape.empty() || out.shape[0] != total_rows) {
      return fail_all(Error(ErrorCode::kFailedPrecondition,
                            "batcher: output '" + out.name + "' does not have " +
                                std::to_string(total_rows) + " rows; cannot split the batch"));
    }
  }
  std::vector<size_t> offsets(result->size(), 0);
  for (auto& p : batch) {
    std::vector<Tensor> mine;
    mine.reserve(result->size());
    for (size_t o = 0; o < result->size(); ++o) {
      const Tensor& out = (*result)[o];
      const size_t row_bytes = out.data.size() / static_cast<size_t>(total_rows);
      Tensor part;
      part.name = out.name;
      part.dtype = out.dtype;
      part.shape = out.shape;
      part.shape[0] = p->rows;
      const size_t n = row_bytes * static_cast<size_t>(p->rows);
      part.data.assign(out.data.begin() + static_cast<std::ptrdiff_t>(offsets[o]),
                       out.data.begin() + static_cast<std::ptrdiff_t>(offsets[o] + n));
      offsets[o] += n;
      mine.push_back(std::move(part));
    }
    p->promise.set_value(std::move(mine));
  }
}

}  // namespace crypta::infer

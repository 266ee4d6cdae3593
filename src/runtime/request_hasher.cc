#include "runtime/request_hasher.h"

#include <utility>

#include "crypto/hash.h"

namespace crypta::runtime {

Bytes RequestHasher::Job::Wait() {
  std::unique_lock<std::mutex> lock(mu_);
  done_cv_.wait(lock, [this] { return done_; });
  return digest_;
}

RequestHasher::RequestHasher(size_t threads) {
  if (threads == 0) threads = 1;
  workers_.reserve(threads);
  for (size_t i = 0; i < threads; ++i) workers_.emplace_back([this] { Work(); });
}

RequestHasher::~RequestHasher() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  work_cv_.notify_all();
  for (std::thread& t : workers_) t.join();
}

std::shared_ptr<RequestHasher::Job> RequestHasher::Start(ByteSpan data,
                                                         std::function<void()> then) {
  std::shared_ptr<Job> job(new Job(data, std::move(then)));
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (idle_ <= queue_.size()) return nullptr;  // every worker has work already
    queue_.push_back(job);
  }
  work_cv_.notify_one();
  return job;
}

void RequestHasher::Work() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    ++idle_;
    work_cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    --idle_;
    if (queue_.empty()) return;  // stopping, nothing left
    std::shared_ptr<Job> job = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    Bytes digest = Sha256(job->data_);
    if (job->then_) job->then_();
    {
      std::lock_guard<std::mutex> job_lock(job->mu_);
      job->digest_ = std::move(digest);
      job->done_ = true;
    }
    job->done_cv_.notify_all();
    lock.lock();
  }
}

}  // namespace crypta::runtime

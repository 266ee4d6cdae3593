// Receipts (issue 17) bind SHA-256 of the encapsulated request, which costs ~0.5 ms per MB on
// the machines crypta runs on: RequestHasher computes it (and prepares the signature's nonce)
// on worker threads while the request thread runs the model, so a receipt adds little more
// than the last step of its signature to a request's latency. When every worker is busy (more
// requests in flight than idle cores) Start declines and the caller hashes inline: queueing would
// add latency, not hide it.
//
// Thread-safe. The destructor finishes queued work and joins the workers.
#ifndef CRYPTA_RUNTIME_REQUEST_HASHER_H_
#define CRYPTA_RUNTIME_REQUEST_HASHER_H_

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "common/bytes.h"

namespace crypta::runtime {

class RequestHasher {
 public:
  // One digest being computed. Wait() returns it (32 bytes), blocking until it is done.
  class Job {
   public:
    Bytes Wait();

   private:
    friend class RequestHasher;
    Job(ByteSpan data, std::function<void()> then) : data_(data), then_(std::move(then)) {}
    ByteSpan data_;
    std::function<void()> then_;
    std::mutex mu_;
    std::condition_variable done_cv_;
    bool done_ = false;
    Bytes digest_;
  };

  // `threads` workers (at least 1).
  explicit RequestHasher(size_t threads);
  ~RequestHasher();
  RequestHasher(const RequestHasher&) = delete;
  RequestHasher& operator=(const RequestHasher&) = delete;

  // Starts SHA-256 of `data`, which must stay alive and unchanged until the job's Wait()
  // returns, then runs `then` (when set) on the worker before Wait returns (the receipt's
  // presignature); nullptr when no worker is idle (hash inline then).
  std::shared_ptr<Job> Start(ByteSpan data, std::function<void()> then = nullptr);

 private:
  void Work();

  std::mutex mu_;
  std::condition_variable work_cv_;
  std::deque<std::shared_ptr<Job>> queue_;  // guarded by mu_
  size_t idle_ = 0;                         // guarded by mu_
  bool stopping_ = false;                   // guarded by mu_
  std::vector<std::thread> workers_;
};

}  // namespace crypta::runtime

#endif  // CRYPTA_RUNTIME_REQUEST_HASHER_H_

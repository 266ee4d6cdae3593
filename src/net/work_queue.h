// WorkQueue: a fixed pool of worker threads behind a bounded queue (crypta::net internal).
//
// HttpServer runs route handlers here. TryPush refuses work once `capacity` tasks are waiting,
// which the server turns into a 503; PushContinuation is never refused and runs before new
// work, for the next step of a response that is already being served (a streamed body), so
// admitted work always completes. Thread-safe.
#ifndef CRYPTA_NET_WORK_QUEUE_H_
#define CRYPTA_NET_WORK_QUEUE_H_

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace crypta::net {

class WorkQueue {
 public:
  using Task = std::function<void()>;

  WorkQueue(size_t threads, size_t capacity);
  // Calls Stop().
  ~WorkQueue();

  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;

  // Starts the threads; tasks pushed earlier wait for them. Does nothing if running.
  void Start();
  // Queues `task` unless `capacity` new tasks are already waiting; returns whether it did.
  bool TryPush(Task task);
  // Queues `task` ahead of new work, regardless of capacity.
  void PushContinuation(Task task);
  // Runs every queued task, then joins the threads. Start() may be called again afterwards.
  void Stop();

  size_t queued() const;
  size_t busy() const;

 private:
  void Run();

  const size_t thread_count_;
  const size_t capacity_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Task> continuations_;
  std::deque<Task> tasks_;
  size_t busy_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace crypta::net

#endif  // CRYPTA_NET_WORK_QUEUE_H_

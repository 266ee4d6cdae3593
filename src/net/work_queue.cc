#include "net/work_queue.h"

#include <utility>

namespace crypta::net {

WorkQueue::WorkQueue(size_t threads, size_t capacity)
    : thread_count_(threads == 0 ? 1 : threads), capacity_(capacity) {}

WorkQueue::~WorkQueue() { Stop(); }

void WorkQueue::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (!threads_.empty()) return;
  stopping_ = false;
  for (size_t i = 0; i < thread_count_; ++i) threads_.emplace_back([this] { Run(); });
}

bool WorkQueue::TryPush(Task task) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (tasks_.size() >= capacity_) return false;
    tasks_.push_back(std::move(task));
  }
  cv_.notify_one();
  return true;
}

void WorkQueue::PushContinuation(Task task) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    continuations_.push_back(std::move(task));
  }
  cv_.notify_one();
}

void WorkQueue::Stop() {
  std::vector<std::thread> threads;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    threads.swap(threads_);
  }
  cv_.notify_all();
  for (std::thread& t : threads) t.join();
}

size_t WorkQueue::queued() const {
  std::lock_guard<std::mutex> lock(mu_);
  return tasks_.size();
}

size_t WorkQueue::busy() const {
  std::lock_guard<std::mutex> lock(mu_);
  return busy_;
}

void WorkQueue::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [this] { return stopping_ || !continuations_.empty() || !tasks_.empty(); });
    std::deque<Task>& from = !continuations_.empty() ? continuations_ : tasks_;
    if (from.empty()) return;  // stopping, and nothing left to run
    Task task = std::move(from.front());
    from.pop_front();
    ++busy_;
    lock.unlock();
    task();
    task = nullptr;  // drop captures (a connection) outside the lock
    lock.lock();
    --busy_;
  }
}

}  // namespace crypta::net

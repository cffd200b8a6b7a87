#pragma once
/// \file
/// The pool where blocking procedures run (`registry::bind_blocking`,
/// `call_context::run_blocking`): a few threads and a bounded count of jobs, so a procedure
/// that blocks never holds an event loop and a flood of them cannot queue without bound.

#include <atomic>
#include <boost/asio/thread_pool.hpp>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>

#include "common/log.hpp"

namespace netcall::detail {

class blocking_pool {
 public:
  /// `threads` run jobs (at least 1), at most `threads + max_queue` jobs are admitted at once;
  /// `log` gets the exceptions that leave a job. The threads start with the first job.
  blocking_pool(unsigned threads, std::size_t max_queue, logger_ptr log);
  /// `stop()`s.
  ~blocking_pool();
  blocking_pool(const blocking_pool&) = delete;
  blocking_pool& operator=(const blocking_pool&) = delete;

  /// Admits `job` and runs it on a pool thread; false, without running it, when the pool is
  /// full. Thread-safe.
  bool try_run(std::function<void()> job);

  /// Refuses new jobs, drops the queued ones unrun (destroying a procedure's job answers its
  /// call as abandoned, SPEC §2 shutdown), and waits for the running ones to return (a job
  /// that never returns keeps it waiting). The server calls it when it shuts down. Idempotent.
  void stop();

  /// True once `stop()` has begun.
  bool stopping() const { return stopping_.load(std::memory_order_acquire); }

  /// Jobs admitted and not finished (running or queued).
  std::size_t admitted() const { return admitted_.load(std::memory_order_relaxed); }

 private:
  unsigned threads_;
  std::size_t capacity_;
  logger_ptr log_;
  std::atomic<std::size_t> admitted_{0};
  std::atomic<bool> stopping_{false};
  std::once_flag started_;
  std::unique_ptr<boost::asio::thread_pool> pool_;
};

}  // namespace netcall::detail

#include "server/blocking_pool.hpp"

#include <spdlog/logger.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <exception>

namespace netcall::detail {

blocking_pool::blocking_pool(unsigned threads, std::size_t max_queue, logger_ptr log)
    : threads_(std::max(threads, 1u)), capacity_(threads_ + max_queue), log_(std::move(log)) {}

blocking_pool::~blocking_pool() { stop(); }

void blocking_pool::stop() {
  stopping_.store(true, std::memory_order_release);
  std::call_once(started_, [] {});  // no pool is started after this
  if (pool_) pool_->join();
}

bool blocking_pool::try_run(std::function<void()> job) {
  if (stopping_.load(std::memory_order_acquire)) return false;
  // Admitted only below capacity, so the count (netcall_blocking_calls) never reads more.
  std::size_t n = admitted_.load(std::memory_order_acquire);
  do {
    if (n >= capacity_) return false;
  } while (!admitted_.compare_exchange_weak(n, n + 1, std::memory_order_acq_rel));
  std::call_once(started_, [this] { pool_ = std::make_unique<boost::asio::thread_pool>(threads_); });
  if (!pool_) {  // stopped before any job was started
    admitted_.fetch_sub(1, std::memory_order_acq_rel);
    return false;
  }
  boost::asio::post(*pool_, [this, job = std::move(job)]() mutable {
    try {
      // Queued when the server stopped: dropped unrun (its call can no longer be answered).
      if (!stopping_.load(std::memory_order_acquire)) job();
      job = nullptr;
    } catch (const std::exception& e) {
      log_->error("a blocking job threw: {}", e.what());
    } catch (...) {
      log_->error("a blocking job threw a non-exception");
    }
    admitted_.fetch_sub(1, std::memory_order_acq_rel);
  });
  return true;
}

}  // namespace netcall::detail

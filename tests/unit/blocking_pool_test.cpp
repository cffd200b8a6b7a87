// The blocking pool (server/blocking_pool.hpp): bounded admission, and stop() dropping queued
// jobs unrun while waiting for the running one.
#include "server/blocking_pool.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "common/log.hpp"

namespace {

/// A gate a job waits at until opened (bounded: 10 s).
struct gate {
  std::mutex m;
  std::condition_variable cv;
  bool open = false;
  bool entered = false;
  void pass() {
    std::unique_lock lock(m);
    entered = true;
    cv.notify_all();
    cv.wait_for(lock, std::chrono::seconds(10), [this] { return open; });
  }
  void wait_entered() {
    std::unique_lock lock(m);
    cv.wait_for(lock, std::chrono::seconds(10), [this] { return entered; });
  }
  void release() {
    std::lock_guard lock(m);
    open = true;
    cv.notify_all();
  }
};

}  // namespace

TEST(blocking_pool, admits_threads_plus_queue_then_refuses_and_stop_drops_the_queued) {
  netcall::detail::blocking_pool pool(1, 2, netcall::detail::null_logger());
  gate g;
  std::atomic<int> ran{0};
  ASSERT_TRUE(pool.try_run([&] {
    g.pass();
    ++ran;
  }));
  g.wait_entered();  // the one thread is busy: the next two wait in the queue
  ASSERT_TRUE(g.entered);
  EXPECT_TRUE(pool.try_run([&] { ++ran; }));
  EXPECT_TRUE(pool.try_run([&] { ++ran; }));
  EXPECT_FALSE(pool.try_run([&] { ++ran; }));  // 1 thread + 2 queued: full
  EXPECT_EQ(pool.admitted(), 3u);
  std::thread stopper([&] { pool.stop(); });
  // stop() waits for the running job; let it finish once stop() has begun.
  for (int i = 0; i < 10'000 && !pool.stopping(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));  // bounded poll of a state
  }
  ASSERT_TRUE(pool.stopping());
  g.release();
  stopper.join();
  EXPECT_EQ(ran.load(), 1);  // the running job finished; the two queued were dropped unrun
  EXPECT_EQ(pool.admitted(), 0u);
  EXPECT_FALSE(pool.try_run([&] { ++ran; }));  // stopped for good
}

TEST(blocking_pool, a_job_that_throws_is_logged_and_the_pool_goes_on) {
  netcall::detail::blocking_pool pool(1, 1, netcall::detail::null_logger());
  std::promise<void> second_ran;
  auto ran = second_ran.get_future();
  ASSERT_TRUE(pool.try_run([] { throw std::runtime_error("boom"); }));
  ASSERT_TRUE(pool.try_run([&] { second_ran.set_value(); }));  // on the same, only thread
  EXPECT_EQ(ran.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  pool.stop();
  EXPECT_EQ(pool.admitted(), 0u);
}

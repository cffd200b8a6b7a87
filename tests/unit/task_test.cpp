// netcall::task (netcall/task.hpp): lazy start, results and exceptions across awaits, start()
// and sync_wait() from other threads.
#include "netcall/task.hpp"

#include <gtest/gtest.h>

#include <coroutine>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>

namespace {

/// An awaitable resumed by whoever calls `resume_all`, on that thread: stands for a client's
/// I/O thread or an event loop.
struct manual_event {
  std::coroutine_handle<> waiting;
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h) { waiting = h; }
  void await_resume() const noexcept {}
  void resume() { std::exchange(waiting, {}).resume(); }
};

netcall::task<int> add_after(manual_event& e, int a, int b) {
  co_await e;
  co_return a + b;
}

netcall::task<std::string> twice(manual_event& e) {
  const int first = co_await add_after(e, 1, 2);
  const int second = co_await add_after(e, first, 4);
  co_return std::to_string(second);
}

netcall::task<int> fails(manual_event& e) {
  co_await e;
  throw std::runtime_error("broken");
}

netcall::task<> counts(int& n) {
  ++n;
  co_return;
}

}  // namespace

TEST(task, is_lazy_until_started) {
  int n = 0;
  {
    auto t = counts(n);
    EXPECT_EQ(n, 0);
  }  // destroyed unstarted: freed, never run
  EXPECT_EQ(n, 0);
  netcall::start(counts(n), [](std::exception_ptr e) { EXPECT_FALSE(e); });
  EXPECT_EQ(n, 1);
}

TEST(task, start_reports_the_result_after_every_suspension) {
  manual_event e;
  std::optional<std::string> got;
  netcall::start(twice(e), [&](std::exception_ptr failure, std::optional<std::string> r) {
    EXPECT_FALSE(failure);
    got = std::move(r);
  });
  EXPECT_FALSE(got);
  e.resume();
  EXPECT_FALSE(got);
  e.resume();
  ASSERT_TRUE(got);
  EXPECT_EQ(*got, "7");
}

TEST(task, an_exception_reaches_the_awaiter_and_start) {
  manual_event e;
  std::exception_ptr failure;
  bool had_result = true;
  netcall::start(fails(e), [&](std::exception_ptr f, std::optional<int> r) {
    failure = f;
    had_result = r.has_value();
  });
  e.resume();
  ASSERT_TRUE(failure);
  EXPECT_FALSE(had_result);
  EXPECT_THROW(std::rethrow_exception(failure), std::runtime_error);
}

TEST(task, sync_wait_blocks_until_another_thread_finishes_it) {
  manual_event e;
  std::thread resumer;
  auto waiting = [&]() -> netcall::task<int> {
    // Resumed from another thread, as a client's I/O thread resumes its callers.
    struct hop {
      manual_event& e;
      std::thread& t;
      bool await_ready() const noexcept { return false; }
      void await_suspend(std::coroutine_handle<> h) {
        e.waiting = h;
        t = std::thread([this] { e.resume(); });
      }
      void await_resume() const noexcept {}
    };
    co_await hop{e, resumer};
    co_return 42;
  };
  EXPECT_EQ(netcall::sync_wait(waiting()), 42);
  resumer.join();
  int n = 0;
  netcall::sync_wait(counts(n));
  EXPECT_EQ(n, 1);
}

TEST(task, long_chains_of_ready_awaits_do_not_grow_the_stack) {
  // 100,000 nested awaits that each finish at once: symmetric transfer keeps the stack flat
  // (a tail call in optimized builds; the sanitizer builds, at -Og, try a shorter chain).
#ifdef NDEBUG
  constexpr int n = 100'000;
#else
  constexpr int n = 5'000;
#endif
  struct chain {
    static netcall::task<int> depth(int n) {
      if (n == 0) co_return 0;
      co_return 1 + co_await depth(n - 1);
    }
  };
  EXPECT_EQ(netcall::sync_wait(chain::depth(n)), n);
}

// netcall::task meets Boost.Asio's coroutines both ways: the adaptors docs/library.md
// ("Coroutines and Asio") shows, compiled and run here.
#include <gtest/gtest.h>

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <optional>
#include <stdexcept>
#include <thread>

#include "netcall/task.hpp"

namespace asio = boost::asio;

// --- the adaptors, as docs/library.md shows them ----------------------------------------------

/// A netcall::task awaited from an Asio coroutine: started at once, its end posted back to the
/// awaiting coroutine's executor (it may end on another thread, e.g. a client's I/O thread).
/// Asio rethrows the task's exception (a leading std::exception_ptr is the error).
template <class T>
asio::awaitable<T> as_awaitable(netcall::task<T> t) {
  std::optional<T> result = co_await asio::async_initiate<
      decltype(asio::use_awaitable), void(std::exception_ptr, std::optional<T>)>(
      [&t](auto handler) {
        netcall::start(std::move(t), [h = std::move(handler)](std::exception_ptr e,
                                                                std::optional<T> r) mutable {
          auto ex = asio::get_associated_executor(h);
          asio::post(ex, [h = std::move(h), e, r = std::move(r)]() mutable {
            std::move(h)(e, std::move(r));
          });
        });
      },
      asio::use_awaitable);
  co_return std::move(*result);
}

/// An Asio timer awaited inside a netcall::task (any Asio operation goes the same way: pass a
/// handler that resumes the coroutine).
struct timer_wait {
  asio::steady_timer& timer;
  boost::system::error_code ec{};
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h) {
    timer.async_wait([this, h](boost::system::error_code e) {
      ec = e;
      h.resume();
    });
  }
  boost::system::error_code await_resume() const noexcept { return ec; }
};

// ------------------------------------------------------------------------------------------------

namespace {

netcall::task<int> after_timer(asio::io_context& io, int v) {
  asio::steady_timer timer(io, std::chrono::milliseconds(5));
  const auto ec = co_await timer_wait{timer};
  if (ec) throw std::runtime_error(ec.message());
  co_return v * 2;
}

netcall::task<int> on_another_thread(std::thread& t) {
  struct hop {
    std::thread& t;
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> h) {
      t = std::thread([h] { h.resume(); });
    }
    void await_resume() const noexcept {}
  };
  co_await hop{t};
  co_return 7;
}

netcall::task<int> throws() {
  throw std::runtime_error("broken");
  co_return 0;
}

}  // namespace

TEST(task_asio, an_asio_coroutine_awaits_tasks_and_a_task_awaits_asio) {
  asio::io_context io;
  std::thread other;
  std::optional<int> first, second;
  bool threw = false;
  const auto loop_thread = std::this_thread::get_id();
  std::thread::id resumed_on;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        first = co_await as_awaitable(after_timer(io, 21));
        second = co_await as_awaitable(on_another_thread(other));
        resumed_on = std::this_thread::get_id();  // back on the io_context's thread
        try {
          co_await as_awaitable(throws());
        } catch (const std::runtime_error&) {
          threw = true;
        }
      },
      asio::detached);
  io.run_for(std::chrono::seconds(10));
  if (other.joinable()) other.join();
  EXPECT_EQ(first, 42);
  EXPECT_EQ(second, 7);
  EXPECT_EQ(resumed_on, loop_thread);
  EXPECT_TRUE(threw);
}

#pragma once
/// \file
/// `netcall::task<T>`: the coroutine type of netcall's asynchronous code (docs/library.md
/// "Coroutines"), for procedures and for client code alike.
///
/// ```cpp
/// netcall::task<std::int64_t> twice(netcall::client& c) {
///   std::int64_t sum = co_await c.async_call<std::int64_t>("add", 2, 3);
///   co_return sum * 2;
/// }
/// std::int64_t v = netcall::sync_wait(twice(c));   // from a thread that may block
/// netcall::start(twice(c), [](std::exception_ptr e, std::optional<std::int64_t> v) { ... });
/// ```
/// A task is lazy: its body starts when it is awaited (by another task, or any coroutine that
/// accepts foreign awaitables), started with `start`, or waited for with `sync_wait`. It runs
/// on whatever thread resumes it: after `co_await client.async_call(...)` that is the client's
/// I/O thread, after `co_await netcall::sleep_for(ctx, d)` the event loop of the call. An
/// exception leaving the body is rethrown where the task is awaited. A task is move-only;
/// destroying one that never started frees it, one that started must run to its end (as
/// every `co_await` in netcall eventually resumes it).

#include <condition_variable>
#include <coroutine>
#include <exception>
#include <mutex>
#include <optional>
#include <type_traits>
#include <utility>

namespace netcall {

template <class T = void>
class task;

namespace detail {

/// What every task's promise has: the coroutine to resume when it ends, and its exception.
struct task_promise_base {
  std::coroutine_handle<> continuation = std::noop_coroutine();
  std::exception_ptr failure;

  struct final_awaiter {
    bool await_ready() const noexcept { return false; }
    template <class P>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<P> h) const noexcept {
      return h.promise().continuation;  // symmetric transfer: no stack growth on long chains
    }
    void await_resume() const noexcept {}
  };
  std::suspend_always initial_suspend() const noexcept { return {}; }
  final_awaiter final_suspend() const noexcept { return {}; }
  void unhandled_exception() noexcept { failure = std::current_exception(); }
};

template <class T>
struct task_promise : task_promise_base {
  std::optional<T> result;
  task<T> get_return_object() noexcept;
  template <class U>
  void return_value(U&& v) {
    result.emplace(std::forward<U>(v));
  }
  T take() {
    if (failure) std::rethrow_exception(failure);
    return std::move(*result);
  }
};

template <>
struct task_promise<void> : task_promise_base {
  task<void> get_return_object() noexcept;
  void return_void() const noexcept {}
  void take() const {
    if (failure) std::rethrow_exception(failure);
  }
};

/// A coroutine that starts at once and frees itself at its end (what `start` runs).
struct detached_coroutine {
  struct promise_type {
    detached_coroutine get_return_object() const noexcept { return {}; }
    std::suspend_never initial_suspend() const noexcept { return {}; }
    std::suspend_never final_suspend() const noexcept { return {}; }
    void return_void() const noexcept {}
    void unhandled_exception() const noexcept { std::terminate(); }  // on_done threw
  };
};

}  // namespace detail

/// A lazily started coroutine producing a `T` (or nothing, for `task<>`). `co_await` it from
/// another coroutine to run it and get its result (its exception is rethrown there).
template <class T>
class [[nodiscard]] task {
  static_assert(!std::is_reference_v<T>, "netcall::task<T>: T must not be a reference");

 public:
  using promise_type = detail::task_promise<T>;
  using value_type = T;

  task(task&& other) noexcept : h_(std::exchange(other.h_, {})) {}
  task& operator=(task&& other) noexcept {
    if (this != &other) {
      if (h_) h_.destroy();
      h_ = std::exchange(other.h_, {});
    }
    return *this;
  }
  ~task() {
    if (h_) h_.destroy();
  }

  /// Starts the task and suspends the awaiting coroutine until it ends; yields its result.
  auto operator co_await() noexcept {
    struct awaiter {
      std::coroutine_handle<promise_type> h;
      bool await_ready() const noexcept { return false; }
      std::coroutine_handle<> await_suspend(std::coroutine_handle<> awaiting) noexcept {
        h.promise().continuation = awaiting;
        return h;
      }
      T await_resume() { return h.promise().take(); }
    };
    return awaiter{h_};
  }

 private:
  friend promise_type;
  explicit task(std::coroutine_handle<promise_type> h) noexcept : h_(h) {}
  std::coroutine_handle<promise_type> h_;
};

namespace detail {
template <class T>
task<T> task_promise<T>::get_return_object() noexcept {
  return task<T>(std::coroutine_handle<task_promise<T>>::from_promise(*this));
}
inline task<void> task_promise<void>::get_return_object() noexcept {
  return task<void>(std::coroutine_handle<task_promise<void>>::from_promise(*this));
}

template <class T, class F>
detached_coroutine run_detached(task<T> t, F on_done) {
  std::exception_ptr failure;
  if constexpr (std::is_void_v<T>) {
    try {
      co_await t;
    } catch (...) {
      failure = std::current_exception();
    }
    { task<T> finished = std::move(t); }  // its frame (and params) go before on_done runs
    on_done(failure);
  } else {
    std::optional<T> result;
    try {
      result.emplace(co_await t);
    } catch (...) {
      failure = std::current_exception();
    }
    { task<T> finished = std::move(t); }
    on_done(failure, std::move(result));
  }
}
}  // namespace detail

/// Starts `t` now, on this thread, and returns at its first suspension. When it ends,
/// `on_done` runs on the thread that finished it, once: `on_done(std::exception_ptr failure,
/// std::optional<T> result)` (the result is empty when `failure` is set), or
/// `on_done(std::exception_ptr failure)` for `task<void>`. `on_done` must not throw (that
/// terminates).
template <class T, class F>
void start(task<T> t, F on_done) {
  detail::run_detached(std::move(t), std::move(on_done));
}

/// Runs `t` and blocks this thread until it ends; returns its result or rethrows its
/// exception. Never call it on a thread the task needs to resume it: a client's completion
/// callback (its I/O thread) or a procedure (its event loop) would wait forever.
template <class T>
T sync_wait(task<T> t) {
  std::mutex m;
  std::condition_variable cv;
  bool done = false;
  std::exception_ptr failure;
  if constexpr (std::is_void_v<T>) {
    start(std::move(t), [&](std::exception_ptr e) {
      std::lock_guard lock(m);  // notified under the lock: the waiter's frame outlives this
      failure = e;
      done = true;
      cv.notify_one();
    });
    std::unique_lock lock(m);
    cv.wait(lock, [&] { return done; });
    if (failure) std::rethrow_exception(failure);
  } else {
    std::optional<T> result;
    start(std::move(t), [&](std::exception_ptr e, std::optional<T> r) {
      std::lock_guard lock(m);
      failure = e;
      result = std::move(r);
      done = true;
      cv.notify_one();
    });
    std::unique_lock lock(m);
    cv.wait(lock, [&] { return done; });
    if (failure) std::rethrow_exception(failure);
    return std::move(*result);
  }
}

}  // namespace netcall

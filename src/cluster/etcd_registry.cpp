#include "cluster/etcd_registry.hpp"

#include <spdlog/logger.h>

#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <stdexcept>
#include <vector>

#include "cluster/etcd.hpp"
#include "netcall/status.hpp"

namespace netcall::detail::etcd {

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

/// The first wait after a failure, doubled after each further one up to `max_backoff`.
constexpr std::chrono::milliseconds min_backoff = 100ms;
constexpr std::chrono::milliseconds max_backoff = 2000ms;

using strand_type = asio::strand<asio::io_context::executor_type>;

std::chrono::milliseconds next_backoff(std::chrono::milliseconds b) {
  return std::min(b * 2, max_backoff);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// registration

struct registration::impl {
  impl(asio::io_context& io, std::string host_port, std::string key_, std::string value_,
       std::chrono::seconds ttl_)
      : strand(asio::make_strand(io)),
        etcd(strand, std::move(host_port), default_request_timeout),
        wake(strand),
        key(std::move(key_)),
        value(std::move(value_)),
        ttl(ttl_) {}

  /// Where failures are logged (set_logger).
  logger_ptr log = default_logger();

  /// Grant, put, keep alive; on failure back off and try again, until `stopping`; then revoke
  /// (unless abandoned) and call the `done`s. `self` (this) keeps the state alive until the
  /// loop ends: a coroutine's parameters live in its frame from its creation.
  asio::awaitable<void> run([[maybe_unused]] std::shared_ptr<impl> self);
  /// Waits `d`, or less when `update` or `halt` wakes it.
  asio::awaitable<void> pause(std::chrono::milliseconds d) {
    wake.expires_after(d);
    co_await wake.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  /// Ends the loop: whatever it awaits now is cancelled and it sees `stopping` on resuming.
  void halt() {
    stopping = true;
    wake.cancel();
    etcd.cancel();
  }
  void finish() {
    finished = true;
    registered = false;
    auto callbacks = std::move(dones);
    for (auto& done : callbacks) {
      if (done) done();
    }
  }

  strand_type strand;
  client etcd;
  asio::steady_timer wake;
  const std::string key;
  std::string value;  // the value to be in etcd
  const std::chrono::seconds ttl;
  // Touched on the strand only.
  bool started = false;
  bool stopping = false;
  bool abandoned = false;  // destroyed without stop(): leave the lease to expire
  bool finished = false;
  bool dirty = false;  // `value` changed since the last put
  std::int64_t lease = 0;
  std::vector<std::function<void()>> dones;
  // Read from any thread.
  std::atomic<bool> registered{false};
};

asio::awaitable<void> registration::impl::run([[maybe_unused]] std::shared_ptr<impl> self) {
  const auto keepalive_every = std::chrono::duration_cast<std::chrono::milliseconds>(ttl) / 3;
  auto backoff = min_backoff;
  bool need_put = true;
  bool failing = false;
  while (!stopping) {
    bool failed = false;
    try {
      if (lease != 0) {
        const auto left = co_await etcd.lease_keepalive(lease);
        if (stopping) break;
        if (left == 0) {
          log->warn("etcd {}: the lease of {} is gone; registering again", etcd.host_port(),
                       key);
          lease = 0;
          registered = false;
        }
      }
      if (lease == 0) {
        lease = co_await etcd.lease_grant(ttl);
        if (stopping) break;
        need_put = true;
      }
      if (need_put || dirty) {
        need_put = false;
        dirty = false;
        co_await etcd.put(key, value, lease);
        if (stopping) break;
        registered = true;
      }
      if (failing) log->info("etcd {}: {} is registered again", etcd.host_port(), key);
      failing = false;
      backoff = min_backoff;
      if (!dirty) co_await pause(keepalive_every);
    } catch (const error& e) {
      if (!failing) log->warn("{} (registration of {}); retrying", e.what(), key);
      failed = true;
    } catch (const boost::system::system_error& e) {
      if (stopping) break;
      log->warn("etcd registration of {}: {}; retrying", key, e.what());
      failed = true;
    } catch (const std::exception& e) {
      log->error("etcd registration of {}: {}; retrying", key, e.what());
      failed = true;
    }
    if (failed) {
      // The put may not have happened: put again once etcd answers (harmless if it did).
      need_put = true;
      registered = false;
      failing = true;
      co_await pause(backoff);
      backoff = next_backoff(backoff);
    }
  }
  if (!abandoned && lease != 0) {
    // etcd.cancel() reached only what was in flight when stop() came: this request runs, bounded
    // by the client's request timeout (2 s).
    try {
      co_await etcd.lease_revoke(lease);
    } catch (const std::exception& e) {
      log->warn("etcd registration of {}: revoking lease {} failed: {}", key, lease, e.what());
    }
  }
  lease = 0;
  finish();
}

registration::registration(asio::io_context& io, std::string etcd_host_port, std::string key,
                           std::string value, std::chrono::seconds ttl) {
  if (ttl < 1s) throw std::invalid_argument("etcd registration: the lease TTL must be >= 1 s");
  if (key.empty()) throw std::invalid_argument("etcd registration: empty key");
  impl_ =
      std::make_shared<impl>(io, std::move(etcd_host_port), std::move(key), std::move(value), ttl);
}

registration::~registration() {
  asio::post(impl_->strand, [state = impl_] {
    if (state->stopping) return;  // a stop under way finishes by itself
    state->abandoned = true;
    state->halt();
  });
}

void registration::start() {
  asio::post(impl_->strand, [state = impl_] {
    if (state->started || state->stopping) return;
    state->started = true;
    asio::co_spawn(state->strand, state->run(state), asio::detached);
  });
}

void registration::update(std::string value) {
  asio::post(impl_->strand, [state = impl_, value = std::move(value)]() mutable {
    state->value = std::move(value);
    state->dirty = true;
    state->wake.cancel();
  });
}

void registration::stop(std::function<void()> done) {
  asio::post(impl_->strand, [state = impl_, done = std::move(done)]() mutable {
    if (state->finished || !state->started) {
      state->stopping = true;  // a later start() does nothing
      state->finished = true;
      if (done) done();
      return;
    }
    state->dones.push_back(std::move(done));
    if (!state->stopping) state->halt();
  });
}

bool registration::registered() const { return impl_->registered.load(); }

void registration::set_logger(logger_ptr log) { impl_->log = std::move(log); }

// ---------------------------------------------------------------------------------------------
// watcher

struct watcher::impl {
  impl(asio::io_context& io, std::string host_port, std::string prefix_,
       std::function<void(const std::map<std::string, std::string>&)> on_change_)
      : strand(asio::make_strand(io)),
        etcd(strand, std::move(host_port), default_request_timeout),
        wake(strand),
        prefix(std::move(prefix_)),
        on_change(std::move(on_change_)) {}

  /// Where failures are logged (set_logger).
  logger_ptr log = default_logger();

  /// Range, report, watch; on failure back off and resynchronise, until `stopping`. `self`
  /// (this) keeps the state alive until the loop ends.
  asio::awaitable<void> run([[maybe_unused]] std::shared_ptr<impl> self);
  asio::awaitable<void> pause(std::chrono::milliseconds d) {
    wake.expires_after(d);
    co_await wake.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  void halt() {
    stopping = true;
    wake.cancel();
    etcd.cancel();
  }
  void report() {
    if (!stopped && on_change) on_change(known);
  }

  strand_type strand;
  client etcd;
  asio::steady_timer wake;
  const std::string prefix;
  const std::function<void(const std::map<std::string, std::string>&)> on_change;
  // Touched on the strand only.
  bool started = false;
  bool stopping = false;
  std::map<std::string, std::string> known;  // the set last reported
  // Set by stop() at once, from any thread: no callback after it.
  std::atomic<bool> stopped{false};
};

asio::awaitable<void> watcher::impl::run([[maybe_unused]] std::shared_ptr<impl> self) {
  auto backoff = min_backoff;
  bool first = true;
  bool failing = false;
  while (!stopping) {
    bool failed = false;
    try {
      const auto found = co_await etcd.range_prefix(prefix);
      if (stopping) break;
      std::map<std::string, std::string> current;
      for (const auto& item : found.kvs) current[item.key] = item.value;
      if (failing) log->info("etcd {}: watching {} again", etcd.host_port(), prefix);
      failing = false;
      backoff = min_backoff;
      if (first || current != known) {
        first = false;
        known = std::move(current);
        report();
      }
      co_await etcd.watch_prefix(prefix, found.revision + 1,
                                 [this](const std::vector<event>& events, std::int64_t) {
                                   bool changed = false;
                                   for (const auto& e : events) {
                                     if (e.removed) {
                                       changed = known.erase(e.key) > 0 || changed;
                                     } else {
                                       auto [it, inserted] = known.try_emplace(e.key, e.value);
                                       if (!inserted && it->second != e.value) {
                                         it->second = e.value;
                                         changed = true;
                                       }
                                       changed = changed || inserted;
                                     }
                                   }
                                   if (changed && !stopping) report();
                                 });
      // The watch returns only when cancelled; by halt() unless something else cancelled it.
    } catch (const error& e) {
      if (!failing) log->warn("{} (watching {}); resynchronising", e.what(), prefix);
      failed = true;
    } catch (const boost::system::system_error& e) {
      if (stopping) break;
      log->warn("etcd watch of {}: {}; resynchronising", prefix, e.what());
      failed = true;
    } catch (const std::exception& e) {
      log->error("etcd watch of {}: {}; resynchronising", prefix, e.what());
      failed = true;
    }
    if (failed && !stopping) {
      failing = true;
      co_await pause(backoff);
      backoff = next_backoff(backoff);
    }
  }
}

watcher::watcher(asio::io_context& io, std::string etcd_host_port, std::string prefix,
                 std::function<void(const std::map<std::string, std::string>&)> on_change)
    : impl_(std::make_shared<impl>(io, std::move(etcd_host_port), std::move(prefix),
                                   std::move(on_change))) {}

watcher::~watcher() { stop(); }

void watcher::set_logger(logger_ptr log) { impl_->log = std::move(log); }

void watcher::start() {
  asio::post(impl_->strand, [state = impl_] {
    if (state->started || state->stopping) return;
    state->started = true;
    asio::co_spawn(state->strand, state->run(state), asio::detached);
  });
}

void watcher::stop() {
  impl_->stopped = true;
  asio::post(impl_->strand, [state = impl_] { state->halt(); });
}

}  // namespace netcall::detail::etcd

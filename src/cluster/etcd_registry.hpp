#pragma once
/// \file
/// The two long-running uses of etcd in a cluster (SPEC §5 "Clusters"): a node keeps its entry
/// `/netcall/nodes/NAME` alive under a lease (`registration`), and clients follow the entries
/// under `/netcall/nodes/` (`watcher`). Both ride out etcd outages without giving up.
///
/// Threads: every callback runs on the given io_context (inside a strand of it, so on its thread
/// when one thread runs it); the public members may be called from any thread. The io_context
/// must outlive the objects, and must keep running for `stop` to complete.
///
/// Kept free of netcall's other layers (Boost and the standard library only) so that tests can
/// include it by path; the etcd client itself is in etcd.hpp.

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "common/log.hpp"

namespace netcall::detail::etcd {

/// Keeps KEY=VALUE in etcd bound to a lease of TTL: grants the lease, puts the key, and keeps
/// the lease alive every ttl/3. When etcd is unreachable or answers errors it retries with a
/// back-off of 100 ms doubling to 2 s, never giving up; once etcd answers it keeps the lease if
/// it is still alive (and puts the key again), else registers again with a new lease (a lease
/// revoked, or expired while etcd could not be reached). Failures are logged (a warning when
/// registration is lost, info when it is back; to `set_logger`'s logger), never thrown.
class registration {
 public:
  /// Nothing happens until `start()`. `etcd_host_port` is "HOST:PORT" (`parse_url`); `ttl` is
  /// the lease's time to live in seconds (>= 1; etcd raises it to its minimum, 2 s by default).
  /// Throws std::invalid_argument when `ttl` < 1 s or `key` is empty.
  registration(boost::asio::io_context& io, std::string etcd_host_port, std::string key,
               std::string value, std::chrono::seconds ttl);
  /// Without a `stop()`: abandons the registration (in-flight requests are cancelled, the lease
  /// is not revoked and the key disappears when its TTL runs out; this is how a crashed node
  /// looks). After a `stop()`, even one still under way: the stop completes (the lease is
  /// revoked and `done` runs).
  ~registration();
  /// Not copyable: one registration is one lease.
  registration(const registration&) = delete;
  registration& operator=(const registration&) = delete;

  /// Starts registering (asynchronously; `registered()` tells when the key is in place). A
  /// second call, or one after `stop()`, does nothing.
  /// Logs to `log` from now on (default: default_logger(), warnings to stderr). Before `start`.
  void set_logger(logger_ptr log);
  void start();
  /// Sets a new value: put at once with the current lease (or with the next one when etcd is
  /// unreachable now).
  void update(std::string value);
  /// Stops keeping the lease alive, revokes it so the key disappears at once (bounded: at most
  /// 2 s, the request timeout) and then calls `done` on the io_context, also when etcd is down
  /// or the registration never started. Calls after the first also get their `done` called.
  void stop(std::function<void()> done);
  /// True while the key is known to be in etcd: from the put's answer until a request fails,
  /// the lease is found gone, or `stop()`.
  bool registered() const;

 private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

/// Follows every key under PREFIX and reports the whole current set (key -> value) whenever it
/// changes: first after the initial range (even when empty), then after each watch batch that
/// changed it. When etcd is unreachable it keeps the last set (no callback) and resynchronises
/// (a range, then a watch from the range's revision + 1) with a back-off of 100 ms doubling to
/// 2 s once etcd answers; a resync that finds a different set reports it. Failures are logged
/// (spdlog), never thrown.
class watcher {
 public:
  /// Nothing happens until `start()`. `etcd_host_port` is "HOST:PORT" (`parse_url`);
  /// `on_change` gets the complete set under `prefix` (full keys) on the io_context.
  watcher(boost::asio::io_context& io, std::string etcd_host_port, std::string prefix,
          std::function<void(const std::map<std::string, std::string>&)> on_change);
  /// Stops (see `stop`).
  ~watcher();
  /// Not copyable: one watcher is one watch.
  watcher(const watcher&) = delete;
  watcher& operator=(const watcher&) = delete;

  /// Starts watching (asynchronously). A second call, or one after `stop()`, does nothing.
  /// Logs to `log` from now on (default: default_logger(), warnings to stderr). Before `start`.
  void set_logger(logger_ptr log);
  void start();
  /// Stops watching: cancels the watch and its requests. Called on the io_context's thread, no
  /// `on_change` runs after it returns; from another thread, one already running may finish.
  void stop();

 private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

}  // namespace netcall::detail::etcd

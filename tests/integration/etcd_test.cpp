// netcall's etcd v3 client and its registration and watcher (src/cluster/etcd.hpp,
// src/cluster/etcd_registry.hpp; SPEC §5 "Clusters") against a real etcd 3.4 started by
// tests/support/etcd_process.hpp on free loopback ports.
//
// Integration tests do not have src/ on their include path; both headers include only Boost and
// the standard library, so they are included by path.
#include "cluster/etcd.hpp"

#include <gtest/gtest.h>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_future.hpp>
#include <chrono>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "cluster/etcd_registry.hpp"
#include "etcd_process.hpp"
#include "netcall/status.hpp"

namespace asio = boost::asio;
namespace etcd = netcall::detail::etcd;
using netcall::test::etcd_process;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;
using key_set = std::map<std::string, std::string>;

namespace {

/// Polls `done()` every 20 ms until it holds or `timeout` passes; whether it held.
template <class Predicate>
bool eventually(Predicate done, std::chrono::milliseconds timeout = 10s) {
  const auto deadline = steady::now() + timeout;
  for (;;) {
    if (done()) return true;
    if (steady::now() >= deadline) return false;
    std::this_thread::sleep_for(20ms);  // poll interval
  }
}

/// How an operation on the io_context ended, carried to the test's thread as plain values: no
/// exception object is shared between threads (their reference counts live in libstdc++, which
/// ThreadSanitizer cannot see), the test's thread throws a new one.
struct failure {
  enum class kind { netcall_error, system_error, other };
  kind what_kind = kind::other;
  netcall::status_code code{};
  boost::system::error_code system_code;
  std::string what;

  [[noreturn]] void rethrow() const {
    switch (what_kind) {
      case kind::netcall_error:
        throw netcall::error(code, what);
      case kind::system_error:
        throw boost::system::system_error(system_code);
      case kind::other:
        break;
    }
    throw std::runtime_error(what);
  }
};

template <class T>
struct outcome {
  std::optional<T> value;
  std::optional<failure> failed;
  /// The value, or the failure thrown again.
  T get() {
    if (failed) failed->rethrow();
    return std::move(*value);
  }
};

template <>
struct outcome<void> {
  std::optional<failure> failed;
  void get() {
    if (failed) failed->rethrow();
  }
};

/// Runs `op` and turns what it throws into a `failure`.
template <class T>
asio::awaitable<outcome<T>> captured(asio::awaitable<T> op) {
  outcome<T> out;
  try {
    if constexpr (std::is_void_v<T>) {
      co_await std::move(op);
    } else {
      out.value = co_await std::move(op);
    }
  } catch (const netcall::error& e) {
    out.failed = failure{failure::kind::netcall_error, e.code(), {}, std::string(e.what())};
  } catch (const boost::system::system_error& e) {
    out.failed = failure{failure::kind::system_error, {}, e.code(), std::string(e.what())};
  } catch (const std::exception& e) {
    out.failed = failure{failure::kind::other, {}, {}, std::string(e.what())};
  }
  co_return out;
}

/// An io_context run by a thread of its own until `stop()` or destruction.
class io_thread {
 public:
  io_thread() : thread_([this] { io_.run(); }) {}
  ~io_thread() { stop(); }
  io_thread(const io_thread&) = delete;
  io_thread& operator=(const io_thread&) = delete;

  asio::io_context& io() { return io_; }
  void stop() {
    work_.reset();
    io_.stop();
    if (thread_.joinable()) thread_.join();
  }
  /// Starts `op` on the io_context; the future tells how it ended.
  template <class T>
  std::future<outcome<T>> spawn(asio::awaitable<T> op) {
    return asio::co_spawn(io_, captured(std::move(op)), asio::use_future);
  }
  /// The same, cancelled by `cancel`'s signal (emitted on the io_context).
  template <class T>
  std::future<outcome<T>> spawn(asio::awaitable<T> op, asio::cancellation_signal& cancel) {
    return asio::co_spawn(io_, captured(std::move(op)),
                          asio::bind_cancellation_slot(cancel.slot(), asio::use_future));
  }
  /// Runs `op` on the io_context and waits for it (at most 30 s), throwing what it throws.
  template <class T>
  T run(asio::awaitable<T> op) {
    auto result = spawn(std::move(op));
    if (result.wait_for(30s) != std::future_status::ready) {
      throw std::runtime_error("an etcd request did not end within 30 s");
    }
    return result.get().get();
  }
  /// Runs `fn` on the io_context's thread and waits for it.
  template <class F>
  void on_loop(F fn) {
    std::promise<void> ran;
    asio::post(io_, [&] {
      fn();
      ran.set_value();
    });
    ran.get_future().wait();
  }

 private:
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_{io_.get_executor()};
  std::thread thread_;
};

/// What a watcher reported, read from the test's thread.
class reports {
 public:
  void add(const key_set& set) {
    std::lock_guard lock(mutex_);
    all_.push_back(set);
  }
  std::size_t count() const {
    std::lock_guard lock(mutex_);
    return all_.size();
  }
  std::optional<key_set> latest() const {
    std::lock_guard lock(mutex_);
    if (all_.empty()) return std::nullopt;
    return all_.back();
  }

 private:
  mutable std::mutex mutex_;
  std::vector<key_set> all_;
};

/// What a watch reported, read from the test's thread.
class seen_events {
 public:
  void add(const std::vector<etcd::event>& events) {
    std::lock_guard lock(mutex_);
    all_.insert(all_.end(), events.begin(), events.end());
  }
  std::vector<etcd::event> all() const {
    std::lock_guard lock(mutex_);
    return all_;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<etcd::event> all_;
};

/// One etcd for every test but the outage ones (each test uses keys under a prefix of its own).
etcd_process* shared_etcd = nullptr;

class shared_etcd_environment : public ::testing::Environment {
 public:
  void SetUp() override { shared_etcd = new etcd_process(); }
  void TearDown() override {
    delete shared_etcd;
    shared_etcd = nullptr;
  }
};
const auto* const shared_etcd_registered =
    ::testing::AddGlobalTestEnvironment(new shared_etcd_environment);

/// A test against the shared etcd with a client of it and keys under "/netcall-test/<test>/".
class etcd_test : public ::testing::Test {
 protected:
  void TearDown() override { loop.stop(); }

  static std::string prefix() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    return std::string("/netcall-test/") + info->test_suite_name() + "." + info->name() + "/";
  }
  std::optional<std::string> get(const std::string& key) { return loop.run(client.get(key)); }
  /// The lease a key is bound to, read with etcdctl (the client does not return it).
  std::int64_t lease_of(const std::string& key) {
    const auto json = shared_etcd->etcdctl({"get", key, "-w", "json"});
    std::smatch m;
    if (!std::regex_search(json, m, std::regex("\"lease\":([0-9]+)"))) return 0;
    return std::stoll(m[1]);
  }

  io_thread loop;
  etcd::client client{loop.io().get_executor(), shared_etcd->host_port()};
};

// ---------------------------------------------------------------------------------------------
// parse_url, prefix_range_end

TEST(etcd_url, accepts_etcd_host_port) {
  const std::pair<const char*, const char*> cases[] = {
      {"etcd://127.0.0.1:2379", "127.0.0.1:2379"},
      {"etcd://localhost:1", "localhost:1"},
      {"etcd://etcd.example.com:65535", "etcd.example.com:65535"},
      {"etcd://[::1]:2379", "[::1]:2379"},
  };
  for (const auto& [url, host_port] : cases) {
    EXPECT_EQ(etcd::parse_url(url), host_port) << url;
  }
}

TEST(etcd_url, rejects_other_shapes_with_a_one_line_reason) {
  const std::pair<const char*, const char*> cases[] = {
      {"127.0.0.1:2379", "no scheme"},
      {"", "no scheme"},
      {"http://127.0.0.1:2379", "scheme 'http' is not etcd"},
      {"ETCD://127.0.0.1:2379", "scheme 'ETCD' is not etcd"},
      {"etcd://127.0.0.1", "no port"},
      {"etcd://", "no port"},
      {"etcd://127.0.0.1:", "bad port"},
      {"etcd://127.0.0.1:0", "bad port"},
      {"etcd://127.0.0.1:65536", "bad port"},
      {"etcd://127.0.0.1:99999999999", "bad port"},
      {"etcd://127.0.0.1:23x", "bad port"},
      {"etcd://127.0.0.1:-1", "bad port"},
      {"etcd://:2379", "empty host"},
      {"etcd://[]:2379", "empty host"},
      {"etcd://::1:2379", "[V6]:PORT"},
      {"etcd://127.0.0.1:2379/v3", "nothing may follow"},
      {"etcd://user@127.0.0.1:2379", "nothing may follow"},
  };
  for (const auto& [url, reason] : cases) {
    try {
      etcd::parse_url(url);
      ADD_FAILURE() << "accepted " << url;
    } catch (const std::invalid_argument& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find(reason), std::string::npos) << url << ": " << what;
      EXPECT_EQ(what.find('\n'), std::string::npos) << what;
    }
  }
}

TEST(etcd_range_end, is_the_prefix_with_its_last_byte_plus_one) {
  EXPECT_EQ(etcd::prefix_range_end("/netcall/nodes/"), "/netcall/nodes0");
  EXPECT_EQ(etcd::prefix_range_end("a\xff"), "b");
  EXPECT_EQ(etcd::prefix_range_end("\xff\xff"), std::string(1, '\0'));
  EXPECT_EQ(etcd::prefix_range_end(""), std::string(1, '\0'));
}

// ---------------------------------------------------------------------------------------------
// client

TEST_F(etcd_test, put_get_and_range_with_a_lease) {
  const auto p = prefix();
  const auto lease = loop.run(client.lease_grant(30s));
  EXPECT_NE(lease, 0);
  loop.run(client.put(p + "a", "1", lease));
  loop.run(client.put(p + "b", "two", lease));
  const std::string binary("\0\xff\n\"bytes\"", 10);
  loop.run(client.put(p + "c", binary));
  loop.run(client.put(p + "d", ""));  // the gateway leaves an empty value out
  // Shares the prefix but for its last byte: outside the range.
  loop.run(client.put(p.substr(0, p.size() - 1) + "0", "outside"));

  EXPECT_EQ(get(p + "a"), "1");
  EXPECT_EQ(get(p + "c"), binary);
  EXPECT_EQ(get(p + "d"), "");
  EXPECT_EQ(get(p + "missing"), std::nullopt);
  const auto found = loop.run(client.range_prefix(p));
  ASSERT_EQ(found.kvs.size(), 4u);
  EXPECT_EQ(found.kvs[0].key, p + "a");
  EXPECT_EQ(found.kvs[0].value, "1");
  EXPECT_EQ(found.kvs[1].key, p + "b");
  EXPECT_EQ(found.kvs[1].value, "two");
  EXPECT_EQ(found.kvs[2].key, p + "c");
  EXPECT_EQ(found.kvs[2].value, binary);
  EXPECT_EQ(found.kvs[3].key, p + "d");
  EXPECT_EQ(found.kvs[3].value, "");
  EXPECT_GT(found.revision, 0);
  EXPECT_EQ(lease_of(p + "a"), lease);

  loop.run(client.remove(p + "a"));
  loop.run(client.remove(p + "a"));  // nothing to delete: not an error
  EXPECT_EQ(get(p + "a"), std::nullopt);
  const auto after = loop.run(client.range_prefix(p));
  EXPECT_EQ(after.kvs.size(), 3u);
  EXPECT_GT(after.revision, found.revision);
  EXPECT_TRUE(loop.run(client.range_prefix(p + "nothing/")).kvs.empty());
}

TEST_F(etcd_test, a_host_name_is_resolved) {
  etcd::client by_name(loop.io().get_executor(),
                       "localhost:" + std::to_string(shared_etcd->client_port()));
  loop.run(by_name.put(prefix() + "k", "v"));
  EXPECT_EQ(loop.run(by_name.get(prefix() + "k")), "v");
}

TEST_F(etcd_test, keepalive_extends_a_lease_past_its_ttl) {
  const auto key = prefix() + "k";
  const auto lease = loop.run(client.lease_grant(2s));
  loop.run(client.put(key, "v", lease));
  // Kept alive for twice its TTL (etcd ends a 2 s lease 2-2.5 s after its last renewal).
  const auto until = steady::now() + 4s;
  while (steady::now() < until) {
    EXPECT_GE(loop.run(client.lease_keepalive(lease)), 1);
    std::this_thread::sleep_for(500ms);  // the keepalive period, a quarter of the TTL
  }
  EXPECT_EQ(get(key), "v");
  loop.run(client.lease_revoke(lease));
  EXPECT_EQ(loop.run(client.lease_keepalive(lease)), 0);  // gone: 0, not an error
}

TEST_F(etcd_test, revoke_removes_the_key_at_once) {
  const auto key = prefix() + "k";
  const auto lease = loop.run(client.lease_grant(60s));
  loop.run(client.put(key, "v", lease));
  ASSERT_EQ(get(key), "v");
  loop.run(client.lease_revoke(lease));
  EXPECT_EQ(get(key), std::nullopt);
  EXPECT_NO_THROW(loop.run(client.lease_revoke(lease)));  // already gone: not an error
  try {
    loop.run(client.put(key, "v", lease));
    ADD_FAILURE() << "put with a revoked lease succeeded";
  } catch (const netcall::error& e) {
    EXPECT_EQ(e.code(), netcall::status_code::unavailable);
    EXPECT_NE(std::string(e.what()).find("lease not found"), std::string::npos) << e.what();
  }
}

TEST_F(etcd_test, a_key_whose_lease_is_not_kept_alive_disappears_after_its_ttl) {
  const auto key = prefix() + "k";
  const auto lease = loop.run(client.lease_grant(1s));  // etcd makes it its minimum, 2 s
  const auto put_at = steady::now();
  loop.run(client.put(key, "v", lease));
  ASSERT_EQ(get(key), "v");
  EXPECT_TRUE(eventually([&] { return !get(key); }, 10s));
  EXPECT_GE(steady::now() - put_at, 1s);
  EXPECT_EQ(loop.run(client.lease_keepalive(lease)), 0);
}

TEST_F(etcd_test, a_watch_sees_a_put_and_a_delete_then_cancel_ends_it) {
  const auto p = prefix();
  // From the revision after a range: the events come whenever the watch is set up.
  const auto from = loop.run(client.range_prefix(p)).revision + 1;
  seen_events seen;
  auto watch = loop.spawn(
      client.watch_prefix(p, from, [&](const std::vector<etcd::event>& e, std::int64_t revision) {
        EXPECT_GE(revision, from);
        seen.add(e);
      }));
  loop.run(client.put(p.substr(0, p.size() - 1) + "0", "outside"));
  loop.run(client.put(p + "k", "v"));
  loop.run(client.remove(p + "k"));
  ASSERT_TRUE(eventually([&] { return seen.all().size() >= 2; }));
  const auto events = seen.all();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_FALSE(events[0].removed);
  EXPECT_EQ(events[0].key, p + "k");
  EXPECT_EQ(events[0].value, "v");
  EXPECT_TRUE(events[1].removed);
  EXPECT_EQ(events[1].key, p + "k");
  EXPECT_EQ(events[1].value, "");

  asio::post(loop.io(), [&] { client.cancel(); });
  ASSERT_EQ(watch.wait_for(5s), std::future_status::ready);
  EXPECT_NO_THROW(watch.get().get());  // cancelled: returns
}

TEST_F(etcd_test, a_watch_whose_coroutine_is_cancelled_returns) {
  const auto p = prefix();
  seen_events seen;
  asio::cancellation_signal cancel;
  auto watch = loop.spawn(
      client.watch_prefix(p, 0, [&](const auto& e, std::int64_t) { seen.add(e); }), cancel);
  // The watch is up once it reports a put made after it started.
  ASSERT_TRUE(eventually([&] {
    loop.run(client.put(p + "k", "v"));
    return !seen.all().empty();
  }));
  loop.on_loop([&] { cancel.emit(asio::cancellation_type::terminal); });
  ASSERT_EQ(watch.wait_for(5s), std::future_status::ready);
  EXPECT_NO_THROW(watch.get().get());
}

TEST_F(etcd_test, an_unreachable_etcd_is_unavailable) {
  const auto host_port = "127.0.0.1:" + std::to_string(netcall::test::free_loopback_port());
  etcd::client nobody(loop.io().get_executor(), host_port);
  try {
    loop.run(nobody.get("/k"));
    ADD_FAILURE() << "a closed port answered";
  } catch (const netcall::error& e) {
    EXPECT_EQ(e.code(), netcall::status_code::unavailable);
    EXPECT_EQ(std::string(e.what()).rfind("etcd " + host_port + ": ", 0), 0u) << e.what();
  }
  EXPECT_THROW(loop.run(nobody.watch_prefix("/", 0, [](const auto&, std::int64_t) {})),
               netcall::error);
}

/// A loopback listening socket that accepts nothing: connections complete, nobody answers.
class silent_listener {
 public:
  silent_listener() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (fd_ < 0 || bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        listen(fd_, 8) != 0 || getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      throw std::runtime_error("cannot listen on loopback");
    }
    port_ = ntohs(addr.sin_port);
  }
  ~silent_listener() { close(fd_); }
  int fd() const { return fd_; }
  std::string host_port() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  int fd_ = -1;
  unsigned short port_ = 0;
};

TEST_F(etcd_test, no_answer_within_the_request_timeout_is_unavailable) {
  silent_listener silent;
  etcd::client slow(loop.io().get_executor(), silent.host_port(), 300ms);
  const auto began = steady::now();
  try {
    loop.run(slow.lease_grant(2s));
    ADD_FAILURE() << "a silent server answered";
  } catch (const netcall::error& e) {
    EXPECT_EQ(e.code(), netcall::status_code::unavailable);
    EXPECT_NE(std::string(e.what()).find("no answer within 300 ms"), std::string::npos) << e.what();
  }
  EXPECT_LT(steady::now() - began, 2s);
}

TEST_F(etcd_test, an_answer_that_is_not_json_is_unavailable) {
  silent_listener server;
  // Answers the first request with text, after reading it (so closing does not reset it).
  std::thread answer([fd = server.fd()] {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 10000) != 1) return;
    const int conn = accept(fd, nullptr, nullptr);
    if (conn < 0) return;
    std::string request;
    char buf[4096];
    pollfd c{conn, POLLIN, 0};
    while (request.empty() || request.back() != '}') {
      if (poll(&c, 1, 5000) != 1) break;
      const auto n = recv(conn, buf, sizeof buf, 0);
      if (n <= 0) break;
      request.append(buf, static_cast<std::size_t>(n));
    }
    const std::string reply =
        "HTTP/1.1 200 OK\r\nContent-Length: 9\r\nConnection: close\r\n\r\nnot json!";
    send(conn, reply.data(), reply.size(), MSG_NOSIGNAL);
    shutdown(conn, SHUT_WR);
    recv(conn, buf, sizeof buf, 0);
    close(conn);
  });
  etcd::client odd(loop.io().get_executor(), server.host_port());
  try {
    loop.run(odd.get("/k"));
    ADD_FAILURE() << "text was taken for an answer";
  } catch (const netcall::error& e) {
    EXPECT_EQ(e.code(), netcall::status_code::unavailable);
    EXPECT_NE(std::string(e.what()).find("not a JSON object"), std::string::npos) << e.what();
  }
  answer.join();
}

// ---------------------------------------------------------------------------------------------
// registration

TEST_F(etcd_test, registration_puts_its_key_and_stop_removes_it_at_once) {
  const auto key = prefix() + "node";
  etcd::registration reg(loop.io(), shared_etcd->host_port(), key, "v1", 2s);
  EXPECT_FALSE(reg.registered());
  reg.start();
  ASSERT_TRUE(eventually([&] { return reg.registered() && get(key) == "v1"; }));
  EXPECT_NE(lease_of(key), 0);
  std::promise<void> stopped;
  reg.stop([&] { stopped.set_value(); });
  ASSERT_EQ(stopped.get_future().wait_for(5s), std::future_status::ready);
  EXPECT_EQ(get(key), std::nullopt);  // at once: the lease was revoked
  EXPECT_FALSE(reg.registered());
}

TEST_F(etcd_test, registration_keeps_its_key_past_the_ttl_and_puts_updates) {
  const auto key = prefix() + "node";
  etcd::registration reg(loop.io(), shared_etcd->host_port(), key, "v1", 2s);
  reg.start();
  ASSERT_TRUE(eventually([&] { return reg.registered() && get(key) == "v1"; }));
  const auto lease = lease_of(key);
  // Looked at throughout twice the TTL: always there, always with the same lease.
  const auto until = steady::now() + 4500ms;
  while (steady::now() < until) {
    ASSERT_EQ(get(key), "v1");
    std::this_thread::sleep_for(100ms);  // how often the test looks
  }
  EXPECT_EQ(lease_of(key), lease);
  reg.update("v2");
  EXPECT_TRUE(eventually([&] { return get(key) == "v2"; }));
  EXPECT_EQ(lease_of(key), lease);
  std::promise<void> stopped;
  reg.stop([&] { stopped.set_value(); });
  ASSERT_EQ(stopped.get_future().wait_for(5s), std::future_status::ready);
  EXPECT_EQ(get(key), std::nullopt);
}

TEST_F(etcd_test, an_abandoned_registration_disappears_after_its_ttl) {
  const auto key = prefix() + "node";
  auto reg =
      std::make_unique<etcd::registration>(loop.io(), shared_etcd->host_port(), key, "v", 2s);
  reg->start();
  ASSERT_TRUE(eventually([&] { return reg->registered() && get(key) == "v"; }));
  // Destroyed without stop(), as a node that crashed: nobody keeps the lease alive any more,
  // while the io_context goes on running other work (this test's requests).
  reg.reset();
  const auto abandoned_at = steady::now();
  EXPECT_EQ(get(key), "v");
  EXPECT_TRUE(eventually([&] { return !get(key); }, 10s));
  EXPECT_GE(steady::now() - abandoned_at, 500ms);
}

TEST_F(etcd_test, registration_registers_again_when_its_lease_is_lost) {
  const auto key = prefix() + "node";
  etcd::registration reg(loop.io(), shared_etcd->host_port(), key, "v", 3s);
  reg.start();
  ASSERT_TRUE(eventually([&] { return reg.registered() && get(key) == "v"; }));
  const auto first = lease_of(key);
  ASSERT_NE(first, 0);
  loop.run(client.lease_revoke(first));  // as etcd does when a lease expires
  EXPECT_TRUE(eventually([&] { return get(key) == "v" && lease_of(key) != first; }, 10s));
  EXPECT_TRUE(eventually([&] { return reg.registered(); }));
  std::promise<void> stopped;
  reg.stop([&] { stopped.set_value(); });
  ASSERT_EQ(stopped.get_future().wait_for(5s), std::future_status::ready);
  EXPECT_EQ(get(key), std::nullopt);
}

TEST_F(etcd_test, registration_stop_calls_done_when_etcd_is_unreachable) {
  const auto nobody = "127.0.0.1:" + std::to_string(netcall::test::free_loopback_port());
  etcd::registration reg(loop.io(), nobody, "/k", "v", 2s);
  reg.start();
  std::promise<void> stopped;
  const auto began = steady::now();
  reg.stop([&] { stopped.set_value(); });
  ASSERT_EQ(stopped.get_future().wait_for(5s), std::future_status::ready);
  EXPECT_LE(steady::now() - began, 2500ms);
  EXPECT_FALSE(reg.registered());

  etcd::registration never_started(loop.io(), nobody, "/k", "v", 2s);
  std::promise<void> also_stopped;
  never_started.stop([&] { also_stopped.set_value(); });
  EXPECT_EQ(also_stopped.get_future().wait_for(5s), std::future_status::ready);
}

// ---------------------------------------------------------------------------------------------
// watcher

TEST_F(etcd_test, watcher_reports_joins_and_leaves) {
  const auto p = prefix();
  loop.run(client.put(p + "a", "1"));
  reports seen;
  etcd::watcher watcher(loop.io(), shared_etcd->host_port(), p,
                        [&](const key_set& set) { seen.add(set); });
  watcher.start();
  // First: the set found by the initial range.
  ASSERT_TRUE(eventually([&] { return seen.count() >= 1; }));
  EXPECT_EQ(seen.latest(), (key_set{{p + "a", "1"}}));

  etcd::registration b(loop.io(), shared_etcd->host_port(), p + "b", "2", 2s);
  b.start();
  EXPECT_TRUE(eventually([&] { return seen.latest() == key_set{{p + "a", "1"}, {p + "b", "2"}}; }));
  b.update("3");
  EXPECT_TRUE(eventually([&] { return seen.latest() == key_set{{p + "a", "1"}, {p + "b", "3"}}; }));
  loop.run(client.remove(p + "a"));
  EXPECT_TRUE(eventually([&] { return seen.latest() == key_set{{p + "b", "3"}}; }));
  std::promise<void> stopped;
  b.stop([&] { stopped.set_value(); });
  ASSERT_EQ(stopped.get_future().wait_for(5s), std::future_status::ready);
  EXPECT_TRUE(eventually([&] { return seen.latest() == key_set{}; }));

  // Stopped on its io_context: no report after, although a second watcher sees a change.
  loop.on_loop([&] { watcher.stop(); });
  const auto reports_at_stop = seen.count();
  reports other;
  etcd::watcher second(loop.io(), shared_etcd->host_port(), p,
                       [&](const key_set& set) { other.add(set); });
  second.start();
  ASSERT_TRUE(eventually([&] { return other.count() >= 1; }));
  loop.run(client.put(p + "c", "4"));
  EXPECT_TRUE(eventually([&] { return other.latest() == key_set{{p + "c", "4"}}; }));
  EXPECT_EQ(seen.count(), reports_at_stop);
}

// ---------------------------------------------------------------------------------------------
// outages

TEST(etcd_outage, registration_and_watcher_come_back_after_etcd_restarts) {
  etcd_process server;
  io_thread loop;
  etcd::client client(loop.io().get_executor(), server.host_port());
  const std::string p = "/netcall/nodes/";
  const auto get = [&](const std::string& key) { return loop.run(client.get(key)); };

  loop.run(client.put(p + "static", "s"));
  etcd::registration reg(loop.io(), server.host_port(), p + "node", "n", 2s);
  reg.start();
  reports seen;
  etcd::watcher watcher(loop.io(), server.host_port(), p,
                        [&](const key_set& set) { seen.add(set); });
  watcher.start();
  ASSERT_TRUE(eventually([&] {
    return reg.registered() && seen.latest() == key_set{{p + "node", "n"}, {p + "static", "s"}};
  }));
  // A watch of its own, up once it saw a put, must fail when etcd goes.
  const std::string probe = "/netcall-test/outage/";
  seen_events probed;
  auto watch = loop.spawn(
      client.watch_prefix(probe, 0, [&](const auto& e, std::int64_t) { probed.add(e); }));
  ASSERT_TRUE(eventually([&] {
    loop.run(client.put(probe + "k", "v"));
    return !probed.all().empty();
  }));

  // An outage of about 2 s: etcd stopped, then started again on the same ports and data.
  server.stop();
  ASSERT_EQ(watch.wait_for(5s), std::future_status::ready);
  try {
    watch.get().get();
    ADD_FAILURE() << "the watch outlived etcd";
  } catch (const netcall::error& e) {
    EXPECT_EQ(e.code(), netcall::status_code::unavailable);
    EXPECT_NE(std::string(e.what()).find("/v3/watch"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(eventually([&] { return !reg.registered(); }));
  const auto reports_in_outage = seen.count();
  std::this_thread::sleep_for(2s);             // the outage itself; nothing waits on it
  EXPECT_EQ(seen.count(), reports_in_outage);  // the last set is kept, nothing reported
  server.start();
  EXPECT_TRUE(eventually([&] { return reg.registered() && get(p + "node") == "n"; }, 15s));
  loop.run(client.put(p + "after", "a"));
  EXPECT_TRUE(eventually(
      [&] {
        return seen.latest() == key_set{{p + "after", "a"}, {p + "node", "n"}, {p + "static", "s"}};
      },
      15s));

  // A crash, restarted at once; a change made afterwards is seen (by the watch or a resync).
  server.kill9();
  server.start();
  loop.run(client.put(p + "after", "b"));
  EXPECT_TRUE(eventually(
      [&] {
        return reg.registered() && get(p + "node") == "n" &&
               seen.latest() == key_set{{p + "after", "b"}, {p + "node", "n"}, {p + "static", "s"}};
      },
      15s));

  std::promise<void> stopped;
  reg.stop([&] { stopped.set_value(); });
  ASSERT_EQ(stopped.get_future().wait_for(5s), std::future_status::ready);
  EXPECT_TRUE(eventually([&] {
    return seen.latest() == key_set{{p + "after", "b"}, {p + "static", "s"}};
  }));
  watcher.stop();
  loop.stop();
}

}  // namespace

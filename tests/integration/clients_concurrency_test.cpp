// Several native C++ clients (include/netcall/client.hpp) used at the same time, each from its
// own thread and each with its own I/O thread, against one real netcalld. Clients share no
// state a user can see, so nothing one client does may race with another: run under
// ThreadSanitizer (the tsan preset) this is what catches state hidden in the library and shared
// by every client, e.g. a function-local `static` bumped on each client's own I/O thread.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <iterator>
#include <latch>
#include <string>
#include <thread>
#include <vector>

#include "netcall/client.hpp"
#include "process.hpp"

using namespace netcall;

namespace {

const char* name_of(protocol p) {
  switch (p) {
    case protocol::msgpack: return "msgpack";
    case protocol::jsonrpc: return "jsonrpc";
    case protocol::jsonrpc_http: return "jsonrpc_http";
    case protocol::xmlrpc: return "xmlrpc";
  }
  return "?";
}

// HTTP first: notifications over HTTP take a turn like a call (their empty answer is read), the
// path where every HTTP client once bumped one shared counter.
const protocol protocols[] = {protocol::jsonrpc_http, protocol::xmlrpc, protocol::jsonrpc,
                              protocol::msgpack};

client_options options_for(protocol p) {
  client_options o;
  o.protocol = p;
  o.timeout = std::chrono::seconds(10);
  return o;
}

}  // namespace

TEST(clients_concurrency, four_clients_call_and_notify_at_once_every_result_checked) {
  test::netcalld_process server;
  constexpr int rounds = 100;
  constexpr int clients = static_cast<int>(std::size(protocols));
  std::latch start(clients);  // every thread starts calling at the same moment
  std::atomic<int> wrong{0};
  std::vector<std::string> failures(clients);
  std::vector<std::thread> threads;
  for (int t = 0; t < clients; ++t) {
    threads.emplace_back([&, t] {
      const protocol p = protocols[t];
      try {
        client c(server.address(), options_for(p));
        const std::string tag = std::string(name_of(p)) + "-";
        start.arrive_and_wait();
        for (int i = 0; i < rounds; ++i) {
          c.notify("counter.increment", array{});
          if (c.call<std::int64_t>("add", t, i) != t + i) ++wrong;
          const std::string text = tag + std::to_string(i);
          if (c.call<std::string>("echo", text) != text) ++wrong;
          c.notify("echo", array{text});  // an answer-less call of another method between
        }
      } catch (const std::exception& e) {
        failures[t] = std::string(name_of(p)) + ": " + e.what();
      }
    });
  }
  for (auto& th : threads) th.join();
  for (const auto& f : failures) EXPECT_EQ(f, "");
  EXPECT_EQ(wrong.load(), 0);

  // Every notification ran once. Notifications and calls may take different paths (other
  // connections): poll the counter, bounded in count and time.
  client_options o;
  o.timeout = std::chrono::seconds(5);
  client check(server.address(), o);
  const std::int64_t expected = std::int64_t{clients} * rounds;
  std::int64_t now = check.call<std::int64_t>("counter.get");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  for (int i = 0; i < 1000 && now < expected && std::chrono::steady_clock::now() < deadline;
       ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));  // poll interval
    now = check.call<std::int64_t>("counter.get");
  }
  EXPECT_EQ(now, expected);
  EXPECT_EQ(server.stop(), 0);
}

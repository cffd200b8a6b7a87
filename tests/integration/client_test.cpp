// The native C++ client (include/netcall/client.hpp) against a real netcalld process.
#include "netcall/client.hpp"
#include "netcall/server.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <coroutine>
#include <future>
#include <thread>

#include "process.hpp"

using namespace netcall;

namespace {

const protocol every_protocol[] = {protocol::msgpack, protocol::jsonrpc, protocol::jsonrpc_http,
                                   protocol::xmlrpc};

const char* name_of(protocol p) {
  switch (p) {
    case protocol::msgpack: return "msgpack";
    case protocol::jsonrpc: return "jsonrpc";
    case protocol::jsonrpc_http: return "jsonrpc_http";
    case protocol::xmlrpc: return "xmlrpc";
  }
  return "?";
}

class every_protocol_test : public ::testing::TestWithParam<protocol> {
 protected:
  static void SetUpTestSuite() { server = new test::netcalld_process(); }
  static void TearDownTestSuite() {
    delete server;
    server = nullptr;
  }
  client_options options(unsigned connections = 1) const {
    client_options o;
    o.protocol = GetParam();
    o.timeout = std::chrono::seconds(5);
    o.connections = connections;
    return o;
  }
  static test::netcalld_process* server;
};
test::netcalld_process* every_protocol_test::server = nullptr;

// A minimal coroutine type, to show async_call works with any coroutine framework.
struct fire_and_forget {
  struct promise_type {
    fire_and_forget get_return_object() { return {}; }
    std::suspend_never initial_suspend() noexcept { return {}; }
    std::suspend_never final_suspend() noexcept { return {}; }
    void return_void() {}
    void unhandled_exception() { std::terminate(); }
  };
};

}  // namespace

TEST_P(every_protocol_test, typed_calls_and_results) {
  client c(server->address(), options());
  EXPECT_EQ(c.call<std::int64_t>("add", 2, 3), 5);
  EXPECT_DOUBLE_EQ(c.call<double>("divide", 7, 2), 3.5);
  EXPECT_EQ(c.call<bool>("is_alnum", std::string("abc1")), true);
  EXPECT_EQ(c.call<std::string>("echo", std::string("ünï")), "ünï");
  const value nested = structure{{"a", array{1, 2.5, "x", true}}, {"b", structure{}}};
  EXPECT_EQ(c.call("echo", nested), nested);
}

TEST_P(every_protocol_test, server_errors_carry_their_code) {
  client c(server->address(), options());
  try {
    c.call<double>("divide", 1, 0);
    FAIL() << "no error";
  } catch (const error& e) {
    EXPECT_EQ(e.code(), status_code::application_error);
    EXPECT_EQ(e.wire_code(), -32000);
    EXPECT_NE(std::string(e.what()).find("division by zero"), std::string::npos);
  }
  try {
    c.call("nope");
    FAIL() << "no error";
  } catch (const error& e) {
    EXPECT_EQ(e.code(), status_code::method_not_found);
  }
}

TEST_P(every_protocol_test, a_result_of_the_wrong_type_is_a_clear_error) {
  client c(server->address(), options());
  try {
    c.call<std::string>("add", 1, 2);
    FAIL() << "no error";
  } catch (const error& e) {
    EXPECT_EQ(e.code(), status_code::protocol_error);
    EXPECT_STREQ(e.what(), "result of add: expected string, got int");
  }
}

TEST_P(every_protocol_test, named_params) {
  client c(server->address(), options());
  const value named = structure{{"subtrahend", 3}, {"minuend", 10}};
  if (GetParam() == protocol::xmlrpc) {
    // XML-RPC params are positional only: refused by the client itself (the next test).
    try {
      c.call_params("subtract", named);
      FAIL() << "no error";
    } catch (const error& e) {
      EXPECT_EQ(e.code(), status_code::invalid_params);
    }
    EXPECT_EQ(c.call_params("subtract", array{10, 3}), value(7));
    return;
  }
  EXPECT_EQ(c.call_params("subtract", named), value(7));
}

TEST(client_xmlrpc, named_params_are_refused_at_once_without_sending_anything) {
  // No server listens there: a refusal that sent nothing is invalid_params, not unavailable.
  client_options o;
  o.protocol = protocol::xmlrpc;
  o.timeout = std::chrono::seconds(5);
  o.retry.max_attempts = 3;  // a local refusal is never retried
  o.idempotency_keys = true;
  std::atomic<int> retries{0};
  o.on_retry = [&retries](const error&, int, std::chrono::milliseconds) { ++retries; };
  client c("127.0.0.1:1", o);
  const value named = structure{{"minuend", 10}, {"subtrahend", 3}};
  try {
    c.call_params("subtract", named);
    FAIL() << "no error";
  } catch (const error& e) {
    EXPECT_EQ(e.code(), status_code::invalid_params);
    EXPECT_EQ(e.wire_code(), -32602);
    EXPECT_EQ(e.message(), "XML-RPC has no named params: pass them positionally");
  }
  std::promise<outcome> async_outcome;
  std::promise<bool> on_io_thread;
  c.async_call_params("subtract", named, [&](outcome answer) {
    // async_call_params from the caller's thread: the outcome comes on the client's I/O
    // thread, which a blocking call from here would refuse.
    try {
      c.call_params("echo", array{});
      on_io_thread.set_value(false);
    } catch (const std::logic_error&) {
      on_io_thread.set_value(true);
    } catch (...) {
      on_io_thread.set_value(false);
    }
    async_outcome.set_value(std::move(answer));
  });
  auto f = async_outcome.get_future();
  ASSERT_EQ(f.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  const outcome refused = f.get();
  ASSERT_TRUE(refused.failure);
  EXPECT_EQ(refused.failure->code(), status_code::invalid_params);
  EXPECT_TRUE(on_io_thread.get_future().get());
  EXPECT_THROW(c.notify("subtract", named), error);
  EXPECT_EQ(retries.load(), 0);
  // Positional params are what XML-RPC carries: sent, so unavailable here (and retried).
  try {
    c.call_params("subtract", array{10, 3});
    FAIL() << "no error";
  } catch (const error& e) {
    EXPECT_EQ(e.code(), status_code::unavailable);
  }
  EXPECT_EQ(retries.load(), 2);
}

TEST_P(every_protocol_test, many_threads_share_one_client) {
  client c(server->address(), options(2));
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        if (c.call<std::int64_t>("add", t, i) != t + i) ++wrong;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0);
}

TEST_P(every_protocol_test, async_calls_complete_out_of_order_on_one_connection) {
  client c(server->address(), options());
  std::promise<std::string> order;
  auto done = std::make_shared<std::string>();
  std::atomic<int> left{2};
  auto record = [&, done](std::string what) {
    *done += what;  // both callbacks run on the client's one I/O thread
    if (--left == 0) order.set_value(*done);
  };
  c.async_call_params("sleep", array{300}, [record](outcome o) {
    record(o.failure ? "E" : "S");
  });
  c.async_call_params("add", array{1, 2}, [record](outcome o) {
    record(o.failure ? "E" : "A");
  });
  auto f = order.get_future();
  ASSERT_EQ(f.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  const std::string expected = GetParam() == protocol::jsonrpc_http || GetParam() == protocol::xmlrpc
                                   ? "SA"   // HTTP carries one call at a time per connection
                                   : "AS";  // multiplexed: the fast call overtakes the slow one
  EXPECT_EQ(f.get(), expected);
}

TEST_P(every_protocol_test, co_await_async_call) {
  client c(server->address(), options());
  std::promise<std::int64_t> result;
  [](client& cl, std::promise<std::int64_t>& out) -> fire_and_forget {
    const auto a = co_await cl.async_call<std::int64_t>("add", 20, 1);
    const auto b = co_await cl.async_call<std::int64_t>("multiply", a, 2);
    out.set_value(b);
  }(c, result);
  auto f = result.get_future();
  ASSERT_EQ(f.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  EXPECT_EQ(f.get(), 42);
}

TEST_P(every_protocol_test, notify_runs_without_an_answer) {
  client c(server->address(), options());
  const auto before = c.call<std::int64_t>("counter.get");
  c.notify("counter.increment", array{});
  // The notification and the next call may take different paths: poll, bounded.
  std::int64_t now = before;
  for (int i = 0; i < 100 && now == before; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    now = c.call<std::int64_t>("counter.get");
  }
  EXPECT_EQ(now, before + 1);
}

INSTANTIATE_TEST_SUITE_P(client, every_protocol_test, ::testing::ValuesIn(every_protocol),
                         [](const auto& info) { return std::string(name_of(info.param)); });

namespace netcall {
// gtest prints the protocol by name.
void PrintTo(protocol p, std::ostream* os) { *os << name_of(p); }
}  // namespace netcall

TEST(client_failures, unreachable_server_fails_fast_with_unavailable) {
  test::netcalld_process s;
  const std::string address = s.address();
  s.stop();
  client_options o;
  o.timeout = std::chrono::seconds(5);
  client c(address, o);
  const auto start = std::chrono::steady_clock::now();
  try {
    c.call("add", 1, 2);
    FAIL() << "no error";
  } catch (const error& e) {
    EXPECT_EQ(e.code(), status_code::unavailable);
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
}

TEST(client_failures, timeout_then_retry_runs_once) {
  test::netcalld_process s({"--delay", "700ms"});
  for (protocol p : every_protocol) {
    client_options o;
    o.protocol = p;
    o.timeout = std::chrono::milliseconds(300);
    o.retry.max_attempts = 6;
    client c(s.address(), o);
    SCOPED_TRACE(name_of(p));
    const auto start = std::chrono::steady_clock::now();
    const auto n = c.call<std::int64_t>("counter.increment");
    // SPEC §2: no answer leaves before the call's first arrival + the delay, retries included:
    // the attempts that reach the server before 700 ms time out, and a later one gets the
    // stored outcome (not a second delay, which would make every 300 ms attempt time out).
    EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(650));
    o.timeout = std::chrono::seconds(3);
    client check(s.address(), o);
    EXPECT_EQ(check.call<std::int64_t>("counter.get"), n);
  }
  client_options o;
  o.timeout = std::chrono::seconds(3);
  EXPECT_EQ(client(s.address(), o).call<std::int64_t>("counter.get"), 4);
}

TEST(client_failures, calls_in_flight_fail_fast_when_the_server_dies) {
  auto s = std::make_unique<test::netcalld_process>(std::vector<std::string>{"--shutdown-grace", "0ms"});
  client_options o;
  o.timeout = std::chrono::seconds(10);
  client c(s->address(), o);
  std::promise<outcome> slow;
  c.async_call_params("sleep", array{5000}, [&](outcome r) { slow.set_value(std::move(r)); });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const auto start = std::chrono::steady_clock::now();
  kill(s->pid(), SIGKILL);
  auto f = slow.get_future();
  ASSERT_EQ(f.wait_for(std::chrono::seconds(3)), std::future_status::ready);
  auto r = f.get();
  ASSERT_TRUE(r.failure.has_value());
  EXPECT_EQ(r.failure->code(), status_code::unavailable);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
}

TEST(client_failures, blocking_call_from_a_callback_is_refused) {
  test::netcalld_process s;
  client c(s.address());
  std::promise<std::string> what;
  c.async_call_params("add", array{1, 1}, [&](outcome) {
    try {
      c.call("add", 1, 1);
      what.set_value("no error");
    } catch (const std::logic_error& e) {
      what.set_value("logic_error");
    }
  });
  EXPECT_EQ(what.get_future().get(), "logic_error");
}

// ---- security through the library (SPEC §6): a user's own server and client --------------------

namespace {

/// Runs `command` with /bin/sh; fails the test when it fails.
void shell(const std::string& command) {
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
}

/// A CA, a server certificate for 127.0.0.1 and a client certificate "CN=netcall client" in a
/// fresh directory (the openssl tool, as tests/support/harness.py make_pki).
std::string make_certificates() {
  char dir_template[] = "/tmp/netcall-client-test-XXXXXX";
  const std::string dir = mkdtemp(dir_template);
  const std::string ec = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
  shell("cd " + dir + " && openssl req -x509 " + ec +
        " -keyout ca.key -out ca.pem -days 1 -subj '/CN=test CA' 2>/dev/null");
  for (const char* who : {"server", "client"}) {
    const std::string name = who;
    shell("cd " + dir + " && openssl req " + ec + " -keyout " + name + ".key -out " + name +
          ".csr -subj '/CN=netcall " + name + "' 2>/dev/null && printf '" +
          (name == "server" ? "subjectAltName=IP:127.0.0.1" : "extendedKeyUsage=clientAuth") +
          "\\n' > " + name + ".ext && openssl x509 -req -in " + name +
          ".csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 -extfile " + name +
          ".ext -out " + name + ".pem 2>/dev/null");
  }
  return dir;
}

}  // namespace

TEST(library_security, tls_client_certificates_and_tokens_on_every_protocol) {
  const std::string dir = make_certificates();
  server_options so;
  so.listen = {"127.0.0.1:0"};
  so.threads = 1;
  so.tokens = {"library-token"};
  so.tls_cert_file = dir + "/server.pem";
  so.tls_key_file = dir + "/server.key";
  so.tls_client_ca_file = dir + "/ca.pem";
  so.tls_only = true;
  server srv(so);
  // What a procedure knows of its caller: the verified certificate subject, TLS, the token.
  srv.procedures().add_async(
      {"whoami", {}, {{"struct"}}, "The caller as the server sees it."},
      [](array, call_context& ctx, completion done) {
        const call_metadata& m = ctx.metadata();
        done({value(structure{{"identity", m.peer ? m.peer->tls_identity : ""},
                              {"tls", m.peer != nullptr && m.peer->tls},
                              {"authenticated", m.authenticated}}),
              std::nullopt});
      });
  const std::string address = srv.start().at(0);
  std::thread runner([&] { srv.run(); });
  for (protocol p : every_protocol) {
    SCOPED_TRACE(name_of(p));
    client_options co;
    co.protocol = p;
    co.token = "library-token";
    co.tls_ca_file = dir + "/ca.pem";
    co.tls_cert_file = dir + "/client.pem";
    co.tls_key_file = dir + "/client.key";
    client c(address, co);
    const value who = c.call("whoami");
    EXPECT_EQ(*who.find("identity"), value("CN=netcall client"));
    EXPECT_EQ(*who.find("tls"), value(true));
    EXPECT_EQ(*who.find("authenticated"), value(true));

    client_options wrong = co;
    wrong.token = "not-the-token";
    client refused(address, wrong);
    try {
      refused.call("whoami");
      ADD_FAILURE() << "a wrong token was accepted";
    } catch (const error& e) {
      EXPECT_EQ(e.code(), status_code::unauthenticated) << e.what();
    }

    client_options anonymous = co;
    anonymous.tls_cert_file.clear();
    anonymous.tls_key_file.clear();
    anonymous.timeout = std::chrono::seconds(2);
    client no_certificate(address, anonymous);
    try {
      no_certificate.call("whoami");
      ADD_FAILURE() << "a client without a certificate was served";
    } catch (const error& e) {
      EXPECT_EQ(e.code(), status_code::unavailable) << e.what();
    }
  }
  srv.stop();
  runner.join();
  shell("rm -rf " + dir);
}

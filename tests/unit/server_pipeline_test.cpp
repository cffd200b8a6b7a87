// The server's call pipeline as assembled from server_options (server/server_pipeline.hpp):
// the procedure runner, the built-in system.* procedures, --delay, at-most-once by idempotency
// key and the shutdown gate, on calls of no connection run on an event loop in this thread.
#include "server/server_pipeline.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <optional>

#include "common/token_set.hpp"
#include "netcall/openrpc.hpp"
#include "transport/event_loop.hpp"

using namespace netcall;
using namespace netcall::detail;

namespace {

using namespace std::chrono_literals;

struct fixture : ::testing::Test {
  /// `tokens`: the server requires one of them (SPEC §6; the auth interceptor is in the chain).
  explicit fixture(server_options o = {}, std::vector<std::string> tokens = {})
      : options(std::move(o)) {
    if (!tokens.empty()) access.set_tokens(std::make_shared<const token_set>(std::move(tokens)));
    procedures.bind("subtract", [](std::int64_t a, std::int64_t b) { return a - b; },
                    {"minuend", "subtrahend"}, "Subtracts.");
    procedures.bind("fail", []() -> int { throw std::runtime_error("it broke"); });
    procedures.bind("positional", [](std::int64_t a) { return a; });
    procedures.bind("counter.increment", [this] { return ++counter; });
    procedures.add_async({"later", {}, {{"int"}}, "Answers on a timer."},
                         [](array, call_context& ctx, completion done) {
                           ctx.after(10ms, [done] { done({value(7), std::nullopt}); });
                         });
    procedures.add_async({"slow.increment", {}, {}, ""},
                         [this](array, call_context& ctx, completion done) {
                           ctx.after(10ms, [this, done] { done({value(++counter), std::nullopt}); });
                         });
    procedures.add_async({"forgetful", {}, {}, "Drops its completion."},
                         [](array, call_context&, completion) {});
    procedures.add_async({"twice", {}, {}, "Completes twice."},
                         [](array, call_context&, completion done) {
                           done({value(1), std::nullopt});
                           done({value(2), std::nullopt});
                         });
    server = std::make_unique<server_pipeline>(options, procedures, access, metrics, null_logger());
  }

  /// Starts a call; its answer lands in the returned slot (when it comes).
  std::shared_ptr<std::optional<response>> start(const std::string& method, value params,
                                                 value id = 1, std::string key = {}) {
    auto out = std::make_shared<std::optional<response>>();
    call& c = loop.acquire_detached([out](response& r) { *out = r; });
    c.req.method = method;
    c.req.params = std::move(params);
    c.req.id = std::move(id);
    c.req.meta.idempotency_key = std::move(key);
    server->calls().handle(c);
    return out;
  }

  /// A call, started on the loop's thread as the transport does, and its answer.
  std::optional<response> call_now(const std::string& method, value params, value id = 1,
                                   std::string key = {}) {
    std::shared_ptr<std::optional<response>> out;
    boost::asio::post(loop.io(), [&] {
      out = start(method, std::move(params), std::move(id), std::move(key));
    });
    run_until([&] { return out && out->has_value(); });
    return out ? *out : std::nullopt;
  }

  /// A call from a connection's peer `peer` over `protocol`, with `token` in its metadata (as
  /// the HTTP unit puts the Authorization header's).
  std::optional<response> call_over(std::string_view protocol, peer_info& peer,
                                    const std::string& method, value params,
                                    std::string token = {}) {
    auto out = std::make_shared<std::optional<response>>();
    boost::asio::post(loop.io(), [&] {
      call& c = loop.acquire_detached([out](response& r) { *out = r; });
      c.req.method = method;
      c.req.params = std::move(params);
      c.req.id = 1;
      c.req.meta.protocol = protocol;
      c.req.meta.token = std::move(token);
      c.req.meta.peer = &peer;
      server->calls().handle(c);
    });
    run_until([&] { return out->has_value(); });
    return *out;
  }

  /// Runs the loop until `done()` or 2 s passed (timers included).
  template <class Done>
  void run_until(Done done) {
    const auto until = std::chrono::steady_clock::now() + 2s;
    while (!done() && std::chrono::steady_clock::now() < until) {
      loop.io().restart();
      loop.io().run_for(5ms);
    }
  }

  server_options options;
  registry procedures;
  access_policy access;
  std::int64_t counter = 0;
  event_loop loop;
  prometheus::Registry metrics;
  std::unique_ptr<server_pipeline> server;
};

const std::string key1 = "nc1:0123456789abcdef:1";

}  // namespace

TEST_F(fixture, positional_and_named_params) {
  EXPECT_EQ(call_now("subtract", array{42, 23})->result, value(19));
  EXPECT_EQ(call_now("subtract", structure{{"subtrahend", 23}, {"minuend", 42}})->result,
            value(19));
}

TEST_F(fixture, named_param_errors_are_invalid_params) {
  EXPECT_EQ(call_now("subtract", structure{{"minuend", 1}, {"x", 2}})->error->code, -32602);
  EXPECT_EQ(call_now("subtract", structure{{"subtrahend", 2}})->error->code, -32602);
  EXPECT_EQ(call_now("positional", structure{{"a", 1}})->error->code, -32602);
}

TEST_F(fixture, a_missing_named_param_is_named_wherever_it_is) {
  auto r = call_now("subtract", structure{{"minuend", 1}});  // the last one left out
  ASSERT_TRUE(r && r->error);
  EXPECT_EQ(r->error->code, -32602);
  EXPECT_EQ(r->error->message, "invalid params: missing param 'subtrahend'");
  r = call_now("subtract", structure{{"subtrahend", 1}});
  ASSERT_TRUE(r && r->error);
  EXPECT_EQ(r->error->message, "invalid params: missing param 'minuend'");
  // A trailing optional param may be left out by name as by position.
  procedures.bind("greet", [](std::string who, std::optional<std::string> how) {
    return how.value_or("hello") + " " + who;
  }, {"who", "how"});
  EXPECT_EQ(call_now("greet", structure{{"who", "ada"}})->result, value("hello ada"));
  EXPECT_EQ(call_now("greet", structure{{"how", "hi"}, {"who", "ada"}})->result, value("hi ada"));
  r = call_now("greet", structure{{"how", "hi"}});
  ASSERT_TRUE(r && r->error);
  EXPECT_EQ(r->error->message, "invalid params: missing param 'who'");
  // An optional param left out before a given one is empty.
  procedures.bind("greet3",
                  [](std::string who, std::optional<std::string> how,
                     std::optional<std::string> end) {
                    return how.value_or("hello") + " " + who + end.value_or(".");
                  },
                  {"who", "how", "end"});
  EXPECT_EQ(call_now("greet3", structure{{"end", "!"}, {"who", "ada"}})->result,
            value("hello ada!"));
  // An untyped procedure gets the params up to the first one left out and decides itself.
  procedures.add_sync({"count", {"a", "b"}, {}, ""},
                      [](array& params) { return value(std::int64_t(params.size())); });
  EXPECT_EQ(call_now("count", structure{{"a", 1}})->result, value(1));
  r = call_now("count", structure{{"b", 1}});
  ASSERT_TRUE(r && r->error);
  EXPECT_EQ(r->error->message, "invalid params: missing param 'a'");
}

TEST_F(fixture, param_names_must_be_distinct_and_not_empty) {
  try {
    procedures.bind("pair", [](std::int64_t a, std::int64_t b) { return a + b; }, {"a", "a"});
    ADD_FAILURE() << "a name given twice was bound";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "procedure pair: param name 'a' given twice");
  }
  try {
    procedures.add_sync({"blank", {"x", ""}, {}, ""}, [](array&) { return value(1); });
    ADD_FAILURE() << "an empty name was bound";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "procedure blank: param 2 has an empty name");
  }
  EXPECT_EQ(procedures.find("pair"), nullptr);
  EXPECT_EQ(procedures.find("blank"), nullptr);
}

TEST_F(fixture, unknown_method_and_thrown_exception) {
  auto r = call_now("nope", array{});
  EXPECT_EQ(r->error->code, -32601);
  EXPECT_EQ(r->error->message, "method not found: nope");
  r = call_now("fail", array{});
  EXPECT_EQ(r->error->code, -32000);
  EXPECT_EQ(r->error->message, "it broke");
}

TEST_F(fixture, response_keeps_the_request_id) {
  EXPECT_EQ(call_now("subtract", array{1, 1}, "abc")->id, value("abc"));
  EXPECT_EQ(call_now("nope", array{}, 1.5)->id, value(1.5));
}

TEST_F(fixture, async_procedure_answers_when_its_timer_fires) {
  auto r = start("later", array{});
  EXPECT_FALSE(r->has_value());
  run_until([&] { return r->has_value(); });
  ASSERT_TRUE(r->has_value());
  EXPECT_EQ((*r)->result, value(7));
}

TEST_F(fixture, a_completion_dropped_unanswered_answers_internal_error) {
  auto r = start("forgetful", array{});
  run_until([&] { return r->has_value(); });
  ASSERT_TRUE(r->has_value());
  ASSERT_TRUE((*r)->error);
  EXPECT_EQ((*r)->error->code, -32603);
}

TEST_F(fixture, a_second_completion_is_ignored) {
  auto r = start("twice", array{});
  run_until([&] { return r->has_value(); });
  ASSERT_TRUE(r->has_value());
  EXPECT_EQ((*r)->result, value(1));
  EXPECT_EQ(loop.calls(), 0u);
}

TEST_F(fixture, introspection_procedures_are_registry_entries) {
  for (const char* builtin : {"system.listMethods", "system.methodHelp",
                              "system.methodSignature", "system.multicall"}) {
    EXPECT_NE(procedures.find(builtin), nullptr) << builtin;
  }
  auto names = call_now("system.listMethods", array{})->result.as_array();
  EXPECT_NE(std::find(names.begin(), names.end(), value("subtract")), names.end());
  EXPECT_NE(std::find(names.begin(), names.end(), value("system.multicall")), names.end());
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end(), [](const value& a, const value& b) {
    return a.as_string() < b.as_string();
  }));
  EXPECT_EQ(call_now("system.methodHelp", array{"subtract"})->result, value("Subtracts."));
  EXPECT_EQ(call_now("system.methodHelp", structure{{"name", "subtract"}})->result,
            value("Subtracts."));
  EXPECT_EQ(call_now("system.methodSignature", array{"subtract"})->result,
            value(array{array{"int", "int", "int"}}));
  EXPECT_EQ(call_now("system.methodSignature", array{"system.multicall"})->result,
            value(array{array{"array", "array"}}));
  EXPECT_EQ(call_now("system.methodHelp", array{"nope"})->error->code, -32602);
  EXPECT_EQ(call_now("system.methodHelp", array{})->error->code, -32602);
  EXPECT_EQ(call_now("system.nope", array{})->error->code, -32601);
}

TEST_F(fixture, users_cannot_bind_the_system_prefix) {
  EXPECT_THROW(procedures.bind("system.mine", [] { return 1; }), std::invalid_argument);
}

TEST_F(fixture, users_cannot_bind_the_rpc_prefix) {
  EXPECT_THROW(procedures.bind("rpc.discover", [] { return 1; }), std::invalid_argument);
  EXPECT_THROW(procedures.add_sync({"rpc.mine", {}, {}, ""}, [](array&) { return value(1); }),
               std::invalid_argument);
  procedures.bind("rpcx", [] { return 1; });  // only the prefix with its dot is reserved
  EXPECT_NE(procedures.find("rpcx"), nullptr);
}

TEST_F(fixture, rpc_discover_answers_the_openrpc_document_of_every_entry) {
  ASSERT_NE(procedures.find("rpc.discover"), nullptr);
  auto r = call_now("rpc.discover", array{});
  ASSERT_TRUE(r);
  ASSERT_FALSE(r->error) << r->error->message;
  const value* methods = r->result.find("methods");
  ASSERT_NE(methods, nullptr);
  std::vector<std::string> names;
  for (const auto& m : methods->as_array()) names.push_back(m.find("name")->as_string());
  std::vector<std::string> registered;
  for (const auto& [name, e] : procedures.entries()) registered.push_back(name);
  EXPECT_EQ(names, registered);  // sorted, the built-in ones and rpc.discover itself included
  for (const auto& m : methods->as_array()) {
    if (m.find("name")->as_string() == "subtract") {
      EXPECT_EQ(openrpc_signature_text(m), "subtract(minuend: int, subtrahend: int) -> int");
    }
    if (m.find("name")->as_string() == "rpc.discover") {
      EXPECT_EQ(openrpc_signature_text(m), "rpc.discover() -> struct");
    }
  }
  EXPECT_EQ(call_now("rpc.discover", array{1})->error->code, -32602);
  EXPECT_EQ(call_now("rpc.discover", structure{{"x", 1}})->error->code, -32602);
}

TEST_F(fixture, multicall_returns_results_and_faults_in_order) {
  value calls = array{array{
      structure{{"methodName", "subtract"}, {"params", array{5, 3}}},
      structure{{"methodName", "fail"}, {"params", array{}}},
      structure{{"methodName", "system.multicall"}, {"params", array{array{}}}},
      structure{{"params", array{}}},
  }};
  auto r = call_now("system.multicall", calls);
  ASSERT_FALSE(r->error) << r->error->message;
  const auto& out = r->result.as_array();
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(out[0], value(array{2}));
  EXPECT_EQ(*out[1].find("faultCode"), value(-32000));
  EXPECT_EQ(*out[1].find("faultString"), value("it broke"));
  EXPECT_EQ(*out[2].find("faultCode"), value(-32602));  // no nesting
  EXPECT_EQ(*out[3].find("faultCode"), value(-32602));  // no methodName
  EXPECT_EQ(call_now("system.multicall", array{1})->error->code, -32602);
}

TEST_F(fixture, multicall_waits_for_async_members) {
  auto r = start("system.multicall",
                 array{array{structure{{"methodName", "later"}},
                             structure{{"methodName", "subtract"}, {"params", array{1, 1}}}}});
  EXPECT_FALSE(r->has_value());
  run_until([&] { return r->has_value(); });
  ASSERT_TRUE(r->has_value());
  EXPECT_EQ((*r)->result, value(array{array{7}, array{0}}));
}

namespace {
struct small_batch : fixture {
  small_batch() : fixture([] {
    server_options o;
    o.max_batch = 2;
    return o;
  }()) {}
};
}  // namespace

TEST_F(small_batch, a_multicall_longer_than_max_batch_runs_nothing) {
  auto inc = structure{{"methodName", "counter.increment"}};
  auto r = call_now("system.multicall", array{array{inc, inc, inc}});
  ASSERT_TRUE(r->error);
  EXPECT_EQ(r->error->code, -32001);
  EXPECT_EQ(counter, 0);
  r = call_now("system.multicall", array{array{inc, inc}});
  EXPECT_EQ(r->result, value(array{array{1}, array{2}}));
}

// ---- --delay (SPEC §2) ------------------------------------------------------------------------

namespace {
struct delayed : fixture {
  delayed() : fixture([] {
    server_options o;
    o.response_delay = 200ms;
    return o;
  }()) {}
};
}  // namespace

TEST_F(delayed, the_answer_leaves_no_earlier_than_arrival_plus_delay) {
  const auto t0 = std::chrono::steady_clock::now();
  auto r = start("counter.increment", array{});
  EXPECT_FALSE(r->has_value());
  EXPECT_EQ(counter, 1);  // it ran at once; only its answer waits
  run_until([&] { return r->has_value(); });
  ASSERT_TRUE(r->has_value());
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 200ms);
}

TEST_F(delayed, a_retry_waits_for_the_first_arrival_plus_delay_and_runs_nothing) {
  const auto t0 = std::chrono::steady_clock::now();
  auto first = start("counter.increment", array{}, 1, key1);
  auto retry = start("counter.increment", array{}, 2, key1);
  EXPECT_FALSE(retry->has_value()) << "a stored outcome still waits out the first delay";
  run_until([&] { return first->has_value() && retry->has_value(); });
  ASSERT_TRUE(retry->has_value());
  EXPECT_EQ((*retry)->result, value(1));
  EXPECT_EQ((*retry)->id, value(2));
  EXPECT_EQ(counter, 1);
  const auto waited = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(waited, 200ms);
  EXPECT_LT(waited, 390ms) << "no second delay";
}

// ---- at most once (SPEC §4) -------------------------------------------------------------------

TEST_F(fixture, a_retry_with_the_same_key_gets_the_stored_outcome_and_runs_nothing) {
  for (int attempt = 0; attempt < 5; ++attempt) {
    auto r = call_now("counter.increment", array{}, attempt, key1);
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->result, value(1));
    EXPECT_EQ(r->id, value(attempt));  // each attempt keeps its own request id
  }
  EXPECT_EQ(counter, 1);
  EXPECT_EQ(call_now("counter.increment", array{}, 9, "nc1:0123456789abcdef:2")->result, value(2));
}

TEST_F(fixture, without_a_key_every_call_runs) {
  call_now("counter.increment", array{});
  call_now("counter.increment", array{});
  EXPECT_EQ(counter, 2);
}

TEST_F(fixture, a_retry_of_a_running_call_waits_for_it) {
  auto first = start("slow.increment", array{}, 1, key1);
  auto second = start("slow.increment", array{}, 2, key1);
  EXPECT_FALSE(first->has_value() || second->has_value());
  run_until([&] { return first->has_value() && second->has_value(); });
  ASSERT_TRUE(first->has_value() && second->has_value());
  EXPECT_EQ((*first)->result, value(1));
  EXPECT_EQ((*second)->result, value(1));
  EXPECT_EQ((*second)->id, value(2));
  EXPECT_EQ(counter, 1);
}

TEST_F(fixture, failures_are_remembered_too) {
  EXPECT_EQ(call_now("fail", array{}, 1, key1)->error->message, "it broke");
  EXPECT_EQ(call_now("fail", array{}, 2, key1)->error->message, "it broke");
  EXPECT_EQ(server->cache().size(), 1u);
}

TEST_F(fixture, a_key_reused_for_another_method_is_refused) {
  EXPECT_EQ(call_now("counter.increment", array{}, 1, key1)->result, value(1));
  auto r = call_now("subtract", array{1, 1}, 2, key1);
  ASSERT_TRUE(r->error.has_value());
  EXPECT_EQ(r->error->code, -32600);
}

TEST_F(fixture, a_key_reused_with_other_params_is_refused_and_runs_nothing) {
  // A key names one call: the first attempt's result is never the answer to other params.
  EXPECT_EQ(call_now("subtract", array{5, 3}, 1, key1)->result, value(2));
  auto r = call_now("subtract", array{5, 4}, 2, key1);
  ASSERT_TRUE(r->error.has_value());
  EXPECT_EQ(r->error->code, -32600);
  EXPECT_NE(r->error->message.find("idempotency key reused with other params"), std::string::npos)
      << r->error->message;
  EXPECT_EQ(call_now("subtract", array{5, 3}, 3, key1)->result, value(2));  // same params: stored
  // Named params in another member order are the same params.
  const std::string key2 = "nc1:0123456789abcdef:2";
  EXPECT_EQ(call_now("subtract", structure{{"minuend", 9}, {"subtrahend", 1}}, 4, key2)->result,
            value(8));
  EXPECT_EQ(call_now("subtract", structure{{"subtrahend", 1}, {"minuend", 9}}, 5, key2)->result,
            value(8));
  EXPECT_EQ(call_now("subtract", structure{{"minuend", 9}, {"subtrahend", 2}}, 6, key2)
                ->error->code,
            -32600);
}

TEST_F(fixture, a_retry_with_other_params_is_refused_while_the_first_attempt_runs) {
  // slow.increment ignores its params: only the key's memory tells the calls apart.
  std::shared_ptr<std::optional<response>> first, other, same;
  boost::asio::post(loop.io(), [&] {
    first = start("slow.increment", array{"a"}, 1, key1);
    other = start("slow.increment", array{"b"}, 2, key1);
    same = start("slow.increment", array{"a"}, 3, key1);
  });
  run_until([&] { return first && (*first) && (*same) && (*other); });
  ASSERT_TRUE(first && first->has_value() && other->has_value() && same->has_value());
  EXPECT_EQ((*first)->result, value(1));
  ASSERT_TRUE((*other)->error.has_value());
  EXPECT_EQ((*other)->error->code, -32600);
  EXPECT_EQ((*same)->result, value(1));  // waited for the first attempt
  EXPECT_EQ(counter, 1);
}

TEST_F(fixture, keyed_outcomes_are_charged_to_their_peer) {
  peer_info a{"127.0.0.1:40000", {}};
  peer_info b{"127.0.0.2:40000", {}};
  auto keyed = [&](peer_info& peer, const std::string& key) {
    auto out = std::make_shared<std::optional<response>>();
    boost::asio::post(loop.io(), [&, out] {
      call& c = loop.acquire_detached([out](response& r) { *out = r; });
      c.req.method = "counter.increment";
      c.req.id = 1;
      c.req.meta.idempotency_key = key;
      c.req.meta.peer = &peer;
      server->calls().handle(c);
    });
    run_until([&] { return out->has_value(); });
    return *out;
  };
  EXPECT_EQ(keyed(a, key1)->result, value(1));
  EXPECT_GT(server->cache().peer_bytes("127.0.0.1:1"), 0u);
  EXPECT_EQ(server->cache().peer_bytes("127.0.0.2:1"), 0u);
  EXPECT_EQ(keyed(b, key1)->result, value(1));  // a retry from elsewhere: stored, not charged
  EXPECT_EQ(server->cache().peer_bytes("127.0.0.2:1"), 0u);
  EXPECT_EQ(counter, 1);
}

TEST_F(fixture, while_stopping_known_outcomes_are_answered_and_new_calls_refused) {
  EXPECT_EQ(call_now("counter.increment", array{}, 1, key1)->result, value(1));
  auto running = start("slow.increment", array{}, 3, "nc1:0123456789abcdef:3");
  server->stopping() = true;
  EXPECT_EQ(call_now("counter.increment", array{}, 5, key1)->result, value(1));  // it ran
  auto retry_of_running = start("slow.increment", array{}, 6, "nc1:0123456789abcdef:3");
  auto fresh = call_now("counter.increment", array{}, 7, "nc1:0123456789abcdef:99");
  ASSERT_TRUE(fresh->error.has_value());
  EXPECT_EQ(fresh->error->code, -32002);
  EXPECT_EQ(call_now("counter.increment", array{})->error->code, -32002);
  run_until([&] { return running->has_value() && retry_of_running->has_value(); });
  EXPECT_EQ((*retry_of_running)->result, value(2));  // the running call's outcome, not -32002
  EXPECT_EQ(counter, 2);
  // The refused key was not registered: after a restart a retry of it may run.
  EXPECT_EQ(server->cache().size(), 2u);
}

// Placement (SPEC §5): system.cluster.apply from a loopback peer only; listed procedures placed
// elsewhere answer -32601 naming the serving nodes, in calls and in multicall entries alike.
namespace {

const char* const placement_yaml =
    "nodes: {alpha: 127.0.0.1:8181, beta: 127.0.0.1:8282}\n"
    "procedures: {subtract: [beta], counter.increment: [alpha, beta]}\n";

struct cluster_fixture : fixture {
  std::optional<response> call_from(const std::string& peer_address, const std::string& method,
                                    value params) {
    peer_info peer{peer_address, {}};
    return call_over({}, peer, method, std::move(params));
  }
};

}  // namespace

TEST_F(cluster_fixture, apply_from_a_remote_peer_is_refused_and_changes_nothing) {
  auto r = call_from("10.0.0.5:40000", "system.cluster.apply", array{"alpha", placement_yaml});
  ASSERT_TRUE(r->error);
  EXPECT_EQ(r->error->code, -32003);
  EXPECT_EQ(call_now("subtract", array{5, 3})->result, value(2)) << "still served here";
}

TEST_F(cluster_fixture, applied_placement_answers_32601_naming_the_serving_nodes) {
  for (int i = 0; i < 2; ++i) {  // applying twice changes nothing
    auto r = call_from("127.0.0.1:40000", "system.cluster.apply", array{"alpha", placement_yaml});
    ASSERT_FALSE(r->error) << r->error->message;
    EXPECT_EQ(*r->result.find("serves"), value(array{"counter.increment"}));
    auto refused = call_now("subtract", array{5, 3});
    ASSERT_TRUE(refused->error);
    EXPECT_EQ(refused->error->code, -32601);
    EXPECT_EQ(refused->error->message, "method not found: subtract (served by beta)");
    EXPECT_FALSE(call_now("counter.increment", array{})->error) << "placed here";
    EXPECT_FALSE(call_now("positional", array{1})->error) << "unlisted: served as before";
  }
  auto entries = call_now("system.multicall",
                          array{array{structure{{"methodName", "subtract"},
                                                {"params", array{5, 3}}}}});
  ASSERT_FALSE(entries->error);
  const value* code = entries->result.as_array().at(0).find("faultCode");
  ASSERT_NE(code, nullptr) << "a multicall entry is placed like a call";
  EXPECT_EQ(*code, value(-32601));
  auto info = call_now("system.cluster.info", array{});
  EXPECT_EQ(*info->result.find("node"), value("alpha"));
}

TEST_F(cluster_fixture, apply_naming_this_node_otherwise_is_refused) {
  ASSERT_FALSE(call_from("[::1]:40000", "system.cluster.apply", array{"alpha", placement_yaml})
                   ->error);
  auto r = call_from("127.0.0.1:40000", "system.cluster.apply", array{"beta", placement_yaml});
  ASSERT_TRUE(r->error);
  EXPECT_EQ(r->error->code, -32602);
  EXPECT_NE(r->error->message.find("this node is 'alpha'"), std::string::npos) << r->error->message;
  auto bad = call_from("127.0.0.1:40000", "system.cluster.apply", array{"alpha", "nodes: ["});
  ASSERT_TRUE(bad->error);
  EXPECT_EQ(bad->error->code, -32602);
}

// ---- tokens (SPEC §6) ---------------------------------------------------------------------------

namespace {

struct with_tokens : fixture {
  with_tokens() : fixture({}, {"right-token"}) {}
};

}  // namespace

TEST_F(with_tokens, a_raw_call_before_authentication_is_refused_and_not_run) {
  peer_info peer{"127.0.0.1:5000", {}};
  auto r = call_over(protocol_names::jsonrpc, peer, "counter.increment", array{});
  ASSERT_TRUE(r && r->error);
  EXPECT_EQ(r->error->code, -32003);
  EXPECT_EQ(counter, 0);
  peer.authenticated = true;  // what a right system.authenticate does to its connection
  r = call_over(protocol_names::msgpack, peer, "counter.increment", array{});
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->error);
  EXPECT_EQ(counter, 1);
}

TEST_F(with_tokens, system_authenticate_answers_true_only_for_a_right_token) {
  peer_info peer{"127.0.0.1:5000", {}};
  auto wrong = call_over(protocol_names::jsonrpc, peer, "system.authenticate", array{"nope"});
  ASSERT_TRUE(wrong && wrong->error);
  EXPECT_EQ(wrong->error->code, -32003);
  auto malformed = call_over(protocol_names::jsonrpc, peer, "system.authenticate", array{1});
  ASSERT_TRUE(malformed && malformed->error);
  EXPECT_EQ(malformed->error->code, -32602);
  auto right =
      call_over(protocol_names::jsonrpc, peer, "system.authenticate", array{"right-token"});
  ASSERT_TRUE(right);
  EXPECT_FALSE(right->error);
  EXPECT_EQ(right->result, value(true));
}

TEST_F(with_tokens, http_calls_are_checked_by_their_own_token_every_time) {
  peer_info peer{"127.0.0.1:5000", {}};
  peer.authenticated = true;  // a raw connection's state never counts for HTTP
  for (auto protocol : {protocol_names::jsonrpc_http, protocol_names::xmlrpc}) {
    auto missing = call_over(protocol, peer, "counter.increment", array{});
    ASSERT_TRUE(missing && missing->error);
    EXPECT_EQ(missing->error->code, -32003);
    auto wrong = call_over(protocol, peer, "counter.increment", array{}, "wrong");
    ASSERT_TRUE(wrong && wrong->error);
    EXPECT_EQ(wrong->error->code, -32003);
  }
  EXPECT_EQ(counter, 0);
  auto right = call_over(protocol_names::xmlrpc, peer, "counter.increment", array{}, "right-token");
  ASSERT_TRUE(right);
  EXPECT_FALSE(right->error);
  EXPECT_EQ(counter, 1);
}

TEST(admin_procedures, run_for_loopback_peers_or_authenticated_calls) {
  peer_info local{"127.0.0.1:1", {}};
  peer_info remote{"10.1.2.3:1", {}};
  call_metadata meta;
  meta.peer = &local;
  EXPECT_TRUE(admin_allowed(meta));
  meta.peer = &remote;
  EXPECT_FALSE(admin_allowed(meta));
  meta.authenticated = true;  // the call carried one of the server's tokens
  EXPECT_TRUE(admin_allowed(meta));
}

TEST(loopback_peers, are_127_8_and_v6_loopback_only) {
  EXPECT_TRUE(is_loopback_peer("127.0.0.1:5"));
  EXPECT_TRUE(is_loopback_peer("127.1.2.3:5"));
  EXPECT_TRUE(is_loopback_peer("[::1]:5"));
  EXPECT_TRUE(is_loopback_peer("[::ffff:127.0.0.1]:5"));
  EXPECT_FALSE(is_loopback_peer("10.0.0.1:5"));
  EXPECT_FALSE(is_loopback_peer("[::2]:5"));
  EXPECT_FALSE(is_loopback_peer("1127.0.0.1:5"));
  EXPECT_FALSE(is_loopback_peer("[fe80::1]:5"));
}

// The call pipeline (server/pipeline.hpp) with a fake chain of interceptors, on calls of no
// connection (event_loop::acquire_detached) whose loop runs in the test's own thread.
#include "server/pipeline.hpp"

#include <gtest/gtest.h>

#include <boost/asio/post.hpp>
#include <optional>
#include <string>
#include <vector>

#include "transport/event_loop.hpp"

using namespace netcall;
using namespace netcall::detail;

namespace {

/// Records what it sees in `log` ("name>" in, "name<" out) and does what it is told.
struct scripted : interceptor {
  scripted(std::string n, std::vector<std::string>& l)
      : interceptor(true), name(std::move(n)), log(l) {}
  verdict on_call(call& c) override {
    log.push_back(name + ">");
    if (on_in == verdict::answered) c.answer.result = value(name);
    if (on_in == verdict::held) held = &c;
    return on_in;
  }
  verdict on_answer(call& c) override {
    log.push_back(name + "<");
    if (on_out == verdict::held) held = &c;
    return on_out;
  }
  std::string name;
  std::vector<std::string>& log;
  verdict on_in = verdict::proceed;
  verdict on_out = verdict::proceed;
  call* held = nullptr;
};

struct fixture : ::testing::Test {
  /// Runs a call named `method` through `p`; returns its answer once finished, if it was.
  void start(pipeline& p, const std::string& method = "m") {
    call& c = loop.acquire_detached([this](response& r) { answer = r; });
    c.req.method = method;
    p.handle(c);
  }
  /// Runs the handlers the loop has ready (as its thread would).
  void pump() {
    loop.io().restart();
    loop.io().poll();
  }
  event_loop loop;
  std::vector<std::string> log;
  std::optional<response> answer;
};

}  // namespace

TEST_F(fixture, a_call_goes_in_through_every_interceptor_and_its_answer_out_in_reverse) {
  scripted a("a", log), b("b", log), runner("runner", log);
  runner.on_in = verdict::answered;
  pipeline p({&a, &b, &runner});
  start(p);
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->result, value("runner"));
  EXPECT_EQ(log, (std::vector<std::string>{"a>", "b>", "runner>", "b<", "a<"}));
  EXPECT_EQ(loop.calls(), 0u);  // finished and back in the pool
}

TEST_F(fixture, an_interceptor_that_answers_stops_the_call_and_only_those_before_it_see_the_answer) {
  scripted a("a", log), gate("gate", log), runner("runner", log);
  gate.on_in = verdict::answered;
  pipeline p({&a, &gate, &runner});
  start(p);
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->result, value("gate"));
  EXPECT_EQ(log, (std::vector<std::string>{"a>", "gate>", "a<"}));
}

TEST_F(fixture, a_call_held_on_its_way_in_goes_on_when_resumed) {
  scripted a("a", log), wait("wait", log), runner("runner", log);
  wait.on_in = verdict::held;
  runner.on_in = verdict::answered;
  pipeline p({&a, &wait, &runner});
  start(p);
  EXPECT_FALSE(answer);
  EXPECT_EQ(loop.calls(), 1u);
  ASSERT_NE(wait.held, nullptr);
  pipeline::resume(*wait.held, verdict::proceed);
  ASSERT_TRUE(answer);
  EXPECT_EQ(log, (std::vector<std::string>{"a>", "wait>", "runner>", "wait<", "a<"}));
}

TEST_F(fixture, a_held_call_may_be_answered_by_the_interceptor_that_holds_it) {
  scripted a("a", log), cache("cache", log), runner("runner", log);
  cache.on_in = verdict::held;
  pipeline p({&a, &cache, &runner});
  start(p);
  cache.held->answer.result = value("stored");
  pipeline::resume(*cache.held, verdict::answered);
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->result, value("stored"));
  EXPECT_EQ(log, (std::vector<std::string>{"a>", "cache>", "a<"}));
}

TEST_F(fixture, an_answer_held_on_its_way_out_leaves_when_resumed) {
  scripted delay("delay", log), inner("inner", log), runner("runner", log);
  delay.on_out = verdict::held;
  runner.on_in = verdict::answered;
  pipeline p({&delay, &inner, &runner});
  start(p);
  EXPECT_FALSE(answer);
  pipeline::resume_out(*delay.held);
  ASSERT_TRUE(answer);
  EXPECT_EQ(log, (std::vector<std::string>{"delay>", "inner>", "runner>", "inner<", "delay<"}));
}

TEST_F(fixture, a_chain_whose_end_passes_the_call_on_answers_internal_error) {
  scripted a("a", log);
  pipeline p({&a});
  start(p);
  ASSERT_TRUE(answer);
  ASSERT_TRUE(answer->error);
  EXPECT_EQ(answer->error->code, -32603);
}

TEST_F(fixture, the_answer_carries_the_request_id) {
  scripted runner("runner", log);
  runner.on_in = verdict::answered;
  pipeline p({&runner});
  call& c = loop.acquire_detached([this](response& r) { answer = r; });
  c.req.id = value("abc");
  p.handle(c);
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->id, value("abc"));
}

// ---- the graceful drain of an event loop (transport/event_loop.hpp) ---------------------------

TEST_F(fixture, a_draining_loop_counts_itself_busy_while_calls_run_and_empty_after) {
  scripted wait("wait", log), runner("runner", log);
  wait.on_in = verdict::held;
  runner.on_in = verdict::answered;
  pipeline p({&wait, &runner});
  start(p);  // held: one call running

  drain_state state;
  state.busy = 1;
  loop.drain(state);
  pump();
  EXPECT_EQ(state.busy, 1u) << "a call runs: the loop is not empty";

  boost::asio::post(loop.io(), [&] { pipeline::resume(*wait.held, verdict::proceed); });
  pump();
  ASSERT_TRUE(answer);
  EXPECT_EQ(state.busy, 0u) << "no call and no write left";

  // A call that arrives during the drain (a retry, or one refused with -32002) makes the loop
  // busy again until it is answered.
  wait.on_in = verdict::held;
  answer.reset();
  boost::asio::post(loop.io(), [&] { start(p); });
  pump();
  EXPECT_EQ(state.busy, 1u);
  boost::asio::post(loop.io(), [&] { pipeline::resume(*wait.held, verdict::proceed); });
  pump();
  EXPECT_TRUE(answer);
  EXPECT_EQ(state.busy, 0u);

  state.closing = 1;
  loop.close_all(state);
  pump();
  EXPECT_EQ(state.closing, 0u) << "no write under way: closed at once";
}

TEST_F(fixture, a_loop_empty_from_the_start_is_drained_at_once) {
  drain_state state;
  state.busy = 1;
  loop.drain(state);
  pump();
  EXPECT_EQ(state.busy, 0u);
  EXPECT_TRUE(loop.draining());
}

TEST_F(fixture, calls_still_running_when_the_loop_goes_are_freed_with_it) {
  // The server stopped before they finished: nothing leaks (LeakSanitizer in the asan build).
  auto doomed = std::make_unique<event_loop>();
  scripted wait("wait", log);
  wait.on_in = verdict::held;
  pipeline p({&wait});
  for (int i = 0; i < 3; ++i) {
    call& c = doomed->acquire_detached([](response&) { FAIL() << "answered after the end"; });
    p.handle(c);
  }
  EXPECT_EQ(doomed->calls(), 3u);
  doomed.reset();
}

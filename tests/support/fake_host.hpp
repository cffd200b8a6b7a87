#pragma once
/// \file
/// A session_host without a transport, for tests and fuzz targets of the protocol units: it
/// collects what a session writes, and answers the calls the session dispatches either at once
/// (inside dispatch, as the server's fast path does) or later, when the test says so.

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "protocol/protocol.hpp"

namespace netcall::test {

class fake_host final : public detail::session_host {
 public:
  /// How the host answers a dispatched call: return true with `answer` set to answer at once;
  /// false keeps the call in `held` for `answer_held`.
  using policy = std::function<bool(detail::request& req, detail::response& answer)>;

  /// Answers every call at once with its params (an echo), the default.
  static bool echo(detail::request& req, detail::response& answer) {
    answer.result = req.params;
    return true;
  }

  explicit fake_host(detail::decode_limits limits = {}, policy p = echo)
      : limits_(limits), policy_(std::move(p)) {
    access_.allowed_hosts = {"*"};
  }

  /// The session under test (set before feeding it).
  detail::server_session* session = nullptr;
  /// Everything the session wrote.
  std::string out;
  /// Calls dispatched and not answered yet, in order.
  struct held_call {
    detail::request req;
    detail::reply_tag tag;
  };
  std::vector<held_call> held;
  /// Every call dispatched, in order (copies).
  std::vector<detail::request> dispatched;
  int resumes = 0;
  int protocol_errors = 0;

  /// Answers the held call `i` (and forgets it) with `answer`.
  void answer_held(std::size_t i, detail::response answer) {
    held_call h = std::move(held.at(i));
    held.erase(held.begin() + static_cast<std::ptrdiff_t>(i));
    answer.id = h.req.id;
    session->on_answer(answer, h.tag);
  }

  detail::request& next_request() override { return next_; }
  void dispatch(detail::reply_tag tag) override {
    detail::request r = std::move(next_);
    next_ = detail::request{};
    dispatched.push_back(r);
    detail::response answer;
    if (policy_(r, answer)) {
      answer.id = r.id;
      session->on_answer(answer, tag);
      return;
    }
    held.push_back({std::move(r), tag});
  }
  std::string& output() override { return out; }
  void resume() override { ++resumes; }
  const detail::decode_limits& limits() const override { return limits_; }
  const peer_info& peer() const override { return peer_; }
  std::string metrics_text() override { return "netcall_test_metric 1\n"; }
  detail::access_policy& access() override { return access_; }
  /// What `access()` answers: no token required, no origin allowed, any Host (tests of the
  /// Host check set their own).
  detail::access_policy access_;
  void protocol_error() override { ++protocol_errors; }

 private:
  detail::decode_limits limits_;
  policy policy_;
  detail::request next_;
  peer_info peer_{"127.0.0.1:1", ""};
};

}  // namespace netcall::test

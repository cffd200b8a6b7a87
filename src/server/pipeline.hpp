#pragma once
/// \file
/// The call pipeline (docs/style.md, after gRPC's server interceptors and brpc's server hooks):
/// every call, the allocation-free fast path included, goes in through a chain of interceptors to
/// the procedure runner at its end, and its answer comes back out through the same interceptors in
/// reverse. Cross-cutting behaviour (limits, `--delay`, at-most-once, shutdown refusal, later auth,
/// metrics, access log) is one interceptor each, never code in a protocol.
///
/// A call may complete inline (a procedure that answers at once: no allocation, no timer), or
/// any interceptor may hold it and let it go on later. Everything runs on the call's event loop.

#include <cstddef>
#include <vector>

#include "transport/call.hpp"

namespace netcall::detail {

/// What an interceptor did with a call.
enum class verdict {
  proceed,   ///< pass it on (inward to the next interceptor, or outward with its answer)
  answered,  ///< (inward only) the answer is set: it goes back out from here, through the
             ///< interceptors before this one; this one does not see it on the way out
  held,      ///< the interceptor keeps the call and lets it go on later with pipeline::resume
             ///< (inward) or pipeline::resume_out (outward)
};

class interceptor {
 public:
  /// `sees_answers`: whether on_answer is to be called (the pipeline skips it otherwise).
  explicit interceptor(bool sees_answers = false) : sees_answers_(sees_answers) {}
  virtual ~interceptor() = default;
  /// Sees the call on its way in.
  virtual verdict on_call(call& c) = 0;
  /// Sees its answer on its way out (only interceptors whose on_call returned proceed, and
  /// only when made with `sees_answers`).
  virtual verdict on_answer(call&) { return verdict::proceed; }
  bool sees_answers() const { return sees_answers_; }

 private:
  bool sees_answers_;
};

/// A chain of interceptors; the last one must answer every call (the procedure runner).
class pipeline final : public call_handler {
 public:
  explicit pipeline(std::vector<interceptor*> chain) : chain_(std::move(chain)) {}

  /// Runs `c` through the chain; `c.finish()` is called once its answer came back out.
  void handle(call& c) override;

  /// A call held on its way in goes on: `proceed` to the next interceptor, or `answered` back
  /// out from the one that held it.
  static void resume(call& c, verdict v);
  /// A call held on its way out goes on outward.
  static void resume_out(call& c);

 private:
  void go_in(call& c, std::size_t from);
  void go_out(call& c, std::size_t end);

  std::vector<interceptor*> chain_;
};

}  // namespace netcall::detail

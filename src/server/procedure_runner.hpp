#pragma once
/// \file
/// The end of the call pipeline: finds the procedure in the registry, matches named params to
/// its param names, and runs it. A procedure that answers at once runs inline (no allocation);
/// one that answers later gets a `call_context` and a completion that may be called from any
/// thread.

#include <boost/asio/any_io_executor.hpp>
#include <memory>

#include "common/log.hpp"
#include "server/blocking_pool.hpp"
#include "netcall/server.hpp"
#include "server/pipeline.hpp"

namespace netcall::detail {

class procedure_runner final : public interceptor {
 public:
  /// `log` gets the warning of a procedure that completes its call twice; `blocking` runs
  /// what procedures give `call_context::run_blocking` (it must outlive every call).
  procedure_runner(const registry& procedures, blocking_pool& blocking, logger_ptr log)
      : procedures_(procedures), blocking_(blocking), log_(std::move(log)) {}
  verdict on_call(call& c) override;

 private:
  const registry& procedures_;
  blocking_pool& blocking_;
  logger_ptr log_;
};

/// The call_context an asynchronous procedure gets, and the state behind its completion.
class procedure_context final : public call_context,
                                public std::enable_shared_from_this<procedure_context> {
 public:
  /// `log` gets the warning of a second completion (kept: a completion may come after the
  /// server is gone).
  /// `blocking` is null for a context that runs no procedure (a forwarded call).
  procedure_context(call& c, blocking_pool* blocking, logger_ptr log);
  /// Answers the call with internal_error when its completion was never called.
  ~procedure_context() override;

  void after(std::chrono::milliseconds delay, std::function<void()> fn) override;
  void post(std::function<void()> fn) override;
  const call_metadata& metadata() const override { return metadata_; }
  bool run_blocking(std::function<void()> job) override {
    return blocking_ != nullptr && blocking_->try_run(std::move(job));
  }

  /// The call this context belongs to (the server's own procedures use it: system.multicall
  /// makes its entries children of it). Valid until `complete`, on the call's loop only.
  call& target() { return target_; }

  /// Answers the call once (later calls are ignored), hopping to its loop when called from
  /// another thread.
  void complete(outcome o);

 private:
  static void deliver(call& c, outcome o);

  // Everything but `target_` stays valid from any thread after the call is gone: a completion
  // may come from another thread after the server stopped, when the call was freed with its
  // loop. Only the loop's own thread (where the anchor says it is) touches `target_`.
  logger_ptr log_;
  blocking_pool* blocking_;
  call& target_;
  std::shared_ptr<loop_anchor> anchor_;
  boost::asio::any_io_executor executor_;
  call_metadata metadata_;  // a copy: readable from any thread
  std::atomic<bool> done_{false};
};

/// The fault an exception thrown by a procedure stands for: a netcall::error keeps its code,
/// any other std::exception is application_error (-32000) with its what() (SPEC §2).
fault fault_of(std::exception_ptr e);

}  // namespace netcall::detail

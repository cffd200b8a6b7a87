#pragma once
/// \file
/// The seam between transport and server: transport reads requests and writes responses; what a
/// request does is the call handler's business (STYLE.md: transport never knows a procedure).

#include <functional>

#include "netcall/server.hpp"
#include "protocol/message.hpp"

namespace netcall::detail {

/// Runs requests. Implemented by the server's dispatcher.
class call_handler {
 public:
  virtual ~call_handler() = default;
  /// Runs `req` and calls `done` exactly once with its response, on the thread of `ctx`'s event
  /// loop (inline for procedures that answer at once). `ctx` outlives the call of `done`.
  virtual void handle(request req, call_context& ctx, std::function<void(response)> done) = 0;

  /// The fast path for calls that can be answered at once (a procedure that answers at once,
  /// no --delay, no idempotency key, not system.multicall): runs `req` inline and fills `out`,
  /// allocating nothing for small results. Returns false, leaving `req` untouched, when the
  /// call needs `handle`.
  virtual bool try_handle_now(const request& req, response& out) = 0;

  /// While the server shuts down: answers a retry whose outcome is known (stored, or its first
  /// attempt still running) like `handle`, and refuses every other call with -32002 without
  /// running it (SPEC §2 shutdown, §4: a call that ran is never reported as not run).
  virtual void handle_while_stopping(request req, call_context& ctx,
                                     std::function<void(response)> done) = 0;
};

}  // namespace netcall::detail

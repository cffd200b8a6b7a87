#pragma once
/// \file
/// Runs requests against a registry: named-param matching, error mapping, the built-in
/// `system.*` introspection procedures and `system.multicall` (SPEC §2), and `--delay`.

#include <chrono>

#include <memory>

#include "netcall/server.hpp"
#include "server/outcome_cache.hpp"
#include "transport/call_handler.hpp"

namespace netcall::detail {

class dispatcher final : public call_handler {
 public:
  /// `delay`: every answer is held until this long after the call arrived (SPEC §2 `--delay`).
  /// `cache`: remembers outcomes by idempotency key (SPEC §4); null disables at-most-once.
  dispatcher(const registry& procedures, std::chrono::milliseconds delay,
             std::shared_ptr<outcome_cache> cache = nullptr);

  void handle(request req, call_context& ctx, std::function<void(response)> done) override;
  bool try_handle_now(const request& req, response& out) override;
  void handle_while_stopping(request req, call_context& ctx,
                             std::function<void(response)> done) override;

  /// The outcome as a response with `id`: a netcall::error keeps its code, another exception is
  /// application_error (-32000) with its message (SPEC §2).
  static response to_response(value id, outcome o);

 private:
  void run(const std::string& method, value params, call_context& ctx, completion done,
           bool nested);
  void multicall(value params, call_context& ctx, completion done);
  outcome introspect(const std::string& method, const value& params) const;

  const registry& procedures_;
  std::chrono::milliseconds delay_;
  std::shared_ptr<outcome_cache> cache_;
};

}  // namespace netcall::detail

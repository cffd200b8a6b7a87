#pragma once
/// \file
/// Runs requests against a registry: named-param matching, error mapping, the built-in
/// `system.*` introspection procedures and `system.multicall` (SPEC §2), and `--delay`.

#include <chrono>

#include "netcall/server.hpp"
#include "transport/call_handler.hpp"

namespace netcall::detail {

class dispatcher final : public call_handler {
 public:
  /// `delay`: every answer is held until this long after the call arrived (SPEC §2 `--delay`).
  dispatcher(const registry& procedures, std::chrono::milliseconds delay);

  void handle(request req, call_context& ctx, std::function<void(response)> done) override;

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
};

}  // namespace netcall::detail

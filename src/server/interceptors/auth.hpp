#pragma once
/// \file
/// Tokens (SPEC §6, docs/security.md): with `--token`/`--token-file`, no call runs before its
/// token is checked. In the chain only when the server has tokens.
///
/// - HTTP calls (jsonrpc-http, xmlrpc): the HTTP unit checks the request's Authorization once
///   and marks the calls of a valid token `meta.authenticated`; the others carry the token in
///   `meta.token` (empty when missing) and are refused here with -32003 (a wrong one counted as
///   a failure), and the HTTP unit answers the request 401 with WWW-Authenticate.
/// - Raw TCP calls (JSON-RPC, MessagePack-RPC, JSON arrays): the connection authenticates once
///   with `system.authenticate(token)` (the one call let through before, answering `true`);
///   until then every call is refused with -32003. A wrong token is answered -32003, nothing
///   the connection sent after it runs (its calls are refused), and the connection closes
///   after the answers. `system.authenticate` is never answered from the outcome cache: its
///   idempotency key is dropped.
/// - Repeated wrong tokens from one peer address block it (access_policy::record_failure):
///   after access_policy::free_failures, for 250 ms doubling up to 4 s, during which its
///   tokens are refused unchecked. Nothing is held or timed: a refusal leaves at once.
///
/// A call that passed sets `meta.authenticated`, which admin procedures read (SPEC §5).

#include "protocol/access_policy.hpp"
#include "server/pipeline.hpp"

namespace netcall::detail {

class auth final : public interceptor {
 public:
  explicit auth(access_policy& access) : interceptor(true), access_(access) {}
  verdict on_call(call& c) override;
  verdict on_answer(call& c) override;

 private:

  access_policy& access_;
};

/// The name of the authentication procedure of raw TCP protocols (SPEC §6).
inline constexpr std::string_view authenticate_method = "system.authenticate";

}  // namespace netcall::detail

#include "server/interceptors/auth.hpp"

#include <chrono>
#include <string>

namespace netcall::detail {

namespace {

/// call::marks bit: the call is the connection's `system.authenticate`.
constexpr std::uint32_t authenticating = 1u << 1;

bool over_http(std::string_view protocol) {
  return protocol == protocol_names::jsonrpc_http || protocol == protocol_names::xmlrpc;
}

verdict refuse(call& c, std::string why) {
  c.fail(make_fault(status_code::unauthenticated, std::move(why)));
  return verdict::answered;
}

std::string blocked_message(std::chrono::milliseconds left) {
  return "unauthenticated: too many wrong tokens from this address; the token was not checked "
         "(try again in " + std::to_string(left.count()) + " ms)";
}

}  // namespace

verdict auth::on_call(call& c) {
  call_metadata& m = c.req.meta;
  const std::string_view peer = m.peer != nullptr ? std::string_view(m.peer->address) : "";
  if (over_http(m.protocol)) {
    if (m.authenticated) return verdict::proceed;  // the HTTP unit checked the request's token
    if (m.token.empty()) {
      return refuse(c, "unauthenticated: this server needs a token (Authorization: Bearer "
                       "TOKEN, or Basic with the token as password); the call was not run");
    }
    if (const auto blocked = access_.blocked_for(peer); blocked.count() > 0) {
      return refuse(c, blocked_message(blocked));
    }
    if (access_.token_valid(m.token)) {
      m.authenticated = true;
      return verdict::proceed;
    }
    access_.record_failure(peer);
    return refuse(c, "unauthenticated: wrong token; the call was not run");
  }
  if (c.req.method == authenticate_method) {
    // Checked every time (a wrong one closes even an authenticated connection), never from
    // the outcome cache: a stored `true` must not answer another connection's token.
    m.idempotency_key.clear();
    if (const auto blocked = access_.blocked_for(peer); blocked.count() > 0) {
      c.close_connection_after_answer();
      return refuse(c, blocked_message(blocked));
    }
    c.marks |= authenticating;  // system.authenticate checks the token; on_answer sees how
    return verdict::proceed;
  }
  if (m.peer != nullptr && m.peer->authenticated) {
    m.authenticated = true;
    return verdict::proceed;
  }
  return refuse(c, "unauthenticated: call system.authenticate(token) first on this connection; "
                   "the call was not run");
}

verdict auth::on_answer(call& c) {
  if ((c.marks & authenticating) == 0) return verdict::proceed;
  c.marks &= ~authenticating;
  if (!c.answer.error) {
    c.authenticate_connection();
  } else if (c.answer.error->code == wire_code(status_code::unauthenticated)) {
    // A wrong token: nothing more of this connection runs, and it closes after its answers.
    access_.record_failure(c.req.meta.peer ? c.req.meta.peer->address : "");
    c.close_connection_after_answer();
  }
  return verdict::proceed;  // malformed params are said, and the connection stays
}

}  // namespace netcall::detail

#include "server/interceptors/auth.hpp"

#include <boost/asio/steady_timer.hpp>
#include <memory>

namespace netcall::detail {

namespace {

/// call::marks bit: the call is the connection's `system.authenticate`.
constexpr std::uint32_t authenticating = 1u << 1;

bool over_http(std::string_view protocol) {
  return protocol == protocol_names::jsonrpc_http || protocol == protocol_names::xmlrpc;
}

}  // namespace

verdict auth::on_call(call& c) {
  call_metadata& m = c.req.meta;
  if (over_http(m.protocol)) {
    if (access_.token_valid(m.token)) {
      m.authenticated = true;
      return verdict::proceed;
    }
    if (m.token.empty()) {
      return refuse(c, "unauthenticated: this server needs a token (Authorization: Bearer "
                       "TOKEN, or Basic with the token as password); the call was not run",
                    false);
    }
    return refuse(c, "unauthenticated: wrong token; the call was not run", true);
  }
  if (c.req.method == authenticate_method) {
    // system.authenticate checks the token (again, on a connection that already did: a wrong
    // one closes it too); on_answer sees how it went.
    c.marks |= authenticating;
    return verdict::proceed;
  }
  if (m.peer != nullptr && m.peer->authenticated) {
    m.authenticated = true;
    return verdict::proceed;
  }
  return refuse(c, "unauthenticated: call system.authenticate(token) first on this connection; "
                   "the call was not run",
                false);
}

verdict auth::on_answer(call& c) {
  if ((c.marks & authenticating) == 0) return verdict::proceed;
  c.marks &= ~authenticating;
  if (!c.answer.error) {
    c.authenticate_connection();
    return verdict::proceed;
  }
  if (c.answer.error->code != wire_code(status_code::unauthenticated)) {
    return verdict::proceed;  // malformed params: say so, the connection stays
  }
  c.close_connection_after_answer();
  const auto penalty = access_.record_failure(c.req.meta.peer ? c.req.meta.peer->address : "");
  if (penalty.count() == 0) return verdict::proceed;
  auto timer = std::make_shared<boost::asio::steady_timer>(c.executor(), penalty);
  timer->async_wait([timer, target = &c](const boost::system::error_code&) {
    pipeline::resume_out(*target);
  });
  return verdict::held;
}

verdict auth::refuse(call& c, std::string why, bool failure) {
  c.fail(make_fault(status_code::unauthenticated, std::move(why)));
  if (!failure) return verdict::answered;
  const auto penalty = access_.record_failure(c.req.meta.peer ? c.req.meta.peer->address : "");
  if (penalty.count() == 0) return verdict::answered;
  auto timer = std::make_shared<boost::asio::steady_timer>(c.executor(), penalty);
  // When the server stops first, the timer's handler is destroyed unrun with the loop.
  timer->async_wait([timer, target = &c](const boost::system::error_code&) {
    pipeline::resume(*target, verdict::answered);
  });
  return verdict::held;
}

}  // namespace netcall::detail

#pragma once
/// \file
/// HTTP/1.1 as a protocol unit (SPEC §2): keep-alive and pipelining, `GET /healthz`,
/// `GET /metrics`, and POST bodies handed to the body codec that claims them (XML-RPC,
/// JSON-RPC: protocol/protocols.cpp lists them).

#include "protocol/http/body_codec.hpp"
#include "protocol/protocol.hpp"

namespace netcall::detail::http {

/// The server side: a connection whose first bytes are an HTTP method and a space. Requests are
/// answered in order; while one request's calls run, the bytes behind it wait.
extern const server_protocol server;

/// The client side of `codec` over HTTP/1.1: one call at a time per connection, `POST
/// codec.path()` with keep-alive; the idempotency key also travels in the `Idempotency-Key`
/// header, the token in `Authorization: Bearer`. Answers are read with Boost.Beast's response
/// parser; a 401 or 403 whose body is an answer is that answer (-32003 unauthenticated), any
/// other status but 200 is a protocol error naming it (204 answers a notification).
class body_client final : public client_protocol {
 public:
  explicit body_client(const body_codec& codec) : codec_(codec) {}

  std::string_view name() const override { return codec_.name(); }
  bool multiplexed() const override { return false; }
  bool has_notifications() const override { return codec_.has_notifications(); }
  void prepare(request& r, std::uint32_t sequence) const override {
    codec_.prepare(r, sequence);
  }
  /// Answers come in request order: the connection matches them by position, not by id.
  bool sequence_of(const value&, std::uint32_t&) const override { return false; }
  void encode(const request& r, std::string_view host, std::string_view token,
              std::string& out) const override;
  /// The token travels in every request: `Authorization: Bearer TOKEN`.
  bool authenticates_connection() const override { return false; }
  std::unique_ptr<response_reader> make_reader(const decode_limits& limits,
                                               std::string_view host) const override;

 private:
  const body_codec& codec_;
};

}  // namespace netcall::detail::http

#pragma once
/// \file
/// A protocol carried in HTTP POST bodies (XML-RPC, JSON-RPC over HTTP), as the HTTP unit uses
/// it on both sides: the server session routes a POST to the codec that claims it most strongly
/// and runs the calls it decodes; the client wraps each request's body in an HTTP request. Each
/// codec lives in its protocol's folder; the list of them is in protocol/protocols.cpp.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/limits.hpp"
#include "protocol/exchange.hpp"
#include "protocol/message.hpp"

namespace netcall::detail {


/// What the HTTP head of a request says about its calls (server side), for the codec to apply.
struct http_call_headers {
  /// The `Idempotency-Key` header when it has the key's shape (protocol/idempotency.hpp).
  std::string_view idempotency_key;
};

/// The per-connection state of a body codec on the server (its parser's buffers).
class body_decoder {
 public:
  virtual ~body_decoder() = default;
  /// Decodes `body` into `x` (its calls and the answers ready at once). Never throws on bad input.
  virtual void decode(std::string_view body, const http_call_headers& headers,
                      const decode_limits& limits, exchange& x) = 0;
};

/// A protocol carried in HTTP POST bodies.
class body_codec {
 public:
  virtual ~body_codec() = default;

  /// The protocol's name (call_metadata::protocol, `netcall --protocol`).
  virtual std::string_view name() const = 0;
  /// The Content-Type of its requests and answers.
  virtual std::string_view content_type() const = 0;
  /// The path a client POSTs to.
  virtual std::string_view path() const = 0;

  /// How strongly a codec claims a POST. The strongest claim wins: a media type over the path
  /// (with the body's first byte). A body alone claims nothing (SPEC §6: what a web page can
  /// POST unasked must not run).
  enum class claim { none, path, media_type };
  /// This codec's claim on a POST with `type` (media_type() of its Content-Type), to `path`,
  /// with `body`.
  virtual claim claims(std::string_view type, std::string_view path,
                       std::string_view body) const = 0;

  /// Server: the decoder of one connection, for messages within `limits`.
  virtual std::unique_ptr<body_decoder> make_decoder(const decode_limits& limits) const = 0;
  /// Server: encodes the answers of `x` (moving from them) as the answer body; leaves `body`
  /// empty when there is nothing to answer (only notifications: HTTP 204).
  virtual void encode_answers(exchange& x, std::string& body) const = 0;

  /// Client: false when the protocol has no notifications (XML-RPC).
  virtual bool has_notifications() const = 0;
  /// Client: the request id for call number `sequence`, and the key where the body carries it.
  virtual void prepare(request& r, std::uint32_t sequence) const = 0;
  /// Client: appends the request body.
  virtual void encode_call(const request& r, std::string& body) const = 0;
  /// Client: decodes an answer body; false with `why` when it is not one answer.
  virtual bool decode_answer(std::string_view body, const decode_limits& limits, response& out,
                             fault& why) const = 0;
};

}  // namespace netcall::detail

#pragma once
/// \file
/// A wire protocol as one unit (docs/style.md, after brpc's `Protocol`): the server side (sniff a
/// connection's first bytes, then a session that turns bytes into calls and answers into bytes)
/// and the client side (frame requests, read answers, where metadata travels), both in the
/// protocol's own folder. The one table of protocols is protocol/protocols.hpp; the server's
/// transport and the client use only these interfaces, so adding a protocol touches its folder
/// and that table.
///
/// Every function here runs on one thread at a time (a connection's event loop, or a client's
/// I/O thread); nothing is shared between connections.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/limits.hpp"
#include "protocol/access_policy.hpp"
#include "protocol/message.hpp"

namespace netcall::detail {

/// The first byte of `bytes` that is not JSON/XML whitespace (space, tab, CR, LF), as an
/// unsigned char value, or -1 when there is none yet: how the sniffers and body codecs look at
/// a text's start.
inline int first_non_space(std::string_view bytes) {
  for (char ch : bytes) {
    if (ch != ' ' && ch != '\t' && ch != '\r' && ch != '\n') return static_cast<unsigned char>(ch);
  }
  return -1;
}

// ---- server side ------------------------------------------------------------------------------

/// The verdict of a protocol on a connection's first bytes.
enum class sniff_result {
  mine,       ///< these bytes begin this protocol
  not_mine,   ///< they cannot: try the next protocol
  need_more,  ///< too few bytes to tell: wait for more before trying the protocols after it
};

/// The sniffers' verdict on first bytes that are all whitespace so far: a JSON text may still
/// follow (need_more) until there is more than max_leading_whitespace_bytes of it; then the JSON
/// protocols give the connection up (not_mine) and HTTP claims it, to answer 400.
inline sniff_result json_sniff_of_whitespace(std::string_view first_bytes) {
  return first_bytes.size() > max_leading_whitespace_bytes ? sniff_result::not_mine
                                                           : sniff_result::need_more;
}

/// Where the answer of a dispatched call goes back to: opaque to everyone but the session that
/// dispatched it (e.g. the batch a call belongs to, and its place there).
struct reply_tag {
  void* state = nullptr;
  std::size_t index = 0;
};

/// What a protocol's server session may ask of the connection it serves (implemented by the
/// transport).
class session_host {
 public:
  virtual ~session_host() = default;

  /// Where the session puts the next call's request: the storage of a call from the event
  /// loop's pool, which keeps the capacity of an earlier call, so decoding a small call into it
  /// allocates nothing. Valid until `dispatch` (a session that does not dispatch it may leave
  /// it half-filled: the next use overwrites it).
  virtual request& next_request() = 0;

  /// Runs the call whose request the session put in `next_request()`. Its answer is given to
  /// the session's `on_answer(answer, tag)` exactly once, on this connection's thread: during
  /// `dispatch` when the call completes at once, else later. Notifications are answered too
  /// (the session must not send that answer).
  virtual void dispatch(reply_tag tag) = 0;

  /// The bytes waiting to be sent: a session appends its answers here. They leave when `feed`
  /// returns, or when `on_answer` returns if it ran later.
  virtual std::string& output() = 0;

  /// After `feed` returned `wait`: the session can take bytes again (its answers are out).
  virtual void resume() = 0;

  /// The server's limits for messages on this connection.
  virtual const decode_limits& limits() const = 0;

  /// The connection's peer.
  virtual const peer_info& peer() const = 0;

  /// Who may call the server: tokens, allowed origins and hosts (SPEC §6).
  virtual access_policy& access() = 0;

  /// The server's metrics in the Prometheus text format (HTTP `GET /metrics`, SPEC §2).
  virtual std::string metrics_text() = 0;

  /// Counts a message that could not be decoded or exceeded a limit (a metric).
  virtual void protocol_error() = 0;
};

/// The server side of one connection of a protocol.
class server_session {
 public:
  virtual ~server_session() = default;

  enum class verdict {
    more,   ///< took what it could: call again when more bytes arrive
    wait,   ///< stop taking bytes until the session calls host.resume() (answers in order)
    close,  ///< close the connection once what is in host.output() is written
  };

  /// Takes bytes from `data` starting at `consumed` (advanced past what was taken: the caller
  /// keeps the rest and gives it again, followed by new bytes); decodes messages, dispatches
  /// their calls and appends answers that are ready to host.output().
  virtual verdict feed(std::string_view data, std::size_t& consumed) = 0;

  /// The answer of a call dispatched with `tag` (see session_host::dispatch). The session may
  /// move from `answer`.
  virtual void on_answer(response& answer, reply_tag tag) = 0;
};

/// The server side of a protocol, as the listener sees it.
struct server_protocol {
  /// A short name for logs ("jsonrpc", "msgpack", "http", "json-array").
  std::string_view name;
  /// Whether a connection's first bytes begin this protocol.
  sniff_result (*sniff)(std::string_view first_bytes);
  /// The session for a connection that sniffed as this protocol.
  std::unique_ptr<server_session> (*make_session)(session_host& host);
};

// ---- client side ------------------------------------------------------------------------------

/// Reads answers off the bytes of a client connection, in any pieces.
class response_reader {
 public:
  virtual ~response_reader() = default;

  enum class status {
    need_more,  ///< no whole answer yet: call again with the rest and more bytes
    answer,     ///< `out` holds the next answer
    failed,     ///< unreadable: `why` says why; the connection cannot be used any more
  };

  /// Reads the next answer from `data` starting at `consumed` (advanced past what was taken).
  virtual status next(std::string_view data, std::size_t& consumed, response& out,
                      fault& why) = 0;

  /// After an answer: the server closes the connection after it (HTTP `Connection: close`).
  virtual bool closing() const { return false; }
};

/// The client side of a protocol.
class client_protocol {
 public:
  virtual ~client_protocol() = default;

  /// The protocol's name (call_metadata::protocol, `netcall --protocol`).
  virtual std::string_view name() const = 0;

  /// True when answers carry the request id, so any number of calls may be in flight on one
  /// connection, answered in any order; false when one call at a time is on the wire and its
  /// answer is the next one read (HTTP/1.1), notifications included.
  virtual bool multiplexed() const = 0;

  /// False when the protocol has no notifications (XML-RPC): a notification is then sent as a
  /// call whose answer is dropped.
  virtual bool has_notifications() const { return true; }

  /// Gives `r` the wire id for call number `sequence` (what `sequence_of` reads back) and puts
  /// its idempotency key where this protocol carries it (docs/failures.md).
  virtual void prepare(request& r, std::uint32_t sequence) const = 0;

  /// The sequence number an answer's id stands for; false for ids this client never sends.
  virtual bool sequence_of(const value& id, std::uint32_t& out) const = 0;

  /// Appends `r` as it goes on the wire (framing included). `host` is "HOST:PORT" of the server
  /// (HTTP's Host header); `token` the client's token, or empty (SPEC §6: HTTP sends it in each
  /// request's Authorization header; raw TCP protocols ignore it here).
  virtual void encode(const request& r, std::string_view host, std::string_view token,
                      std::string& out) const = 0;

  /// True when a token is presented once per connection, by calling `system.authenticate`
  /// before anything else (raw TCP protocols, SPEC §6); false when each request carries it.
  virtual bool authenticates_connection() const { return true; }

  /// A reader for the answers of one connection to `host` ("HOST:PORT", for messages).
  virtual std::unique_ptr<response_reader> make_reader(const decode_limits& limits,
                                                       std::string_view host) const = 0;
};

}  // namespace netcall::detail

#pragma once
/// \file
/// Limits every layer applies at the point of use (docs/style.md, from Cap'n Proto's reader
/// limits), with the defaults of SPEC §2.

#include <cstddef>

namespace netcall::detail {

/// What a decoder accepts in one message. Every codec and protocol unit takes one.
struct decode_limits {
  /// Deepest nesting of arrays/structs accepted in one message; deeper is a parse error (JSON-RPC,
  /// MessagePack) or a fault (XML-RPC), never a stack overflow.
  std::size_t max_depth = 128;
  /// Most entries in one JSON-RPC batch (and in one system.multicall); more is refused whole.
  std::size_t max_batch = 10000;
  /// Largest message accepted (bytes): a JSON text, a MessagePack message, an HTTP body.
  std::size_t max_message_bytes = 16u << 20;
};

/// A server stops reading a connection whose client does not read its answers once this many
/// bytes are waiting to be written (backpressure instead of unbounded memory).
inline constexpr std::size_t max_unsent_bytes = 4u << 20;

/// Largest HTTP request line plus headers (and chunk-size line or trailer) accepted (bytes).
inline constexpr std::size_t max_http_header_bytes = 64 * 1024;

/// Whitespace a connection may send before its first message, and HTTP's empty lines before
/// each request line (bytes). JSON texts may begin with whitespace, and RFC 9112 §2.2 asks an
/// HTTP server to ignore at least one empty line (CRLF) before a request; more than this is no
/// client of ours: the JSON protocols give such a connection up while sniffing, HTTP claims it
/// and answers 400 saying why, then closes. Not above the transport's sniffing window.
inline constexpr std::size_t max_leading_whitespace_bytes = 4096;

/// Bytes one read takes off a socket at most (the event loop's shared read buffer).
inline constexpr std::size_t read_chunk_bytes = 64 * 1024;

}  // namespace netcall::detail

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
  /// The decoded-size budget (docs/failures.md "Memory model", after Cap'n Proto's traversal
  /// limit): the values one message decodes into may take at most this many times the
  /// message's own size, plus `decoded_allowance_bytes`. Counted as the values are built
  /// (sizeof(netcall::value) per value, plus the bytes of every string that does not fit in
  /// it); a message over it is refused with -32001 before more is built. 0: no budget.
  std::size_t max_decoded_ratio = 6;

  /// Decoded bytes any message may take whatever its size (so a small message of small values
  /// is never refused for its ratio). The fuzz targets make it small to reach the budget.
  std::size_t decoded_allowance_bytes = 1u << 20;

  /// The budget of a message of `message_bytes` bytes (0 when there is none).
  std::size_t decoded_budget(std::size_t message_bytes) const {
    return max_decoded_ratio == 0 ? 0 : decoded_allowance_bytes + max_decoded_ratio * message_bytes;
  }
};

/// What a decoded value is counted as by the decoded-size budget: the value itself, plus the
/// heap bytes of a string or bytes of `payload_bytes` that does not fit in the value's own
/// storage (libstdc++ keeps up to 15 chars inline).
constexpr std::size_t decoded_cost(std::size_t value_bytes, std::size_t payload_bytes) {
  return value_bytes + (payload_bytes > 15 ? payload_bytes + 1 : 0);
}

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

#pragma once
/// \file
/// JSON-RPC 2.0 codec (jsonrpc.org/specification): pure functions over bytes and
/// netcall::detail::{request,response}. Parsing uses Boost.JSON's SAX parser (basic_parser),
/// building netcall::value directly; encoding is written directly because Boost.JSON prints
/// doubles as `2E0` where SPEC §2 requires `2.0`.
///
/// Numbers (every reading function): an integer that fits int64 is an int; any other number is a
/// double rounded exactly to nearest from its text (std::from_chars, so a double written by
/// encode_value reads back bit for bit). A number beyond the double range (`1e400`) is a parse
/// error, "number out of range"; one that underflows below the smallest denormal (`1e-400`)
/// reads as a zero of its sign. A repeated name in an object keeps one member, at the place of
/// the first, with the value of the last.

#include <cstddef>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "protocol/message.hpp"

namespace netcall::detail::jsonrpc {

/// One entry of a decoded message: a request to dispatch, or an error response that is ready to
/// send (an invalid entry: JSON-RPC 2.0 §5 "invalid request", id echoed when it was readable,
/// else null).
using entry = std::variant<request, response>;

/// A decoded JSON text: one request (batch == false, one entry) or a batch (§6).
/// A parse error is batch == false with one error response (-32700, id null). An empty batch
/// `[]` is batch == false with one -32600 response (§6: "the response ... MUST be a single
/// Response object"). A batch longer than limits.max_batch is one -32600 response.
struct message {
  bool batch = false;
  std::vector<entry> entries;
};

/// Decodes one complete JSON text (an HTTP body). Never throws on bad input.
message decode(std::string_view text, const decode_limits& limits);

/// Frames and decodes JSON texts sent back to back on a byte stream (SPEC §2: JSON-RPC over raw
/// TCP, whitespace between texts optional, no terminator required).
class stream_decoder {
 public:
  /// `max_message_bytes`: the longest single JSON text accepted (bytes; whitespace before a
  /// text is not counted, whitespace the parser consumes right after it is).
  stream_decoder(const decode_limits& limits, std::size_t max_message_bytes);
  ~stream_decoder();
  stream_decoder(const stream_decoder&) = delete;
  stream_decoder& operator=(const stream_decoder&) = delete;

  enum class status {
    need_more,  ///< all of `input` was consumed and no text completed yet
    complete,   ///< one text completed: `out` holds it; `input` was advanced past it
    failed,     ///< syntax error or message over the size limit: `out` holds the one error
                ///< response to send (-32700, or -32001 for size); the stream cannot be resynced
  };

  /// Consumes bytes from the front of `input` (advancing it) up to the end of the next JSON text.
  /// Whitespace alone is need_more, never a message. On `failed` the rest of `input` is consumed
  /// (it cannot be framed) and every later call returns `failed` again with the same response.
  status feed(std::string_view& input, message& out);

 private:
  struct impl;
  impl* impl_;
};

/// Appends the response object (`{"jsonrpc":"2.0","result":...,"id":...}` or with `"error"`).
void encode_response(const response& r, std::string& out);
/// Appends the responses of a batch as one JSON array; appends nothing when `rs` is empty
/// (§6: a batch of notifications gets no reply).
void encode_batch(const std::vector<response>& rs, std::string& out);
/// Appends one value as JSON: bytes as base64 text, date-time as ISO 8601 text, doubles always
/// with a fraction or exponent (`2.0`), non-finite doubles as null.
void encode_value(const value& v, std::string& out);
/// Appends a request object (client side); notifications carry no `id`.
void encode_request(const request& r, std::string& out);

/// Decodes one JSON text as a plain value (the CLI's PARAM literals). Returns false when `text`
/// is not exactly one JSON text or nests deeper than limits.max_depth.
bool decode_value(std::string_view text, const decode_limits& limits, value& out);

/// Client side: decodes a response object or an array of them. Returns false (with a
/// one-line reason in `error_text`) when the text is not JSON or not JSON-RPC 2.0 responses.
bool decode_responses(std::string_view text, const decode_limits& limits,
                      std::vector<response>& out, std::string& error_text);

}  // namespace netcall::detail::jsonrpc

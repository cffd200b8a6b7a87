#pragma once
/// \file
/// JSON-RPC 2.0 codec (jsonrpc.org/specification): pure functions over bytes and
/// netcall::detail::{request,response}. JSON texts are read and written by the value layer
/// (value/json.hpp: numbers, duplicate names and the type mapping are described there); this
/// codec validates them as requests (§4, §5, §6) or responses.
///
/// The idempotency key travels as the request id (protocol/idempotency.hpp): a request whose id
/// has the key's shape gets it in `meta.idempotency_key`.
///
/// Ids are echoed exactly as sent (§5: the response id is the same value as the request's): an
/// int64 is an int, a string a string, and any other number (`1.5`, `12345678901234567891`,
/// `1e400`) is kept as its JSON text in a `bytes` value and written back verbatim
/// (value/json.hpp id_numbers::as_text): it is never converted, so never rounded or refused,
/// and never an idempotency key (keys are strings). The readers given to `decode` and
/// `decode_responses` should be made with id_numbers::as_text; with another, such ids are
/// doubles.
///
/// An integer beyond int64 anywhere else (params, a result) is never a double either: the
/// readers made with json::wide_integers::as_text keep it as text, and the request is refused
/// with -32602 naming it (check_params_integers), an answer with -32005 (decode_responses).

#include <cstddef>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "protocol/exchange.hpp"
#include "protocol/message.hpp"
#include "value/json.hpp"

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

/// Decodes one complete JSON text (an HTTP body) with `reader` (which keeps its buffers for the
/// next text). Never throws on bad input.
message decode(json::reader& reader, std::string_view text, const decode_limits& limits);
/// The same with a reader of its own (tests, one-off use).
message decode(std::string_view text, const decode_limits& limits);
/// The answer (id null) to a well-formed text a reader refused for a limit: -32600 for a batch
/// of more than limits.max_batch entries, -32001 for a text over the decoded-size budget
/// (common/limits.hpp); `detail` is the reader's reason.
response refusal_response(json::refusal why, std::string_view detail);
/// Validates an already parsed JSON text as a request or a batch (what `decode` does after
/// parsing); its parts are moved out of `v`. `wide_integers`: the reader (made with
/// json::wide_integers::as_text) kept an integer beyond int64 as text in it
/// (`held_wide_integers()`): each request whose params hold one is refused as
/// check_params_integers says.
message decode_parsed(value& v, const decode_limits& limits, bool wide_integers = false);

/// Integers beyond int64 in params (docs/protocols.md "Type mapping": an error, never a
/// float). True when the params of `r` hold none kept as text by a reader made with
/// json::wide_integers::as_text; else false, with `answer` the -32602 response to send (id
/// echoed; nothing is sent for a notification, §4.1): "invalid params: integer
/// 18446744073709551615 is beyond int64". Walks the params: call it only when the reader's
/// `held_wide_integers()` says the text holds one.
bool check_params_integers(const request& r, response& answer);

/// Frames and decodes JSON texts sent back to back on a byte stream (SPEC §2: JSON-RPC over raw
/// TCP, whitespace between texts optional, no terminator required).
class stream_decoder {
 public:
  /// A text may hold at most limits.max_message_bytes (whitespace before a text is not counted,
  /// whitespace the parser consumes right after it is).
  explicit stream_decoder(const decode_limits& limits);

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
  decode_limits limits_;
  json::stream_reader reader_;
};

/// Validates a parsed JSON text as one request object (JSON-RPC 2.0 §4), moving its parts
/// into `r`, whose every field is set (so a reused request's storage serves again). False when
/// it is not a valid request: `invalid` is then the -32600 response to send (§5: the id echoed
/// when it was readable, else null), also for what was meant as a notification.
bool to_request(value& v, request& r, response& invalid);

/// The calls and answers of a decoded message, as one exchange (protocol/exchange.hpp): its
/// requests to run and its entries answered at once; parts are moved out of `m`.
void to_exchange(message& m, exchange& x);

/// Appends the answer to an exchange: a batch's answers as one array, a single request's
/// answer as one object, nothing when only notifications were in it (§6). Moves from `x`.
void encode_answers(exchange& x, std::string& out);

/// Appends the response object (`{"jsonrpc":"2.0","result":...,"id":...}` or with `"error"`).
/// An error message's bytes that are not UTF-8 are written as `\xNN` (common/utf8.hpp
/// escape_invalid_utf8), so the answer stays valid JSON whatever the message quotes.
void encode_response(const response& r, std::string& out);
/// Appends the responses of a batch as one JSON array; appends nothing when `rs` is empty
/// (§6: a batch of notifications gets no reply).
void encode_batch(const std::vector<response>& rs, std::string& out);
/// Appends one value as JSON (value/json.hpp).
void encode_value(const value& v, std::string& out);
/// Appends a request object (client side); notifications carry no `id`.
void encode_request(const request& r, std::string& out);

// The functions below report failure one way, like every codec's (protocol/message.hpp): they
// return false and say why in a `fault`: -32700 for text that is not JSON, -32600 for JSON that
// is not the message expected. (Decoding requests instead answers each bad entry of a batch with
// its own error response, as JSON-RPC 2.0 §6 asks: `decode` above.)

/// Decodes one JSON text as a plain value. Returns false when `text` is not exactly one JSON
/// text or nests deeper than limits.max_depth.
bool decode_value(std::string_view text, const decode_limits& limits, value& out, fault& error);
/// The same when the reason does not matter.
bool decode_value(std::string_view text, const decode_limits& limits, value& out);

/// Client side: decodes a response object or an array of them with `reader` (made with
/// json::id_numbers::as_text and json::wide_integers::as_text). Returns false when the text is
/// not JSON or not JSON-RPC 2.0 responses. A result holding an integer beyond int64 makes that
/// response a -32005 protocol_error fault naming it ("answer refused: integer
/// 18446744073709551615 is beyond int64"), the other responses unharmed.
bool decode_responses(json::reader& reader, std::string_view text, std::vector<response>& out,
                      fault& error);
/// The same with a reader of its own.
bool decode_responses(std::string_view text, const decode_limits& limits,
                      std::vector<response>& out, fault& error);

}  // namespace netcall::detail::jsonrpc

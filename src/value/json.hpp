#pragma once
/// \file
/// JSON text of netcall values (RFC 8259): the one reader and writer under the JSON-RPC codec,
/// the positional-array protocol and the public `to_json`/`from_json` (docs/protocols.md "Type
/// mapping").
///
/// Reading: Boost.JSON's SAX parser (basic_parser) with a handler that builds netcall::value
/// directly on an explicit stack (no recursion, no intermediate boost::json::value); strict RFC
/// 8259, UTF-8 validated, nesting bounded by `max_depth`. Integers that fit int64 stay int64;
/// an integer beyond int64 is kept as its text where the reader is a protocol's
/// (wide_integers::as_text: the call is refused); every other number is converted from its
/// text by std::from_chars, exactly to nearest (Boost
/// 1.81's own conversion is off by an ulp for ~19% of doubles). A number beyond the double range
/// (`1e400`) is a parse error, "number out of range" (RFC 8259 §9 lets a parser limit the range;
/// infinity has no JSON form to send back); one that underflows (`1e-400`) reads as a zero of
/// its sign. An exponent may have any number of digits (`0e99999999999999999999` is 0), which
/// Boost 1.81 alone refuses ("exponent overflow"). A repeated name in an object keeps one member,
/// at the place of the first, with the value of the last.
///
/// JSON-RPC ids (id_numbers::as_text): a reader made for JSON-RPC keeps an `id` that is a number
/// but not an int64 (`1.5`, `12345678901234567891`, `1e400`) as its JSON text, so that the answer
/// carries exactly the id that was sent (JSON-RPC 2.0 §5: the same value as the request's);
/// `write_id` writes it back.
///
/// Writing: appended directly to the caller's string (Boost.JSON prints 2.0 as `2E0`, where SPEC
/// §2 wants a float always written as one). Bytes are base64 text, date-times ISO 8601 text,
/// non-finite doubles null.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/limits.hpp"
#include "netcall/value.hpp"

namespace netcall::detail::json {

/// Why a well-formed JSON text was refused unbuilt (reader and stream_reader `set_limits`).
enum class refusal {
  none,            ///< it was not
  over_budget,     ///< its values passed the decoded-size budget (common/limits.hpp)
  too_many_items,  ///< it is an array of more items than the limit (a JSON-RPC batch)
};

/// What a reader makes of a number that is not an int64 where a JSON-RPC message has its id:
/// the value of the member named "id" of the top-level object, or of an object directly inside a
/// top-level array (a batch). Everywhere else numbers are values.
enum class id_numbers {
  as_values,  ///< like any number: a double (out of the double range: a parse error)
  /// kept as the number's JSON text in a `bytes` value (JSON has no bytes, so the kind cannot be
  /// mistaken), converted by nothing and written back verbatim by `write_id`; int64 ids stay
  /// int64, string ids strings
  as_text,
};

/// What a reader makes of an integer written without a fraction or an exponent that int64
/// cannot hold (`18446744073709551615`, `-9223372036854775809`), where it is not a JSON-RPC id
/// (id_numbers decides for those).
enum class wide_integers {
  as_doubles,  ///< the nearest double, like any other number (netcall::from_json: plain values)
  /// kept as its JSON text in a `bytes` value (JSON has no bytes, so the kind cannot be mistaken)
  /// and reported by `held_wide_integers()`: a protocol then refuses the call or answer that
  /// holds one (`find_wide_integer`) instead of computing with a rounded double
  /// (docs/protocols.md "Type mapping": an integer beyond int64 is an error, never a float)
  as_text,
};

/// Parses whole JSON texts into values. Keeps its buffers between texts (one per owner: a
/// connection, a client, a test); not thread-safe.
class reader {
 public:
  /// `max_depth`: deepest array/object nesting accepted; `ids`: see id_numbers (JSON-RPC
  /// readers keep id numbers as text, others read every number as a value); `wide`: see
  /// wide_integers (the protocols' readers keep them as text).
  explicit reader(std::size_t max_depth = 128, id_numbers ids = id_numbers::as_values,
                  wide_integers wide = wide_integers::as_doubles);
  ~reader();
  reader(const reader&) = delete;
  reader& operator=(const reader&) = delete;

  /// Parses exactly one JSON text (whitespace around it allowed) into `out`. On failure returns
  /// false and, when `why` is given, sets a one-line reason ("nesting deeper than 128",
  /// "number out of range", Boost.JSON's message for a syntax error); when `kind` is given, the
  /// kind of failure.
  bool parse(std::string_view text, value& out, std::string* why = nullptr,
             json_error* kind = nullptr);
  /// Limits for the texts parsed from now on: the decoded-size budget of `limits`
  /// (max_decoded_ratio, decoded_allowance_bytes; ratio 0: none), and `max_top_items`, the most
  /// items a top-level array may hold (0: no limit). A text over either is refused (parse returns false,
  /// `last_refusal` says which) as soon as it passes it: what was built is freed at once.
  void set_limits(const decode_limits& limits, std::size_t max_top_items);
  /// Why the last `parse` failed when the text was well-formed JSON refused for a limit; none
  /// after a syntax error or a success.
  refusal last_refusal() const;
  /// True when the text the last successful `parse` read holds an integer beyond int64 kept as
  /// text (wide_integers::as_text): `find_wide_integer` finds it in the part that matters.
  bool held_wide_integers() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// Parses exactly one JSON text into `out`, as reader::parse with `max_depth`; on failure sets
/// `why`: too_deep or out_of_range only when all of `text` is JSON (RFC 8259) that nests deeper
/// than `max_depth` or holds a number beyond the double range, syntax otherwise (the text is read
/// to its end to tell). Behind the public from_json that says why.
bool parse_checked(std::string_view text, value& out, std::size_t max_depth, json_error& why);

/// Frames JSON texts sent back to back on a byte stream (whitespace between them optional, no
/// terminator required) and parses each into a value, with bytes arriving in any pieces.
class stream_reader {
 public:
  /// `max_text_bytes`: the longest single text accepted (whitespace before a text is not counted,
  /// whitespace the parser consumes right after it is); `ids` and `wide` as for `reader`.
  stream_reader(std::size_t max_depth, std::size_t max_text_bytes,
                id_numbers ids = id_numbers::as_values,
                wide_integers wide = wide_integers::as_doubles);
  ~stream_reader();
  stream_reader(const stream_reader&) = delete;
  stream_reader& operator=(const stream_reader&) = delete;

  enum class status {
    need_more,  ///< all of `input` was consumed and no text completed yet
    complete,   ///< a text completed: `out` holds it; `input` was advanced past it
    failed,     ///< a syntax error: `error()` says why; the stream cannot be resynchronised
    too_large,  ///< the text is longer than max_text_bytes; the stream cannot be resynchronised
    refused,    ///< a well-formed text over a limit of `set_limits` (`last_refusal`, `error()`
                ///< say which): nothing of it was built; `input` was advanced past it and the
                ///< stream goes on
  };
  /// Limits for the texts to come, as reader::set_limits; a text over one is read to its end
  /// without building anything more and reported `refused`.
  void set_limits(const decode_limits& limits, std::size_t max_top_items);
  /// Which limit the last `refused` text passed.
  refusal last_refusal() const;

  /// Consumes bytes from the front of `input` up to the end of the next text. Whitespace alone
  /// is need_more. After failed or too_large, the rest of `input` is consumed and every later
  /// call returns the same status.
  status feed(std::string_view& input, value& out);
  /// Why the stream failed (after status::failed), or why the last text was refused.
  const std::string& error() const;
  /// Size of the text `feed` completed last (bytes, whitespace the parser took after it
  /// included): the access log's bytes in.
  std::size_t last_text_bytes() const;
  /// True when the text `feed` completed last holds an integer beyond int64 kept as text
  /// (wide_integers::as_text).
  bool held_wide_integers() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// The text of the first integer beyond int64 that a reader with wide_integers::as_text kept in
/// `v` (a `bytes` value, depth first), or nullptr when there is none. Look only where ids are
/// not (params, a result): ids that are not int64 are kept as `bytes` too (id_numbers::as_text).
const std::string* find_wide_integer(const value& v);

/// "integer 18446744073709551615 is beyond int64", the reason a call or an answer holding the
/// integer written `text` is refused (a text of more than 60 characters is shortened).
std::string describe_wide_integer(std::string_view text);

/// Appends `v` as compact JSON text.
void write(const value& v, std::string& out);
/// Appends a JSON-RPC id: a `bytes` value is the JSON text of a number id kept by a reader with
/// id_numbers::as_text, written verbatim; any other value as `write` does.
void write_id(const value& id, std::string& out);
/// Appends `s` as a quoted JSON string (control characters, quote and backslash escaped).
void write_string(std::string_view s, std::string& out);
/// Appends an integer.
void write_int(std::int64_t i, std::string& out);

}  // namespace netcall::detail::json

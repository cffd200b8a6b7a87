// Fuzz target: the JSON-RPC 2.0 codec (src/protocol/jsonrpc), server and client side.
//
// The input is one JSON text as an HTTP body would carry it, and also a byte stream as JSON-RPC
// over raw TCP would carry it. Beyond "never crash, never leak, never hang", it checks what the
// codec promises (codec.hpp):
// - decode() always yields a message: one entry unless a batch (none when the text held only
//   notifications refused for an integer beyond int64, never answered), requests with a string
//   method, array/struct params holding no integer beyond int64 (such requests are -32602
//   answers) and a valid id kind (a number id that is not an int64 kept as its JSON text), every
//   string well-formed UTF-8;
// - stream_decoder frames the same bytes the same way whatever pieces they arrive in, and a
//   text decode() accepts as one message comes out of the stream as that same message;
// - whatever the server writes back (encode_response/encode_batch of echo answers, error
//   answers) is JSON that decode_responses() reads back to the same responses, and
//   encode_value() of any decoded value reads back (decode_value) to an equal value, unless it
//   holds a non-finite double (JSON has no form for those; they are written as null);
// - encode_request() of a decoded request decodes to the same request;
// - decode_responses() output re-encodes to the same responses.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "fuzz_support.hpp"
#include "protocol/jsonrpc/codec.hpp"
#include "value/json.hpp"

namespace {

using namespace netcall;
using namespace netcall::detail;
using netcall::fuzz::has_non_finite;
using netcall::fuzz::same;
using netcall::fuzz::show;

/// The server's limits (server_options defaults).
constexpr std::size_t max_message_bytes = 16u << 20;

bool same_request(const request& a, const request& b) {
  return a.method == b.method && same(a.params, b.params) && same(a.id, b.id) &&
         a.notification == b.notification && a.meta.idempotency_key == b.meta.idempotency_key;
}

bool same_response(const response& a, const response& b) {
  return same(a.id, b.id) && same(a.result, b.result) && a.error == b.error;
}

bool same_message(const jsonrpc::message& a, const jsonrpc::message& b) {
  if (a.batch != b.batch || a.entries.size() != b.entries.size()) return false;
  for (std::size_t i = 0; i < a.entries.size(); ++i) {
    const auto& x = a.entries[i];
    const auto& y = b.entries[i];
    if (x.index() != y.index()) return false;
    if (const auto* r = std::get_if<request>(&x)) {
      if (!same_request(*r, std::get<request>(y))) return false;
    } else if (!same_response(std::get<response>(x), std::get<response>(y))) {
      return false;
    }
  }
  return true;
}

bool has_non_finite(const response& r) { return has_non_finite(r.id) || has_non_finite(r.result); }

std::string show(const response& r) {
  return "id=" + show(r.id) + " result=" + show(r.result) +
         (r.error ? " error=" + std::to_string(r.error->code) + " " + r.error->message : "");
}

/// The responses in `text` read back, which must succeed and equal `expected` (unless a
/// non-finite double was written as null).
void check_responses_read_back(const std::string& text, const std::vector<response>& expected) {
  std::vector<response> back;
  fault why;
  NETCALL_FUZZ_CHECK(jsonrpc::decode_responses(text, decode_limits{}, back, why),
                     "our own answer is not readable: " + why.message + "\n" + text);
  NETCALL_FUZZ_CHECK(back.size() == expected.size(), text);
  for (std::size_t i = 0; i < back.size(); ++i) {
    if (has_non_finite(expected[i])) continue;
    NETCALL_FUZZ_CHECK(same_response(back[i], expected[i]),
                       "written " + show(expected[i]) + "\nread back " + show(back[i]));
  }
}

/// encode_value() output is one JSON text that reads back to `v` (doubles aside).
void check_value_round_trip(const value& v) {
  std::string text;
  jsonrpc::encode_value(v, text);
  value back;
  NETCALL_FUZZ_CHECK(jsonrpc::decode_value(text, decode_limits{}, back), "not JSON: " + text);
  if (!has_non_finite(v)) {
    NETCALL_FUZZ_CHECK(same(back, v), "written " + show(v) + "\nread back " + show(back));
  }
}

/// A request id as decode() keeps it: nil, an int64, a string, or the JSON text of any other
/// number (codec.hpp), which reads as a number or is out of the double range.
void check_id(const value& id) {
  if (!id.is_bytes()) {
    NETCALL_FUZZ_CHECK(id.is_nil() || id.is_int() || id.is_string(), show(id));
    check_value_round_trip(id);
    return;
  }
  const std::string& text = id.as_bytes().data;
  value number;
  fault why;
  const bool read = jsonrpc::decode_value(text, decode_limits{}, number, why);
  NETCALL_FUZZ_CHECK(read ? number.is_number() : why.message == "Parse error: number out of range",
                     "id text " + text);
}

void check_decoded_request(const request& r) {
  NETCALL_FUZZ_CHECK(fuzz::is_utf8(r.method), r.method);
  NETCALL_FUZZ_CHECK(r.params.is_array() || r.params.is_struct(), show(r.params));
  NETCALL_FUZZ_CHECK(fuzz::texts_are_utf8(r.params), show(r.params));
  NETCALL_FUZZ_CHECK(json::find_wide_integer(r.params) == nullptr,
                     "params kept an integer beyond int64: " + show(r.params));
  NETCALL_FUZZ_CHECK(!r.notification || r.id.is_nil(), show(r.id));
  check_value_round_trip(r.params);
  check_id(r.id);

  // A client writing the same request: the server must read it back unchanged.
  std::string text;
  jsonrpc::encode_request(r, text);
  const jsonrpc::message again = jsonrpc::decode(text, decode_limits{});
  NETCALL_FUZZ_CHECK(!again.batch && again.entries.size() == 1, text);
  const auto* back = std::get_if<request>(&again.entries.front());
  NETCALL_FUZZ_CHECK(back != nullptr, "re-encoded request refused: " + text);
  if (!has_non_finite(r.params) && !has_non_finite(r.id)) {
    NETCALL_FUZZ_CHECK(same_request(*back, r), text);
  }
}

/// True when `text` is JSON holding an integer beyond int64 (outside an id).
bool holds_wide_integer(std::string_view text) {
  json::reader reader(128, json::id_numbers::as_text, json::wide_integers::as_text);
  value v;
  return reader.parse(text, v) && reader.held_wide_integers();
}

/// decode() as the HTTP transport runs it, then the answers the server would write.
void fuzz_decode(std::string_view text) {
  // Half the inputs meet a decoded-size budget they can reach (-32001, one error entry).
  const jsonrpc::message m = jsonrpc::decode(text, fuzz::budget_limits(text));
  NETCALL_FUZZ_CHECK(!m.entries.empty() || holds_wide_integer(text),
                     "a message has an entry unless it held only notifications refused for an "
                     "integer beyond int64");
  NETCALL_FUZZ_CHECK(m.batch || m.entries.size() <= 1, "a single message has one entry");
  NETCALL_FUZZ_CHECK(m.entries.size() <= decode_limits{}.max_batch, "batch over the limit");

  std::vector<response> answers;
  for (const auto& e : m.entries) {
    if (const auto* r = std::get_if<response>(&e)) {
      NETCALL_FUZZ_CHECK(r->error.has_value(), "a decoded entry response is always an error");
      answers.push_back(*r);
      continue;
    }
    const request& call = std::get<request>(e);
    check_decoded_request(call);
    // An echo procedure: the result is the params, the id is echoed.
    response echo;
    echo.id = call.id;
    echo.result = call.params;
    if (!call.notification) answers.push_back(std::move(echo));
  }
  for (const response& r : answers) {
    std::string one;
    jsonrpc::encode_response(r, one);
    check_responses_read_back(one, {r});
  }
  if (!answers.empty()) {
    std::string all;
    jsonrpc::encode_batch(answers, all);
    check_responses_read_back(all, answers);
  }
}

struct framed {
  jsonrpc::stream_decoder::status status;
  jsonrpc::message m;
};

/// Runs `pieces` through a fresh stream_decoder as reads from a socket would arrive (the
/// JSON-RPC/TCP session frames with the same JSON stream reader): messages up to and including
/// the first failure. Past a failure it goes on feeding, to check that every later call repeats
/// the verdict.
std::vector<framed> run_stream(const std::vector<std::string_view>& pieces) {
  using status = jsonrpc::stream_decoder::status;
  decode_limits limits;
  limits.max_message_bytes = max_message_bytes;
  jsonrpc::stream_decoder decoder(limits);
  std::vector<framed> out;
  for (std::string_view input : pieces) {
    int idle = 0;  // calls in a row that consumed nothing
    while (!input.empty()) {
      jsonrpc::message m;
      const std::size_t before = input.size();
      const status s = decoder.feed(input, m);
      NETCALL_FUZZ_CHECK(input.size() <= before, "feed grew its input");
      if (s == status::need_more) {
        NETCALL_FUZZ_CHECK(input.empty(), "need_more must consume all of the input");
        break;
      }
      // A number that ended the previous piece completes on the next byte without taking it
      // ("5" then "]"): one call may consume nothing, two in a row would spin a connection.
      idle = input.size() == before ? idle + 1 : 0;
      NETCALL_FUZZ_CHECK(idle < 2, "the stream decoder makes no progress");
      // None only for a text of notifications refused for an integer beyond int64.
      NETCALL_FUZZ_CHECK(!m.entries.empty() || s == status::complete,
                         "a framed message always has an entry");
      if (!out.empty() && out.back().status == status::failed) {
        NETCALL_FUZZ_CHECK(s == status::failed && same_message(m, out.back().m),
                           "a failed stream must repeat its verdict");
        NETCALL_FUZZ_CHECK(input.empty(), "failed must swallow the input");
        continue;
      }
      if (s == status::failed) {
        NETCALL_FUZZ_CHECK(input.empty(), "failed must swallow the input");
      }
      out.push_back({s, std::move(m)});
    }
  }
  return out;
}

void fuzz_stream(std::string_view text) {
  using status = jsonrpc::stream_decoder::status;
  // A number at the very end is complete only once a delimiter follows: end with one.
  const std::string_view tail = " ";
  const std::size_t split = static_cast<std::size_t>(fuzz::input_hash(text) % (text.size() + 1));
  const auto whole = run_stream({text, tail});
  const auto pieces = run_stream({text.substr(0, split), text.substr(split), tail});

  // The pieces a socket delivers must not change the framing.
  NETCALL_FUZZ_CHECK(whole.size() == pieces.size(),
                     std::to_string(whole.size()) + " messages in one piece, " +
                         std::to_string(pieces.size()) + " when split at " +
                         std::to_string(split));
  for (std::size_t i = 0; i < whole.size(); ++i) {
    NETCALL_FUZZ_CHECK(whole[i].status == pieces[i].status, "message " + std::to_string(i));
    if (whole[i].status == status::failed) {
      // The same failure, but not always the same words: Boost.JSON names the problem from
      // where it stood when the bytes ran out ("illegal leading surrogate" in one piece,
      // "illegal trailing surrogate" when split inside the escape).
      const auto& a = std::get<response>(whole[i].m.entries.front());
      const auto& b = std::get<response>(pieces[i].m.entries.front());
      NETCALL_FUZZ_CHECK(a.error && b.error && a.error->code == b.error->code && a.id == b.id,
                         "message " + std::to_string(i));
      continue;
    }
    NETCALL_FUZZ_CHECK(same_message(whole[i].m, pieces[i].m), "message " + std::to_string(i));
  }
  // One text that decode() accepts is exactly one message of the stream.
  const jsonrpc::message m = jsonrpc::decode(text, decode_limits{});
  const auto* only = m.entries.size() == 1 ? std::get_if<response>(&m.entries.front()) : nullptr;
  const bool parse_error = !m.batch && only != nullptr && only->error &&
                           only->error->code == wire_code(status_code::parse_error);
  if (!parse_error) {
    NETCALL_FUZZ_CHECK(whole.size() == 1 && whole.front().status == status::complete,
                       "decode() read one text, the stream framed " +
                           std::to_string(whole.size()));
    NETCALL_FUZZ_CHECK(same_message(whole.front().m, m), "stream and decode() disagree");
  }
}

/// The client side: answers as a server sends them.
void fuzz_responses(std::string_view text) {
  std::vector<response> rs;
  fault why;
  if (!jsonrpc::decode_responses(text, decode_limits{}, rs, why)) {
    NETCALL_FUZZ_CHECK(!why.message.empty(), "a refusal always says why");
    return;
  }
  NETCALL_FUZZ_CHECK(!rs.empty(), "decode_responses succeeded with no response");
  for (const response& r : rs) {
    NETCALL_FUZZ_CHECK(fuzz::texts_are_utf8(r.result) && fuzz::texts_are_utf8(r.id), show(r));
    NETCALL_FUZZ_CHECK(!r.error || r.result.is_nil(), show(r));
  }
  std::string again;
  if (rs.size() == 1) {
    jsonrpc::encode_response(rs.front(), again);
  } else {
    jsonrpc::encode_batch(rs, again);
  }
  check_responses_read_back(again, rs);
}

/// The CLI's PARAM literals and netcall::from_json.
void fuzz_value(std::string_view text) {
  value v;
  if (!jsonrpc::decode_value(text, decode_limits{}, v)) return;
  NETCALL_FUZZ_CHECK(fuzz::texts_are_utf8(v), show(v));
  check_value_round_trip(v);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  fuzz_decode(text);
  fuzz_stream(text);
  fuzz_responses(text);
  fuzz_value(text);
  return 0;
}

// JSON-RPC 2.0 codec (jsonrpc.org/specification): Boost.JSON reads, a direct writer writes.
//
// Reading: every text is parsed by Boost.JSON with parse_options::max_depth = limits.max_depth,
// so nesting is bounded before any recursion here runs (the conversions below recurse at most
// max_depth deep). The parsed tree lives in a monotonic resource and is converted to
// netcall::value, then validated as a request (JSON-RPC 2.0 §4, §5, §6) or a response.
//
// Writing: JSON text is appended directly to the caller's string. Boost.JSON is not used because
// it prints 2.0 as `2E0`, where SPEC §2 wants a float always written as one (`2.0`).
#include "protocol/jsonrpc/codec.hpp"

#include <boost/json.hpp>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <system_error>
#include <utility>

namespace netcall::detail::jsonrpc {
namespace {

namespace json = boost::json;

// ----------------------------------------------------------------------------------------------
// Reading

json::parse_options parse_options_for(const decode_limits& limits) {
  json::parse_options opts;
  opts.max_depth = limits.max_depth;
  return opts;  // strict RFC 8259: no comments, no trailing commas, invalid UTF-8 refused
}

/// The one-line description of a Boost.JSON parse failure.
std::string describe_parse_error(const json::error_code& ec, const decode_limits& limits) {
  if (ec == json::error::too_deep) {
    return "nesting deeper than " + std::to_string(limits.max_depth);
  }
  return ec.message();
}

/// Converts a parsed JSON value; recursion depth is bounded by the parser's max_depth.
/// JSON integers become int64; unsigned values above INT64_MAX become doubles (value.hpp does
/// not hold them); objects keep member order.
value to_value(const json::value& jv) {
  switch (jv.kind()) {
    case json::kind::null:
      return value{};
    case json::kind::bool_:
      return value(jv.get_bool());
    case json::kind::int64:
      return value(jv.get_int64());
    case json::kind::uint64: {
      const std::uint64_t u = jv.get_uint64();
      if (u <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
        return value(static_cast<std::int64_t>(u));
      }
      return value(static_cast<double>(u));
    }
    case json::kind::double_:
      return value(jv.get_double());
    case json::kind::string: {
      const json::string& s = jv.get_string();
      return value(std::string(s.data(), s.size()));
    }
    case json::kind::array: {
      const json::array& a = jv.get_array();
      array out;
      out.reserve(a.size());
      for (const json::value& e : a) out.push_back(to_value(e));
      return value(std::move(out));
    }
    case json::kind::object: {
      const json::object& o = jv.get_object();
      structure out;
      out.reserve(o.size());
      for (const json::key_value_pair& kv : o) {
        out.emplace_back(std::string(kv.key()), to_value(kv.value()));
      }
      return value(std::move(out));
    }
  }
  return value{};  // unreachable: every kind is handled above
}

response error_response(value id, status_code code, std::string message) {
  response r;
  r.id = std::move(id);
  r.error = fault{wire_code(code), std::move(message)};
  return r;
}

response invalid_request(value id, std::string_view detail) {
  return error_response(std::move(id), status_code::invalid_request,
                        "Invalid Request: " + std::string(detail));
}

message single(response r) {
  message m;
  m.entries.emplace_back(std::move(r));
  return m;
}

message parse_error_message(std::string_view detail) {
  return single(
      error_response(value{}, status_code::parse_error, "Parse error: " + std::string(detail)));
}

/// JSON-RPC 2.0 §4: an id is a string, a number or null.
bool is_valid_id(const json::value& jv) { return jv.is_string() || jv.is_number() || jv.is_null(); }

bool is_version_2(const json::value* jv) {
  return jv != nullptr && jv->is_string() && jv->get_string() == "2.0";
}

/// Validates one request object (JSON-RPC 2.0 §4). An invalid one becomes its -32600 response,
/// with the id echoed when it was readable (§5: else null), whether or not an id was present:
/// §5 "Invalid Request" responses are due even to what was meant as a notification.
entry to_entry(const json::value& jv) {
  if (!jv.is_object()) return invalid_request(value{}, "a request must be a JSON object");
  const json::object& o = jv.get_object();

  const json::value* id = o.if_contains("id");
  if (id != nullptr && !is_valid_id(*id)) {
    return invalid_request(value{}, "\"id\" must be a string, a number or null");
  }
  value id_value = id != nullptr ? to_value(*id) : value{};

  if (!is_version_2(o.if_contains("jsonrpc"))) {
    return invalid_request(std::move(id_value), "\"jsonrpc\" must be exactly \"2.0\"");
  }
  const json::value* method = o.if_contains("method");
  if (method == nullptr || !method->is_string()) {
    return invalid_request(std::move(id_value), "\"method\" must be a string");
  }
  const json::value* params = o.if_contains("params");
  if (params != nullptr && !params->is_array() && !params->is_object()) {
    return invalid_request(std::move(id_value), "\"params\" must be an array or an object");
  }

  request r;
  const json::string& name = method->get_string();
  r.method.assign(name.data(), name.size());
  if (params != nullptr) r.params = to_value(*params);  // else the default empty array
  r.id = std::move(id_value);
  r.notification = id == nullptr;  // `"id": null` is a request answered with id null
  return r;
}

/// A parsed text as a request or a batch (JSON-RPC 2.0 §6).
message to_message(const json::value& jv, const decode_limits& limits) {
  if (!jv.is_array()) {
    message m;
    m.entries.push_back(to_entry(jv));
    return m;
  }
  const json::array& a = jv.get_array();
  if (a.empty()) return single(invalid_request(value{}, "empty batch"));
  if (a.size() > limits.max_batch) {
    return single(invalid_request(value{}, "batch of " + std::to_string(a.size()) +
                                               " entries exceeds the limit of " +
                                               std::to_string(limits.max_batch)));
  }
  message m;
  m.batch = true;
  m.entries.reserve(a.size());
  for (const json::value& e : a) m.entries.push_back(to_entry(e));
  return m;
}

/// Parses exactly one JSON text (trailing whitespace allowed) into `resource`.
json::value parse_text(std::string_view text, const decode_limits& limits,
                       json::monotonic_resource& resource, json::error_code& ec) {
  return json::parse(json::string_view(text.data(), text.size()), ec, json::storage_ptr(&resource),
                     parse_options_for(limits));
}

// ----------------------------------------------------------------------------------------------
// Writing

void append_quoted(std::string& out, std::string_view s) {
  static constexpr char hex[] = "0123456789abcdef";
  out.push_back('"');
  std::size_t run = 0;  // start of the pending run of bytes that need no escape
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;  // bytes >= 0x80 pass through (UTF-8)
    out.append(s.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        out += "\\u00";
        out.push_back(hex[c >> 4]);
        out.push_back(hex[c & 0xF]);
    }
  }
  out.append(s.data() + run, s.size() - run);
  out.push_back('"');
}

void append_int(std::string& out, std::int64_t i) {
  char buf[24];
  const auto res = std::to_chars(buf, buf + sizeof buf, i);
  out.append(buf, res.ptr);
}

/// Shortest round-trip form, always marked as a float (SPEC §2: `2.0`, never `2`); JSON has no
/// NaN or infinity, so those are written as null.
void append_double(std::string& out, double d) {
  if (!std::isfinite(d)) {
    out += "null";
    return;
  }
  char buf[32];
  const auto res = std::to_chars(buf, buf + sizeof buf, d);
  const std::string_view text(buf, static_cast<std::size_t>(res.ptr - buf));
  out += text;
  if (text.find_first_of(".e") == std::string_view::npos) out += ".0";
}

void append_key(std::string& out, std::string_view key) {
  append_quoted(out, key);
  out.push_back(':');
}

}  // namespace

// ----------------------------------------------------------------------------------------------
// Public reading functions

message decode(std::string_view text, const decode_limits& limits) {
  unsigned char initial[4096];
  json::monotonic_resource resource(initial, sizeof initial);
  json::error_code ec;
  const json::value jv = parse_text(text, limits, resource, ec);
  if (ec) return parse_error_message(describe_parse_error(ec, limits));
  return to_message(jv, limits);
}

bool decode_value(std::string_view text, const decode_limits& limits, value& out) {
  unsigned char initial[4096];
  json::monotonic_resource resource(initial, sizeof initial);
  json::error_code ec;
  const json::value jv = parse_text(text, limits, resource, ec);
  if (ec) return false;
  out = to_value(jv);
  return true;
}

namespace {

/// One response object (JSON-RPC 2.0 §5); false with the reason when it is not one.
bool to_response(const json::value& jv, response& out, std::string& why) {
  if (!jv.is_object()) {
    why = "a response must be a JSON object";
    return false;
  }
  const json::object& o = jv.get_object();
  if (!is_version_2(o.if_contains("jsonrpc"))) {
    why = "\"jsonrpc\" must be exactly \"2.0\"";
    return false;
  }
  const json::value* id = o.if_contains("id");
  if (id == nullptr) {
    why = "a response must have an \"id\"";
    return false;
  }
  if (!is_valid_id(*id)) {
    why = "\"id\" must be a string, a number or null";
    return false;
  }
  const json::value* result = o.if_contains("result");
  const json::value* error = o.if_contains("error");
  if ((result == nullptr) == (error == nullptr)) {
    why = "a response must have exactly one of \"result\" and \"error\"";
    return false;
  }
  response r;
  r.id = to_value(*id);
  if (result != nullptr) {
    r.result = to_value(*result);
  } else {
    const json::object* e = error->if_object();
    const json::value* code = e != nullptr ? e->if_contains("code") : nullptr;
    const json::value* text = e != nullptr ? e->if_contains("message") : nullptr;
    if (code == nullptr || !code->is_int64() ||
        code->get_int64() < std::numeric_limits<int>::min() ||
        code->get_int64() > std::numeric_limits<int>::max()) {
      why = "\"error\" must be an object with an integer \"code\"";
      return false;
    }
    if (text == nullptr || !text->is_string()) {
      why = "\"error\" must be an object with a string \"message\"";
      return false;
    }
    const json::string& s = text->get_string();
    r.error = fault{static_cast<int>(code->get_int64()), std::string(s.data(), s.size())};
  }
  out = std::move(r);
  return true;
}

}  // namespace

bool decode_responses(std::string_view text, const decode_limits& limits,
                      std::vector<response>& out, std::string& error_text) {
  unsigned char initial[4096];
  json::monotonic_resource resource(initial, sizeof initial);
  json::error_code ec;
  const json::value jv = parse_text(text, limits, resource, ec);
  if (ec) {
    error_text = "not JSON: " + describe_parse_error(ec, limits);
    return false;
  }
  std::vector<response> answers;
  if (jv.is_array()) {
    const json::array& a = jv.get_array();
    if (a.empty()) {
      error_text = "empty array of responses";
      return false;
    }
    answers.reserve(a.size());
    for (std::size_t i = 0; i < a.size(); ++i) {
      response r;
      std::string why;
      if (!to_response(a[i], r, why)) {
        error_text = "response " + std::to_string(i) + " of the batch: " + why;
        return false;
      }
      answers.push_back(std::move(r));
    }
  } else {
    response r;
    if (!to_response(jv, r, error_text)) return false;
    answers.push_back(std::move(r));
  }
  out = std::move(answers);
  return true;
}

// ----------------------------------------------------------------------------------------------
// stream_decoder
//
// Boost.JSON's stream_parser stops at the end of one complete text and also consumes the
// whitespace that directly follows it in the same buffer; bytes after that are left for the
// next text. A number is complete only once a delimiter follows it, so `5` waits for more input.
// Size accounting: whitespace before a text is skipped here and not counted; the bytes the
// parser consumes for the text (including the whitespace it eats after it) are counted.

struct stream_decoder::impl {
  impl(const decode_limits& l, std::size_t max_bytes)
      : limits(l), max_message_bytes(max_bytes), parser(json::storage_ptr(), parse_options_for(l)) {
    start_text();
  }

  /// A fresh resource for each text: monotonic_resource::release() keeps growing its next block
  /// size (Boost 1.81), so reusing one resource across many texts ends in bad_alloc.
  void start_text() {
    resource.reset();
    resource.emplace(initial_block, sizeof initial_block);
    parser.reset(json::storage_ptr(&*resource));
    in_text = false;
    consumed = 0;
  }

  /// Remembers the verdict; the rest of the input cannot be framed and is swallowed.
  status fail(response r, std::string_view& input, message& out) {
    failure = std::move(r);
    input.remove_prefix(input.size());
    out = single(*failure);
    return status::failed;
  }

  decode_limits limits;
  std::size_t max_message_bytes;
  unsigned char initial_block[4096];                 // small texts need no heap block
  std::optional<json::monotonic_resource> resource;  // holds the tree of the current text
  json::stream_parser parser;
  std::size_t consumed = 0;         // bytes of the current text so far
  bool in_text = false;             // a text has started (a non-whitespace byte was fed)
  std::optional<response> failure;  // set once failed: the stream cannot be resynced
};

stream_decoder::stream_decoder(const decode_limits& limits, std::size_t max_message_bytes)
    : impl_(new impl(limits, max_message_bytes)) {}

stream_decoder::~stream_decoder() { delete impl_; }

stream_decoder::status stream_decoder::feed(std::string_view& input, message& out) {
  impl& d = *impl_;
  if (d.failure) {
    // Nothing after a failure can be framed: swallow the input and repeat the verdict.
    input.remove_prefix(input.size());
    out = single(*d.failure);
    return status::failed;
  }
  if (!d.in_text) {
    const std::size_t start = input.find_first_not_of(" \t\r\n");
    if (start == std::string_view::npos) {
      input.remove_prefix(input.size());
      return status::need_more;
    }
    input.remove_prefix(start);
    d.in_text = true;
    d.consumed = 0;
  }

  const std::size_t allowance = d.max_message_bytes - d.consumed;
  const std::size_t chunk = std::min(input.size(), allowance);
  json::error_code ec;
  const std::size_t n = chunk == 0 ? 0 : d.parser.write_some(input.data(), chunk, ec);
  d.consumed += n;
  input.remove_prefix(n);
  if (ec) {
    return d.fail(error_response(value{}, status_code::parse_error,
                                 "Parse error: " + describe_parse_error(ec, d.limits)),
                  input, out);
  }
  if (d.parser.done()) {
    {
      const json::value jv = d.parser.release();
      out = to_message(jv, d.limits);
    }
    d.start_text();
    return status::complete;
  }
  if (input.empty()) return status::need_more;
  // Not complete, and the text already took every byte it may have.
  return d.fail(error_response(value{}, status_code::resource_exhausted,
                               "message too large: a JSON text may hold at most " +
                                   std::to_string(d.max_message_bytes) + " bytes"),
                input, out);
}

// ----------------------------------------------------------------------------------------------
// Public writing functions

void encode_value(const value& v, std::string& out) {
  switch (v.kind()) {
    case kind::nil:
      out += "null";
      return;
    case kind::boolean:
      out += std::get<bool>(v.get()) ? "true" : "false";
      return;
    case kind::integer:
      append_int(out, std::get<std::int64_t>(v.get()));
      return;
    case kind::floating:
      append_double(out, std::get<double>(v.get()));
      return;
    case kind::string:
      append_quoted(out, std::get<std::string>(v.get()));
      return;
    case kind::bytes:
      append_quoted(out, base64_encode(std::get<bytes>(v.get()).data));
      return;
    case kind::date_time:
      append_quoted(out, std::get<date_time>(v.get()).to_iso8601());
      return;
    case kind::array: {
      out.push_back('[');
      bool first = true;
      for (const value& e : std::get<array>(v.get())) {
        if (!first) out.push_back(',');
        first = false;
        encode_value(e, out);
      }
      out.push_back(']');
      return;
    }
    case kind::structure: {
      out.push_back('{');
      bool first = true;
      for (const member& m : std::get<structure>(v.get())) {
        if (!first) out.push_back(',');
        first = false;
        append_key(out, m.first);
        encode_value(m.second, out);
      }
      out.push_back('}');
      return;
    }
  }
}

void encode_response(const response& r, std::string& out) {
  out += R"({"jsonrpc":"2.0",)";
  if (r.error) {
    out += R"("error":{"code":)";
    append_int(out, r.error->code);
    out += R"(,"message":)";
    append_quoted(out, r.error->message);
    out += "},";
  } else {
    out += R"("result":)";
    encode_value(r.result, out);
    out.push_back(',');
  }
  out += R"("id":)";
  encode_value(r.id, out);
  out.push_back('}');
}

void encode_batch(const std::vector<response>& rs, std::string& out) {
  if (rs.empty()) return;
  out.push_back('[');
  bool first = true;
  for (const response& r : rs) {
    if (!first) out.push_back(',');
    first = false;
    encode_response(r, out);
  }
  out.push_back(']');
}

void encode_request(const request& r, std::string& out) {
  out += R"({"jsonrpc":"2.0","method":)";
  append_quoted(out, r.method);
  // §4: params is an array or an object, and may be omitted. Nil params are omitted; any other
  // single value is sent as the one positional param.
  if (r.params.is_array() || r.params.is_struct()) {
    out += R"(,"params":)";
    encode_value(r.params, out);
  } else if (!r.params.is_nil()) {
    out += R"(,"params":[)";
    encode_value(r.params, out);
    out.push_back(']');
  }
  if (!r.notification) {
    out += R"(,"id":)";
    encode_value(r.id, out);
  }
  out.push_back('}');
}

}  // namespace netcall::detail::jsonrpc

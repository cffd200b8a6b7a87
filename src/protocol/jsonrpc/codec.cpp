// JSON-RPC 2.0 codec (jsonrpc.org/specification): JSON texts are read and written by the value
// layer (value/json.hpp); this file validates them as requests (§4, §5, §6) or responses and
// writes the response and request objects.
#include "protocol/jsonrpc/codec.hpp"

#include <limits>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "protocol/idempotency.hpp"
#include "common/utf8.hpp"

namespace netcall::detail::jsonrpc {
namespace {

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

/// The answer to a well-formed text refused for a limit (json::refusal): a batch of too many
/// entries is -32600, as JSON-RPC 2.0 §6 answers an invalid batch; a text over the decoded-size
/// budget is -32001 (SPEC §2: a limit was exceeded, not run). The id is unknown: null.
message refusal_message(json::refusal why, std::string_view detail) {
  if (why == json::refusal::too_many_items) {
    return single(invalid_request(value{}, std::string(detail)));
  }
  return single(error_response(value{}, status_code::resource_exhausted,
                               "message too large: " + std::string(detail)));
}

/// JSON-RPC 2.0 §4: an id is a string, a number or null. A number that is not an int64 is kept
/// as its JSON text (bytes: value/json.hpp id_numbers::as_text) and echoed verbatim.
bool is_valid_id(const value& v) {
  return v.is_string() || v.is_number() || v.is_nil() || v.is_bytes();
}

/// The string a value holds, or nullptr.
std::string* if_string(value* v) {
  return v != nullptr ? std::get_if<std::string>(&v->get()) : nullptr;
}

bool is_version_2(value* v) {
  const std::string* s = if_string(v);
  return s != nullptr && *s == "2.0";
}

/// The member named `name` of a parsed object (names are unique: see keep_last_of_duplicates),
/// or nullptr.
value* member_named(structure& o, std::string_view name) {
  for (member& m : o) {
    if (std::string_view(m.first) == name) return &m.second;
  }
  return nullptr;
}

/// Validates one request object (JSON-RPC 2.0 §4), moving its parts out of `v` into `out` (a
/// default-constructed entry, i.e. an empty request, filled in place). An invalid one becomes
/// its -32600 response, with the id echoed when it was readable (§5: else null), whether or not
/// an id was present: §5 "Invalid Request" responses are due even to what was meant as a
/// notification.
void to_entry(value& v, entry& out) {
  response invalid;
  if (!to_request(v, std::get<request>(out), invalid)) out = std::move(invalid);
}

/// A parsed text as a request or a batch (JSON-RPC 2.0 §6); its parts are moved out of `v`.
message to_message(value& v, const decode_limits& limits) {
  static_assert(std::is_same_v<std::variant_alternative_t<0, entry>, request>,
                "to_entry fills a default-constructed entry as a request");
  array* a = std::get_if<array>(&v.get());
  if (a == nullptr) {
    message m;
    to_entry(v, m.entries.emplace_back());
    return m;
  }
  if (a->empty()) return single(invalid_request(value{}, "empty batch"));
  if (a->size() > limits.max_batch) {
    return single(invalid_request(value{}, "batch of " + std::to_string(a->size()) +
                                               " entries exceeds the limit of " +
                                               std::to_string(limits.max_batch)));
  }
  message m;
  m.batch = true;
  m.entries.resize(a->size());
  for (std::size_t i = 0; i < a->size(); ++i) to_entry((*a)[i], m.entries[i]);
  return m;
}

/// Refuses the requests of `m` whose params hold an integer beyond int64 (kept as text by a
/// reader with json::wide_integers::as_text): each becomes its -32602 response, or is dropped
/// when it is a notification (§4.1: never answered, even when it fails).
void refuse_wide_integers(message& m) {
  std::vector<entry> kept;
  kept.reserve(m.entries.size());
  for (entry& e : m.entries) {
    request* r = std::get_if<request>(&e);
    response refused;
    if (r == nullptr || check_params_integers(*r, refused)) {
      kept.push_back(std::move(e));
    } else if (!r->notification) {
      kept.emplace_back(std::move(refused));
    }
  }
  m.entries = std::move(kept);
}

/// A parsed text as a request or a batch (JSON-RPC 2.0 §6); its parts are moved out of `v`.
/// `wide`: the reader kept an integer beyond int64 as text (json::wide_integers::as_text).
message to_message(value& v, const decode_limits& limits, bool wide) {
  message m = to_message(v, limits);
  if (wide) refuse_wide_integers(m);
  return m;
}

/// One response object (JSON-RPC 2.0 §5), moved out of `v`; false with the reason when it is
/// not one.
bool to_response(value& v, response& out, std::string& why) {
  structure* o = std::get_if<structure>(&v.get());
  if (o == nullptr) {
    why = "a response must be a JSON object";
    return false;
  }
  if (!is_version_2(member_named(*o, "jsonrpc"))) {
    why = "\"jsonrpc\" must be exactly \"2.0\"";
    return false;
  }
  value* id = member_named(*o, "id");
  if (id == nullptr) {
    why = "a response must have an \"id\"";
    return false;
  }
  if (!is_valid_id(*id)) {
    why = "\"id\" must be a string, a number or null";
    return false;
  }
  value* result = member_named(*o, "result");
  value* error = member_named(*o, "error");
  if ((result == nullptr) == (error == nullptr)) {
    why = "a response must have exactly one of \"result\" and \"error\"";
    return false;
  }
  response r;
  if (result != nullptr) {
    r.result = std::move(*result);
  } else {
    structure* e = std::get_if<structure>(&error->get());
    value* code = e != nullptr ? member_named(*e, "code") : nullptr;
    std::string* text = e != nullptr ? if_string(member_named(*e, "message")) : nullptr;
    const std::int64_t* number =
        code != nullptr ? std::get_if<std::int64_t>(&code->get()) : nullptr;
    if (number == nullptr || *number < std::numeric_limits<int>::min() ||
        *number > std::numeric_limits<int>::max()) {
      why = "\"error\" must be an object with an integer \"code\"";
      return false;
    }
    if (text == nullptr) {
      why = "\"error\" must be an object with a string \"message\"";
      return false;
    }
    r.error = fault{static_cast<int>(*number), std::move(*text)};
  }
  r.id = std::move(*id);
  out = std::move(r);
  return true;
}


}  // namespace

// ----------------------------------------------------------------------------------------------
// Reading

bool to_request(value& v, request& r, response& invalid) {
  structure* o = std::get_if<structure>(&v.get());
  if (o == nullptr) {
    invalid = invalid_request(value{}, "a request must be a JSON object");
    return false;
  }

  value* version = nullptr;
  value* method = nullptr;
  value* params = nullptr;
  value* id = nullptr;
  for (member& m : *o) {
    const std::string_view name = m.first;  // compared by size first
    if (name == "jsonrpc") {
      version = &m.second;
    } else if (name == "method") {
      method = &m.second;
    } else if (name == "params") {
      params = &m.second;
    } else if (name == "id") {
      id = &m.second;
    }
  }

  if (id != nullptr && !is_valid_id(*id)) {
    invalid = invalid_request(value{}, "\"id\" must be a string, a number or null");
    return false;
  }
  auto refuse = [&](std::string_view why) {
    invalid = invalid_request(id != nullptr ? std::move(*id) : value{}, why);
    return false;
  };
  if (!is_version_2(version)) return refuse("\"jsonrpc\" must be exactly \"2.0\"");
  std::string* name = if_string(method);
  if (name == nullptr) return refuse("\"method\" must be a string");
  if (params != nullptr && !params->is_array() && !params->is_struct()) {
    return refuse("\"params\" must be an array or an object");
  }

  // Every field of `r` is set: it may be a reused request.
  r.method = std::move(*name);
  if (params != nullptr) {
    r.params = std::move(*params);
  } else if (r.params.is_array()) {
    r.params.as_array().clear();  // no params: an empty array
  } else {
    r.params = array{};
  }
  r.notification = id == nullptr;  // `"id": null` is a request answered with id null
  if (id != nullptr) {
    r.id = std::move(*id);
  } else {
    r.id = value{};
  }
  // The idempotency key travels as the request id (protocol/idempotency.hpp).
  if (const std::string* key = std::get_if<std::string>(&r.id.get());
      key != nullptr && !r.notification && is_idempotency_key(*key)) {
    r.meta.idempotency_key = *key;
  } else {
    r.meta.idempotency_key.clear();
  }
  return true;
}

message decode(json::reader& reader, std::string_view text, const decode_limits& limits) {
  value v;
  std::string why;
  reader.set_limits(limits, limits.max_batch);
  if (!reader.parse(text, v, &why)) {
    if (reader.last_refusal() != json::refusal::none) return refusal_message(reader.last_refusal(), why);
    return parse_error_message(why);
  }
  return to_message(v, limits, reader.held_wide_integers());
}

response refusal_response(json::refusal why, std::string_view detail) {
  return std::get<response>(refusal_message(why, detail).entries.front());
}

message decode_parsed(value& v, const decode_limits& limits, bool wide_integers) {
  return to_message(v, limits, wide_integers);
}

bool check_params_integers(const request& r, response& answer) {
  const std::string* wide = json::find_wide_integer(r.params);
  if (wide == nullptr) return true;
  answer = error_response(r.id, status_code::invalid_params,
                          "invalid params: " + json::describe_wide_integer(*wide));
  return false;
}

message decode(std::string_view text, const decode_limits& limits) {
  json::reader reader(limits.max_depth, json::id_numbers::as_text, json::wide_integers::as_text);
  return decode(reader, text, limits);
}

bool decode_value(std::string_view text, const decode_limits& limits, value& out,
                  fault& error) {
  json::reader reader(limits.max_depth);
  reader.set_limits(limits, 0);
  std::string why;
  if (reader.parse(text, out, &why)) return true;
  error = reader.last_refusal() == json::refusal::none
              ? make_fault(status_code::parse_error, "Parse error: " + why)
              : make_fault(status_code::resource_exhausted, why);
  return false;
}

bool decode_value(std::string_view text, const decode_limits& limits, value& out) {
  fault ignored;
  return decode_value(text, limits, out, ignored);
}

bool decode_responses(json::reader& reader, std::string_view text, std::vector<response>& out,
                      fault& error) {
  value v;
  std::string why;
  if (!reader.parse(text, v, &why)) {
    error = reader.last_refusal() == json::refusal::none
                ? make_fault(status_code::parse_error, "not JSON: " + why)
                : make_fault(status_code::resource_exhausted, "answer refused: " + why);
    return false;
  }
  auto refuse = [&error](std::string message) {
    error = make_fault(status_code::invalid_request, std::move(message));
    return false;
  };
  std::vector<response> answers;
  if (array* a = std::get_if<array>(&v.get())) {
    if (a->empty()) return refuse("empty array of responses");
    answers.reserve(a->size());
    for (std::size_t i = 0; i < a->size(); ++i) {
      response r;
      if (!to_response((*a)[i], r, why)) {
        return refuse("response " + std::to_string(i) + " of the batch: " + why);
      }
      answers.push_back(std::move(r));
    }
  } else {
    response r;
    if (!to_response(v, r, why)) return refuse(why);
    answers.push_back(std::move(r));
  }
  if (reader.held_wide_integers()) {
    // A result holding an integer beyond int64 cannot be given to the caller: that call fails
    // (protocol_error naming it); the other answers, and the connection, are fine.
    for (response& r : answers) {
      const std::string* wide = r.error ? nullptr : json::find_wide_integer(r.result);
      if (wide == nullptr) continue;
      r.error = make_fault(status_code::protocol_error,
                           "answer refused: " + json::describe_wide_integer(*wide));
      r.result = value();
    }
  }
  out = std::move(answers);
  return true;
}

bool decode_responses(std::string_view text, const decode_limits& limits,
                      std::vector<response>& out, fault& error) {
  json::reader reader(limits.max_depth, json::id_numbers::as_text, json::wide_integers::as_text);
  reader.set_limits(limits, 0);
  return decode_responses(reader, text, out, error);
}

// ----------------------------------------------------------------------------------------------
// stream_decoder

stream_decoder::stream_decoder(const decode_limits& limits)
    : limits_(limits),
      reader_(limits.max_depth, limits.max_message_bytes, json::id_numbers::as_text,
              json::wide_integers::as_text) {
  reader_.set_limits(limits, limits.max_batch);
}

stream_decoder::status stream_decoder::feed(std::string_view& input, message& out) {
  value v;
  switch (reader_.feed(input, v)) {
    case json::stream_reader::status::need_more:
      return status::need_more;
    case json::stream_reader::status::complete:
      out = to_message(v, limits_, reader_.held_wide_integers());
      return status::complete;
    case json::stream_reader::status::failed:
      out = parse_error_message(reader_.error());
      return status::failed;
    case json::stream_reader::status::refused:
      out = refusal_message(reader_.last_refusal(), reader_.error());
      return status::complete;  // the stream goes on
    case json::stream_reader::status::too_large:
      break;
  }
  out = single(error_response(value{}, status_code::resource_exhausted,
                              "message too large: a JSON text may hold at most " +
                                  std::to_string(limits_.max_message_bytes) + " bytes"));
  return status::failed;
}

// ----------------------------------------------------------------------------------------------
// Writing

void encode_value(const value& v, std::string& out) { json::write(v, out); }

void encode_response(const response& r, std::string& out) {
  out += R"({"jsonrpc":"2.0",)";
  if (r.error) {
    out += R"("error":{"code":)";
    json::write_int(r.error->code, out);
    out += R"(,"message":)";
    std::string escaped;  // a message may quote a peer's bytes: never raw (utf8.hpp)
    json::write_string(valid_utf8_text(r.error->message, escaped), out);
    out += "},";
  } else {
    out += R"("result":)";
    encode_value(r.result, out);
    out.push_back(',');
  }
  out += R"("id":)";
  json::write_id(r.id, out);
  out.push_back('}');
}

void to_exchange(message& m, exchange& x) {
  x.batch = m.batch;
  for (auto& e : m.entries) {
    if (auto* r = std::get_if<response>(&e)) {
      x.answers.emplace_back(std::move(*r));
      continue;
    }
    auto& req = std::get<request>(e);
    x.answers.emplace_back(req.notification ? std::nullopt : std::optional<response>(response{}));
    x.calls.emplace_back(x.answers.size() - 1, std::move(req));
  }
}

void encode_answers(exchange& x, std::string& out) {
  if (!x.batch) {
    if (!x.answers.empty() && x.answers.front()) encode_response(*x.answers.front(), out);
    return;
  }
  std::vector<response> answers;
  answers.reserve(x.answers.size());
  for (auto& a : x.answers) {
    if (a) answers.push_back(std::move(*a));
  }
  encode_batch(answers, out);  // nothing for a batch of notifications
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
  json::write_string(r.method, out);
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
    json::write_id(r.id, out);
  }
  out.push_back('}');
}


}  // namespace netcall::detail::jsonrpc

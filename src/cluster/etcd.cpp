#include "cluster/etcd.hpp"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <charconv>
#include <stdexcept>

#include "netcall/status.hpp"
#include "netcall/value.hpp"

namespace netcall::detail::etcd {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using tcp = asio::ip::tcp;
using steady = std::chrono::steady_clock;

namespace {

/// The largest unary answer read (a range over every node of a large cluster fits many times).
constexpr std::size_t max_answer_bytes = 64 * 1024 * 1024;
/// The longest line of a watch stream (one WatchResponse) kept while waiting for its end.
constexpr std::size_t max_watch_line_bytes = 64 * 1024 * 1024;

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

/// "HOST:PORT" split into host (brackets of an IPv6 address removed) and port; nullopt when
/// malformed.
struct host_and_port {
  std::string host;
  std::string port;
};

std::optional<host_and_port> split_host_port(std::string_view text) {
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return std::nullopt;
    }
    return host_and_port{std::string(text.substr(1, close - 1)),
                         std::string(text.substr(close + 2))};
  }
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  return host_and_port{std::string(text.substr(0, colon)), std::string(text.substr(colon + 1))};
}

}  // namespace

std::string parse_url(std::string_view url) {
  const std::string quoted = "'" + std::string(url) + "'";
  const auto sep = url.find("://");
  if (sep == std::string_view::npos) {
    throw std::invalid_argument("etcd URL " + quoted + ": no scheme, expected etcd://HOST:PORT");
  }
  const auto scheme = url.substr(0, sep);
  if (scheme != "etcd") {
    throw std::invalid_argument("etcd URL " + quoted + ": scheme '" + std::string(scheme) +
                                "' is not etcd, expected etcd://HOST:PORT");
  }
  const auto rest = url.substr(sep + 3);
  if (rest.find_first_of("/?#@") != std::string_view::npos) {
    throw std::invalid_argument("etcd URL " + quoted +
                                ": nothing may follow HOST:PORT (no path, query or user)");
  }
  const auto parts = split_host_port(rest);
  if (!parts) {
    throw std::invalid_argument("etcd URL " + quoted + ": no port, expected etcd://HOST:PORT");
  }
  if (parts->host.empty()) {
    throw std::invalid_argument("etcd URL " + quoted + ": empty host");
  }
  if (parts->host.find(':') != std::string::npos && rest.front() != '[') {
    throw std::invalid_argument("etcd URL " + quoted + ": an IPv6 host is written [V6]:PORT");
  }
  unsigned port = 0;
  const auto& p = parts->port;
  const bool number = all_digits(p) && p.size() <= 5 &&
                      std::from_chars(p.data(), p.data() + p.size(), port).ec == std::errc();
  if (!number || port < 1 || port > 65535) {
    throw std::invalid_argument("etcd URL " + quoted + ": bad port '" + p + "' (1-65535)");
  }
  return std::string(rest);
}

std::string prefix_range_end(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty()) {
    auto& last = reinterpret_cast<unsigned char&>(end.back());
    if (last < 0xff) {
      ++last;
      return end;
    }
    end.pop_back();
  }
  // etcd API: a range_end of "\0" means every key >= key.
  return std::string(1, '\0');
}

// ---------------------------------------------------------------------------------------------

/// One request or watch in flight: what `cancel()` reaches.
struct client::operation {
  explicit operation(const asio::any_io_executor& executor) : stream(executor) {}

  void cancel() {
    cancelled = true;
    if (resolver) resolver->cancel();
    stream.cancel();
  }

  beast::tcp_stream stream;
  std::shared_ptr<tcp::resolver> resolver;  // while a host name is resolved
  bool cancelled = false;
};

/// A gateway answer: its HTTP status and its JSON body (an object; errors carry
/// {"error", "message", "code"} with code the gRPC status code).
struct client::answer {
  unsigned status = 0;
  json::object body;
};

namespace {

/// An int64 field of the gateway's JSON: a string of digits (proto3 JSON mapping) or, leniently,
/// a number; 0 when absent (proto3 default). nullopt when it is something else.
std::optional<std::int64_t> int64_field(const json::object& o, std::string_view name) {
  const auto* v = o.if_contains(name);
  if (!v || v->is_null()) return 0;
  if (v->is_string()) {
    const auto& s = v->get_string();
    std::int64_t n = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
    return n;
  }
  if (v->is_int64()) return v->get_int64();
  if (v->is_uint64() && v->get_uint64() <= static_cast<std::uint64_t>(INT64_MAX)) {
    return static_cast<std::int64_t>(v->get_uint64());
  }
  return std::nullopt;
}

/// A bytes field (base64 text); "" when absent. nullopt when it is not valid base64.
std::optional<std::string> bytes_field(const json::object& o, std::string_view name) {
  const auto* v = o.if_contains(name);
  if (!v || v->is_null()) return std::string();
  if (!v->is_string()) return std::nullopt;
  std::string out;
  if (!base64_decode(v->get_string(), out)) return std::nullopt;
  return out;
}

const json::object* object_field(const json::object& o, std::string_view name) {
  const auto* v = o.if_contains(name);
  return v && v->is_object() ? &v->get_object() : nullptr;
}

/// The text of an error the gateway sent: {"error": "...", "message": "...", "code": N} for a
/// refused request, {"error": {"message": ..., "grpc_code": ...}} inside a stream.
std::string error_text(const json::value& error, const json::object& whole) {
  std::string text;
  const json::value* message = whole.if_contains("message");
  if (error.is_object()) message = error.get_object().if_contains("message");
  if (message && message->is_string()) {
    text = message->get_string();
  } else if (error.is_string()) {
    text = error.get_string();
  } else {
    text = json::serialize(error);
  }
  const json::value* code = whole.if_contains("code");
  if (error.is_object()) code = error.get_object().if_contains("grpc_code");
  if (code && code->is_int64()) text += " (gRPC code " + std::to_string(code->get_int64()) + ")";
  return text;
}

std::string encode(std::string_view bytes) { return base64_encode(bytes); }

/// A transport failure in words (Beast's "partial message" is etcd going away mid-answer).
std::string describe(const boost::system::error_code& ec) {
  if (ec == http::error::end_of_stream || ec == http::error::partial_message ||
      ec == asio::error::eof) {
    return "etcd closed the connection";
  }
  return ec.message();
}

std::string int64_text(std::int64_t n) { return std::to_string(n); }

}  // namespace

client::client(asio::any_io_executor executor, std::string host_port,
               std::chrono::milliseconds request_timeout)
    : executor_(std::move(executor)),
      host_port_(std::move(host_port)),
      request_timeout_(request_timeout) {}

client::~client() = default;

std::string client::failure(std::string_view what) const {
  return "etcd " + host_port_ + ": " + std::string(what);
}

void client::cancel() {
  for (auto& weak : operations_) {
    if (auto op = weak.lock()) op->cancel();
  }
  operations_.clear();
}

std::shared_ptr<client::operation> client::begin_operation() {
  std::erase_if(operations_, [](const auto& weak) { return weak.expired(); });
  auto op = std::make_shared<operation>(executor_);
  operations_.push_back(op);
  return op;
}

asio::awaitable<void> client::connect(operation& op, steady::time_point deadline) {
  const auto parts = split_host_port(host_port_);
  if (!parts) throw error(status_code::unavailable, failure("not HOST:PORT"));
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(parts->host, ec);
  op.stream.expires_at(deadline);
  if (!ec) {
    unsigned port = 0;
    std::from_chars(parts->port.data(), parts->port.data() + parts->port.size(), port);
    co_await op.stream.async_connect(tcp::endpoint(address, static_cast<unsigned short>(port)),
                                     asio::use_awaitable);
    co_return;
  }
  // A host name: resolving is not bounded by the stream's timer, so a timer of its own cancels
  // it at the deadline (the resolver is shared with the timer's handler, which may run late).
  op.resolver = std::make_shared<tcp::resolver>(executor_);
  asio::steady_timer guard(executor_, deadline);
  guard.async_wait([resolver = op.resolver](const boost::system::error_code& waited) {
    if (!waited) resolver->cancel();
  });
  auto [resolve_error, endpoints] = co_await op.resolver->async_resolve(
      parts->host, parts->port, asio::as_tuple(asio::use_awaitable));
  guard.cancel();
  op.resolver.reset();
  if (resolve_error == asio::error::operation_aborted && !op.cancelled &&
      steady::now() >= deadline) {
    resolve_error = beast::error::timeout;  // cancelled by the guard, not by a caller
  }
  if (resolve_error) throw boost::system::system_error(resolve_error);
  co_await op.stream.async_connect(endpoints, asio::use_awaitable);
}

asio::awaitable<client::answer> client::request(std::string_view path, std::string body) {
  const auto deadline = steady::now() + request_timeout_;
  const auto op = begin_operation();
  http::response_parser<http::string_body> parser;
  parser.body_limit(max_answer_bytes);
  try {
    co_await connect(*op, deadline);
    http::request<http::string_body> req{http::verb::post, path, 11};
    req.set(http::field::host, host_port_);
    req.set(http::field::content_type, "application/json");
    req.keep_alive(false);
    req.body() = std::move(body);
    req.prepare_payload();
    op->stream.expires_at(deadline);
    co_await http::async_write(op->stream, req, asio::use_awaitable);
    beast::flat_buffer buffer;
    co_await http::async_read(op->stream, buffer, parser, asio::use_awaitable);
  } catch (const boost::system::system_error& e) {
    if (op->cancelled || e.code() == asio::error::operation_aborted) {
      throw boost::system::system_error(asio::error::operation_aborted);
    }
    if (e.code() == beast::error::timeout) {
      throw error(status_code::unavailable,
                  failure(std::string(path) + ": no answer within " +
                          std::to_string(request_timeout_.count()) + " ms"));
    }
    throw error(status_code::unavailable, failure(std::string(path) + ": " + describe(e.code())));
  }
  boost::system::error_code ec;
  auto& res = parser.get();
  auto parsed = json::parse(res.body(), ec);
  if (ec || !parsed.is_object()) {
    throw error(status_code::unavailable,
                failure(std::string(path) + ": HTTP " + std::to_string(res.result_int()) +
                        " with a body that is not a JSON object"));
  }
  co_return answer{res.result_int(), std::move(parsed.get_object())};
}

namespace {

/// The object of a successful answer; throws `unavailable` for a refusal.
json::object ok_body(const std::string& where, unsigned status, json::object body) {
  if (status == 200 && !body.contains("error")) return body;
  const json::value* err = body.if_contains("error");
  const std::string text = err ? error_text(*err, body) : json::serialize(body);
  throw error(status_code::unavailable, where + ": HTTP " + std::to_string(status) + ": " + text);
}

}  // namespace

asio::awaitable<std::int64_t> client::lease_grant(std::chrono::seconds ttl) {
  json::object body;
  body["TTL"] = int64_text(ttl.count());
  auto a = co_await request("/v3/lease/grant", json::serialize(body));
  const auto where = failure("/v3/lease/grant");
  // LeaseGrantResponse has an `error` string of its own; ok_body refuses it like a gateway error.
  const auto o = ok_body(where, a.status, std::move(a.body));
  const auto id = int64_field(o, "ID");
  if (!id || *id == 0) throw error(status_code::unavailable, where + ": answered without an ID");
  co_return *id;
}

asio::awaitable<std::int64_t> client::lease_keepalive(std::int64_t id) {
  json::object body;
  body["ID"] = int64_text(id);
  auto a = co_await request("/v3/lease/keepalive", json::serialize(body));
  const auto where = failure("/v3/lease/keepalive");
  const auto o = ok_body(where, a.status, std::move(a.body));
  // A streaming endpoint: each message is wrapped in {"result": ...}.
  const auto* result = object_field(o, "result");
  if (!result) throw error(status_code::unavailable, where + ": answered without a result");
  const auto ttl = int64_field(*result, "TTL");
  if (!ttl) throw error(status_code::unavailable, where + ": TTL is not an int64");
  co_return std::max<std::int64_t>(*ttl, 0);
}

asio::awaitable<void> client::lease_revoke(std::int64_t id) {
  json::object body;
  body["ID"] = int64_text(id);
  auto a = co_await request("/v3/lease/revoke", json::serialize(body));
  // gRPC NotFound (5, HTTP 404): "requested lease not found", the lease is already gone.
  const auto* code = a.body.if_contains("code");
  if (a.status == 404 && code && code->is_int64() && code->get_int64() == 5) co_return;
  ok_body(failure("/v3/lease/revoke"), a.status, std::move(a.body));
}

asio::awaitable<void> client::put(std::string key, std::string value, std::int64_t lease) {
  json::object body;
  body["key"] = encode(key);
  body["value"] = encode(value);
  if (lease != 0) body["lease"] = int64_text(lease);
  auto a = co_await request("/v3/kv/put", json::serialize(body));
  ok_body(failure("/v3/kv/put"), a.status, std::move(a.body));
}

asio::awaitable<void> client::remove(std::string key) {
  json::object body;
  body["key"] = encode(key);
  auto a = co_await request("/v3/kv/deleterange", json::serialize(body));
  ok_body(failure("/v3/kv/deleterange"), a.status, std::move(a.body));
}

namespace {

/// Decodes RangeResponse.kvs (absent when empty) and header.revision.
range_result decode_range(const std::string& where, const json::object& o) {
  range_result out;
  const auto* header = object_field(o, "header");
  const auto revision = header ? int64_field(*header, "revision") : std::nullopt;
  if (!revision) throw error(status_code::unavailable, where + ": answered without a revision");
  out.revision = *revision;
  if (const auto* kvs = o.if_contains("kvs")) {
    if (!kvs->is_array()) throw error(status_code::unavailable, where + ": kvs is not an array");
    for (const auto& item : kvs->get_array()) {
      if (!item.is_object())
        throw error(status_code::unavailable, where + ": a kv is not an object");
      auto key = bytes_field(item.get_object(), "key");
      auto value = bytes_field(item.get_object(), "value");
      if (!key || !value) {
        throw error(status_code::unavailable, where + ": a key or value is not base64");
      }
      out.kvs.push_back({std::move(*key), std::move(*value)});
    }
  }
  return out;
}

}  // namespace

asio::awaitable<range_result> client::range_prefix(std::string prefix) {
  json::object body;
  body["key"] = encode(prefix);
  body["range_end"] = encode(prefix_range_end(prefix));
  auto a = co_await request("/v3/kv/range", json::serialize(body));
  const auto where = failure("/v3/kv/range");
  co_return decode_range(where, ok_body(where, a.status, std::move(a.body)));
}

asio::awaitable<std::optional<std::string>> client::get(std::string key) {
  json::object body;
  body["key"] = encode(key);
  auto a = co_await request("/v3/kv/range", json::serialize(body));
  const auto where = failure("/v3/kv/range");
  auto found = decode_range(where, ok_body(where, a.status, std::move(a.body)));
  if (found.kvs.empty()) co_return std::nullopt;
  co_return std::move(found.kvs.front().value);
}

namespace {

/// Decodes WatchResponse.events (absent when empty).
std::vector<event> decode_events(const std::string& where, const json::object& result) {
  std::vector<event> out;
  const auto* events = result.if_contains("events");
  if (!events) return out;
  if (!events->is_array())
    throw error(status_code::unavailable, where + ": events is not an array");
  for (const auto& item : events->get_array()) {
    const auto* e = item.if_object();
    const auto* kv = e ? object_field(*e, "kv") : nullptr;
    if (!kv) throw error(status_code::unavailable, where + ": an event without a kv");
    event ev;
    // Event.type: PUT is the enum's default (0), so the gateway leaves it out.
    const auto* type = e->if_contains("type");
    if (type && type->is_string() && type->get_string() == "DELETE") {
      ev.removed = true;
    } else if (type && !(type->is_string() && type->get_string() == "PUT")) {
      throw error(status_code::unavailable, where + ": an event of unknown type");
    }
    auto key = bytes_field(*kv, "key");
    auto value = bytes_field(*kv, "value");
    if (!key || !value)
      throw error(status_code::unavailable, where + ": a key or value is not base64");
    ev.key = std::move(*key);
    if (!ev.removed) ev.value = std::move(*value);
    out.push_back(std::move(ev));
  }
  return out;
}

}  // namespace

asio::awaitable<void> client::watch_prefix(
    std::string prefix, std::int64_t start_revision,
    std::function<void(const std::vector<event>&, std::int64_t revision)> on_events) {
  const std::string where = failure("/v3/watch");
  const auto deadline = steady::now() + request_timeout_;
  const auto op = begin_operation();
  http::response_parser<http::string_body> parser;
  parser.body_limit(boost::none);  // a stream: the body is taken out as it arrives
  std::string lines;
  bool aborted = false;
  boost::system::error_code failed;
  try {
    co_await connect(*op, deadline);
    json::object create;
    create["key"] = encode(prefix);
    create["range_end"] = encode(prefix_range_end(prefix));
    if (start_revision > 0) create["start_revision"] = int64_text(start_revision);
    json::object body;
    body["create_request"] = std::move(create);
    http::request<http::string_body> req{http::verb::post, "/v3/watch", 11};
    req.set(http::field::host, host_port_);
    req.set(http::field::content_type, "application/json");
    req.body() = json::serialize(body);
    req.prepare_payload();
    op->stream.expires_at(deadline);
    co_await http::async_write(op->stream, req, asio::use_awaitable);
    beast::flat_buffer buffer;
    co_await http::async_read_header(op->stream, buffer, parser, asio::use_awaitable);
    if (parser.get().result_int() != 200) {
      // A refusal is one JSON error object; read it within the same deadline.
      parser.body_limit(max_answer_bytes);
      co_await http::async_read(op->stream, buffer, parser, asio::use_awaitable);
      boost::system::error_code ec;
      auto parsed = json::parse(parser.get().body(), ec);
      json::object o =
          (!ec && parsed.is_object()) ? std::move(parsed.get_object()) : json::object{};
      if (o.empty()) o["error"] = "HTTP " + std::to_string(parser.get().result_int());
      ok_body(where, parser.get().result_int(), std::move(o));  // throws: the status is not 200
    }
    // The stream may stay quiet for as long as nothing changes.
    op->stream.expires_never();
    while (!parser.is_done()) {
      co_await http::async_read_some(op->stream, buffer, parser, asio::use_awaitable);
      auto& chunk = parser.get().body();
      lines += chunk;
      chunk.clear();
      std::size_t start = 0;
      for (auto nl = lines.find('\n'); nl != std::string::npos; nl = lines.find('\n', start)) {
        const std::string_view line(lines.data() + start, nl - start);
        start = nl + 1;
        if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
        boost::system::error_code ec;
        auto parsed = json::parse(line, ec);
        if (ec || !parsed.is_object()) {
          throw error(status_code::unavailable, where + ": a stream line that is not JSON");
        }
        const auto& o = parsed.get_object();
        if (const auto* err = o.if_contains("error")) {
          throw error(status_code::unavailable, where + ": " + error_text(*err, o));
        }
        const auto* result = object_field(o, "result");
        if (!result) throw error(status_code::unavailable, where + ": a message without a result");
        const auto* canceled = result->if_contains("canceled");
        if (canceled && canceled->is_bool() && canceled->get_bool()) {
          std::string why = "the watch was canceled";
          if (const auto* r = result->if_contains("cancel_reason"); r && r->is_string()) {
            why += ": " + std::string(r->get_string());
          }
          if (const auto compacted = int64_field(*result, "compact_revision");
              compacted && *compacted > 0) {
            why += " (compacted up to revision " + std::to_string(*compacted) + ")";
          }
          throw error(status_code::unavailable, where + ": " + why);
        }
        auto events = decode_events(where, *result);
        if (events.empty()) continue;  // the "created" message, progress notifications
        const auto* header = object_field(*result, "header");
        const auto revision = header ? int64_field(*header, "revision") : std::nullopt;
        on_events(events, revision.value_or(0));
      }
      lines.erase(0, start);
      if (lines.size() > max_watch_line_bytes) {
        throw error(status_code::unavailable, where + ": a stream line over 64 MiB");
      }
    }
  } catch (const boost::system::system_error& e) {
    aborted = op->cancelled || e.code() == asio::error::operation_aborted;
    failed = e.code();
  }
  if (aborted) {
    // Cancelled by `cancel()` or by the awaiting coroutine: the normal end of a watch. (Reading
    // the cancellation state is not an asynchronous operation, so it does not throw.)
    const auto state = co_await asio::this_coro::cancellation_state;
    if (op->cancelled || state.cancelled() != asio::cancellation_type::none) co_return;
  }
  if (failed == beast::error::timeout) {
    throw error(status_code::unavailable,
                where + ": no answer within " + std::to_string(request_timeout_.count()) + " ms");
  }
  if (failed) throw error(status_code::unavailable, where + ": " + describe(failed));
  throw error(status_code::unavailable, where + ": the stream ended");
}

}  // namespace netcall::detail::etcd

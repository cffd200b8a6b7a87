#include "netcall/client.hpp"

#include <boost/asio.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <optional>
#include <random>
#include <thread>

#include "protocol/idempotency.hpp"
#include "protocol/jsonrpc/codec.hpp"
#include "protocol/msgpack/codec.hpp"
#include "protocol/xmlrpc/codec.hpp"
#include "transport/transport.hpp"

namespace netcall {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);

}  // namespace

bool parse_protocol(std::string_view text, protocol& out) {
  if (text == "jsonrpc") {
    out = protocol::jsonrpc;
  } else if (text == "jsonrpc-http") {
    out = protocol::jsonrpc_http;
  } else if (text == "xmlrpc") {
    out = protocol::xmlrpc;
  } else if (text == "msgpack") {
    out = protocol::msgpack;
  } else {
    return false;
  }
  return true;
}

struct client::impl {
  impl(std::string address, client_options o)
      : host_port(std::move(address)),
        endpoint(detail::parse_endpoint(host_port)),
        options(o),
        socket(io),
        random(std::random_device{}()),
        client_id(std::uniform_int_distribution<std::uint64_t>()(random)) {}

  std::string host_port;
  tcp::endpoint endpoint;
  client_options options;
  asio::io_context io;
  tcp::socket socket;
  std::string line_buffer;       // JSON-RPC over TCP: bytes read past the last answer
  beast::flat_buffer http_buffer;
  std::int64_t next_id = 1;
  std::mt19937_64 random;
  std::uint64_t client_id;  // random per client: the first part of every idempotency key
  std::uint64_t next_sequence = 1;

  void disconnect() {
    boost::system::error_code ignored;
    socket.close(ignored);
    line_buffer.clear();
    http_buffer.clear();
  }

  asio::awaitable<void> ensure_connected() {
    if (socket.is_open()) co_return;
    auto [ec] = co_await socket.async_connect(endpoint, use_nothrow);
    if (ec) {
      disconnect();
      throw error(status_code::unavailable,
                  "cannot connect to " + host_port + ": " + ec.message());
    }
    socket.set_option(tcp::no_delay(true), ec);
  }

  [[noreturn]] void lost(const boost::system::error_code& ec) {
    disconnect();
    throw error(status_code::unavailable, "connection to " + host_port + " lost: " + ec.message());
  }

  // JSON-RPC over raw TCP: one request text out, read lines until the answer with our id.
  asio::awaitable<std::optional<detail::response>> exchange_stream(std::string payload,
                                                                   const value& id,
                                                                   bool expect_answer) {
    auto [wec, wn] = co_await asio::async_write(socket, asio::buffer(payload), use_nothrow);
    if (wec) lost(wec);
    if (!expect_answer) co_return std::nullopt;
    for (;;) {
      auto [ec, n] = co_await asio::async_read_until(
          socket, asio::dynamic_buffer(line_buffer, options.max_message_bytes), '\n',
          use_nothrow);
      if (ec == asio::error::not_found) {
        disconnect();
        throw error(status_code::protocol_error, "answer larger than the client's limit");
      }
      if (ec) lost(ec);
      std::string line = line_buffer.substr(0, n);
      line_buffer.erase(0, n);
      std::vector<detail::response> answers;
      std::string why;
      if (!detail::jsonrpc::decode_responses(line, detail::decode_limits{}, answers, why)) {
        disconnect();
        throw error(status_code::protocol_error, "unreadable answer from " + host_port + ": " + why);
      }
      for (auto& a : answers) {
        if (a.id == id || a.id.is_nil()) co_return std::move(a);
      }
    }
  }

  // MessagePack-RPC: one request out, read messages until the answer with our msgid.
  asio::awaitable<std::optional<detail::response>> exchange_msgpack(std::string payload,
                                                                    const value& id,
                                                                    bool expect_answer) {
    auto [wec, wn] = co_await asio::async_write(socket, asio::buffer(payload), use_nothrow);
    if (wec) lost(wec);
    if (!expect_answer) co_return std::nullopt;
    detail::msgpack::frame_scanner scanner(detail::decode_limits{}.max_depth,
                                           options.max_message_bytes);
    std::string chunk(64 * 1024, '\0');
    for (;;) {
      scanner.reset();
      auto status = scanner.scan(line_buffer);
      while (status == detail::msgpack::frame_scanner::status::need_more) {
        auto [ec, n] = co_await socket.async_read_some(asio::buffer(chunk), use_nothrow);
        if (ec) lost(ec);
        line_buffer.append(chunk, 0, n);
        status = scanner.scan(line_buffer);
      }
      if (status != detail::msgpack::frame_scanner::status::complete) {
        disconnect();
        throw error(status_code::protocol_error, "unreadable answer from " + host_port);
      }
      std::string message = line_buffer.substr(0, scanner.size());
      line_buffer.erase(0, scanner.size());
      detail::response answer;
      std::string why;
      if (!detail::msgpack::decode_response(message, detail::decode_limits{}, answer, why)) {
        disconnect();
        throw error(status_code::protocol_error, "unreadable answer from " + host_port + ": " + why);
      }
      if (answer.id == id) co_return answer;
    }
  }

  asio::awaitable<std::optional<detail::response>> exchange_http(std::string payload,
                                                                 const std::string& key,
                                                                 bool expect_answer) {
    const bool xml = options.protocol == protocol::xmlrpc;
    http::request<http::string_body> req(http::verb::post, xml ? "/RPC2" : "/", 11);
    req.set(http::field::host, host_port);
    req.set(http::field::user_agent, "netcall");
    req.set(http::field::content_type, xml ? "text/xml" : "application/json");
    if (!key.empty()) req.set(detail::idempotency_header, key);
    req.body() = std::move(payload);
    req.keep_alive(true);
    req.prepare_payload();
    auto [wec, wn] = co_await http::async_write(socket, req, use_nothrow);
    if (wec) lost(wec);
    http::response_parser<http::string_body> parser;
    parser.body_limit(options.max_message_bytes);
    auto [ec, n] = co_await http::async_read(socket, http_buffer, parser, use_nothrow);
    if (ec) lost(ec);
    auto res = parser.release();
    if (!res.keep_alive()) disconnect();
    if (res.result() == http::status::no_content && !expect_answer) co_return std::nullopt;
    if (res.result() != http::status::ok) {
      throw error(status_code::protocol_error, "HTTP " + std::to_string(res.result_int()) +
                                                   " from " + host_port + ": " + res.body());
    }
    detail::response answer;
    std::string why;
    if (xml) {
      if (!detail::xmlrpc::decode_response(res.body(), detail::decode_limits{}, answer, why)) {
        throw error(status_code::protocol_error, "unreadable answer from " + host_port + ": " + why);
      }
      co_return answer;
    }
    if (!expect_answer) co_return std::nullopt;
    std::vector<detail::response> answers;
    if (!detail::jsonrpc::decode_responses(res.body(), detail::decode_limits{}, answers, why) ||
        answers.size() != 1) {
      throw error(status_code::protocol_error, "unreadable answer from " + host_port + ": " +
                                                   (why.empty() ? "expected one response" : why));
    }
    co_return std::move(answers.front());
  }

  asio::awaitable<std::optional<detail::response>> exchange(detail::request req) {
    co_await ensure_connected();
    std::string payload;
    if (options.protocol == protocol::xmlrpc) {
      detail::xmlrpc::encode_call(req, payload);
      co_return co_await exchange_http(std::move(payload), req.idempotency_key, true);
    }
    if (options.protocol == protocol::msgpack) {
      detail::msgpack::encode_request(req, payload);
      co_return co_await exchange_msgpack(std::move(payload), req.id, !req.notification);
    }
    detail::jsonrpc::encode_request(req, payload);
    if (options.protocol == protocol::jsonrpc_http) {
      co_return co_await exchange_http(std::move(payload), req.idempotency_key,
                                       !req.notification);
    }
    payload += '\n';
    co_return co_await exchange_stream(std::move(payload), req.id, !req.notification);
  }

  // Runs one exchange on the private loop, bounded by `timeout`.
  std::optional<detail::response> run(detail::request req, std::chrono::milliseconds timeout) {
    io.restart();
    std::optional<detail::response> answer;
    std::exception_ptr failure;
    bool finished = false;
    bool timed_out = false;
    asio::steady_timer deadline(io, timeout);
    deadline.async_wait([&](const boost::system::error_code& ec) {
      if (ec || finished) return;
      timed_out = true;
      disconnect();
    });
    asio::co_spawn(io, exchange(std::move(req)),
                   [&](std::exception_ptr e, std::optional<detail::response> r) {
                     finished = true;
                     deadline.cancel();
                     failure = e;
                     answer = std::move(r);
                   });
    io.run();
    if (timed_out) {
      disconnect();
      throw error(status_code::deadline_exceeded,
                  "no answer from " + host_port + " within " + std::to_string(timeout.count()) +
                      "ms");
    }
    if (failure) std::rethrow_exception(failure);
    return answer;
  }
};

client::client(std::string host_port, client_options options)
    : impl_(std::make_unique<impl>(std::move(host_port), options)) {}

client::~client() = default;
client::client(client&&) noexcept = default;
client& client::operator=(client&&) noexcept = default;

value client::call_params(std::string_view method, value params, call_options call) {
  impl& d = *impl_;
  detail::request req;
  req.method = std::string(method);
  req.params = std::move(params);
  req.id = d.next_id++;
  if (d.options.idempotency_keys) {
    // One key for every attempt of this logical call (SPEC §4, docs/failures.md): JSON-RPC
    // sends it as the request id, XML-RPC as the Idempotency-Key header, MessagePack-RPC as a
    // fifth request element.
    req.idempotency_key = detail::make_idempotency_key(d.client_id, d.next_sequence++);
    if (d.options.protocol == protocol::jsonrpc || d.options.protocol == protocol::jsonrpc_http) {
      req.id = req.idempotency_key;
    }
  }
  const bool retriable = d.options.idempotency_keys || call.idempotent;
  const int attempts = retriable ? std::max(1, d.options.retry.max_attempts) : 1;
  const auto start = std::chrono::steady_clock::now();
  const auto deadline = d.options.deadline.count() > 0
                            ? start + d.options.deadline
                            : std::chrono::steady_clock::time_point::max();
  auto backoff_cap = d.options.retry.initial_backoff;

  for (int attempt = 1;; ++attempt) {
    auto timeout = d.options.timeout;
    if (deadline != std::chrono::steady_clock::time_point::max()) {
      timeout = std::min(timeout, std::chrono::duration_cast<std::chrono::milliseconds>(
                                      deadline - std::chrono::steady_clock::now()));
    }
    std::optional<error> failure;
    if (timeout.count() <= 0) {
      failure = error(status_code::deadline_exceeded,
                      "deadline of " + std::to_string(d.options.deadline.count()) +
                          "ms passed before attempt " + std::to_string(attempt));
    } else {
      try {
        auto answer = d.run(req, timeout);
        if (!answer) {
          throw error(status_code::protocol_error, "no answer to " + std::string(method));
        }
        if (!answer->error) return std::move(answer->result);
        error remote(status_from_wire_code(answer->error->code), answer->error->code,
                     answer->error->message);
        // -32002 means the server is stopping and did not run the call: safe to go again.
        if (remote.code() != status_code::unavailable) throw remote;
        d.disconnect();
        failure = remote;
      } catch (const error& e) {
        if (e.code() != status_code::unavailable && e.code() != status_code::deadline_exceeded) {
          throw;
        }
        failure = e;
      }
    }
    const bool time_left = std::chrono::steady_clock::now() < deadline;
    if (attempt >= attempts || !time_left) {
      if (attempt == 1) throw *failure;
      throw error(failure->code(), failure->wire_code(),
                  std::string(failure->what()) + " (after " + std::to_string(attempt) +
                      " attempts)");
    }
    // Exponential backoff with full jitter, never past the deadline.
    auto wait = std::chrono::milliseconds(std::uniform_int_distribution<std::int64_t>(
        0, std::max<std::int64_t>(0, backoff_cap.count()))(d.random));
    if (deadline != std::chrono::steady_clock::time_point::max()) {
      wait = std::min(wait, std::chrono::duration_cast<std::chrono::milliseconds>(
                                deadline - std::chrono::steady_clock::now()));
    }
    if (wait.count() > 0) std::this_thread::sleep_for(wait);
    backoff_cap = std::min(d.options.retry.max_backoff,
                           std::chrono::milliseconds(static_cast<std::int64_t>(
                               static_cast<double>(backoff_cap.count()) *
                               d.options.retry.multiplier)));
  }
}

void client::notify(std::string_view method, value params) {
  detail::request req;
  req.method = std::string(method);
  req.params = std::move(params);
  req.notification = true;
  impl_->run(std::move(req), impl_->options.timeout);
}

}  // namespace netcall

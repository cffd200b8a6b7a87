#include "client/channel.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/beast/http.hpp>
#include <charconv>
#include <sstream>

#include "protocol/jsonrpc/codec.hpp"
#include "protocol/msgpack/codec.hpp"
#include "protocol/xmlrpc/codec.hpp"

namespace netcall::detail {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t read_chunk_bytes = 64 * 1024;

outcome failed(status_code code, std::string message) {
  return {value(), error(code, std::move(message))};
}

outcome from_response(const response& r) {
  if (!r.error) return {r.result, std::nullopt};
  return {value(), error(status_from_wire_code(r.error->code), r.error->code, r.error->message)};
}

}  // namespace

bool sequence_of(const value& id, std::uint32_t& out) {
  if (id.is_int()) {
    out = static_cast<std::uint32_t>(id.as_int());
    return true;
  }
  if (!id.is_string()) return false;
  const std::string& s = id.as_string();
  const auto colon = s.rfind(':');
  if (colon == std::string::npos) return false;
  std::uint64_t n = 0;
  auto [end, ec] = std::from_chars(s.data() + colon + 1, s.data() + s.size(), n);
  if (ec != std::errc() || end != s.data() + s.size()) return false;
  out = static_cast<std::uint32_t>(n);
  return true;
}

channel::channel(asio::io_context& io, tcp::endpoint endpoint, std::string host_port,
                 const client_options& options)
    : io_(io),
      endpoint_(endpoint),
      host_port_(std::move(host_port)),
      options_(options),
      sweeper_(io) {}

bool channel::http() const {
  return options_.protocol == protocol::jsonrpc_http || options_.protocol == protocol::xmlrpc;
}

void channel::submit(attempt a) {
  const key k = static_cast<key>(a.sequence);
  pending_[k] = pending{std::move(a.done), a.deadline, steady::now()};
  deadlines_.emplace(a.deadline, k);
  arm_sweeper(a.deadline);
  if (state_ == state::connected && !http()) {
    encode(*a.req, out_);
    flush();
    return;
  }
  waiting_.push_back(std::move(a));
  if (state_ == state::idle) connect();
  if (state_ == state::connected) http_pump();
}

void channel::notify(std::shared_ptr<const request> req) {
  if (http()) {
    // The HTTP answer (204, or an XML-RPC response) must still be read: take a turn like a call.
    static std::uint64_t notification_sequence = 1u << 31;
    submit(attempt{std::move(req), notification_sequence++,
                   steady::now() + options_.timeout, [](outcome) {}});
    return;
  }
  if (state_ == state::connected) {
    encode(*req, out_);
    flush();
    return;
  }
  waiting_.push_back(attempt{std::move(req), 0, steady::now() + options_.timeout, nullptr});
  if (state_ == state::idle) connect();
}

void channel::encode(const request& req, std::string& out) const {
  switch (options_.protocol) {
    case protocol::msgpack:
      msgpack::encode_request(req, out);
      return;
    case protocol::xmlrpc:
      xmlrpc::encode_call(req, out);
      return;
    case protocol::jsonrpc:
      jsonrpc::encode_request(req, out);
      out += '\n';
      return;
    case protocol::jsonrpc_http:
      jsonrpc::encode_request(req, out);
      return;
  }
}

void channel::connect() {
  state_ = state::connecting;
  auto socket = std::make_shared<tcp::socket>(io_);
  const std::uint64_t generation = ++generation_;
  socket->async_connect(endpoint_, [self = shared_from_this(), socket,
                                    generation](const boost::system::error_code& ec) {
    if (generation != self->generation_) return;  // given up meanwhile (shutdown, timeout)
    if (ec) {
      self->state_ = state::idle;
      self->fail_all(error(status_code::unavailable,
                           "cannot connect to " + self->host_port_ + ": " + ec.message()));
      return;
    }
    boost::system::error_code ignored;
    socket->set_option(tcp::no_delay(true), ignored);
    self->socket_ = socket;
    self->state_ = state::connected;
    self->last_receive_ = steady::now();
    if (self->http()) {
      asio::co_spawn(self->io_, self->read_http(socket, generation), asio::detached);
      self->http_pump();
    } else {
      asio::co_spawn(self->io_, self->read_stream(socket, generation), asio::detached);
      self->send_waiting();
    }
  });
}

void channel::send_waiting() {
  for (auto& a : waiting_) {
    // Skip attempts that timed out while connecting (notifications have no pending entry).
    if (a.done == nullptr || pending_.contains(static_cast<key>(a.sequence))) {
      encode(*a.req, out_);
    }
  }
  waiting_.clear();
  flush();
}

void channel::flush() {
  if (write_active_ || out_.empty() || state_ != state::connected) return;
  std::swap(out_, writing_);
  write_active_ = true;
  asio::async_write(*socket_, asio::buffer(writing_),
                    [self = shared_from_this(), generation = generation_](
                        const boost::system::error_code& ec, std::size_t) {
                      if (generation != self->generation_) return;
                      self->write_active_ = false;
                      self->writing_.clear();
                      if (ec) {
                        self->reset_connection();
                        self->fail_all(error(status_code::unavailable,
                                             "connection to " + self->host_port_ +
                                                 " lost: " + ec.message()));
                        return;
                      }
                      self->flush();
                    });
}

void channel::http_pump() {
  while (!http_busy_ && state_ == state::connected && !waiting_.empty()) {
    attempt a = std::move(waiting_.front());
    waiting_.pop_front();
    const key k = static_cast<key>(a.sequence);
    if (!pending_.contains(k)) continue;  // timed out while queued
    std::string body;
    encode(*a.req, body);
    const bool xml = options_.protocol == protocol::xmlrpc;
    http::request<http::string_body> req(http::verb::post, xml ? "/RPC2" : "/", 11);
    req.set(http::field::host, host_port_);
    req.set(http::field::user_agent, "netcall");
    req.set(http::field::content_type, xml ? "text/xml" : "application/json");
    if (!a.req->idempotency_key.empty()) req.set("Idempotency-Key", a.req->idempotency_key);
    req.body() = std::move(body);
    req.keep_alive(true);
    req.prepare_payload();
    std::ostringstream os;
    os << req;
    out_ += os.str();
    http_busy_ = true;
    http_current_ = k;
    http_current_is_notification_ = a.req->notification;
    flush();
  }
}

void channel::reset_connection() {
  ++generation_;  // stale completions of the old connection are ignored from now on
  if (socket_) {
    boost::system::error_code ignored;
    socket_->close(ignored);
    socket_.reset();
  }
  state_ = state::idle;
  out_.clear();
  writing_.clear();
  write_active_ = false;
  http_busy_ = false;
}

void channel::fail_all(const error& why) {
  // Every call in flight on a dead connection fails at once (no hang); retries reconnect.
  auto calls = std::move(pending_);
  pending_.clear();
  waiting_.clear();
  deadlines_ = {};
  for (auto& [k, p] : calls) {
    if (p.done) p.done({value(), why});
  }
}

void channel::shutdown(const error& why) {
  reset_connection();
  sweeper_.cancel();
  fail_all(why);
}

void channel::complete(key k, outcome o) {
  auto it = pending_.find(k);
  if (it == pending_.end()) return;  // answered after its timeout: dropped
  auto done = std::move(it->second.done);
  pending_.erase(it);
  if (done) done(std::move(o));
}

void channel::on_answer(const response& r) {
  std::uint32_t k = 0;
  if (!sequence_of(r.id, k)) return;
  complete(k, from_response(r));
}

void channel::arm_sweeper(steady::time_point when) {
  if (when >= sweeper_at_) return;
  sweeper_at_ = when;
  sweeper_.expires_at(when);
  sweeper_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    if (ec) return;
    self->sweeper_at_ = steady::time_point::max();
    self->sweep();
  });
}

void channel::sweep() {
  const auto now = steady::now();
  while (!deadlines_.empty() && deadlines_.top().first <= now) {
    const key k = deadlines_.top().second;
    const auto deadline = deadlines_.top().first;
    deadlines_.pop();
    auto it = pending_.find(k);
    if (it == pending_.end() || it->second.deadline != deadline) continue;  // answered already
    const auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(
        options_.timeout);
    const auto sent = it->second.sent;
    complete(k, failed(status_code::deadline_exceeded,
                       "no answer from " + host_port_ + " within " +
                           std::to_string(waited.count()) + "ms"));
    if (http() && http_busy_ && http_current_ == k) {
      // Its answer may still come on this connection and would be taken for the next call's:
      // start a new connection for the calls queued behind it.
      reset_connection();
      if (!waiting_.empty()) connect();
    } else if (state_ == state::connecting && pending_.empty()) {
      reset_connection();  // nobody else waits for this connect
    } else if (state_ == state::connected && !http() && last_receive_ < sent) {
      // Nothing at all arrived since this call was sent: the connection is stalled (a dead
      // peer or path), so its other calls fail now and every retry goes on a new connection.
      reset_connection();
      fail_all(error(status_code::unavailable,
                     "connection to " + host_port_ + " stalled: nothing received for " +
                         std::to_string(waited.count()) + "ms"));
    }
  }
  if (!deadlines_.empty()) arm_sweeper(deadlines_.top().first);
}

asio::awaitable<void> channel::read_stream(std::shared_ptr<tcp::socket> socket,
                                           std::uint64_t generation) {
  auto self = shared_from_this();
  std::string buffer;
  std::string chunk(read_chunk_bytes, '\0');
  msgpack::frame_scanner scanner(decode_limits{}.max_depth, options_.max_message_bytes);
  const bool mp = options_.protocol == protocol::msgpack;
  for (;;) {
    auto [ec, n] = co_await socket->async_read_some(asio::buffer(chunk), use_nothrow);
    if (generation != generation_) co_return;
    if (ec) {
      reset_connection();
      fail_all(error(status_code::unavailable,
                     "connection to " + host_port_ + " lost: " + ec.message()));
      co_return;
    }
    last_receive_ = steady::now();
    buffer.append(chunk, 0, n);
    std::size_t consumed = 0;
    std::string why;
    bool bad = false;
    while (consumed < buffer.size() && !bad) {
      const std::string_view rest(buffer.data() + consumed, buffer.size() - consumed);
      if (mp) {
        const auto st = scanner.scan(rest);
        if (st == msgpack::frame_scanner::status::need_more) break;
        response r;
        bad = st != msgpack::frame_scanner::status::complete ||
              !msgpack::decode_framed_response(rest.substr(0, scanner.size()), r, why);
        if (!bad) {
          consumed += scanner.size();
          scanner.reset();
          on_answer(r);
        }
      } else {
        const auto newline = rest.find('\n');
        if (newline == std::string_view::npos) {
          bad = rest.size() > options_.max_message_bytes;
          break;
        }
        std::vector<response> answers;
        bad = !jsonrpc::decode_responses(rest.substr(0, newline), decode_limits{}, answers, why);
        consumed += newline + 1;
        for (const auto& r : answers) on_answer(r);
      }
      if (generation != generation_) co_return;  // a completion shut the channel down
    }
    if (bad) {
      reset_connection();
      fail_all(error(status_code::protocol_error,
                     "unreadable answer from " + host_port_ + (why.empty() ? "" : ": " + why)));
      co_return;
    }
    buffer.erase(0, consumed);
  }
}

asio::awaitable<void> channel::read_http(std::shared_ptr<tcp::socket> socket,
                                         std::uint64_t generation) {
  auto self = shared_from_this();
  beast::flat_buffer buffer;
  for (;;) {
    http::response_parser<http::string_body> parser;
    parser.body_limit(options_.max_message_bytes);
    auto [ec, n] = co_await http::async_read(*socket, buffer, parser, use_nothrow);
    if (generation != generation_) co_return;
    if (ec) {
      reset_connection();
      fail_all(error(status_code::unavailable,
                     "connection to " + host_port_ + " lost: " + ec.message()));
      co_return;
    }
    auto res = parser.release();
    const key k = http_current_;
    const bool notification = http_current_is_notification_;
    http_busy_ = false;
    outcome o;
    std::string why;
    response answer;
    if (res.result() == http::status::no_content && notification) {
      o = {value(), std::nullopt};
    } else if (res.result() != http::status::ok) {
      o = failed(status_code::protocol_error, "HTTP " + std::to_string(res.result_int()) +
                                                  " from " + host_port_ + ": " + res.body());
    } else if (options_.protocol == protocol::xmlrpc) {
      o = xmlrpc::decode_response(res.body(), decode_limits{}, answer, why)
              ? from_response(answer)
              : failed(status_code::protocol_error, "unreadable answer from " + host_port_ + ": " + why);
    } else {
      std::vector<response> answers;
      o = jsonrpc::decode_responses(res.body(), decode_limits{}, answers, why) &&
                  answers.size() == 1
              ? from_response(answers.front())
              : failed(status_code::protocol_error,
                       "unreadable answer from " + host_port_ + ": " +
                           (why.empty() ? "expected one response" : why));
    }
    const bool keep = res.keep_alive();
    complete(k, std::move(o));
    if (generation != generation_) co_return;
    if (!keep) {
      reset_connection();
      if (!waiting_.empty()) connect();
      co_return;
    }
    http_pump();
  }
}

}  // namespace netcall::detail

#include "client/connection.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include <map>
#include <mutex>
#include <optional>
#include <tuple>

#include "common/duration.hpp"
#include "protocol/access_policy.hpp"
#include "transport/tcp_stream.hpp"

namespace netcall::detail {

namespace asio = boost::asio;

namespace {

outcome failed(status_code code, std::string message) {
  return {value(), error(code, std::move(message))};
}

outcome from_response(response& r) {
  if (!r.error) return {std::move(r.result), std::nullopt};
  return {value(), to_error(*r.error)};
}

}  // namespace

tls_context client_tls_context(const client_options& options) {
  if (!options.tls && options.tls_ca_file.empty() && options.tls_cert_file.empty()) return nullptr;
  static std::mutex mutex;
  static std::map<std::tuple<std::string, std::string, std::string>, tls_context> made;
  const auto k = std::make_tuple(options.tls_ca_file, options.tls_cert_file, options.tls_key_file);
  std::lock_guard lock(mutex);
  auto& ctx = made[k];
  if (!ctx) {
    try {
      ctx = make_client_tls_context(options.tls_ca_file, options.tls_cert_file,
                                    options.tls_key_file);
    } catch (...) {
      made.erase(k);
      throw;
    }
  }
  return ctx;
}

connection::connection(asio::io_context& io, asio::ip::tcp::endpoint endpoint,
                       std::string host_port, const client_options& options,
                       const client_protocol& protocol)
    : io_(io),
      endpoint_(endpoint),
      host_port_(std::move(host_port)),
      options_(options),
      protocol_(protocol),
      tls_(client_tls_context(options)),
      sweeper_(io) {
  limits_.max_message_bytes = options.max_message_bytes;
}

void connection::submit(attempt a) {
  const key k = static_cast<key>(a.sequence);
  const bool send_now = state_ == state::connected && protocol_.multiplexed();
  pending p{std::move(a.done), a.deadline, steady::now(), send_now};
  if (auto it = pending_.find(k); it != pending_.end()) {
    it->second = std::move(p);
  } else if (!spare_.empty()) {
    // A node of an answered call: no allocation per call.
    auto node = std::move(spare_.back());
    spare_.pop_back();
    node.key() = k;
    node.mapped() = std::move(p);
    pending_.insert(std::move(node));
  } else {
    pending_.emplace(k, std::move(p));
  }
  deadlines_.emplace(a.deadline, k);
  arm_sweeper(a.deadline);
  if (send_now) {
    protocol_.encode(*a.req, host_port_, options_.token, out_);
    flush();
    return;
  }
  waiting_.push_back(std::move(a));
  if (state_ == state::idle) connect();
  if (state_ == state::connected) pump();
}

void connection::notify(std::shared_ptr<const request> req) {
  if (!protocol_.multiplexed()) {
    // The answer (204, or an XML-RPC response) must still be read: take a turn like a call.
    submit(attempt{std::move(req), next_notification_++, deadline_after(options_.timeout),
                   [](outcome, attempt_end) {}});
    return;
  }
  if (state_ == state::connected) {
    protocol_.encode(*req, host_port_, options_.token, out_);
    flush();
    return;
  }
  waiting_.push_back(attempt{std::move(req), 0, deadline_after(options_.timeout), nullptr});
  if (state_ == state::idle) connect();
}

void connection::connect() {
  state_ = state::connecting;
  const std::uint64_t generation = ++generation_;
  auto self = shared_from_this();
  auto failed_to_connect = [self, generation](const std::string& why) {
    if (generation != self->generation_) return;  // given up meanwhile
    self->state_ = state::idle;
    self->fail_all(error(status_code::unavailable,
                         "cannot connect to " + self->host_port_ + ": " + why));
  };
  if (!tls_) {
    async_connect_tcp(io_.get_executor(), endpoint_,
                      [self, generation, failed_to_connect](const boost::system::error_code& ec,
                                                            std::unique_ptr<byte_stream> s) {
                        if (ec) return failed_to_connect(ec.message());
                        self->connected(std::move(s), generation);
                      });
    return;
  }
  async_connect_tls(io_.get_executor(), endpoint_, tls_, std::string(host_of(host_port_)),
                    !protocol_.multiplexed(),
                    [self, generation, failed_to_connect](const boost::system::error_code& ec,
                                                          std::unique_ptr<byte_stream> s,
                                                          const std::string& why) {
                      if (ec) return failed_to_connect(why);
                      self->connected(std::move(s), generation);
                    });
}

void connection::connected(std::unique_ptr<byte_stream> s, std::uint64_t generation) {
  if (generation != generation_) return;  // given up meanwhile
  stream_ = std::move(s);
  reader_ = protocol_.make_reader(limits_, host_port_);
  state_ = state::connected;
  last_receive_ = steady::now();
  asio::co_spawn(io_, read_loop(stream_, generation), asio::detached);
  if (!options_.token.empty() && protocol_.authenticates_connection()) authenticate();
  if (protocol_.multiplexed()) {
    send_waiting();
  } else {
    pump();
  }
}

void connection::authenticate() {
  auto req = std::make_shared<request>();
  req->method = "system.authenticate";
  req->params = value(array{value(options_.token)});
  protocol_.prepare(*req, authenticate_key);
  const auto deadline = deadline_after(options_.timeout);
  pending_[authenticate_key] = pending{
      [weak = weak_from_this()](outcome o, attempt_end) {
        auto self = weak.lock();
        if (!self || !o.failure) return;
        // The server refused the token: nothing of this connection ran, and a retry would be
        // refused the same way.
        error why = *o.failure;
        if (why.code() == status_code::unauthenticated) {
          self->reset_connection();
          self->fail_all(why, attempt_end::answered);
        }
      },
      deadline, steady::now(), true};
  deadlines_.emplace(deadline, authenticate_key);
  arm_sweeper(deadline);
  protocol_.encode(*req, host_port_, {}, out_);
}

void connection::send_waiting() {
  for (auto& a : waiting_) {
    // A call's `done` moved into its pending entry (submit): tell calls from notifications by
    // the request. Calls that timed out while connecting are skipped; the others are written,
    // so a connection lost from now on leaves their outcome unknown (SPEC §5: never moved to
    // another replica unless idempotent).
    if (!a.req->notification) {
      const key k = static_cast<key>(a.sequence);
      if (!pending_.contains(k)) continue;
      protocol_.encode(*a.req, host_port_, options_.token, out_);
      mark_written(k);
      continue;
    }
    protocol_.encode(*a.req, host_port_, options_.token, out_);
  }
  waiting_.clear();
  flush();
}

void connection::flush() {
  if (write_active_ || out_.empty() || state_ != state::connected) return;
  std::swap(out_, writing_);
  write_active_ = true;
  writing_generation_ = generation_;
  stream_->write(asio::buffer(writing_), {&on_written, this, shared_from_this()});
}

void connection::on_written(void* context, const boost::system::error_code& ec) {
  auto& self = *static_cast<connection*>(context);
  self.write_active_ = false;
  self.writing_.clear();
  if (self.writing_generation_ != self.generation_) {
    self.retired_stream_.reset();
    self.flush();  // a write of a connection given up: what waits is for the new one
    return;
  }
  if (ec) {
    self.reset_connection();
    self.fail_all(error(status_code::unavailable,
                        "connection to " + self.host_port_ + " lost: " + ec.message()));
    return;
  }
  self.flush();
}

void connection::pump() {
  while (!busy_ && state_ == state::connected && !waiting_.empty()) {
    attempt a = std::move(waiting_.front());
    waiting_.pop_front();
    const key k = static_cast<key>(a.sequence);
    if (!pending_.contains(k)) continue;  // timed out while queued
    protocol_.encode(*a.req, host_port_, options_.token, out_);
    mark_written(k);
    busy_ = true;
    current_ = k;
    current_is_notification_ = a.req->notification;
    flush();
  }
}

void connection::reset_connection() {
  ++generation_;  // stale completions of the old connection are ignored from now on
  if (stream_) {
    stream_->close();
    if (write_active_) retired_stream_ = std::move(stream_);
    stream_.reset();
  }
  reader_.reset();
  state_ = state::idle;
  out_.clear();
  busy_ = false;
}

void connection::fail_all(const error& why) {
  // Every call in flight on a dead connection fails at once (no hang); retries reconnect.
  auto calls = std::move(pending_);
  pending_.clear();
  waiting_.clear();
  deadlines_ = {};
  for (auto& [k, p] : calls) {
    if (p.done) p.done({value(), why}, p.written ? attempt_end::lost : attempt_end::not_sent);
  }
}

void connection::fail_all(const error& why, attempt_end how) {
  auto calls = std::move(pending_);
  pending_.clear();
  waiting_.clear();
  deadlines_ = {};
  for (auto& [k, p] : calls) {
    if (p.done) p.done({value(), why}, how);
  }
}

void connection::shutdown(const error& why) {
  reset_connection();
  sweeper_.cancel();
  fail_all(why);
}

void connection::complete(key k, outcome o, attempt_end how) {
  auto it = pending_.find(k);
  if (it == pending_.end()) return;  // answered after its timeout: dropped
  auto done = std::move(it->second.done);
  if (how == attempt_end::lost && !it->second.written) how = attempt_end::not_sent;
  auto node = pending_.extract(it);
  if (spare_.size() < max_spare_nodes) {
    node.mapped().done = nullptr;
    spare_.push_back(std::move(node));
  }
  if (done) done(std::move(o), how);
}

void connection::mark_written(key k) {
  auto it = pending_.find(k);
  if (it != pending_.end()) it->second.written = true;
}

void connection::on_answer(response& r) {
  if (!protocol_.multiplexed()) {
    // Answers come in request order: this one is the call's on the wire.
    const key k = current_;
    const bool notification = current_is_notification_;
    busy_ = false;
    complete(k, notification ? outcome{} : from_response(r), attempt_end::answered);
    return;
  }
  key k = 0;
  if (!protocol_.sequence_of(r.id, k)) {
    // JSON-RPC 2.0 §5: an error with id null answers a request whose id the server could not
    // read (malformed, over a limit); the server often closes the connection after it. With one
    // call on the wire it is that call's answer: the server's error, final, where it used to
    // end as a lost connection and be retried. With several it cannot be matched; they end as
    // the server leaves them (closed: retried; answered; or timed out).
    if (r.id.is_nil() && r.error) {
      if (const auto only = sole_call_on_the_wire()) {
        complete(*only, from_response(r), attempt_end::answered);
      }
    }
    return;
  }
  complete(k, from_response(r), attempt_end::answered);
}

std::optional<connection::key> connection::sole_call_on_the_wire() const {
  std::optional<key> found;
  for (const auto& [k, p] : pending_) {
    if (!p.written) continue;
    if (found) return std::nullopt;
    found = k;
  }
  return found;
}

void connection::arm_sweeper(steady::time_point when) {
  if (when >= sweeper_at_) return;
  sweeper_at_ = when;
  sweeper_.expires_at(when);
  sweeper_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    if (ec) return;
    self->sweeper_at_ = steady::time_point::max();
    self->sweep();
  });
}

void connection::sweep() {
  const auto now = steady::now();
  while (!deadlines_.empty() && deadlines_.top().first <= now) {
    const key k = deadlines_.top().second;
    const auto deadline = deadlines_.top().first;
    deadlines_.pop();
    auto it = pending_.find(k);
    if (it == pending_.end() || it->second.deadline != deadline) continue;  // answered already
    const auto waited = options_.timeout;
    const auto sent = it->second.sent;
    complete(k, failed(status_code::deadline_exceeded,
                       "no answer from " + host_port_ + " within " +
                           std::to_string(waited.count()) + "ms"),
             attempt_end::lost);
    if (!protocol_.multiplexed() && busy_ && current_ == k) {
      // Its answer may still come on this connection and would be taken for the next call's:
      // start a new connection for the calls queued behind it.
      reset_connection();
      if (!waiting_.empty()) connect();
    } else if (state_ == state::connecting && pending_.empty()) {
      reset_connection();  // nobody else waits for this connect
    } else if (state_ == state::connected && protocol_.multiplexed() && last_receive_ < sent) {
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

asio::awaitable<void> connection::read_loop(std::shared_ptr<byte_stream> stream,
                                            std::uint64_t generation) {
  auto self = shared_from_this();
  std::string buffer;
  std::string chunk(read_chunk_bytes, '\0');
  response r;
  for (;;) {
    boost::system::error_code ec;
    const std::size_t n = co_await stream->read_some(asio::buffer(chunk), ec);
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
    for (;;) {
      fault why;
      const auto status = reader_->next(buffer, consumed, r, why);
      if (status == response_reader::status::need_more) break;
      if (status == response_reader::status::failed) {
        reset_connection();
        fail_all(error(status_code::protocol_error,
                       "unreadable answer from " + host_port_ + ": " + why.message));
        co_return;
      }
      const bool closing = reader_->closing();
      on_answer(r);
      if (generation != generation_) co_return;  // a completion shut the connection down
      if (closing) {
        reset_connection();
        if (!waiting_.empty()) connect();
        co_return;
      }
      if (!protocol_.multiplexed()) pump();
    }
    buffer.erase(0, consumed);
  }
}

}  // namespace netcall::detail

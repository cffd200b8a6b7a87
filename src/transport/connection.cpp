#include "transport/connection.hpp"

#include <spdlog/logger.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <algorithm>
#include <utility>

#include "protocol/protocols.hpp"
#include "transport/event_loop.hpp"

namespace netcall::detail {

namespace asio = boost::asio;

namespace {

/// Bytes a connection may send before its protocol is known; more is not a protocol we speak.
constexpr std::size_t max_sniff_bytes = 4096;
// Leading whitespace beyond its bound must be seen by the sniffers (HTTP claims it to answer
// 400) before the transport gives up on the connection.
static_assert(max_sniff_bytes >= max_leading_whitespace_bytes);
/// Unparsed bytes kept between reads are freed once parsed when they grew past this.
constexpr std::size_t max_kept_carry = 64 * 1024;
/// While a request waits for its answer, at most this much of what follows it is read.
constexpr std::size_t max_kept_while_waiting = 64 * 1024;
/// A write buffer is freed after a write when it grew past this (a large answer went out).
constexpr std::size_t max_kept_write_buffer = 64 * 1024;
/// New bytes a session is given in one turn: past them, the connection lets the loop's other
/// connections run before it goes on, so one client's pipelined or amplifying calls (a burst of
/// system.multicall) cannot hold a loop for long.
constexpr std::size_t feed_turn_bytes = 16 * 1024;

/// Keeps what a session has not taken yet, `data` from `consumed` on, in `carry`: `data` is
/// `carry` itself (its start is dropped) or bytes of the last read (copied: they live in the
/// loop's shared buffer, valid only until the next await).
void keep_unparsed(std::string& carry, std::string_view data, std::size_t consumed) {
  if (!carry.empty() && data.data() == carry.data()) {
    carry.erase(0, consumed);
  } else {
    carry.assign(data.substr(consumed));
  }
  if (carry.empty() && carry.capacity() > max_kept_carry) std::string().swap(carry);
}

}  // namespace

server_connection::server_connection(event_loop& loop, std::unique_ptr<byte_stream> stream,
                                     transport_shared& shared)
    : loop_(loop),
      stream_(std::move(stream)),
      shared_(shared),
      last_activity_(std::chrono::steady_clock::now()) {
  peer_.address = stream_->remote_address();
  loop_.add(*this);
}

server_connection::~server_connection() {
  pending_.clear();
  writing_.clear();
  count_unsent();
  release_slot();
  stop_finishing();
  loop_.remove(*this);
}

// ---- serving ----------------------------------------------------------------------------------

asio::awaitable<void> server_connection::serve(std::shared_ptr<server_connection> self) {
  server_connection& c = *self;
  // On every way out, an exception included: calls still running refer to the connection by
  // plain pointer, so it keeps itself alive until the last one finishes.
  struct keep_for_calls {
    server_connection& c;
    std::shared_ptr<server_connection>& self;
    ~keep_for_calls() {
      if (c.calls_ > 0 && !c.self_) c.self_ = self;
    }
  } keep{c, self};
  try {
    co_await c.serve_bytes();
  } catch (...) {
    c.close();
    throw;
  }
  co_await c.linger();
}

asio::awaitable<void> server_connection::serve_bytes() {
  // Accepted while the server shuts down: what the client already sent is answered (-32002).
  if (loop_.draining()) begin_last_read();
  // The first bytes tell the protocol (protocol/protocols.hpp has the order); a TLS handshake
  // first, when the server has a certificate, and then the protocol inside (SPEC §6).
  std::string carry;
  const server_protocol* chosen = nullptr;
  bool tls_decided = shared_.tls == nullptr;
  while (chosen == nullptr) {
    std::string_view fresh;
    if (!co_await read_more(fresh) || reading_stopped_) co_return;
    carry.append(fresh);
    if (!tls_decided) {
      tls_decided = true;
      if (is_tls_handshake(carry)) {
        if (last_read_) {  // a handshake needs round trips: nothing can be answered now
          close_after_flush();
          co_return;
        }
        if (!co_await start_tls(carry)) co_return;
        continue;
      }
      if (shared_.tls->tls_only) {
        protocol_error();
        shared_.metrics.refused(refusal::not_tls);
        shared_.options.log->debug("closing connection from {}: not TLS (--tls-only)",
                                   peer_.address);
        close();
        co_return;
      }
    }
    bool undecided = false;
    const auto protocols = server_protocols();
    for (std::size_t i = 0; i < protocols.size(); ++i) {
      const server_protocol* p = protocols[i];
      const auto verdict = p->sniff(carry);
      if (verdict == sniff_result::not_mine) continue;
      if (verdict == sniff_result::mine) {
        chosen = p;
        protocol_index_ = static_cast<int>(i);
      } else {
        undecided = true;
      }
      break;
    }
    if (chosen == nullptr && (!undecided || carry.size() > max_sniff_bytes)) {
      // No protocol recognises these bytes: nothing can be answered in a language the client
      // speaks, so only this connection is closed.
      protocol_error();
      shared_.metrics.refused(refusal::unknown_protocol);
      shared_.options.log->debug("closing connection from {}: unrecognised protocol",
                                 peer_.address);
      close();
      co_return;
    }
  }
  session_ = chosen->make_session(*this);
  shared_.metrics.open(static_cast<std::size_t>(protocol_index_)).Increment();
  shared_.options.log->debug("connection from {}: {}{}", peer_.address, chosen->name,
                             peer_.tls ? " over TLS" : "");

  std::string_view fresh;  // bytes of the last read, not in `carry`
  bool resumed = false;    // feed once after a wait, bytes or not: the session may end now
  std::size_t offered = 0;  // bytes at the start of `carry` the session was given already
  for (;;) {
    std::string_view data = fresh;
    if (!carry.empty()) {
      carry.append(fresh);
      data = carry;
    }
    fresh = {};
    // One turn gives the session at most feed_turn_bytes it has not seen (a session that needs
    // a whole message sees it grow turn by turn; the rest waits in `carry`).
    const std::size_t turn = std::min(data.size(), offered + feed_turn_bytes);
    std::size_t consumed = 0;
    auto verdict = server_session::verdict::more;
    if (!data.empty() || resumed) {
      // Everything answered while the session takes these bytes leaves in one write.
      feeding_ = true;
      resumed_ = false;
      verdict = session_->feed(data.substr(0, turn), consumed);
      feeding_ = false;
      flush();
      // A batch's answer is in the output only once feed returned: a close asked for during
      // it (a wrong token) happens after it.
      if (close_after_answers_) close_after_flush();
    }
    resumed = false;
    if (verdict == server_session::verdict::close) close_after_flush();
    keep_unparsed(carry, data, consumed);
    offered = turn - consumed;
    if (closed_ || close_after_flush_) co_return;
    if (verdict == server_session::verdict::wait) {
      // Answers leave in request order: the bytes behind this request wait for its answer.
      co_await wait_for_answer(carry);
      if (closed_ || reading_stopped_) co_return;
      resumed = true;
      continue;
    }
    if (turn < data.size()) {
      // More than a turn's bytes: the loop's other connections go first, then the rest.
      co_await asio::post(stream_->get_executor(), asio::use_awaitable);
      if (closed_ || reading_stopped_) co_return;
      continue;
    }
    // read_more(), written out here: one coroutine frame less per read on the busiest path,
    // which keeps a read's frames within asio's per-thread recycling cache (no allocation).
    if (!may_read()) co_await wait_for_room();  // backpressure on a client that does not read
    if (closed_ || reading_stopped_) co_return;
    if (last_read_ && !last_read_more()) {
      close_after_flush();  // what had arrived is answered; nothing more is read
      co_return;
    }
    boost::system::error_code ec;
    std::string& buffer = loop_.read_buffer();
    const std::size_t n = co_await stream_->read_some(asio::buffer(buffer), ec);
    if (ec) {
      if (!closed_) peer_ended();
      co_return;
    }
    loop_.metrics.received_bytes.add(static_cast<std::int64_t>(n));
    if (last_read_) last_read_left_ -= std::min(last_read_left_, n);
    if (reading_stopped_) co_return;
    fresh = std::string_view(buffer.data(), n);
  }
}

asio::awaitable<bool> server_connection::start_tls(std::string& carry) {
  auto tls = std::make_unique<tls_stream>(std::move(stream_), shared_.tls->context(),
                                          tls_stream::role::server, carry);
  tls_stream& t = *tls;
  stream_ = std::move(tls);  // a close meanwhile (idle sweep, shutdown) closes it
  carry.clear();
  boost::system::error_code ec;
  co_await t.handshake(ec);
  if (closed_) co_return false;
  if (ec) {
    protocol_error();
    shared_.metrics.refused(refusal::tls_handshake);
    shared_.options.log->debug("closing connection from {}: TLS handshake failed: {}", peer_.address,
                  t.failure());
    close();
    co_return false;
  }
  peer_.tls = true;
  peer_.tls_identity = t.peer_subject();
  touch();
  co_return true;
}

asio::awaitable<void> server_connection::wait_for_answer(std::string& carry) {
  using namespace boost::asio::experimental::awaitable_operators;
  // Meanwhile the connection is read (without feeding the session), so a peer that leaves is
  // seen and frees its slot; the bytes that arrive are kept, up to a bound.
  while (!resumed_ && !reading_stopped_ && !closed_) {
    if (peer_ended_ || carry.size() >= max_kept_while_waiting || last_read_) {
      co_await wait_until([this] { return resumed_ || reading_stopped_; });
      co_return;
    }
    boost::system::error_code ec;
    const auto first = co_await (wait_until([this] { return resumed_ || reading_stopped_; }) ||
                                 stream_->wait_readable(ec));
    if (first.index() == 0 || closed_) continue;  // answered (or stopped, or closed)
    std::string_view fresh;
    if (!co_await read_more(fresh)) continue;  // the peer ended: its slot is free now
    carry.append(fresh);
  }
}

asio::awaitable<void> server_connection::linger() {
  using namespace boost::asio::experimental::awaitable_operators;
  if (!close_after_flush_) co_return;  // the peer left (its calls may still answer) or closed
  // Until the answers are written (the close begins) the peer's bytes are read and dropped too.
  std::string& buffer = loop_.read_buffer();
  linger_timer_ = std::make_unique<asio::steady_timer>(stream_->get_executor());
  while (!closed_ && !peer_ended_) {
    // Re-armed by finish_close when the close begins while this waits.
    linger_timer_->expires_at(lingering_ ? linger_until_ : asio::steady_timer::time_point::max());
    boost::system::error_code ec;
    const auto first = co_await (stream_->wait_readable(ec) ||
                                 linger_timer_->async_wait(asio::as_tuple(asio::use_awaitable)));
    if (closed_) break;
    if (first.index() == 1) {
      if (lingering_ && std::chrono::steady_clock::now() >= linger_until_) close();
      continue;  // the close began meanwhile (the deadline was max): wait with it now
    }
    co_await stream_->read_some(asio::buffer(buffer), ec);  // readable: returns at once
    if (ec && !closed_) peer_ended();
  }
}

bool server_connection::may_read() const {
  const std::size_t own = unsent();
  if (own >= max_unsent_bytes) return false;
  return own == 0 || shared_.unsent_bytes.load(std::memory_order_relaxed) <
                         shared_.options.max_unsent_total_bytes;
}

asio::awaitable<void> server_connection::wait_for_room() {
  if (!signal_) signal_ = std::make_unique<asio::steady_timer>(stream_->get_executor());
  while (!may_read() && !closed_ && !reading_stopped_) {
    // Its own answers draining wake it (notify() from on_written); the server-wide total falls
    // as other loops' connections drain theirs, which is checked every few milliseconds.
    if (unsent() >= max_unsent_bytes) {
      signal_->expires_at(asio::steady_timer::time_point::max());
    } else {
      signal_->expires_after(std::chrono::milliseconds(20));
    }
    co_await signal_->async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

void server_connection::count_unsent() {
  const std::size_t now = unsent();
  if (now == counted_unsent_) return;
  if (now > counted_unsent_) {
    shared_.unsent_bytes.fetch_add(now - counted_unsent_, std::memory_order_relaxed);
  } else {
    shared_.unsent_bytes.fetch_sub(counted_unsent_ - now, std::memory_order_relaxed);
  }
  counted_unsent_ = now;
}

asio::awaitable<bool> server_connection::read_more(std::string_view& fresh) {
  if (!may_read()) co_await wait_for_room();  // backpressure on a client that does not read
  if (closed_ || reading_stopped_ || close_after_flush_) co_return false;
  if (last_read_ && !last_read_more()) {
    close_after_flush();
    co_return false;
  }
  boost::system::error_code ec;
  std::string& buffer = loop_.read_buffer();
  const std::size_t n = co_await stream_->read_some(asio::buffer(buffer), ec);
  if (ec) {
    if (!closed_) peer_ended();
    co_return false;
  }
  loop_.metrics.received_bytes.add(static_cast<std::int64_t>(n));
  if (last_read_) last_read_left_ -= std::min(last_read_left_, n);
  fresh = std::string_view(buffer.data(), n);
  co_return true;
}

template <class Ready>
asio::awaitable<void> server_connection::wait_until(Ready ready) {
  if (!signal_) signal_ = std::make_unique<asio::steady_timer>(stream_->get_executor());
  while (!ready() && !closed_) {
    signal_->expires_at(asio::steady_timer::time_point::max());
    co_await signal_->async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

void server_connection::notify() {
  if (signal_) signal_->cancel();
}

void server_connection::resume() {
  resumed_ = true;
  notify();
}

// ---- calls ------------------------------------------------------------------------------------

request& server_connection::next_request() { return loop_.staged_request(); }

void server_connection::dispatch(reply_tag tag) {
  call& c = loop_.take_staged();
  c.received = c.req.meta.arrival = std::chrono::steady_clock::now();
  c.req.meta.peer = &peer_;
  c.connection_ = this;
  c.tag_ = tag;
  loop_.metrics.count_call(c.req.meta.protocol);
  start_call(c);
  last_activity_ = c.req.meta.arrival;
  if (refusing_calls_) {
    // Behind a wrong token: answered, never run (SPEC §6).
    c.fail(make_fault(status_code::unauthenticated,
                      "unauthenticated: the connection is closing after a wrong token; the call "
                      "was not run"));
    c.finish();
    return;
  }
  shared_.handler.handle(c);
}

void server_connection::stop_taking_calls() {
  refusing_calls_ = true;
  reading_stopped_ = true;
  notify();  // a session waiting to be resumed takes no more bytes
}

void server_connection::start_call(call&) {
  ++calls_;
  loop_.call_started();
  loop_.metrics.calls_in_flight.add(1);
}

void server_connection::deliver(call& c) {
  if (c.answer.error) loop_.metrics.call_errors.add(1);
  if (shared_.options.on_answered) {
    const value id = c.answer.id;  // the session may move it
    const std::size_t before = pending_.size();
    session_->on_answer(c.answer, c.tag_);
    const std::size_t after = pending_.size();
    shared_.options.on_answered(c, id, after > before ? after - before : 0);
  } else {
    session_->on_answer(c.answer, c.tag_);
  }
  if (c.close_connection_) {
    c.close_connection_ = false;  // the call goes back to the pool
    close_after_answers_ = true;
  }
  if (feeding_) return;  // serve_bytes writes, and closes, once the session's feed returned
  flush();
  if (close_after_answers_) close_after_flush();
}

void server_connection::call_finished() {
  --calls_;
  loop_.metrics.calls_in_flight.add(-1);
  if (calls_ > 0) return;
  stop_finishing();
  if (peer_ended_) close_after_flush();
  if (self_) {
    auto last = std::move(self_);  // may end the connection, when this scope ends
  }
}

void server_connection::abandon_calls() {
  calls_ = 0;  // deleted with the loop: nothing will finish them
  auto last = std::move(self_);
}

std::string server_connection::metrics_text() {
  return shared_.metrics.render(shared_.loop_counters);
}

void server_connection::protocol_error() { loop_.metrics.protocol_errors.add(1); }

// ---- writing and closing ----------------------------------------------------------------------

void server_connection::flush() {
  if (closed_) {
    pending_.clear();
    count_unsent();
    return;
  }
  count_unsent();
  if (write_active_) return;
  if (pending_.empty()) {
    if (close_after_flush_) finish_close();
    return;
  }
  std::swap(pending_, writing_);
  write_active_ = true;
  loop_.metrics.sent_bytes.add(static_cast<std::int64_t>(writing_.size()));
  loop_.write_started();
  stream_->write(asio::buffer(writing_), {&on_written, this, shared_from_this()});
}

void server_connection::on_written(void* context, const boost::system::error_code& ec) {
  auto& c = *static_cast<server_connection*>(context);
  c.write_active_ = false;
  c.writing_.clear();
  if (c.writing_.capacity() > max_kept_write_buffer) std::string().swap(c.writing_);
  c.count_unsent();
  c.notify();  // a reader waiting for answers to drain
  if (ec) {
    c.close();
  } else {
    c.touch();
    c.flush();  // what was queued meanwhile starts before this write stops counting
  }
  c.loop_.write_finished();
}

void server_connection::close_after_flush() {
  close_after_flush_ = true;
  if (!write_active_) flush();
}

void server_connection::close_when_written() {
  // Requests already sent (unread, or read and waiting behind an answer just given) are taken
  // first: serve_bytes, which wakes for them, feeds them and then closes (begin_last_read).
  // Not before the protocol of a TLS-capable listener is known: a handshake may be under way.
  if (!reading_stopped_ && !close_after_flush_ && !peer_ended_ && !closed_ &&
      (session_ != nullptr || shared_.tls == nullptr) &&
      (resumed_ || stream_->input_pending())) {
    begin_last_read();
    return;
  }
  reading_stopped_ = true;
  notify();  // a session waiting to be resumed takes no more bytes
  close_after_flush();
}

void server_connection::begin_last_read() {
  if (last_read_) return;
  last_read_ = true;
  last_read_left_ = last_read_bytes;
}

bool server_connection::last_read_more() const {
  return last_read_left_ > 0 && stream_->input_pending();
}

void server_connection::finish_close() {
  if (closed_) return;
  if (peer_ended_) return close();  // nothing more will come: no reset to fear
  if (lingering_) return;
  // Nothing of ours on its way and nothing unread: closing now can cut nothing. (Asked before
  // the FIN, which itself counts as unacknowledged until the peer sees it.)
  const bool nothing_at_risk = !stream_->input_pending() && stream_->unacknowledged() == 0;
  stream_->shutdown_send();  // a FIN after the last answer
  if (nothing_at_risk) return close();
  // Answers still on their way, or the peer still sending: a byte arriving on a closed socket
  // would make the kernel reset the connection and drop what it has not delivered. Read and
  // drop the peer's bytes until it closes, for at most linger_time (linger()).
  lingering_ = true;
  linger_until_ = std::chrono::steady_clock::now() + linger_time;
  if (linger_timer_) linger_timer_->expires_at(linger_until_);  // wakes linger() to wait for it
}

void server_connection::close() {
  if (closed_) return;
  closed_ = true;
  if (protocol_index_ >= 0) {
    shared_.metrics.open(static_cast<std::size_t>(protocol_index_)).Decrement();
  }
  release_slot();
  stop_finishing();
  stream_->close();
  pending_.clear();
  count_unsent();  // what is being written is counted until its write ends
  notify();
  loop_.connection_closed();
}

void server_connection::peer_ended() {
  if (peer_ended_) return;
  peer_ended_ = true;
  // A peer that left must not hold a slot while its calls finish (their outcomes are still
  // stored for retries); one that only half-closed still reads the answers.
  release_slot();
  if (calls_ == 0) return close_after_flush();
  auto& finishing = shared_.metrics.connections_finishing;
  if (static_cast<std::size_t>(finishing.fetch_add(1, std::memory_order_relaxed)) >=
      shared_.options.max_connections) {
    finishing.fetch_sub(1, std::memory_order_relaxed);
    return close();  // over the bound: the answers are dropped, the calls still run
  }
  finishing_ = true;
}

void server_connection::stop_finishing() {
  if (!finishing_) return;
  finishing_ = false;
  shared_.metrics.connections_finishing.fetch_sub(1, std::memory_order_relaxed);
}

void server_connection::release_slot() {
  if (!slot_held_) return;
  slot_held_ = false;
  shared_.metrics.connections_active.fetch_sub(1, std::memory_order_relaxed);
}

bool server_connection::idle(std::chrono::steady_clock::time_point now) const {
  if (closed_) return false;
  if (lingering_) return now >= linger_until_;
  if (now - last_activity_ < shared_.options.idle_timeout) return false;
  return calls_ == 0;  // calls in flight keep it open (their answers are awaited)
}

}  // namespace netcall::detail

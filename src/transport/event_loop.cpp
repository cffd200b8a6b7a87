#include "transport/event_loop.hpp"

#include <boost/asio/post.hpp>
#include <algorithm>

#include "transport/call.hpp"
#include "transport/connection.hpp"

namespace netcall::detail {

namespace asio = boost::asio;

namespace {
/// Calls kept for reuse per loop; beyond, finished calls are freed (a burst does not pin memory).
constexpr std::size_t max_free_calls = 256;
/// A finished call's buffers larger than these are freed rather than kept for the next call.
constexpr std::size_t max_kept_chars = 4096;
constexpr std::size_t max_kept_params = 64;

bool is_scalar(const value& v) {
  const kind k = v.kind();
  return k != kind::string && k != kind::bytes && k != kind::array && k != kind::structure;
}

/// An array of at most max_kept_params scalars: cheap to keep for the next call's params.
bool small_scalars(const value& v) {
  if (!v.is_array()) return is_scalar(v);
  const array& a = v.as_array();
  if (a.capacity() > max_kept_params) return false;
  for (const value& e : a) {
    if (!is_scalar(e)) return false;
  }
  return true;
}
}  // namespace

bool loop_anchor::post(std::function<void()> fn) {
  std::lock_guard lock(mutex_);
  if (io_ == nullptr) return false;
  asio::post(*io_, std::move(fn));
  return true;
}

bool loop_anchor::in_loop_thread() {
  std::lock_guard lock(mutex_);
  return io_ != nullptr && io_->get_executor().running_in_this_thread();
}

void loop_anchor::detach() {
  std::lock_guard lock(mutex_);
  io_ = nullptr;
}

event_loop::event_loop() : anchor_(std::make_shared<loop_anchor>(io_)) {}

event_loop::~event_loop() {
  anchor_->detach();
  sweeper_.reset();
  // Calls still running when the server stopped: their answers are lost.
  while (live_calls_ != nullptr) {
    call* c = live_calls_;
    live_calls_ = c->next_;
    delete c;
  }
  while (free_calls_ != nullptr) {
    call* c = free_calls_;
    free_calls_ = c->next_;
    delete c;
  }
  // Connections kept alive for those calls let go of themselves, while the io_context exists.
  const std::vector<server_connection*> open = connections_;
  for (server_connection* c : open) c->abandon_calls();
}

call& event_loop::acquire() {
  call* c = free_calls_;
  if (c == nullptr) {
    c = new call();
  } else {
    free_calls_ = c->next_;
    --free_count_;
  }
  c->loop_ = this;
  c->prev_ = nullptr;
  c->next_ = live_calls_;
  if (live_calls_ != nullptr) live_calls_->prev_ = c;
  live_calls_ = c;
  return *c;
}

request& event_loop::staged_request() {
  if (staged_ == nullptr) staged_ = &acquire();
  return staged_->req;
}

call& event_loop::take_staged() {
  call* c = staged_ != nullptr ? staged_ : &acquire();
  staged_ = nullptr;
  return *c;
}

call& event_loop::acquire_detached(std::function<void(response&)> done) {
  call& c = acquire();
  c.done_ = std::move(done);
  c.req.meta.arrival = std::chrono::steady_clock::now();
  call_started();
  return c;
}

void event_loop::release(call& c) {
  if (c.prev_ != nullptr) {
    c.prev_->next_ = c.next_;
  } else {
    live_calls_ = c.next_;
  }
  if (c.next_ != nullptr) c.next_->prev_ = c.prev_;
  if (free_count_ >= max_free_calls) {
    delete &c;
    return;
  }
  // Keep the storage of small calls (the next decode reuses it and overwrites every field);
  // free what a large one grew, and what refers to others.
  c.connection_ = nullptr;
  if (c.done_) c.done_ = nullptr;
  c.child_ = false;
  c.close_connection_ = false;
  c.handler = nullptr;
  c.stage = 0;
  c.marks = 0;
  request& r = c.req;
  if (r.method.capacity() > max_kept_chars) std::string().swap(r.method);
  if (!small_scalars(r.params)) r.params = array{};
  if (!is_scalar(c.answer.result)) c.answer.result = value();
  if (c.answer.error) c.answer.error.reset();
  if (!is_scalar(c.answer.id)) c.answer.id = value();
  if (!is_scalar(r.id)) r.id = value();
  r.notification = false;
  call_metadata& m = r.meta;
  if (m.idempotency_key.capacity() > max_kept_chars || m.token.capacity() > max_kept_chars) {
    m = call_metadata{};
  } else {
    if (!m.idempotency_key.empty()) m.idempotency_key.clear();
    if (!m.token.empty()) m.token.clear();
    m.deadline = std::chrono::steady_clock::time_point::max();
    m.peer = nullptr;
    m.authenticated = false;  // never carried over to the next call
  }
  c.prev_ = nullptr;
  c.next_ = free_calls_;
  free_calls_ = &c;
  ++free_count_;
}

std::string& event_loop::read_buffer() {
  if (read_buffer_.size() != read_chunk_bytes) read_buffer_.resize(read_chunk_bytes);
  return read_buffer_;
}

void event_loop::call_started() {
  ++calls_;
  became_busy();
}

void event_loop::call_finished() {
  --calls_;
  if (calls_ == 0 && drain_ != nullptr) schedule_check();
}

void event_loop::write_started() {
  ++writes_;
  became_busy();
}

void event_loop::write_finished() {
  --writes_;
  if (writes_ == 0 && drain_ != nullptr) schedule_check();
}

void event_loop::became_busy() {
  if (drain_ == nullptr || counted_busy_ || closing_) return;
  std::lock_guard lock(drain_->mutex);
  ++drain_->busy;
  counted_busy_ = true;
}

void event_loop::add(server_connection& c) {
  c.loop_index = connections_.size();
  connections_.push_back(&c);
}

void event_loop::remove(server_connection& c) {
  const std::size_t i = c.loop_index;
  if (i >= connections_.size() || connections_[i] != &c) return;
  connections_[i] = connections_.back();
  connections_[i]->loop_index = i;
  connections_.pop_back();
  if (closing_) schedule_check();  // the end of a drain waits for every connection
}

void event_loop::drain(drain_state& s) {
  drain_ = &s;
  counted_busy_ = true;  // the transport counted every loop busy to begin with
  schedule_check();
}

void event_loop::close_all(drain_state& s) {
  drain_ = &s;
  closing_ = true;
  counted_closing_ = true;  // the transport counted every loop closing to begin with
  // Closing may end connections: close a copy of the list.
  const std::vector<server_connection*> open = connections_;
  for (server_connection* c : open) c->close_when_written();
  schedule_check();
}

void event_loop::schedule_check() {
  // After the current event: a handler that queued answers has started writing them by then.
  if (check_scheduled_) return;
  check_scheduled_ = true;
  asio::post(io_, [this] {
    check_scheduled_ = false;
    check_drained();
  });
}

void event_loop::check_drained() {
  if (drain_ == nullptr) return;
  // Notified under the lock: the waiter may destroy the state as soon as it sees the change.
  std::lock_guard lock(drain_->mutex);
  if (counted_busy_ && calls_ == 0 && writes_ == 0) {
    counted_busy_ = false;
    --drain_->busy;
    drain_->changed.notify_all();
  }
  if (counted_closing_ && writes_ == 0 &&
      std::all_of(connections_.begin(), connections_.end(),
                  [](const server_connection* c) { return c->closed(); })) {
    counted_closing_ = false;
    --drain_->closing;
    drain_->changed.notify_all();
  }
}

void event_loop::start_idle_sweep(std::chrono::milliseconds idle_timeout) {
  idle_timeout_ = idle_timeout;
  sweeper_ = std::make_unique<asio::steady_timer>(io_);
  sweep();
}

void event_loop::sweep() {
  const auto now = std::chrono::steady_clock::now();
  const std::vector<server_connection*> open = connections_;
  for (server_connection* c : open) {
    if (c->idle(now)) c->close();
  }
  auto period = std::clamp(idle_timeout_ / 10, std::chrono::milliseconds(10),
                           std::chrono::milliseconds(1000));
  sweeper_->expires_after(period);
  sweeper_->async_wait([this](const boost::system::error_code& ec) {
    if (!ec) sweep();
  });
}

}  // namespace netcall::detail

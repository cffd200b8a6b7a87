#include "transport/call.hpp"

#include "transport/connection.hpp"
#include "transport/event_loop.hpp"

namespace netcall::detail {

void call::finish() {
  answer.id = std::move(req.id);
  server_connection* conn = connection_;
  if (done_) {
    done_(answer);
  } else {
    conn->deliver(*this);
  }
  if (conn != nullptr) conn->call_finished();
  loop_->call_finished();
  loop_->release(*this);  // may end the connection: it was the last call of a peer that left
}

boost::asio::any_io_executor call::executor() const { return loop_->io().get_executor(); }

const std::shared_ptr<loop_anchor>& call::anchor() const { return loop_->anchor(); }

bool call::on_loop_thread() const { return loop_->io().get_executor().running_in_this_thread(); }

void call::close_connection_after_answer() {
  close_connection_ = true;
  if (connection_) connection_->stop_taking_calls();
}

void call::authenticate_connection() {
  if (connection_) connection_->peer_.authenticated = true;
}

std::size_t call::calls_on_connection() const {
  return connection_ ? connection_->calls_ : 1;
}

call& call::make_child(std::function<void(response&)> done) {
  call& child = connection_ ? loop_->acquire() : loop_->acquire_detached(std::move(done));
  child.req.id = value();
  child.req.notification = false;
  child.req.meta = req.meta;
  child.req.meta.idempotency_key.clear();
  child.received = std::chrono::steady_clock::now();
  child.child_ = true;
  if (connection_) {
    child.connection_ = connection_;
    child.done_ = std::move(done);
    connection_->start_call(child);
  }
  return child;
}

}  // namespace netcall::detail

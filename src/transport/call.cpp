#include "transport/call.hpp"

#include "transport/connection.hpp"
#include "transport/event_loop.hpp"

namespace netcall::detail {

void call::finish() {
  answer.id = std::move(req.id);
  server_connection& conn = *connection_;
  if (child_done_) {
    child_done_(answer);
  } else {
    conn.deliver(*this);
  }
  conn.call_finished();
  loop_->call_finished();
  loop_->release(*this);  // may end the connection: it was the last call of a peer that left
}

boost::asio::any_io_executor call::executor() const { return loop_->io().get_executor(); }

const std::shared_ptr<loop_anchor>& call::anchor() const { return loop_->anchor(); }

bool call::on_loop_thread() const { return loop_->io().get_executor().running_in_this_thread(); }

std::size_t call::calls_on_connection() const { return connection_->calls_; }

call& call::make_child(std::function<void(response&)> done) {
  call& child = loop_->acquire();
  child.req.meta = req.meta;
  child.req.meta.idempotency_key.clear();
  child.connection_ = connection_;
  child.child_done_ = std::move(done);
  connection_->start_call(child);
  return child;
}

}  // namespace netcall::detail

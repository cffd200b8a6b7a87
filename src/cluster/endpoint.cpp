#include "cluster/endpoint.hpp"

#include <algorithm>

#include "common/duration.hpp"
#include "common/endpoint.hpp"

namespace netcall::detail {

endpoint::endpoint(boost::asio::io_context& io, node_info node, const channel_options& options,
                   const client_protocol& protocol)
    : node_(std::move(node)),
      options_(options),
      protocol_(protocol),
      probe_options_(options.client),
      check_timer_(io) {
  const auto resolved = parse_endpoint(node_.address);
  const unsigned n = std::max(1u, options.client.connections);
  for (unsigned i = 0; i < n; ++i) {
    connections_.push_back(
        std::make_shared<connection>(io, resolved, node_.address, options_.client, protocol_));
  }
  probe_options_.timeout = options.health_check_timeout;
  probe_ = std::make_shared<connection>(io, resolved, node_.address, probe_options_, protocol_);
}

void endpoint::submit(attempt a) {
  if (closed_) {
    // The node left (or the channel is closing): nothing is sent.
    if (a.done) a.done({value(), error(status_code::unavailable, "node " + node_.name + " left")},
                       attempt_end::not_sent);
    return;
  }
  connection* best = connections_.front().get();
  for (auto& c : connections_) {
    if (c->outstanding() < best->outstanding()) best = c.get();
  }
  ++outstanding_;
  auto done = std::move(a.done);
  a.done = [self = shared_from_this(), done = std::move(done)](outcome o, attempt_end how) {
    --self->outstanding_;
    done(std::move(o), how);
  };
  best->submit(std::move(a));
}

void endpoint::on_success() {
  failures_ = 0;
  if (ejected_) {
    // An answer on a connection opened before the ejection: alive after all.
    ejected_ = false;
    check_timer_.cancel();
  }
}

void endpoint::on_failure() {
  ++failures_;
  if (ejected_ || closed_) return;  // the pending health check decides
  ejected_ = true;
  schedule_check();
}

void endpoint::schedule_check() {
  // base * 2^(failures-1), capped.
  auto wait = options_.base_ejection;
  for (std::uint64_t i = 1; i < failures_ && wait < options_.max_ejection; ++i) wait *= 2;
  wait = std::min(wait, options_.max_ejection);
  check_timer_.expires_after(wait);
  check_timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    if (!ec && !self->closed_) self->check();
  });
}

void endpoint::check() {
  auto req = std::make_shared<request>();
  req->method = "system.listMethods";
  req->params = value(array{});
  const std::uint64_t sequence = probe_sequence_++;
  protocol_.prepare(*req, static_cast<std::uint32_t>(sequence));
  probe_->submit(attempt{std::move(req), sequence, deadline_after(options_.health_check_timeout),
                         [self = shared_from_this()](outcome o, attempt_end how) {
                           if (self->closed_ || !self->ejected_) return;
                           if (how == attempt_end::answered && !o.failure) {
                             self->ejected_ = false;
                             self->failures_ = 0;
                             return;
                           }
                           ++self->failures_;
                           self->schedule_check();
                         }});
}

void endpoint::shutdown(const error& why) {
  closed_ = true;
  check_timer_.cancel();
  for (auto& c : connections_) c->shutdown(why);
  probe_->shutdown(why);
}

}  // namespace netcall::detail

#include "netcall/server.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <condition_variable>
#include <mutex>

#include "server/server_pipeline.hpp"
#include "transport/transport.hpp"

namespace netcall {

namespace {

detail::transport_options transport_options_of(const server_options& o) {
  detail::transport_options t;
  t.threads = o.threads;
  t.max_connections = o.max_connections;
  // Compared with clock differences: kept within the range any DURATION flag has.
  t.idle_timeout = std::clamp(o.idle_timeout, std::chrono::milliseconds(1), max_duration);
  t.limits.max_depth = o.max_depth;
  t.limits.max_batch = o.max_batch;
  t.limits.max_message_bytes = o.max_message_bytes;
  return t;
}

}  // namespace

struct server::impl {
  explicit impl(server_options o) : options(std::move(o)), pipeline(options, procedures) {}

  server_options options;
  registry procedures;
  detail::server_pipeline pipeline;

  std::mutex mutex;
  std::condition_variable stop_requested_cv;
  bool stop_requested = false;

  // Last: destroyed first, with the calls still running on its loops, while everything they
  // refer to above still exists.
  std::unique_ptr<detail::transport> transport;
};

server::server(server_options options) : impl_(std::make_unique<impl>(std::move(options))) {}

server::~server() {
  impl_->pipeline.stopping() = true;
  impl_->transport.reset();
}

registry& server::procedures() { return impl_->procedures; }

void server::listen(std::string host_port) { impl_->options.listen.push_back(std::move(host_port)); }

std::vector<std::string> server::start() {
  if (impl_->transport) throw std::logic_error("server already started");
  if (impl_->options.listen.empty()) impl_->options.listen.push_back("127.0.0.1:8000");
  impl_->transport = std::make_unique<detail::transport>(transport_options_of(impl_->options),
                                                         impl_->pipeline.calls());
  // Signals are watched on the first event loop, so SIGINT/SIGTERM never interrupt a procedure.
  impl_->transport->watch_signals([this](int signo) {
    spdlog::info("signal {}: shutting down", signo);
    stop();
  });
  auto bound = impl_->transport->start(impl_->options.listen);
  impl_->pipeline.node().started(bound);
  return bound;
}

void server::run() {
  if (!impl_->transport) start();
  {
    std::unique_lock lock(impl_->mutex);
    impl_->stop_requested_cv.wait(lock, [this] { return impl_->stop_requested; });
  }
  impl_->pipeline.stopping() = true;  // calls that arrive from now on are refused with -32002
  impl_->pipeline.node().stopping();   // leave the registry first: clients stop choosing us
  impl_->transport->stop(impl_->options.shutdown_grace);
}

void server::stop() {
  std::lock_guard lock(impl_->mutex);
  impl_->stop_requested = true;
  impl_->stop_requested_cv.notify_all();
}

}  // namespace netcall

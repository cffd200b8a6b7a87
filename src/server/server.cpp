#include "netcall/server.hpp"

#include <spdlog/spdlog.h>

#include <condition_variable>
#include <csignal>
#include <mutex>

#include "server/dispatcher.hpp"
#include "transport/transport.hpp"

namespace netcall {

struct server::impl {
  explicit impl(server_options o) : options(std::move(o)) {}

  server_options options;
  registry procedures;
  std::unique_ptr<detail::dispatcher> dispatcher;
  std::unique_ptr<detail::transport> transport;

  std::mutex mutex;
  std::condition_variable stop_requested_cv;
  bool stop_requested = false;
};

server::server(server_options options) : impl_(std::make_unique<impl>(std::move(options))) {}

server::~server() {
  if (impl_->transport) impl_->transport->shutdown(std::chrono::milliseconds(0));
}

registry& server::procedures() { return impl_->procedures; }

void server::listen(std::string host_port) { impl_->options.listen.push_back(std::move(host_port)); }

std::vector<std::string> server::start() {
  if (impl_->transport) throw std::logic_error("server already started");
  if (impl_->options.listen.empty()) impl_->options.listen.push_back("127.0.0.1:8000");
  impl_->dispatcher = std::make_unique<detail::dispatcher>(
      impl_->procedures, impl_->options.response_delay,
      std::make_shared<detail::outcome_cache>(impl_->options.dedup_ttl,
                                              impl_->options.dedup_max_bytes));
  impl_->transport = std::make_unique<detail::transport>(impl_->options, *impl_->dispatcher);
  // Signals are watched on the first event loop, so SIGINT/SIGTERM never interrupt a procedure.
  impl_->transport->watch_signals([this](int signo) {
    spdlog::info("signal {}: shutting down", signo);
    stop();
  });
  return impl_->transport->start(impl_->options.listen);
}

void server::run() {
  if (!impl_->transport) start();
  {
    std::unique_lock lock(impl_->mutex);
    impl_->stop_requested_cv.wait(lock, [this] { return impl_->stop_requested; });
  }
  impl_->transport->shutdown(impl_->options.shutdown_grace);
}

void server::stop() {
  std::lock_guard lock(impl_->mutex);
  impl_->stop_requested = true;
  impl_->stop_requested_cv.notify_all();
}

}  // namespace netcall

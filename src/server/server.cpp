#include "netcall/server.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <condition_variable>
#include <mutex>

#include "server/cluster_node.hpp"
#include "server/server_pipeline.hpp"
#include "transport/tls_stream.hpp"
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

/// The tokens of `o`: `--token`s and the token file's (SPEC §6); null when there are none.
std::shared_ptr<const detail::token_set> tokens_of(const server_options& o) {
  std::vector<std::string> all = o.tokens;
  if (!o.token_file.empty()) {
    auto from_file = detail::token_set::read_file(o.token_file);
    all.insert(all.end(), from_file.begin(), from_file.end());
  }
  if (all.empty()) return nullptr;
  return std::make_shared<const detail::token_set>(std::move(all));
}

detail::access_policy& configure(detail::access_policy& access, const server_options& o) {
  access.set_tokens(tokens_of(o));
  access.allowed_origins = o.allow_origins;
  access.allowed_hosts = o.allow_hosts;
  return access;
}

std::unique_ptr<detail::tls_settings> tls_of(const server_options& o) {
  if (o.tls_cert_file.empty() != o.tls_key_file.empty()) {
    throw std::invalid_argument("--tls-cert and --tls-key go together");
  }
  if (o.tls_cert_file.empty()) {
    if (o.tls_only) throw std::invalid_argument("--tls-only needs --tls-cert and --tls-key");
    if (!o.tls_client_ca_file.empty()) {
      throw std::invalid_argument("--tls-client-ca needs --tls-cert and --tls-key");
    }
    return nullptr;
  }
  auto tls = std::make_unique<detail::tls_settings>();
  tls->replace(detail::make_server_tls_context(o.tls_cert_file, o.tls_key_file,
                                               o.tls_client_ca_file));
  // Client certificates are required of every client: a plain connection has none.
  tls->tls_only = o.tls_only || !o.tls_client_ca_file.empty();
  return tls;
}

/// SPEC §6: listening where others can reach the port without a token (or without TLS) is
/// said once, at start, naming the risk.
void warn_about_exposure(const std::vector<std::string>& bound, const server_options& o,
                         bool tokens) {
  for (const auto& address : bound) {
    if (detail::is_loopback_peer(address)) continue;
    if (!tokens) {
      spdlog::warn("listening on {} without a token: anyone who can reach this address can call "
                   "every procedure (give --token-file; docs/security.md)",
                   address);
    }
    if (o.tls_cert_file.empty()) {
      spdlog::warn("listening on {} without TLS: calls{} cross the network in clear text (give "
                   "--tls-cert and --tls-key; docs/security.md)",
                   address, tokens ? " and tokens" : "");
    }
  }
}

}  // namespace

struct server::impl {
  explicit impl(server_options o)
      : options(std::move(o)),
        tls(tls_of(options)),
        pipeline(options, procedures, configure(access, options)) {}

  server_options options;
  registry procedures;
  detail::access_policy access;
  std::unique_ptr<detail::tls_settings> tls;
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
  impl_->access.set_listen_addresses(impl_->options.listen);
  impl_->transport = std::make_unique<detail::transport>(
      transport_options_of(impl_->options), impl_->pipeline.calls(), impl_->access,
      impl_->tls.get());
  // Signals are watched on the first event loop, so SIGINT/SIGTERM never interrupt a procedure.
  impl_->transport->watch_signals(
      [this](int signo) {
        spdlog::info("signal {}: shutting down", signo);
        stop();
      },
      [this] {
        try {
          reload();
          const bool tokens = !impl_->options.token_file.empty();
          const bool tls = impl_->tls != nullptr;
          spdlog::info("SIGHUP: reloaded{}{}{}{}", tokens ? " tokens" : "",
                       tokens && tls ? " and" : "", tls ? " TLS certificate and key" : "",
                       tokens || tls ? "" : " nothing (no token file, no certificate)");
        } catch (const std::exception& e) {
          spdlog::error("SIGHUP: reload failed, keeping what was loaded: {}", e.what());
        }
      });
  auto bound = impl_->transport->start(impl_->options.listen);
  warn_about_exposure(bound, impl_->options, impl_->access.tokens_required());
  impl_->pipeline.node().started(bound);
  return bound;
}

void server::reload() {
  // Everything is read before anything is replaced: a failure changes nothing.
  std::shared_ptr<const detail::token_set> tokens;
  if (!impl_->options.token_file.empty()) tokens = tokens_of(impl_->options);
  detail::tls_context context;
  if (impl_->tls) {
    context = detail::make_server_tls_context(impl_->options.tls_cert_file,
                                              impl_->options.tls_key_file,
                                              impl_->options.tls_client_ca_file);
  }
  if (tokens) impl_->access.set_tokens(std::move(tokens));
  if (context) impl_->tls->replace(std::move(context));
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

#include "netcall/server.hpp"

#include <spdlog/logger.h>

#include <algorithm>
#include <condition_variable>
#include <mutex>

#include "common/log.hpp"
#include "server/cluster_node.hpp"
#include "value/json.hpp"
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
  t.limits.max_decoded_ratio = o.max_decoded_ratio;
  t.max_unsent_total_bytes = o.max_unsent_bytes;
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
void warn_about_exposure(spdlog::logger& log, const std::vector<std::string>& bound,
                         const server_options& o, bool tokens) {
  for (const auto& address : bound) {
    if (detail::is_loopback_peer(address)) continue;
    if (!tokens) {
      log.warn("listening on {} without a token: anyone who can reach this address can call "
               "every procedure (give --token-file; docs/security.md)",
               address);
    }
    if (o.tls_cert_file.empty()) {
      log.warn("listening on {} without TLS: calls{} cross the network in clear text (give "
               "--tls-cert and --tls-key; docs/security.md)",
               address, tokens ? " and tokens" : "");
    }
  }
}

/// A request id in JSON form for the access log ("" for protocols without ids).
std::string id_text(const call_metadata& meta, const value& id) {
  if (meta.protocol == detail::protocol_names::xmlrpc ||
      meta.protocol == detail::protocol_names::json_array) {
    return {};
  }
  std::string out;
  if (id.is_string() || id.is_number() || id.is_bytes()) {
    detail::json::write_id(id, out);  // bytes: a JSON-RPC number id's own text
  } else {
    out = "null";
  }
  return out;
}

/// The transport's hook that makes access records (SPEC §7 `--access-log`).
auto access_logger(std::function<void(const access_record&)> sink) {
  return [sink = std::move(sink)](const detail::call& c, const value& id, std::size_t bytes_out) {
    const auto now = std::chrono::steady_clock::now();
    access_record r;
    r.time = std::chrono::time_point_cast<std::chrono::system_clock::duration>(
        std::chrono::system_clock::now() - (now - c.received));
    r.peer = c.req.meta.peer != nullptr ? std::string_view(c.req.meta.peer->address) : "";
    r.protocol = c.req.meta.protocol;
    r.method = c.req.method;
    r.request_id = id_text(c.req.meta, id);
    r.code = c.answer.error ? c.answer.error->code : 0;
    r.duration = std::chrono::duration_cast<std::chrono::microseconds>(now - c.received);
    r.bytes_in = c.req.meta.message_bytes;
    r.bytes_out = bytes_out;
    r.notification = c.req.notification;
    sink(r);
  };
}

}  // namespace

/// What a started server runs: made by `start` from the options then in force.
struct running_server {
  running_server(const server_options& options, registry& procedures,
                 const std::shared_ptr<prometheus::Registry>& metrics, detail::logger_ptr log)
      : tls(tls_of(options)),
        pipeline(options, procedures, configure(access, options), *metrics, log) {}

  detail::access_policy access;
  std::unique_ptr<detail::tls_settings> tls;
  detail::server_pipeline pipeline;
  // Last: destroyed first, with the calls still running on its loops, while everything they
  // refer to above still exists.
  std::unique_ptr<detail::transport> transport;
};

struct server::impl {
  explicit impl(server_options o) : options(std::move(o)) {}

  server_options options;
  registry procedures;
  detail::logger_ptr log;
  std::shared_ptr<prometheus::Registry> metrics = std::make_shared<prometheus::Registry>();

  std::mutex mutex;
  std::condition_variable stop_requested_cv;
  bool stop_requested = false;
  bool shut_down = false;
  bool signals_watched = false;

  std::unique_ptr<running_server> running;
};

server::server(server_options options) : impl_(std::make_unique<impl>(std::move(options))) {}

server::~server() {
  if (!impl_->running) return;
  impl_->running->pipeline.stopping() = true;
  impl_->running->pipeline.blocking().stop();  // queued blocking calls dropped, running ones joined
  impl_->running->transport.reset();
}

registry& server::procedures() { return impl_->procedures; }

server_options& server::options() { return impl_->options; }

void server::listen(std::string host_port) { impl_->options.listen.push_back(std::move(host_port)); }

std::vector<std::string> server::start() {
  if (impl_->running) throw std::logic_error("server already started");
  auto& o = impl_->options;
  if (o.listen.empty()) o.listen.push_back("127.0.0.1:8000");
  impl_->log = detail::make_logger("netcall", o.log, o.log_level);
  auto running = std::make_unique<running_server>(o, impl_->procedures, impl_->metrics, impl_->log);
  running->access.set_listen_addresses(o.listen);
  auto t = transport_options_of(o);
  t.registry = impl_->metrics;
  t.log = impl_->log;
  if (o.access_log) t.on_answered = access_logger(o.access_log);
  running->transport = std::make_unique<detail::transport>(
      std::move(t), running->pipeline.calls(), running->access, running->tls.get());
  running->transport->metrics().add_gauge(
      "netcall_dedup_bytes", "Approximate size of the outcomes kept for retries (bytes).",
      [cache = &running->pipeline.cache()] { return static_cast<double>(cache->bytes()); });
  running->transport->metrics().add_gauge(
      "netcall_unsent_bytes",
      "Answers waiting to be written, all connections together (bytes; bounded by "
      "--max-unsent-bytes).",
      [t = running->transport.get()] { return static_cast<double>(t->unsent_bytes()); });
  running->transport->metrics().add_gauge(
      "netcall_blocking_calls",
      "Jobs on the blocking pool, running or queued: blocking procedures' calls and run_blocking "
      "jobs (at most --blocking-threads + --max-blocking-queue).",
      [pool = &running->pipeline.blocking()] { return static_cast<double>(pool->admitted()); });
  auto bound = running->transport->start(o.listen);
  warn_about_exposure(*impl_->log, bound, o, running->access.tokens_required());
  running->pipeline.node().started(bound);
  impl_->running = std::move(running);
  return bound;
}

void server::reload() {
  if (!impl_->running) throw std::logic_error("reload before start");
  auto& r = *impl_->running;
  const auto& o = impl_->options;
  // Everything is read before anything is replaced: a failure changes nothing.
  std::shared_ptr<const detail::token_set> tokens;
  if (!o.token_file.empty()) tokens = tokens_of(o);
  detail::tls_context context;
  if (r.tls) {
    context = detail::make_server_tls_context(o.tls_cert_file, o.tls_key_file,
                                              o.tls_client_ca_file);
  }
  if (tokens) r.access.set_tokens(std::move(tokens));
  if (context) r.tls->replace(std::move(context));
}

void server::run(bool handle_signals) {
  if (!impl_->running) start();
  if (handle_signals) watch_signals();
  {
    std::unique_lock lock(impl_->mutex);
    impl_->stop_requested_cv.wait(lock, [this] { return impl_->stop_requested; });
  }
  shutdown();
}

void server::watch_signals() {
  if (!impl_->running) throw std::logic_error("watch_signals before start");
  {
    std::lock_guard lock(impl_->mutex);
    if (impl_->signals_watched) return;
    impl_->signals_watched = true;
  }
  // Watched on the first event loop, so SIGINT/SIGTERM never interrupt a procedure, until
  // the transport stops.
  impl_->running->transport->watch_signals(
        [this](int signo) {
          impl_->log->info("signal {}: shutting down", signo);
          stop();
        },
        [this] {
          try {
            reload();
            const bool tokens = !impl_->options.token_file.empty();
            const bool tls = impl_->running->tls != nullptr;
            impl_->log->info("SIGHUP: reloaded{}{}{}{}", tokens ? " tokens" : "",
                             tokens && tls ? " and" : "", tls ? " TLS certificate and key" : "",
                             tokens || tls ? "" : " nothing (no token file, no certificate)");
          } catch (const std::exception& e) {
            impl_->log->error("SIGHUP: reload failed, keeping what was loaded: {}", e.what());
          }
        });
}

void server::shutdown() {
  {
    std::lock_guard lock(impl_->mutex);
    if (impl_->shut_down || !impl_->running) return;
    impl_->shut_down = true;
  }
  if (impl_->options.on_shutdown) impl_->options.on_shutdown();
  auto& r = *impl_->running;
  r.pipeline.stopping() = true;  // calls that arrive from now on are refused with -32002
  r.pipeline.node().stopping();  // leave the registry first: clients stop choosing us
  r.transport->stop(impl_->options.shutdown_grace);
  // Blocking calls still queued after the grace are dropped unrun; running ones are waited for
  // (a thread cannot be interrupted), so the procedures' state outlives them.
  r.pipeline.blocking().stop();
}

void server::stop() {
  std::lock_guard lock(impl_->mutex);
  impl_->stop_requested = true;
  impl_->stop_requested_cv.notify_all();
}

}  // namespace netcall

// netcalld: the netcall server daemon (SPEC §2).
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <malloc.h>

#include <CLI/CLI.hpp>
#include <condition_variable>
#include <cstdio>
#include <memory>
#include <mutex>
#include <thread>
#include <iostream>
#include <sstream>

#include "modules.hpp"
#include "netcall/cluster.hpp"
#include "netcall/server.hpp"

namespace {

constexpr int exit_usage = 2;

// A DURATION flag ("250ms", "2s", "1m"); a malformed one is a usage error.
CLI::Option* add_duration(CLI::App& app, const std::string& name, std::chrono::milliseconds& out,
                          const std::string& help) {
  return app
      .add_option_function<std::string>(
          name,
          [name, &out](const std::string& text) {
            auto d = netcall::parse_duration(text);
            if (!d) {
              throw CLI::ValidationError(name, "'" + text +
                                                   "' is not a DURATION (a number with a unit: "
                                                   "250ms, 2s, 1m; at most 525600m, 365 days)");
            }
            out = *d;
          },
          help)
      ->type_name("DURATION");
}

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

}  // namespace

// Gives memory freed after bursts (large messages, connection storms) back to the system.
// glibc otherwise keeps it: its mmap threshold rises after a large free, and freed heap stays in
// each thread's arena. Fixing the threshold sends buffers of 128 KiB and more to mmap (returned
// at once on free); a trim every few seconds returns what the arenas hold.
class memory_returner {
 public:
  memory_returner() {
    mallopt(M_MMAP_THRESHOLD, 128 * 1024);
    thread_ = std::thread([this] {
      std::unique_lock lock(mutex_);
      while (!cv_.wait_for(lock, std::chrono::seconds(3), [this] { return stop_; })) {
        malloc_trim(0);
      }
    });
  }
  ~memory_returner() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

int main(int argc, char** argv) {
  netcall::server_options options;
  std::string name;
  std::string cluster_file;
  std::chrono::milliseconds registry_ttl{10'000};
  std::string modules = "all";
  std::string log_level = "info";
  std::int64_t threads = 0;

  CLI::App app{
      "netcalld: a netcall RPC server. Every --listen port speaks JSON-RPC 2.0 (raw TCP and HTTP\n"
      "POST), XML-RPC (HTTP POST /RPC2) and MessagePack-RPC (raw TCP); the first bytes of a\n"
      "connection pick the protocol.\n"
      "Prints 'netcalld listening on HOST:PORT' per listener once ready; logs go to stderr.",
      "netcalld"};
  app.add_option("--listen", options.listen,
                 "Address to listen on, HOST:PORT (repeatable; port 0 picks a free port) "
                 "[default: 127.0.0.1:8000]")
      ->type_name("HOST:PORT");
  app.add_option("--name", name,
                 "This node's name in its cluster (and in logs); without one, the first "
                 "`netcall cluster apply` names it");
  app.add_option("--cluster", cluster_file,
                 "Cluster file (YAML): apply its placement at start, as `netcall cluster apply` "
                 "would (needs --name)")
      ->type_name("FILE");
  app.add_flag("--gateway", options.gateway,
               "Forward calls for methods other nodes serve (needs --cluster or --registry)");
  app.add_option("--registry", options.registry_url,
                 "etcd registry, etcd://HOST:PORT: register this node (needs --name), follow "
                 "the placement stored there")
      ->type_name("URL");
  add_duration(app, "--registry-ttl", registry_ttl,
               "Lease of the registry record: a dead node is gone after this long "
               "[default: 10s]");
  app.add_option("--threads", threads, "Event-loop threads; 0 = one per core")
      ->check(CLI::Range(0, 1024))
      ->capture_default_str();
  app.add_option("--modules", modules,
                 "Comma-separated built-in modules to serve: math,text,demo or all "
                 "(system.* introspection is always served)")
      ->capture_default_str();
  add_duration(app, "--delay", options.response_delay,
               "Delay every answer by this long after the call arrives (demonstrates client "
               "timeouts); never blocks a thread [default: 0ms]");
  app.add_option("--max-message-bytes", options.max_message_bytes,
                 "Largest request accepted, in bytes (a JSON text or an HTTP body)")
      ->check(CLI::Range(std::size_t{64}, std::size_t{1} << 32))
      ->capture_default_str();
  app.add_option("--max-depth", options.max_depth,
                 "Deepest nesting of arrays/structs accepted in a message (deeper: parse error)")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1000}))
      ->capture_default_str();
  app.add_option("--max-batch", options.max_batch,
                 "Most calls in one JSON-RPC batch (longer: invalid request)")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1'000'000}))
      ->capture_default_str();
  app.add_option("--max-in-flight", options.max_in_flight_per_connection,
                 "Most calls running at once on one connection (more: error -32001, not run)")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1'000'000}))
      ->capture_default_str();
  add_duration(app, "--dedup-ttl", options.dedup_ttl,
               "How long a call's outcome is kept for retries with the same idempotency key "
               "[default: 5m]");
  app.add_option("--dedup-max-bytes", options.dedup_max_bytes,
                 "Memory bound of the kept outcomes, in bytes (oldest dropped first)")
      ->check(CLI::Range(std::size_t{0}, std::size_t{1} << 40))
      ->capture_default_str();
  app.add_option("--max-connections", options.max_connections,
                 "Most simultaneous connections; further ones are closed at once")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1'000'000}))
      ->capture_default_str();
  add_duration(app, "--idle-timeout", options.idle_timeout,
               "Close a connection with no complete request and nothing in flight for this long "
               "[default: 60s]");
  add_duration(app, "--shutdown-grace", options.shutdown_grace,
               "On SIGINT/SIGTERM, how long calls in flight may still finish [default: 5s]");
  // Security (SPEC §6, docs/security.md).
  std::string token;
  auto* token_opt = app.add_option("--token", token,
                                   "Every call must carry this token (HTTP Authorization: Bearer; "
                                   "raw TCP: system.authenticate). Prefer --token-file: a command "
                                   "line is visible to other users");
  auto* token_file_opt =
      app.add_option("--token-file", options.token_file,
                     "File of accepted tokens, one a line (reread on SIGHUP: rotation)")
          ->type_name("FILE");
  token_opt->excludes(token_file_opt);
  app.add_option("--tls-cert", options.tls_cert_file,
                 "PEM certificate chain: every listener also accepts TLS (needs --tls-key; "
                 "reread on SIGHUP)")
      ->type_name("FILE");
  app.add_option("--tls-key", options.tls_key_file, "PEM private key of --tls-cert")
      ->type_name("FILE");
  app.add_flag("--tls-only", options.tls_only, "Refuse connections that do not start with TLS");
  app.add_option("--tls-client-ca", options.tls_client_ca_file,
                 "Require client certificates signed by this CA (PEM); implies --tls-only")
      ->type_name("FILE");
  app.add_option("--allow-origin", options.allow_origins,
                 "A web origin (https://app.example.com) whose browser requests are answered, "
                 "with CORS headers (repeatable; * for any). Others with an Origin get 403")
      ->type_name("ORIGIN");
  app.add_option("--allow-host", options.allow_hosts,
                 "A name HTTP requests may give in Host besides the listen addresses and "
                 "localhost (repeatable; * for any). Others get 403 (DNS rebinding)")
      ->type_name("HOST");
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error or off")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}))
      ->capture_default_str();

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "netcalld: %s (see netcalld --help)\n", e.what());
    return exit_usage;
  }

  auto logger = spdlog::stderr_logger_mt("netcalld");
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ [" + (name.empty() ? "netcalld" : name) +
                      "] %v");
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(log_level));

  options.threads = static_cast<unsigned>(threads);
  if (options.idle_timeout.count() == 0) {
    std::fprintf(stderr, "netcalld: --idle-timeout must be greater than 0\n");
    return exit_usage;
  }
  std::vector<std::string> chosen = split_list(modules);
  if (chosen.size() == 1 && chosen[0] == "all") chosen = netcalld::module_names();
  if (chosen.empty()) {
    std::fprintf(stderr, "netcalld: --modules is empty (choose from math,text,demo or all)\n");
    return exit_usage;
  }

  options.name = name;
  if (app.count("--token") > 0) options.tokens.push_back(token);
  for (const char* flag : {"--registry", "--cluster", "--name"}) {
    if (app.count(flag) > 0 && (std::string(flag) == "--registry" ? options.registry_url.empty()
                                 : std::string(flag) == "--cluster" ? cluster_file.empty()
                                                                    : name.empty())) {
      std::fprintf(stderr, "netcalld: %s is empty\n", flag);
      return exit_usage;
    }
  }
  if (registry_ttl < std::chrono::seconds(1) || registry_ttl % std::chrono::seconds(1) != std::chrono::milliseconds(0)) {
    std::fprintf(stderr, "netcalld: --registry-ttl must be a whole number of seconds, at least 1s\n");
    return exit_usage;
  }
  options.registry_ttl = std::chrono::duration_cast<std::chrono::seconds>(registry_ttl);
  if (!cluster_file.empty()) {
    try {
      options.cluster = netcall::load_cluster_file(cluster_file);
    } catch (const netcall::cluster_file_error& e) {
      std::fprintf(stderr, "netcalld: --cluster: %s\n", e.what());
      return exit_usage;
    }
  }
  std::unique_ptr<netcall::server> owned;
  try {
    owned = std::make_unique<netcall::server>(options);
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "netcalld: %s\n", e.what());
    return exit_usage;
  }
  netcall::server& server = *owned;
  try {
    for (const auto& m : chosen) netcalld::register_module(server.procedures(), m);
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "netcalld: --modules: %s (choose from math,text,demo or all)\n",
                 e.what());
    return exit_usage;
  }

  std::vector<std::string> endpoints;
  try {
    endpoints = server.start();
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "netcalld: --listen: %s\n", e.what());
    return exit_usage;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "netcalld: %s\n", e.what());
    return 1;
  }
  for (const auto& ep : endpoints) std::printf("netcalld listening on %s\n", ep.c_str());
  std::fflush(stdout);
  spdlog::info("serving modules {} on {} listener(s)", modules, endpoints.size());
  memory_returner returner;
  server.run();
  spdlog::info("stopped");
  return 0;
}

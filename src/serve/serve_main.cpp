// serve_main: every flag of netcalld for any server binary (SPEC §2, §7; docs/operations.md).
#include "netcall/serve.hpp"

#include <malloc.h>
#include <systemd/sd-daemon.h>
#include <yaml-cpp/yaml.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <csignal>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "netcall/cluster.hpp"
#include "netcall/version.hpp"
#include "common/text.hpp"

namespace netcall {

namespace {

constexpr int exit_usage = 2;

/// "2026-12-02T17:04:05.123Z" (UTC, milliseconds), or with microseconds.
std::string utc_time(std::chrono::system_clock::time_point t, bool micro = false) {
  const auto since = t.time_since_epoch();
  const auto secs = std::chrono::duration_cast<std::chrono::seconds>(since);
  const std::time_t tt = static_cast<std::time_t>(secs.count());
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[40];
  const std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  const auto frac = std::chrono::duration_cast<std::chrono::microseconds>(since - secs).count();
  char out[64];
  if (micro) {
    std::snprintf(out, sizeof out, "%.*s.%06lldZ", static_cast<int>(n), buf,
                  static_cast<long long>(frac));
  } else {
    std::snprintf(out, sizeof out, "%.*s.%03lldZ", static_cast<int>(n), buf,
                  static_cast<long long>(frac / 1000));
  }
  return out;
}

constexpr const char* level_name(log_level l) {
  constexpr const char* names[] = {"trace", "debug", "info", "warn", "error", "off"};
  return names[static_cast<int>(l)];
}

/// Text a client or a file chose (a method name, a config value), quoted as a JSON string with
/// every control character, quote and backslash escaped and bytes that are not UTF-8 as `\xNN`
/// (common/text.hpp): what a log line shows of it, so nothing raw reaches a terminal or a file.
using detail::json_quoted;

/// A one-line message with control characters and bytes that are not UTF-8 escaped
/// (netcall/text.hpp): usage errors may quote a config file's bytes.
std::string one_line(std::string_view text) { return escape_text(text); }

/// The lines of `--log-format`: "TIME LEVEL [NAME] MESSAGE" or one JSON object per line.
log_sink make_log_sink(std::string name, bool json, std::FILE* to) {
  auto mutex = std::make_shared<std::mutex>();
  return [name = std::move(name), json, to, mutex](log_level level, std::string_view message) {
    std::string line;
    const auto now = utc_time(std::chrono::system_clock::now());
    if (json) {
      line = R"({"time":")" + now + R"(","level":")" + level_name(level) + R"(","name":)" +
             json_quoted(name) + R"(,"message":)" + json_quoted(message) + "}\n";
    } else {
      line = now + ' ' + level_name(level) + " [" + name + "] ";
      line.append(message);
      line += '\n';
    }
    std::lock_guard lock(*mutex);
    std::fwrite(line.data(), 1, line.size(), to);
    std::fflush(to);
  };
}

/// `--access-log PATH|-`: one line per call (SPEC §7), into a buffered file flushed every
/// second and at shutdown.
class access_log {
 public:
  /// Failures to write are told to `log` (once until writing works again).
  access_log(const std::string& path, bool json, log_sink log)
      : json_(json), log_(std::move(log)) {
    if (path == "-") {
      file_ = stdout;
    } else {
      file_ = std::fopen(path.c_str(), "a");
      if (file_ == nullptr) {
        throw std::invalid_argument("--access-log: cannot open " + path + ": " +
                                    std::strerror(errno));
      }
      owned_ = true;
    }
    flusher_ = std::thread([this] {
      std::unique_lock lock(mutex_);
      while (!cv_.wait_for(lock, std::chrono::seconds(1), [this] { return stop_; })) {
        flush();
      }
    });
  }
  ~access_log() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    cv_.notify_all();
    flusher_.join();
    flush();
    if (owned_) std::fclose(file_);
  }
  access_log(const access_log&) = delete;
  access_log& operator=(const access_log&) = delete;

  /// Writes `r`'s line: TIME PEER PROTOCOL "METHOD" CODE DURATION_US BYTES_IN BYTES_OUT ID
  /// (ID "-" when the protocol has none), or the same as a JSON object.
  void write(const access_record& r) {
    std::string line;
    line.reserve(160);
    const std::string time = utc_time(r.time, true);
    const std::string id = r.request_id.empty() ? std::string(json_ ? "null" : "-") : r.request_id;
    if (json_) {
      line = R"({"time":")" + time + R"(","peer":)" + json_quoted(r.peer) + R"(,"protocol":")" +
             std::string(r.protocol) + R"(","method":)" + json_quoted(r.method) +
             R"(,"code":)" + std::to_string(r.code) +
             R"(,"duration_us":)" + std::to_string(r.duration.count()) +
             R"(,"bytes_in":)" + std::to_string(r.bytes_in) +
             R"(,"bytes_out":)" + std::to_string(r.bytes_out) + R"(,"id":)" + id +
             R"(,"notification":)" + (r.notification ? "true" : "false") + "}\n";
    } else {
      line = time + ' ' + std::string(r.peer) + ' ' + std::string(r.protocol) + ' ' +
             json_quoted(r.method) + ' ' + std::to_string(r.code) + ' ' +
             std::to_string(r.duration.count()) + "us " + std::to_string(r.bytes_in) + ' ' +
             std::to_string(r.bytes_out) + ' ' + id + '\n';
    }
    std::lock_guard lock(mutex_);
    std::fwrite(line.data(), 1, line.size(), file_);
  }

 private:
  /// Writes out what is buffered; a failure (a full disk) is logged once, not on every line.
  void flush() {
    const bool failed = std::fflush(file_) != 0 || std::ferror(file_) != 0;
    if (failed && !failing_) {
      log_(log_level::error, std::string("access log: cannot write: ") + std::strerror(errno) +
                                 "; lines are lost until writing works again");
    }
    if (failed) std::clearerr(file_);
    failing_ = failed;
  }

  bool json_;
  log_sink log_;
  bool failing_ = false;
  std::FILE* file_ = nullptr;
  bool owned_ = false;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread flusher_;
};

/// Gives memory freed after bursts (large messages, connection storms) back to the system.
/// glibc otherwise keeps it: its mmap threshold rises after a large free, and freed heap stays
/// in each thread's arena. Fixing the threshold sends buffers of 128 KiB and more to mmap
/// (returned at once on free); a trim every few seconds returns what the arena holds. One arena
/// for every thread: malloc_trim gives back the free top of the main arena only, so 4 MB of
/// small values freed by an event loop's own arena (a refused 16 MiB batch's first 10,000
/// entries) stayed resident for good (test_reliability); the event loops' calls allocate little
/// (pooled calls, reused buffers), so they hardly contend for it.
class memory_returner {
 public:
  /// Call before any thread starts (the arena count applies to threads not yet allocating).
  static void configure() {
    mallopt(M_ARENA_MAX, 1);
    mallopt(M_MMAP_THRESHOLD, 128 * 1024);
  }

  memory_returner() {
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

/// `--config FILE` in YAML (SPEC §7): a mapping whose keys are the long flags without `--`,
/// each a scalar or a list of scalars (a repeatable flag; for a flag of one value, the list's
/// comma-separated form, as `modules: [math, demo]`). An unknown key, a nested mapping or
/// a file that is not YAML is refused, naming it.
class yaml_config final : public CLI::Config {
 public:
  explicit yaml_config(const CLI::App& app) : app_(app) {}

  std::string to_config(const CLI::App*, bool, bool, std::string) const override { return {}; }

  /// Largest config file read (bytes): a settings file is a few KiB; /dev/zero is not one.
  static constexpr std::size_t max_bytes = 1 << 20;

  std::vector<CLI::ConfigItem> from_config(std::istream& in) const override {
    std::string text(max_bytes + 1, '\0');
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
    text.resize(static_cast<std::size_t>(in.gcount()));
    if (text.size() > max_bytes) {
      throw CLI::ConfigError("larger than " + std::to_string(max_bytes) + " bytes: not a config file");
    }
    YAML::Node root;
    try {
      const auto documents = YAML::LoadAll(text);
      if (documents.size() > 1) throw CLI::ConfigError("more than one YAML document");
      if (!documents.empty()) root = documents.front();
    } catch (const YAML::Exception& e) {
      throw CLI::ConfigError("not YAML: " + e.msg + " (line " + std::to_string(e.mark.line + 1) +
                             ")");
    }
    std::vector<CLI::ConfigItem> items;
    std::set<std::string> seen;
    if (root.IsNull()) return items;  // an empty file sets nothing
    if (!root.IsMap()) throw CLI::ConfigError("the file must be a mapping of flag: value");
    for (const auto& kv : root) {
      if (!kv.first.IsScalar()) {
        throw CLI::ConfigError("a key must be a flag name, not a list or mapping (line " +
                               std::to_string(kv.first.Mark().line + 1) + ")");
      }
      const std::string key = kv.first.Scalar();
      if (key == "config" || key == "help" || key == "version" ||
          app_.get_option_no_throw("--" + key) == nullptr) {
        throw CLI::ConfigError("unknown key '" + key + "' (keys are the long flags without --)");
      }
      if (!seen.insert(key).second) {
        throw CLI::ConfigError("key '" + key + "' given twice (line " +
                               std::to_string(kv.first.Mark().line + 1) + ")");
      }
      CLI::ConfigItem item;
      item.name = key;
      const YAML::Node& v = kv.second;
      const CLI::Option* option = app_.get_option_no_throw("--" + key);
      if (v.IsScalar() && v.Scalar().empty()) {
        continue;  // `key: ""` sets nothing, like `key:` (never switches a flag on)
      } else if (v.IsScalar()) {
        item.inputs.push_back(v.Scalar());
      } else if (v.IsSequence()) {
        for (const auto& e : v) {
          if (!e.IsScalar()) throw CLI::ConfigError("key '" + key + "': a list of values only");
          item.inputs.push_back(e.Scalar());
        }
        if (item.inputs.empty()) continue;  // an empty list sets nothing
        if (option->get_items_expected_max() == 1 && item.inputs.size() > 1) {
          // `modules: [math, demo]` is the list's comma form; any other flag of one value
          // takes one.
          if (key != "modules") throw CLI::ConfigError("key '" + key + "' takes one value");
          std::string joined;
          for (const auto& part : item.inputs) joined += (joined.empty() ? "" : ",") + part;
          item.inputs = {joined};
        }
      } else if (v.IsNull()) {
        continue;  // `key:` with no value sets nothing
      } else {
        throw CLI::ConfigError("key '" + key + "': a value or a list of values, not a mapping");
      }
      items.push_back(std::move(item));
    }
    return items;
  }

 private:
  const CLI::App& app_;
};

// A DURATION flag ("250ms", "2s", "1m"); a malformed one is a usage error.
CLI::Option* add_duration(CLI::App& app, const std::string& name, std::chrono::milliseconds& out,
                          const std::string& help) {
  return app
      .add_option_function<std::string>(
          name,
          [name, &out](const std::string& text) {
            auto d = parse_duration(text);
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

std::string default_text(std::chrono::milliseconds d) {
  if (d.count() % 60000 == 0 && d.count() > 0) return std::to_string(d.count() / 60000) + "m";
  if (d.count() % 1000 == 0 && d.count() > 0) return std::to_string(d.count() / 1000) + "s";
  return std::to_string(d.count()) + "ms";
}

}  // namespace

int serve_main(int argc, char** argv, server& srv, const serve_info& info) {
  // A write to a pipe whose reader is gone (the access log on a FIFO or on `-` piped into a
  // program that exited, stdout or stderr closed by whoever started us) raises SIGPIPE, and its
  // default action ends the process: every client would lose its server over one log line.
  // Ignored, such a write fails with EPIPE, which the access log reports (once) and the log
  // sinks drop. The library itself never changes signal dispositions (its sockets send with
  // MSG_NOSIGNAL): a program, this one, decides for its whole process.
  std::signal(SIGPIPE, SIG_IGN);
  memory_returner::configure();
  const std::string program = info.program.empty() ? "netcall-server" : info.program;
  auto usage_error = [&program](const std::string& message) {
    std::fprintf(stderr, "%s: %s\n", program.c_str(), one_line(message).c_str());
    return exit_usage;
  };
  server_options& options = srv.options();
  std::string cluster_file;
  std::chrono::milliseconds registry_ttl = options.registry_ttl;
  std::string modules = "all";
  std::string log_level = "info";
  std::string log_format = "text";
  std::string access_log_path;
  std::int64_t threads = options.threads;
  std::string token;
  bool call_metrics_off = !options.call_metrics;

  CLI::App app{info.description.empty()
                   ? "A netcall RPC server. Every --listen port speaks JSON-RPC 2.0 (raw TCP and "
                     "HTTP POST), XML-RPC (HTTP POST /RPC2) and MessagePack-RPC (raw TCP)."
                   : info.description,
               program};
  app.set_version_flag("--version", program + " " + netcall::version,
                       "Print the version and exit");
  app.config_formatter(std::make_shared<yaml_config>(app));
  CLI::Option* config_opt = app.set_config("--config", "",
                 "YAML file of settings: keys are the long flags without -- (listen: [...], "
                 "token-file: ...); flags on the command line win")
      ->type_name("FILE")
      ->check(
          [](const std::string& path) -> std::string {
            // Checked before the file is read: a FIFO or a device would block or never end.
            if (path.empty()) return "an empty path";
            std::error_code ec;
            const auto status = std::filesystem::status(path, ec);
            if (ec || !std::filesystem::exists(status)) return path + ": no such file";
            if (!std::filesystem::is_regular_file(status)) {
              return path + ": not a regular file";
            }
            return {};
          },
          "FILE");
  app.add_option("--listen", options.listen,
                 "Address to listen on, HOST:PORT (repeatable; port 0 picks a free port) "
                 "[default: 127.0.0.1:8000]")
      ->type_name("HOST:PORT");
  app.add_option("--name", options.name,
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
               "Lease of the registry record: a dead node is gone after this long [default: " +
                   default_text(registry_ttl) + "]");
  app.add_option("--threads", threads, "Event-loop threads; 0 = one per core")
      ->check(CLI::Range(0, 1024))
      ->capture_default_str();
  if (!info.modules_help.empty()) {
    app.add_option("--modules", modules, info.modules_help)->capture_default_str();
  }
  add_duration(app, "--delay", options.response_delay,
               "Delay every answer by this long after the call arrives (demonstrates client "
               "timeouts); never blocks a thread [default: " +
                   default_text(options.response_delay) + "]");
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
  app.add_option("--max-decoded-ratio", options.max_decoded_ratio,
                 "Decoded-size budget: a message may decode into at most this many times its "
                 "size in values, plus 1 MiB (more: error -32001, not run; 0: no budget)")
      ->check(CLI::Range(std::size_t{0}, std::size_t{1000}))
      ->capture_default_str();
  app.add_option("--max-unsent-bytes", options.max_unsent_bytes,
                 "Answers waiting to be written, all connections together, in bytes: past it, "
                 "clients that do not read their answers are not read")
      ->check(CLI::Range(std::size_t{1} << 16, std::size_t{1} << 40))
      ->capture_default_str();
  app.add_option("--blocking-threads", options.blocking_threads,
                 "Threads of the pool where blocking procedures run (bind_blocking)")
      ->check(CLI::Range(1u, 1024u))
      ->capture_default_str();
  app.add_option("--max-blocking-queue", options.max_blocking_queue,
                 "Calls of blocking procedures that may wait for a pool thread (more: error "
                 "-32001, not run)")
      ->check(CLI::Range(std::size_t{0}, std::size_t{1'000'000}))
      ->capture_default_str();
  app.add_option("--max-in-flight", options.max_in_flight_per_connection,
                 "Most calls running at once on one connection (more: error -32001, not run)")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1'000'000}))
      ->capture_default_str();
  add_duration(app, "--dedup-ttl", options.dedup_ttl,
               "How long a call's outcome is kept for retries with the same idempotency key "
               "[default: " + default_text(options.dedup_ttl) + "]");
  app.add_option("--dedup-max-bytes", options.dedup_max_bytes,
                 "Memory bound of the kept outcomes, in bytes; each client address may hold "
                 "an eighth of it (at least 64 KiB) and loses its own oldest first")
      ->check(CLI::Range(std::size_t{0}, std::size_t{1} << 40))
      ->capture_default_str();
  app.add_option("--max-connections", options.max_connections,
                 "Most simultaneous connections; further ones are closed at once")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1'000'000}))
      ->capture_default_str();
  add_duration(app, "--idle-timeout", options.idle_timeout,
               "Close a connection with no complete request and nothing in flight for this long "
               "[default: " + default_text(options.idle_timeout) + "]");
  add_duration(app, "--shutdown-grace", options.shutdown_grace,
               "On SIGINT/SIGTERM, how long calls in flight may still finish [default: " +
                   default_text(options.shutdown_grace) + "]");
  // Security (SPEC §6, docs/security.md).
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
  // Operations (SPEC §7, docs/operations.md).
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error or off")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}))
      ->capture_default_str();
  app.add_option("--log-format", log_format,
                 "Log lines on stderr as text (TIME LEVEL [NAME] MESSAGE) or json (one object "
                 "a line); also the access log's format")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  app.add_option("--access-log", access_log_path,
                 "Write one line per call to this file (appended), or - for stdout: time, peer, "
                 "protocol, method, code, duration, bytes in and out, request id")
      ->type_name("PATH|-");
  app.add_flag("--no-call-metrics", call_metrics_off,
               "Do not count calls by method and code in /metrics (only to measure what "
               "counting costs)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ConfigError& e) {
    const auto files = config_opt->results();
    return usage_error("--config " + (files.empty() ? std::string() : files.front()) + ": " +
                       e.what());
  } catch (const CLI::ParseError& e) {
    return usage_error(std::string(e.what()) + " (see " + program + " --help)");
  } catch (const std::exception& e) {  // a config value a parser of ours refused
    return usage_error(e.what());
  }

  options.threads = static_cast<unsigned>(threads);
  options.call_metrics = !call_metrics_off;
  if (options.idle_timeout.count() == 0) return usage_error("--idle-timeout must be greater than 0");
  if (app.count("--token") > 0) options.tokens.push_back(token);
  for (const char* flag : {"--registry", "--cluster", "--name"}) {
    const std::string f = flag;
    const bool empty = f == "--registry" ? options.registry_url.empty()
                       : f == "--cluster" ? cluster_file.empty()
                                          : options.name.empty();
    if (app.count(flag) > 0 && empty) return usage_error(f + " is empty");
  }
  if (registry_ttl < std::chrono::seconds(1) ||
      registry_ttl % std::chrono::seconds(1) != std::chrono::milliseconds(0)) {
    return usage_error("--registry-ttl must be a whole number of seconds, at least 1s");
  }
  options.registry_ttl = std::chrono::duration_cast<std::chrono::seconds>(registry_ttl);
  if (!cluster_file.empty()) {
    try {
      options.cluster = load_cluster_file(cluster_file);
    } catch (const cluster_file_error& e) {
      return usage_error(std::string("--cluster: ") + e.what());
    }
  }

  const bool json = log_format == "json";
  netcall::parse_log_level(log_level, options.log_level);
  // The program's own logger when it gave one; else lines on stderr in --log-format.
  if (!options.log) {
    options.log = make_log_sink(options.name.empty() ? program : options.name, json, stderr);
  }
  auto log = options.log;
  std::unique_ptr<access_log> access;
  if (app.count("--access-log") > 0 && access_log_path.empty()) {
    return usage_error("--access-log: an empty path (give a file, or - for stdout)");
  }
  if (!access_log_path.empty()) {
    try {
      access = std::make_unique<access_log>(access_log_path, json, log);
    } catch (const std::invalid_argument& e) {
      return usage_error(e.what());
    }
    options.access_log = [a = access.get()](const access_record& r) { a->write(r); };
  }
  auto user_shutdown = options.on_shutdown;
  options.on_shutdown = [user_shutdown] {
    sd_notify(0, "STOPPING=1");
    if (user_shutdown) user_shutdown();
  };

  if (info.configure) {
    try {
      info.configure(srv, modules);
    } catch (const std::invalid_argument& e) {
      return usage_error(e.what());
    }
  }

  std::vector<std::string> endpoints;
  try {
    endpoints = srv.start();
  } catch (const std::invalid_argument& e) {
    return usage_error(e.what());
  } catch (const std::exception& e) {
    // The server's own failure (a port taken): a log line, in --log-format like the others.
    log(log_level::error, e.what());
    return 1;
  }
  if (options.log_level <= log_level::info) {
    log(log_level::info, "version " + std::string(netcall::version) + ", " +
                             std::to_string(endpoints.size()) + " listener(s)" +
                             (info.modules_help.empty() ? "" : ", modules " + modules));
  }
  // Before anyone learns the server is up: a SIGTERM sent then stops it gracefully.
  srv.watch_signals();
  for (const auto& ep : endpoints) std::printf("%s listening on %s\n", program.c_str(), ep.c_str());
  std::fflush(stdout);
  sd_notify(0, "READY=1");
  memory_returner returner;
  srv.run();
  if (options.log_level <= log_level::info) log(log_level::info, "stopped");
  return 0;
}

}  // namespace netcall

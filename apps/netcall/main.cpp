// netcall: the command-line client (SPEC §3): `call` and `list`.
#include <CLI/CLI.hpp>
#include <charconv>
#include <cstdio>
#include <iostream>

#include "bench.hpp"
#include "netcall/client.hpp"
#include "netcall/server.hpp"
#include "netcall/value.hpp"

namespace {

constexpr int exit_ok = 0;
constexpr int exit_remote_error = 1;
constexpr int exit_usage = 2;
constexpr int exit_unreachable = 3;

struct common_options {
  std::string protocol = "jsonrpc";
  std::string timeout = "5s";
  int retries = 0;
  bool verbose = false;
};

void add_common(CLI::App& cmd, common_options& o) {
  cmd.add_option("--protocol", o.protocol, "Wire protocol: jsonrpc, jsonrpc-http, xmlrpc or msgpack")
      ->capture_default_str();
  cmd.add_option("--timeout", o.timeout,
                 "Per-call timeout, a DURATION: a number with a unit (250ms, 2s, 1m)")
      ->capture_default_str();
  cmd.add_option("--retries", o.retries,
                 "Attempts after the first when a call times out or cannot connect; every call "
                 "carries an idempotency key, so a netcall server runs it at most once")
      ->check(CLI::Range(0, 100))
      ->capture_default_str();
  cmd.add_flag("-v,--verbose", o.verbose,
               "Print each failed attempt that is retried on stderr (with --retries)");
}

struct usage_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

netcall::client_options client_options_from(const common_options& o) {
  netcall::client_options out;
  if (!netcall::parse_protocol(o.protocol, out.protocol)) {
    throw usage_error("unknown --protocol '" + o.protocol +
                      "' (choose jsonrpc, jsonrpc-http, xmlrpc or msgpack)");
  }
  auto timeout = netcall::parse_duration(o.timeout);
  if (!timeout || timeout->count() == 0) {
    throw usage_error("--timeout '" + o.timeout +
                      "' is not a positive DURATION (a number with a unit: 250ms, 2s, 1m; at "
                      "most 525600m, 365 days)");
  }
  out.timeout = *timeout;
  out.retry.max_attempts = o.retries + 1;
  if (o.verbose) {
    out.on_retry = [](const netcall::error& why, int attempt, std::chrono::milliseconds wait) {
      std::fprintf(stderr, "netcall: attempt %d failed: %s; retrying in %lldms\n", attempt,
                   why.what(), static_cast<long long>(wait.count()));
    };
  }
  return out;
}

// A PARAM is a JSON literal; a word that is not valid JSON is a string; name=JSON is named.
netcall::value parse_param_value(const std::string& text);

netcall::value params_from(const std::vector<std::string>& words) {
  netcall::array positional;
  netcall::structure named;
  for (const auto& w : words) {
    const auto eq = w.find('=');
    const bool is_named = eq != std::string::npos && eq > 0 &&
                          w.find_first_of("\"[{ ") > eq &&
                          w.find_first_not_of(
                              "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") ==
                              eq;
    if (is_named) {
      named.emplace_back(w.substr(0, eq), parse_param_value(w.substr(eq + 1)));
    } else {
      positional.push_back(parse_param_value(w));
    }
  }
  if (!named.empty() && !positional.empty()) {
    throw usage_error("mix of positional and name=JSON params: use one style per call");
  }
  if (!named.empty()) return netcall::value(std::move(named));
  return netcall::value(std::move(positional));
}

int report(const netcall::error& e) {
  std::fprintf(stderr, "netcall: %s\n", e.what());
  switch (e.code()) {
    case netcall::status_code::unavailable:
    case netcall::status_code::deadline_exceeded:
      return exit_unreachable;
    default:
      return exit_remote_error;
  }
}

int run_call(const common_options& o, const std::vector<std::string>& args) {
  if (args.size() < 2) throw usage_error("call needs TARGET and METHOD (see netcall call --help)");
  auto options = client_options_from(o);
  netcall::value params = params_from({args.begin() + 2, args.end()});
  netcall::client client(args[0], options);
  auto result = client.call_params(args[1], std::move(params));
  std::printf("%s\n", netcall::to_json(result).c_str());
  return exit_ok;
}

std::string signature_text(const netcall::value& signatures) {
  if (!signatures.is_array()) return "?";
  std::string out;
  for (const auto& sig : signatures.as_array()) {
    if (!sig.is_array() || sig.as_array().empty()) continue;
    const auto& types = sig.as_array();
    if (!out.empty()) out += " | ";
    out += '(';
    for (std::size_t i = 1; i < types.size(); ++i) {
      if (i > 1) out += ", ";
      out += types[i].is_string() ? types[i].as_string() : "?";
    }
    out += ") -> ";
    out += types[0].is_string() ? types[0].as_string() : "?";
  }
  return out.empty() ? "?" : out;
}

struct bench_flags {
  std::string duration;
  std::string warmup = "1s";
  std::uint64_t calls = 0;
  unsigned concurrency = 64;
  unsigned connections = 8;
  unsigned threads = 1;
  bool json = false;
};

void add_bench_flags(CLI::App& cmd, bench_flags& f) {
  cmd.add_option("--duration", f.duration, "Measured run time, a DURATION [default: 10s]");
  cmd.add_option("--calls", f.calls, "Measure this many calls instead of a duration");
  cmd.add_option("--concurrency", f.concurrency, "Calls in flight at once")
      ->check(CLI::Range(1u, 100'000u))
      ->capture_default_str();
  cmd.add_option("--connections", f.connections, "Connections the calls are spread over")
      ->check(CLI::Range(1u, 10'000u))
      ->capture_default_str();
  cmd.add_option("--threads", f.threads, "Client I/O threads")
      ->check(CLI::Range(1u, 64u))
      ->capture_default_str();
  cmd.add_option("--warmup", f.warmup, "Unmeasured run first, a DURATION")->capture_default_str();
  cmd.add_flag("--json", f.json, "Print one JSON object instead of the table");
}

// SPEC §3 writes bench's own flags after the PARAMs: take them from there too (until `--`).
void take_bench_flags(std::vector<std::string>& args, bench_flags& f) {
  std::vector<std::string> rest;
  bool params_only = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (params_only) {
      rest.push_back(a);
      continue;
    }
    if (a == "--") {
      params_only = true;
      continue;
    }
    if (a == "--json") {
      f.json = true;
      continue;
    }
    const bool takes_value = a == "--duration" || a == "--calls" || a == "--concurrency" ||
                             a == "--connections" || a == "--threads" || a == "--warmup";
    if (!takes_value) {
      if (a.starts_with("--")) throw usage_error("unknown option '" + a + "'");
      rest.push_back(a);
      continue;
    }
    if (i + 1 >= args.size()) throw usage_error(a + " needs a value");
    const std::string& v = args[++i];
    auto number = [&](auto& out, std::uint64_t low, std::uint64_t high) {
      std::uint64_t n = 0;
      auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
      if (ec != std::errc() || end != v.data() + v.size() || n < low || n > high) {
        throw usage_error(a + " '" + v + "' is not a whole number from " + std::to_string(low) +
                          " to " + std::to_string(high));
      }
      out = static_cast<std::remove_reference_t<decltype(out)>>(n);
    };
    if (a == "--duration") f.duration = v;
    if (a == "--warmup") f.warmup = v;
    if (a == "--calls") number(f.calls, 1, 1'000'000'000'000);
    if (a == "--concurrency") number(f.concurrency, 1, 100'000);
    if (a == "--connections") number(f.connections, 1, 10'000);
    if (a == "--threads") number(f.threads, 1, 64);
  }
  args = std::move(rest);
}

int run_bench_command(const common_options& o, bench_flags f, std::vector<std::string> args) {
  take_bench_flags(args, f);
  if (args.size() < 2) {
    throw usage_error("bench needs TARGET and METHOD (see netcall bench --help)");
  }
  netcall_cli::bench_options b;
  b.client = client_options_from(o);
  b.target = args[0];
  b.method = args[1];
  b.params = params_from({args.begin() + 2, args.end()});
  if (!f.duration.empty() && f.calls > 0) throw usage_error("give --duration or --calls, not both");
  if (!f.duration.empty()) {
    auto d = netcall::parse_duration(f.duration);
    if (!d || d->count() == 0) {
      throw usage_error("--duration '" + f.duration + "' is not a positive DURATION (250ms, 2s, 1m)");
    }
    b.duration = *d;
  }
  auto w = netcall::parse_duration(f.warmup);
  if (!w) throw usage_error("--warmup '" + f.warmup + "' is not a DURATION (0ms, 500ms, 2s)");
  b.warmup = *w;
  b.calls = f.calls;
  b.concurrency = f.concurrency;
  b.connections = f.connections;
  b.threads = f.threads;
  b.json = f.json;
  // Validate TARGET before starting threads (a malformed one is a usage error).
  { netcall::client probe(b.target, b.client); }
  return netcall_cli::run_bench(b);
}

int run_list(const common_options& o, const std::vector<std::string>& args) {
  if (args.size() != 1) throw usage_error("list takes exactly one TARGET (see netcall list --help)");
  auto options = client_options_from(o);
  netcall::client client(args[0], options);
  auto names = client.call_params("system.listMethods", netcall::array{});
  if (!names.is_array()) throw netcall::error(netcall::status_code::protocol_error,
                                              "system.listMethods did not return an array");
  for (const auto& name : names.as_array()) {
    if (!name.is_string()) continue;
    const auto& n = name.as_string();
    std::string sig = "?", help;
    try {
      sig = signature_text(client.call_params("system.methodSignature", netcall::array{n}));
    } catch (const netcall::error& e) {
      if (e.code() == netcall::status_code::unavailable ||
          e.code() == netcall::status_code::deadline_exceeded) {
        throw;
      }
    }
    try {
      auto h = client.call_params("system.methodHelp", netcall::array{n});
      if (h.is_string()) help = h.as_string().substr(0, h.as_string().find('\n'));
    } catch (const netcall::error& e) {
      if (e.code() == netcall::status_code::unavailable ||
          e.code() == netcall::status_code::deadline_exceeded) {
        throw;
      }
    }
    std::printf("%s\t%s\t%s\n", n.c_str(), sig.c_str(), help.c_str());
  }
  return exit_ok;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "netcall: call procedures on a netcall (or any JSON-RPC 2.0 / XML-RPC) server.\n"
      "Exit codes: 0 success, 1 the server answered with an error, 2 usage error,\n"
      "3 could not connect or timed out.",
      "netcall"};
  app.require_subcommand(1);

  common_options call_opts, list_opts;
  auto* call = app.add_subcommand(
      "call",
      "Call METHOD on TARGET (HOST:PORT) and print the result as one line of JSON.\n"
      "  netcall call [OPTIONS] TARGET METHOD [PARAM]...\n"
      "PARAM is a JSON literal (2, 2.5, null, '\"x\"', '[1,2]', '{\"k\":1}'); a word that is not\n"
      "JSON is a string; name=JSON makes named params. Options come before TARGET; a PARAM\n"
      "starting with - goes after --.");
  add_common(*call, call_opts);
  call->prefix_command();

  auto* list = app.add_subcommand(
      "list", "List TARGET's methods, one a line: name, signatures, help.\n"
              "  netcall list [OPTIONS] TARGET");
  add_common(*list, list_opts);
  list->prefix_command();

  common_options bench_opts;
  bench_flags bench_f;
  auto* bench = app.add_subcommand(
      "bench",
      "Measure METHOD on TARGET: closed loop, calls/s and latency percentiles.\n"
      "  netcall bench [OPTIONS] TARGET METHOD [PARAM]... [--duration D | --calls N]\n"
      "                [--concurrency C] [--connections K] [--threads T] [--warmup D] [--json]\n"
      "Exit codes: 0 no error, 1 some calls failed, 2 usage, 3 server unreachable.");
  add_common(*bench, bench_opts);
  add_bench_flags(*bench, bench_f);
  bench->prefix_command();

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "netcall: %s (see netcall --help)\n", e.what());
    return exit_usage;
  }

  try {
    auto* chosen = call->parsed() ? call : list->parsed() ? list : bench;
    std::vector<std::string> args = chosen->remaining();
    // `--` ends the options; everything after it is a PARAM, even when it starts with `-`.
    // (bench keeps it: its own flags may follow the PARAMs, up to a `--`.)
    for (auto it = args.begin(); chosen != bench && it != args.end(); ++it) {
      if (*it == "--") {
        args.erase(it);
        break;
      }
    }
    if (!args.empty() && args[0].starts_with("-")) {
      throw usage_error("unknown option '" + args[0] + "'");
    }
    if (chosen == bench) return run_bench_command(bench_opts, bench_f, args);
    return chosen == call ? run_call(call_opts, args) : run_list(list_opts, args);
  } catch (const usage_error& e) {
    std::fprintf(stderr, "netcall: %s\n", e.what());
    return exit_usage;
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "netcall: %s\n", e.what());
    return exit_usage;
  } catch (const netcall::error& e) {
    return report(e);
  }
}

namespace {

netcall::value parse_param_value(const std::string& text) {
  netcall::value v;
  if (netcall::from_json(text, v)) return v;
  return netcall::value(text);
}

}  // namespace

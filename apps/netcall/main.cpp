// netcall: the command-line client (SPEC §3): `call`, `list`, `bench` and `cluster`.
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <limits>
#include <string_view>

#include "bench.hpp"
#include "cluster_commands.hpp"
#include "netcall/channel.hpp"
#include "netcall/client.hpp"
#include "netcall/openrpc.hpp"
#include "netcall/server.hpp"
#include "netcall/text.hpp"
#include "netcall/value.hpp"
#include "netcall/version.hpp"
#include "report.hpp"

namespace {

using netcall_cli::exit_ok;
using netcall_cli::exit_remote_error;
using netcall_cli::exit_unreachable;
using netcall_cli::exit_usage;

struct common_options {
  std::string protocol = "jsonrpc";
  std::string timeout = "5s";
  int retries = 0;
  bool verbose = false;
  // Routed calls (SPEC §5).
  std::string cluster;
  std::string registry;
  std::string lb = "round_robin";
  bool idempotent = false;
  // Security (SPEC §6).
  std::string token;
  bool tls = false;
  std::string ca;
};

struct usage_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// Adds --token, --tls and --ca (SPEC §6) to `cmd`.
void add_security(CLI::App& cmd, common_options& o) {
  cmd.add_option("--token", o.token,
                 "Token the server requires (default: $NETCALL_TOKEN). HTTP sends it as "
                 "Authorization: Bearer; raw TCP calls system.authenticate first");
  cmd.add_flag("--tls", o.tls, "Connect with TLS, verifying the server with the system's CAs");
  cmd.add_option("--ca", o.ca, "Verify the server's TLS certificate with this CA (PEM); implies --tls")
      ->type_name("FILE");
}

/// Applies the security options of `o` to `out`: the token from --token or $NETCALL_TOKEN,
/// TLS with --tls or --ca (an unreadable CA is a usage error).
void apply_security(const common_options& o, netcall::client_options& out) {
  out.token = o.token;
  if (out.token.empty()) {
    if (const char* env = std::getenv("NETCALL_TOKEN")) out.token = env;
  }
  out.tls = o.tls || !o.ca.empty();
  out.tls_ca_file = o.ca;
  if (!o.ca.empty() && !std::ifstream(o.ca)) throw usage_error("cannot read --ca " + o.ca);
}


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
  cmd.add_option("--cluster", o.cluster,
                 "Cluster file: TARGET may be a node name, or `any` for a node that serves "
                 "METHOD (balanced, with failover)")
      ->type_name("FILE");
  cmd.add_option("--registry", o.registry,
                 "etcd registry etcd://HOST:PORT: TARGET may be a registered node's name or `any`")
      ->type_name("URL");
  cmd.add_option("--lb", o.lb, "Load balancer of routed calls: round_robin or least_outstanding")
      ->capture_default_str();
  cmd.add_flag("--idempotent", o.idempotent,
               "The call may run twice: a routed attempt whose outcome is unknown may move to "
               "another replica");
  add_security(cmd, o);
}

/// A routed call's channel, or null when TARGET is a plain HOST:PORT.
std::unique_ptr<netcall::channel> channel_for(const common_options& o, const std::string& target,
                                              const netcall::client_options& client) {
  if (!o.cluster.empty() && !o.registry.empty()) {
    throw usage_error("give --cluster or --registry, not both");
  }
  if (o.lb != "round_robin" && o.lb != "least_outstanding") {
    throw usage_error("unknown --lb '" + o.lb + "' (choose round_robin or least_outstanding)");
  }
  if (o.cluster.empty() && o.registry.empty()) return nullptr;
  netcall::channel_options options;
  options.client = client;
  options.load_balancer = o.lb;
  if (!o.cluster.empty()) {
    netcall::cluster_config config;
    try {
      config = netcall::load_cluster_file(o.cluster);
    } catch (const netcall::cluster_file_error& e) {
      throw usage_error(e.what());
    }
    if (target != "any" && config.find(target) == nullptr) {
      if (netcall::is_node_address(target)) return nullptr;  // a plain HOST:PORT
      throw usage_error("TARGET '" + target + "' is not a node of " + o.cluster +
                        " (nor `any`, nor HOST:PORT)");
    }
    return std::make_unique<netcall::channel>(config, options);
  }
  if (target != "any" && !netcall::is_node_name(target)) {
    if (netcall::is_node_address(target)) return nullptr;
    throw usage_error("TARGET '" + target + "' is not a node name, `any`, nor HOST:PORT");
  }
  std::unique_ptr<netcall::resolver> resolver;
  try {
    resolver = netcall::make_etcd_resolver(o.registry);
  } catch (const std::invalid_argument& e) {
    throw usage_error(std::string("--registry: ") + e.what());
  }
  auto ch = std::make_unique<netcall::channel>(std::move(resolver), options);
  if (!ch->wait_for_membership(std::chrono::milliseconds(3'000))) {
    throw netcall::error(netcall::status_code::unavailable,
                         "registry " + o.registry + " did not answer within 3s");
  }
  return ch;
}

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
  apply_security(o, out);
  if (o.verbose) {
    out.on_retry = [](const netcall::error& why, int attempt, std::chrono::milliseconds wait) {
      std::fprintf(stderr, "netcall: attempt %d failed: %s; retrying in %lldms\n", attempt,
                   netcall_cli::escaped(why.what()).c_str(), static_cast<long long>(wait.count()));
    };
  }
  return out;
}

// A PARAM is a JSON literal; a word that is not valid JSON is a string; name=JSON is named.
// `word` is the whole PARAM, for messages.
netcall::value parse_param_value(const std::string& text, std::string_view word);

/// `word` as a usage error quotes it: escaped (netcall/text.hpp), cut after 40 bytes.
std::string shown_word(std::string_view word) {
  constexpr std::size_t shown = 40;
  std::string out = "'" + netcall::escape_text(word.substr(0, shown));
  return out + (word.size() > shown ? "...'" : "'");
}

/// Refuses (usage_error, exit 2) a METHOD or PARAM that is not UTF-8 before anything is sent:
/// every protocol carries them as text, and a server answers such a request with a parse error
/// it cannot address (-32700 with id null, and the connection closed).
void require_utf8(std::string_view what, std::string_view word) {
  if (netcall::is_utf8(word)) return;
  throw usage_error(std::string(what) + " " + shown_word(word) +
                    " is not valid UTF-8 (every protocol carries it as text); nothing was sent");
}

/// The PARAMs of `call`/`bench` (SPEC §3) for `protocol`: positional, or named with
/// `name=JSON`, which XML-RPC cannot carry (its params are positional only): usage_error.
netcall::value params_from(const std::vector<std::string>& words, netcall::protocol protocol) {
  netcall::array positional;
  netcall::structure named;
  for (const auto& w : words) {
    require_utf8("PARAM", w);
    const auto eq = w.find('=');
    const bool is_named = eq != std::string::npos && eq > 0 &&
                          w.find_first_of("\"[{ ") > eq &&
                          w.find_first_not_of(
                              "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") ==
                              eq;
    if (is_named) {
      named.emplace_back(w.substr(0, eq), parse_param_value(w.substr(eq + 1), w));
    } else {
      positional.push_back(parse_param_value(w, w));
    }
  }
  if (!named.empty() && !positional.empty()) {
    throw usage_error("mix of positional and name=JSON params: use one style per call");
  }
  if (!named.empty() && protocol == netcall::protocol::xmlrpc) {
    throw usage_error("name=JSON params cannot go over XML-RPC, whose params are positional "
                      "only: give them in order; nothing was sent");
  }
  if (!named.empty()) return netcall::value(std::move(named));
  return netcall::value(std::move(positional));
}

/// SPEC §3: exit 3 with the reason when the server could not be reached or timed out; exit 1
/// with `netcall: error CODE: MESSAGE` when it answered with an error.
int report(const netcall::error& e) {
  std::fprintf(stderr, "netcall: %s\n", netcall_cli::error_text(e).c_str());
  return netcall_cli::is_unreachable(e) ? exit_unreachable : exit_remote_error;
}

int run_call(const common_options& o, const std::vector<std::string>& args) {
  if (args.size() < 2) throw usage_error("call needs TARGET and METHOD (see netcall call --help)");
  require_utf8("METHOD", args[1]);
  auto options = client_options_from(o);
  netcall::value params = params_from({args.begin() + 2, args.end()}, options.protocol);
  netcall::value result;
  if (auto ch = channel_for(o, args[0], options)) {
    netcall::route_options route;
    route.idempotent = o.idempotent;
    result = ch->call_params(args[0], args[1], std::move(params), route);
  } else {
    netcall::call_options call;
    call.idempotent = o.idempotent;
    netcall::client client(args[0], options);
    result = client.call_params(args[1], std::move(params), call);
  }
  // Compact JSON escapes C0 controls already; DEL, C1 controls and bytes that are not UTF-8
  // (a MessagePack string may hold any) are escaped too (SPEC §3).
  std::printf("%s\n", netcall::escape_json_text(netcall::to_json(result)).c_str());
  return exit_ok;
}

/// The signature `list` prints from XML-RPC introspection (a server without rpc.discover):
/// `add(int|double, int|double) -> int|double` from `system.methodSignature`'s
/// `[[result, param...]...]` (the types at each position joined by `|`; a param that only the
/// longer signatures have in brackets), `name(...) -> ?` when the answer is not such an array
/// (Python's servers answer "signatures not supported"). Unescaped: the server's text.
std::string introspected_signature_text(const std::string& name, const netcall::value& signatures) {
  std::vector<const netcall::array*> sigs;
  if (signatures.is_array()) {
    for (const auto& sig : signatures.as_array()) {
      if (!sig.is_array() || sig.as_array().empty()) continue;
      const auto& types = sig.as_array();
      if (std::all_of(types.begin(), types.end(), [](const auto& t) { return t.is_string(); })) {
        sigs.push_back(&types);
      }
    }
  }
  if (sigs.empty()) return name + "(...) -> ?";
  std::size_t longest = 0, shortest = std::numeric_limits<std::size_t>::max();
  for (const auto* sig : sigs) {
    longest = std::max(longest, sig->size() - 1);
    shortest = std::min(shortest, sig->size() - 1);
  }
  auto types_at = [&sigs](std::size_t position) {
    std::vector<std::string> distinct;
    for (const auto* sig : sigs) {
      if (position >= sig->size()) continue;
      const std::string& t = (*sig)[position].as_string();
      if (std::find(distinct.begin(), distinct.end(), t) == distinct.end()) distinct.push_back(t);
    }
    std::string out;
    for (const auto& t : distinct) out += (out.empty() ? "" : "|") + t;
    return out;
  };
  std::string out = name + "(";
  for (std::size_t i = 0; i < longest; ++i) {
    if (i > 0) out += ", ";
    out += i < shortest ? types_at(i + 1) : "[" + types_at(i + 1) + "]";
  }
  return out + ") -> " + types_at(0);
}

/// The first line of `text`.
std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

/// `v` as JSON text indented by two spaces a level (`list --openrpc`), every string and key
/// made safe to print (netcall::escape_json_text: the document is the server's text).
void write_pretty_json(const netcall::value& v, std::string& out, int depth = 0) {
  const auto indent = [&out](int level) { out.append(2 * static_cast<std::size_t>(level), ' '); };
  if (v.is_array() && !v.as_array().empty()) {
    out += "[\n";
    bool first = true;
    for (const auto& item : v.as_array()) {
      if (!first) out += ",\n";
      first = false;
      indent(depth + 1);
      write_pretty_json(item, out, depth + 1);
    }
    out += '\n';
    indent(depth);
    out += ']';
  } else if (v.is_struct() && !v.as_struct().empty()) {
    out += "{\n";
    bool first = true;
    for (const auto& [key, item] : v.as_struct()) {
      if (!first) out += ",\n";
      first = false;
      indent(depth + 1);
      out += netcall::escape_json_text(netcall::to_json(netcall::value(key))) + ": ";
      write_pretty_json(item, out, depth + 1);
    }
    out += '\n';
    indent(depth);
    out += '}';
  } else {
    out += netcall::escape_json_text(netcall::to_json(v));  // a scalar, [] or {}
  }
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

/// Adds bench's own flags (SPEC §3) to `cmd`; like every option, they may stand anywhere before
/// a bare `--`.
void add_bench_flags(CLI::App& cmd, bench_flags& f) {
  cmd.add_option("--duration", f.duration, "Measured run time, a DURATION [default: 10s]");
  cmd.add_option("--calls", f.calls, "Measure this many calls instead of a duration")
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{1'000'000'000'000}));
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

/// `netcall bench`: validates TARGET and the flags (usage_error), then runs the benchmark and
/// returns its exit code (bench.hpp).
int run_bench_command(const common_options& o, const bench_flags& f,
                      const std::vector<std::string>& args) {
  if (args.size() < 2) {
    throw usage_error("bench needs TARGET and METHOD (see netcall bench --help)");
  }
  require_utf8("METHOD", args[1]);
  netcall_cli::bench_options b;
  b.client = client_options_from(o);
  b.target = args[0];
  b.method = args[1];
  b.params = params_from({args.begin() + 2, args.end()}, b.client.protocol);
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
  b.idempotent = o.idempotent;
  if (auto probe = channel_for(o, b.target, b.client)) {
    // Routed: one channel per client thread, over the same cluster file or registry.
    b.make_channel = [o, target = b.target](const netcall::client_options& client) {
      return channel_for(o, target, client);
    };
  } else {
    // Validate TARGET before starting threads (a malformed one is a usage error).
    netcall::client check(b.target, b.client);
  }
  return netcall_cli::run_bench(b);
}

/// Prints one method a line, `SIGNATURE<TAB>HELP`, from XML-RPC introspection: what `list`
/// does on a server without rpc.discover (an older netcall, Python's SimpleXMLRPCServer): one
/// system.listMethods, then system.methodSignature and system.methodHelp for each method (a
/// method whose introspection fails is listed with what is known).
int list_by_introspection(netcall::client& client) {
  auto names = client.call_params("system.listMethods", netcall::array{});
  if (!names.is_array()) throw netcall::error(netcall::status_code::protocol_error,
                                              "system.listMethods did not return an array");
  for (const auto& name : names.as_array()) {
    if (!name.is_string()) continue;
    const auto& n = name.as_string();
    netcall::value sigs;
    std::string help;
    try {
      sigs = client.call_params("system.methodSignature", netcall::array{n});
    } catch (const netcall::error& e) {
      if (netcall_cli::is_unreachable(e)) throw;
    }
    try {
      auto h = client.call_params("system.methodHelp", netcall::array{n});
      if (h.is_string()) help = first_line(h.as_string());
    } catch (const netcall::error& e) {
      if (netcall_cli::is_unreachable(e)) throw;
    }
    // Every field is the server's text: escaped (SPEC §3), so a tab or a newline in it cannot
    // shift the columns or forge a line either.
    std::printf("%s\t%s\n", netcall_cli::escaped(introspected_signature_text(n, sigs)).c_str(),
                netcall_cli::escaped(help).c_str());
  }
  return exit_ok;
}

/// True when an error answered to rpc.discover means the server has none, so `list` falls back
/// to XML-RPC introspection: -32601, or a foreign server's own fault code (Python's
/// SimpleXMLRPCServer answers an unknown method with fault 1).
bool lacks_discover(const netcall::error& e) {
  return e.code() == netcall::status_code::method_not_found ||
         e.code() == netcall::status_code::application_error;
}

/// `netcall list` (SPEC §3): one rpc.discover call, then one method a line,
/// `SIGNATURE<TAB>HELP` (netcall::openrpc_signature_text; the first line of the method's
/// description, else its summary), or with `openrpc` the document itself as indented JSON. A
/// server without rpc.discover is listed by XML-RPC introspection (types without param names);
/// `--openrpc` then fails like a call (exit 1).
int run_list(const common_options& o, bool openrpc, const std::vector<std::string>& args) {
  if (args.size() != 1)
    throw usage_error("list takes exactly one TARGET (see netcall list --help)");
  auto options = client_options_from(o);
  netcall::client client(args[0], options);
  netcall::value doc;
  try {
    doc = client.call_params("rpc.discover", netcall::array{});
  } catch (const netcall::error& e) {
    if (openrpc || !lacks_discover(e)) throw;
    return list_by_introspection(client);
  }
  const netcall::value* methods = doc.is_struct() ? doc.find("methods") : nullptr;
  if (methods == nullptr || !methods->is_array()) {
    throw netcall::error(netcall::status_code::protocol_error,
                         "rpc.discover did not return an OpenRPC document (no methods array)");
  }
  if (openrpc) {
    std::string text;
    write_pretty_json(doc, text);
    std::printf("%s\n", text.c_str());
    return exit_ok;
  }
  for (const auto& method : methods->as_array()) {
    std::string help;
    for (const char* key : {"description", "summary"}) {
      const netcall::value* h = method.is_struct() ? method.find(key) : nullptr;
      if (h == nullptr || !h->is_string()) continue;
      help = first_line(h->as_string());
      break;
    }
    // The server's text, escaped (SPEC §3): one TAB between the columns, one line a method.
    std::printf("%s\t%s\n", netcall_cli::escaped(netcall::openrpc_signature_text(method)).c_str(),
                netcall_cli::escaped(help).c_str());
  }
  return exit_ok;
}

/// The names of `app`'s subcommands, comma-separated in the order they were added
/// (`call, list, bench, cluster`), for the line that names an unknown command.
std::string command_names(const CLI::App& app) {
  std::string out;
  for (const CLI::App* sub : app.get_subcommands({})) {
    if (!out.empty()) out += ", ";
    out += sub->get_name();
  }
  return out;
}

/// True when `app` has a subcommand named `word`.
bool has_command(const CLI::App& app, const std::string& word) {
  for (const CLI::App* sub : app.get_subcommands({})) {
    if (sub->get_name() == word) return true;
  }
  return false;
}

/// The index of the first argument at or after `from` that does not start with `-`: the
/// command word, since neither `netcall` nor `netcall cluster` has an option that takes a
/// value. `argc` when there is none (or a bare `--` comes first: CLI11 then says what is wrong).
int command_word(int argc, char** argv, int from) {
  for (int i = from; i < argc; ++i) {
    if (std::string_view(argv[i]) == "--") return argc;
    if (argv[i][0] != '-') return i;
  }
  return argc;
}

/// A command line cut at the first bare `--` after the command word (SPEC §3: every argument
/// after it is a PARAM): CLI11 parses `options`, `params` are appended to the operands as they
/// are. `options` points into argv.
struct command_line {
  std::vector<char*> options;
  std::vector<std::string> params;
};

/// Checks the command word before CLI11 parses (SPEC §3: an unknown command is a usage error
/// naming the commands there are) and cuts the line at `--` for `call`, `list` and `bench`,
/// whose every argument after it is a PARAM. Throws usage_error for an unknown command.
command_line split_command_line(const CLI::App& app, int argc, char** argv) {
  command_line out;
  out.options.assign(argv, argv + argc);
  const int at = command_word(argc, argv, 1);
  if (at == argc) return out;
  const std::string word = argv[at];
  if (!has_command(app, word)) {
    throw usage_error("unknown command '" + word + "' (commands: " + command_names(app) + ")");
  }
  const CLI::App* command = app.get_subcommand(word);
  if (!command->get_subcommands({}).empty()) {  // cluster apply|status
    const int sub = command_word(argc, argv, at + 1);
    if (sub < argc && !has_command(*command, argv[sub])) {
      throw usage_error("unknown command '" + word + " " + argv[sub] + "' (commands: " +
                        command_names(*command) + ")");
    }
    return out;
  }
  for (int i = at + 1; i < argc; ++i) {
    if (std::string_view(argv[i]) != "--") continue;
    out.options.assign(argv, argv + i);
    out.params.assign(argv + i + 1, argv + argc);
    break;
  }
  return out;
}

/// TARGET, METHOD and the PARAMs of `call`, `list` or `bench`: the arguments CLI11 did not take
/// as options (in order), then those after `--`. Options may stand anywhere before `--` (SPEC §3),
/// so a word left here that starts with `-` and is not a number (`-5`, `-1.5` are PARAMs) is an
/// option nobody knows: usage_error.
std::vector<std::string> operands(const CLI::App& command, std::vector<std::string> params) {
  std::vector<std::string> out = command.remaining();
  for (const auto& word : out) {
    netcall::value number;
    netcall::json_error why{};
    if (!word.starts_with("-") || (netcall::from_json(word, number, why) && number.is_number())) {
      continue;
    }
    // A negative number beyond the double range (-1e999) or int64 is a PARAM too, refused as one.
    if (why == netcall::json_error::out_of_range || why == netcall::json_error::integer_out_of_range) {
      continue;
    }
    if (word.starts_with("--")) throw usage_error("unknown option '" + word + "'");
    throw usage_error("unknown option '" + word +
                      "' (a PARAM that starts with - and is not a number goes after --)");
  }
  out.insert(out.end(), std::make_move_iterator(params.begin()),
             std::make_move_iterator(params.end()));
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  // stdout holds only results (SPEC §3): the library's warnings (an etcd registry that does not
  // answer) go to stderr.
  auto logger = spdlog::stderr_logger_mt("netcall");
  logger->set_pattern("netcall: %l: %v");
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::warn);

  CLI::App app{
      "netcall: call procedures on a netcall (or any JSON-RPC 2.0 / XML-RPC) server.\n"
      "Exit codes: 0 success, 1 the server answered with an error, 2 usage error,\n"
      "3 could not connect or timed out.",
      "netcall"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("netcall ") + netcall::version,
                       "Print the version (netcall X.Y.Z) and exit");

  common_options call_opts, list_opts;
  auto* call = app.add_subcommand(
      "call",
      "Call METHOD on TARGET (HOST:PORT) and print the result as one line of JSON.\n"
      "  netcall call [OPTIONS] TARGET METHOD [PARAM]...\n"
      "PARAM is a JSON literal (2, 2.5, null, '\"x\"', '[1,2]', '{\"k\":1}'); a word that is not\n"
      "JSON is a string; name=JSON makes named params. Options may stand anywhere before a\n"
      "bare --; every argument after -- is a PARAM (so a PARAM starting with - that is not a\n"
      "number goes there: netcall call h:p echo -- --x).");
  add_common(*call, call_opts);
  call->allow_extras();  // operands() takes TARGET, METHOD, PARAMs

  bool list_openrpc = false;
  auto* list = app.add_subcommand(
      "list",
      "List TARGET's methods, one a line: the signature with param names, a TAB, the first\n"
      "line of help:  subtract(minuend: int|double, subtrahend: int|double) -> int|double\n"
      "(NAME?: TYPE is an optional param; types only for positional-only procedures).\n"
      "One rpc.discover call; a server without it is listed by XML-RPC introspection\n"
      "(system.listMethods, system.methodSignature, system.methodHelp), types only.\n"
      "  netcall list [OPTIONS] TARGET [--openrpc]");
  add_common(*list, list_opts);
  list->add_flag("--openrpc", list_openrpc,
                 "Print the server's OpenRPC document (rpc.discover's answer) as JSON instead");
  list->allow_extras();  // operands() takes TARGET

  common_options bench_opts;
  bench_flags bench_f;
  auto* bench = app.add_subcommand(
      "bench",
      "Measure METHOD on TARGET: closed loop, calls/s and latency percentiles.\n"
      "  netcall bench [OPTIONS] TARGET METHOD [PARAM]... [--duration D | --calls N]\n"
      "                [--concurrency C] [--connections K] [--threads T] [--warmup D] [--json]\n"
      "Exit codes: 0 no error, 1 some calls failed (the table, then the first error) or every\n"
      "call failed (one line), 2 usage, 3 no call got through: could not connect or timed out.");
  add_common(*bench, bench_opts);
  add_bench_flags(*bench, bench_f);
  bench->allow_extras();  // operands() takes TARGET, METHOD, PARAMs

  std::string cluster_file, cluster_registry, status_file, status_registry;
  common_options admin_opts;
  auto* cluster = app.add_subcommand(
      "cluster", "Cluster administration (SPEC §5).\n"
                 "  netcall cluster apply FILE [--registry URL]\n"
                 "  netcall cluster status FILE | --registry URL");
  cluster->require_subcommand(1);
  auto* apply = cluster->add_subcommand(
      "apply",
      "Tell every node of FILE which of its listed procedures it serves (exit 0 all confirmed,\n"
      "1 a node refused, 3 a node unreachable); with --registry, store the placement in etcd,\n"
      "where registered nodes pick it up.");
  apply->add_option("FILE", cluster_file, "Cluster file (YAML)")->required();
  apply->add_option("--registry", cluster_registry, "etcd registry etcd://HOST:PORT")
      ->type_name("URL");
  add_security(*apply, admin_opts);
  auto* status = cluster->add_subcommand(
      "status",
      "Show every node: address, reachable, round-trip time, procedures served (exit 0 when\n"
      "every node is reachable, 1 otherwise).");
  status->add_option("FILE", status_file, "Cluster file (YAML)");
  status->add_option("--registry", status_registry, "etcd registry etcd://HOST:PORT")
      ->type_name("URL");
  add_security(*status, admin_opts);

  command_line line;
  try {
    line = split_command_line(app, argc, argv);
    app.parse(static_cast<int>(line.options.size()), line.options.data());
  } catch (const usage_error& e) {
    std::fprintf(stderr, "netcall: %s\n", e.what());
    return exit_usage;
  } catch (const CLI::Success& e) {  // --help, --version
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "netcall: %s (see netcall --help)\n", e.what());
    return exit_usage;
  }

  if (cluster->parsed()) {
    netcall::client_options admin;
    admin.protocol = netcall::protocol::msgpack;
    admin.timeout = std::chrono::seconds(2);
    try {
      apply_security(admin_opts, admin);
      if (apply->parsed()) return netcall_cli::cluster_apply(cluster_file, cluster_registry, admin);
      if (status_file.empty() == status_registry.empty()) {
        std::fprintf(stderr, "netcall: cluster status takes FILE or --registry URL (one of them)\n");
        return exit_usage;
      }
      return netcall_cli::cluster_status(status_file, status_registry, admin);
    } catch (const netcall::cluster_file_error& e) {
      std::fprintf(stderr, "netcall: %s\n", e.what());
      return exit_usage;
    } catch (const std::invalid_argument& e) {
      std::fprintf(stderr, "netcall: %s\n", e.what());
      return exit_usage;
    } catch (const usage_error& e) {
      std::fprintf(stderr, "netcall: %s\n", e.what());
      return exit_usage;
    }
  }

  try {
    auto* chosen = call->parsed() ? call : list->parsed() ? list : bench;
    const std::vector<std::string> args = operands(*chosen, std::move(line.params));
    if (chosen == bench) return run_bench_command(bench_opts, bench_f, args);
    return chosen == call ? run_call(call_opts, args) : run_list(list_opts, list_openrpc, args);
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

/// SPEC §3: a JSON literal, or a word that is not JSON at all, which is a string. JSON that
/// netcall cannot send is refused (usage_error, exit 2) rather than sent as a string the user
/// did not mean: nesting deeper than the 128 levels servers accept (netcalld's --max-depth
/// default), a number beyond the double range (1e999), and an integer beyond int64 (which
/// would go as a rounded double).
netcall::value parse_param_value(const std::string& text, std::string_view word) {
  constexpr std::size_t max_depth = 128;
  netcall::value v;
  netcall::json_error why{};
  if (netcall::from_json(text, v, why, max_depth)) return v;
  if (why == netcall::json_error::too_deep) {
    throw usage_error("PARAM " + shown_word(word) + " nests deeper than " +
                      std::to_string(max_depth) +
                      " arrays/objects, which servers refuse; nothing was sent");
  }
  if (why == netcall::json_error::integer_out_of_range) {
    throw usage_error("PARAM " + shown_word(word) +
                      " holds an integer beyond the 64-bit signed range, which no protocol "
                      "carries; nothing was sent");
  }
  if (why == netcall::json_error::out_of_range) {
    throw usage_error("PARAM " + shown_word(word) +
                      " holds a number beyond the range of a double (a 64-bit float); nothing "
                      "was sent");
  }
  return netcall::value(text);
}

}  // namespace

#include "transport/metrics.hpp"

#include <prometheus/text_serializer.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "netcall/version.hpp"

namespace netcall::detail {

namespace {

constexpr std::string_view refusal_names[refusal_count] = {"max_connections", "not_tls",
                                                           "tls_handshake", "unknown_protocol"};

prometheus::MetricFamily family(std::string name, std::string help, prometheus::MetricType type) {
  prometheus::MetricFamily f;
  f.name = std::move(name);
  f.help = std::move(help);
  f.type = type;
  return f;
}

void add_value(prometheus::MetricFamily& f, double v,
               std::vector<prometheus::ClientMetric::Label> labels = {}) {
  prometheus::ClientMetric m;
  m.label = std::move(labels);
  if (f.type == prometheus::MetricType::Counter) {
    m.counter.value = v;
  } else {
    m.gauge.value = v;
  }
  f.metric.push_back(std::move(m));
}

/// When this process started (Unix time, seconds): read once.
double process_start_seconds() {
  static const double start = [] {
    const auto now_system = std::chrono::system_clock::now();
    std::ifstream stat("/proc/self/stat");
    std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    // Field 22 (starttime, clock ticks since boot), counted after the ")" that ends field 2.
    const auto close = text.rfind(')');
    std::istringstream in(close == std::string::npos ? std::string() : text.substr(close + 2));
    std::string field;
    unsigned long long start_ticks = 0;
    for (int i = 3; i <= 22 && in >> field; ++i) {
      if (i == 22) start_ticks = std::stoull(field);
    }
    std::ifstream uptime_file("/proc/uptime");
    double uptime = 0;
    uptime_file >> uptime;
    const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
    const double now = std::chrono::duration<double>(now_system.time_since_epoch()).count();
    return now - uptime + static_cast<double>(start_ticks) / ticks;
  }();
  return start;
}

/// The `process_*` metrics of the Prometheus client conventions (what client_golang and
/// client_python export), read at scrape time.
void add_process_metrics(std::vector<prometheus::MetricFamily>& out) {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  const double cpu = static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
                     static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
  auto f = family("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
                  prometheus::MetricType::Counter);
  add_value(f, cpu);
  out.push_back(std::move(f));

  long pages_total = 0;
  long pages_resident = 0;
  {
    std::ifstream statm("/proc/self/statm");
    statm >> pages_total >> pages_resident;
  }
  const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
  f = family("process_resident_memory_bytes", "Resident memory size in bytes.",
             prometheus::MetricType::Gauge);
  add_value(f, static_cast<double>(pages_resident) * page);
  out.push_back(std::move(f));
  f = family("process_virtual_memory_bytes", "Virtual memory size in bytes.",
             prometheus::MetricType::Gauge);
  add_value(f, static_cast<double>(pages_total) * page);
  out.push_back(std::move(f));

  std::error_code ec;
  std::size_t fds = 0;
  for (auto it = std::filesystem::directory_iterator("/proc/self/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    ++fds;
  }
  f = family("process_open_fds", "Number of open file descriptors.",
             prometheus::MetricType::Gauge);
  add_value(f, static_cast<double>(fds));
  out.push_back(std::move(f));
  rlimit files{};
  getrlimit(RLIMIT_NOFILE, &files);
  f = family("process_max_fds", "Maximum number of open file descriptors.",
             prometheus::MetricType::Gauge);
  add_value(f, static_cast<double>(files.rlim_cur));
  out.push_back(std::move(f));
  f = family("process_start_time_seconds",
             "Start time of the process since unix epoch in seconds.",
             prometheus::MetricType::Gauge);
  add_value(f, process_start_seconds());
  out.push_back(std::move(f));
}

}  // namespace

void loop_metrics::count_call(std::string_view protocol) {
  calls_by_family[family_of(protocol)].add(1);
}

transport_metrics::transport_metrics(std::shared_ptr<prometheus::Registry> registry)
    : registry_(std::move(registry)),
      accepted_(prometheus::BuildCounter()
                    .Name("netcall_connections_accepted_total")
                    .Help("Connections accepted since start.")
                    .Register(*registry_)
                    .Add({})) {
  auto& refused = prometheus::BuildCounter()
                      .Name("netcall_connections_refused_total")
                      .Help("Connections closed before being served, by reason: "
                            "max_connections, not_tls (--tls-only), tls_handshake, "
                            "unknown_protocol.")
                      .Register(*registry_);
  for (std::size_t i = 0; i < refusal_count; ++i) {
    refused_[i] = &refused.Add({{"reason", std::string(refusal_names[i])}});
  }
  auto& open = prometheus::BuildGauge()
                   .Name("netcall_connections_open")
                   .Help("Open connections, by the protocol they speak (http carries JSON-RPC "
                         "and XML-RPC).")
                   .Register(*registry_);
  for (const server_protocol* p : server_protocols()) {
    open_.push_back(&open.Add({{"protocol", std::string(p->name)}}));
  }
}

std::string transport_metrics::render(std::span<const loop_metrics* const> loops) const {
  auto sum = [loops](loop_counter loop_metrics::*counter) {
    std::int64_t total = 0;
    for (const loop_metrics* m : loops) total += (m->*counter).get();
    return static_cast<double>(total);
  };
  std::vector<prometheus::MetricFamily> families = registry_->Collect();
  using type = prometheus::MetricType;
  auto add = [&families](std::string name, std::string help, type t, double v) {
    auto f = family(std::move(name), std::move(help), t);
    add_value(f, v);
    families.push_back(std::move(f));
  };
  add("netcall_connections_active", "Open client connections holding a slot of --max-connections.",
      type::Gauge, static_cast<double>(connections_active.load()));
  add("netcall_connections_finishing",
      "Connections whose peer finished sending while their calls still run.", type::Gauge,
      static_cast<double>(connections_finishing.load()));
  add("netcall_calls_in_flight",
      "Calls running and not yet answered (each call of a batch or system.multicall counts).",
      type::Gauge, sum(&loop_metrics::calls_in_flight));
  auto calls = family("netcall_calls_total",
                      "Calls received, by protocol family (JSON-RPC over TCP and HTTP: jsonrpc).",
                      type::Counter);
  const auto names = call_families();
  for (std::size_t i = 0; i < names.size(); ++i) {
    std::int64_t total = 0;
    for (const loop_metrics* m : loops) total += m->calls_by_family[i].get();
    add_value(calls, static_cast<double>(total), {{"protocol", std::string(names[i])}});
  }
  families.push_back(std::move(calls));
  add("netcall_call_errors_total", "Calls answered with an error.", type::Counter,
      sum(&loop_metrics::call_errors));
  add("netcall_protocol_errors_total", "Messages that could not be parsed or exceeded a limit.",
      type::Counter, sum(&loop_metrics::protocol_errors));
  add("netcall_received_bytes_total", "Bytes read from client connections (inside TLS: the plaintext).",
      type::Counter, sum(&loop_metrics::received_bytes));
  add("netcall_sent_bytes_total", "Bytes written to client connections (inside TLS: the plaintext).",
      type::Counter, sum(&loop_metrics::sent_bytes));
  for (const auto& g : gauges_) add(g.name, g.help, type::Gauge, g.read());
  auto build = family("netcall_build_info", "netcall's version; the value is always 1.",
                      type::Gauge);
  add_value(build, 1, {{"version", netcall::version}});
  families.push_back(std::move(build));
  add_process_metrics(families);
  return prometheus::TextSerializer().Serialize(families);
}

}  // namespace netcall::detail

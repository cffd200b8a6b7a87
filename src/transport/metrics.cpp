#include "transport/metrics.hpp"


namespace netcall::detail {

void loop_metrics::count_call(std::string_view protocol) {
  calls_by_family[family_of(protocol)].add(1);
}

std::string transport_metrics::render(std::span<const loop_metrics* const> loops) const {
  auto sum = [loops](loop_counter loop_metrics::*counter) {
    std::int64_t total = 0;
    for (const loop_metrics* m : loops) total += (m->*counter).get();
    return total;
  };
  auto sum_family = [loops](std::size_t family) {
    std::int64_t total = 0;
    for (const loop_metrics* m : loops) total += m->calls_by_family[family].get();
    return total;
  };
  std::string out;
  auto metric = [&out](std::string_view name, std::string_view type, std::string_view help,
                       std::int64_t v) {
    out += "# HELP ";
    out += name;
    out += ' ';
    out += help;
    out += "\n# TYPE ";
    out += name;
    out += ' ';
    out += type;
    out += '\n';
    out += name;
    out += ' ';
    out += std::to_string(v);
    out += '\n';
  };
  metric("netcall_connections_active", "gauge",
         "Open client connections (holding a slot of --max-connections).",
         connections_active.load());
  metric("netcall_connections_total", "counter", "Connections accepted since start.",
         connections_total.load());
  metric("netcall_connections_refused_total", "counter",
         "Connections closed at once because --max-connections was reached.",
         connections_refused.load());
  metric("netcall_connections_finishing", "gauge",
         "Connections whose peer finished sending while their calls still run.",
         connections_finishing.load());
  metric("netcall_calls_in_flight", "gauge",
         "Calls running and not yet answered (each call of a batch or system.multicall counts).",
         sum(&loop_metrics::calls_in_flight));
  out +=
      "# HELP netcall_calls_total Calls received, by protocol.\n"
      "# TYPE netcall_calls_total counter\n";
  auto calls = [&out](std::string_view protocol, std::int64_t n) {
    out += "netcall_calls_total{protocol=\"";
    out += protocol;
    out += "\"} ";
    out += std::to_string(n);
    out += '\n';
  };
  const auto families = call_families();
  for (std::size_t i = 0; i < families.size(); ++i) calls(families[i], sum_family(i));
  metric("netcall_call_errors_total", "counter", "Calls answered with an error.",
         sum(&loop_metrics::call_errors));
  metric("netcall_protocol_errors_total", "counter",
         "Messages that could not be parsed or exceeded a limit.",
         sum(&loop_metrics::protocol_errors));
  return out;
}

}  // namespace netcall::detail

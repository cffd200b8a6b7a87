#include "server/interceptors/metrics.hpp"

#include <chrono>

#include "protocol/message.hpp"

namespace netcall::detail {

namespace {

/// Buckets of netcall_server_call_duration_seconds: 100 µs to 10 s, about 2.5x apart
/// (Prometheus' default buckets, extended below 5 ms where most calls of an RPC server fall).
const prometheus::Histogram::BucketBoundaries duration_buckets{
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
    0.05,   0.1,     0.25,   0.5,   1,     2.5,   5,     10};

constexpr std::string_view protocols[call_metrics::protocol_count] = {
    protocol_names::jsonrpc, protocol_names::jsonrpc_http, protocol_names::xmlrpc,
    protocol_names::msgpack, protocol_names::json_array};

std::size_t protocol_index(std::string_view p) {
  // Metadata holds the protocol_names constants themselves: compared by address first.
  for (std::size_t i = 0; i < std::size(protocols); ++i) {
    if (protocols[i].data() == p.data()) return i;
  }
  for (std::size_t i = 0; i < std::size(protocols); ++i) {
    if (protocols[i] == p) return i;
  }
  return 0;
}

}  // namespace

code_counters::code_counters(prometheus::Family<prometheus::Counter>& family,
                             prometheus::Labels labels)
    : family_(family), labels_(std::move(labels)) {}

prometheus::Counter& code_counters::of(int code) {
  std::size_t used = used_.load(std::memory_order_acquire);
  for (std::size_t i = 0; i < used; ++i) {
    if (codes_[i] == code) return *counters_[i];
  }
  std::lock_guard lock(adding_);
  used = used_.load(std::memory_order_relaxed);
  for (std::size_t i = 0; i < used; ++i) {
    if (codes_[i] == code) return *counters_[i];
  }
  auto labels = labels_;
  if (used == max_codes) {
    if (other_ == nullptr) {
      labels["code"] = "other";
      other_ = &family_.Add(labels);
    }
    return *other_;
  }
  labels["code"] = std::to_string(code);
  codes_[used] = code;
  counters_[used] = &family_.Add(labels);
  used_.store(used + 1, std::memory_order_release);
  return *counters_[used];
}

struct call_metrics::series {
  series(prometheus::Family<prometheus::Counter>& calls,
         prometheus::Family<prometheus::Histogram>& durations, const prometheus::Labels& labels)
      : codes(calls, labels), duration(durations.Add(labels, duration_buckets)) {}
  code_counters codes;
  prometheus::Histogram& duration;
};

call_metrics::call_metrics(const registry& procedures, prometheus::Registry& registry)
    : interceptor(true),
      calls_(prometheus::BuildCounter()
                 .Name("netcall_server_calls_total")
                 .Help("Calls answered, by method (a registered method, else _unknown), "
                       "protocol and code (0: success, else the error code sent).")
                 .Register(registry)),
      durations_(prometheus::BuildHistogram()
                     .Name("netcall_server_call_duration_seconds")
                     .Help("Time from a call's arrival to its answer, by method and protocol.")
                     .Register(registry)) {
  unknown_.name = "_unknown";
  for (const auto& [name, entry] : procedures.entries()) {
    auto row = std::make_unique<method_row>();
    row->name = name;
    by_name_.emplace(row->name, row.get());
    rows_.push_back(std::move(row));
  }
}

call_metrics::~call_metrics() = default;

call_metrics::series& call_metrics::series_of(method_row& row, std::size_t protocol) {
  series* s = row.by_protocol[protocol].load(std::memory_order_acquire);
  if (s != nullptr) return *s;
  std::lock_guard lock(adding_);
  s = row.by_protocol[protocol].load(std::memory_order_relaxed);
  if (s != nullptr) return *s;
  prometheus::Labels labels{{"method", row.name}, {"protocol", std::string(protocols[protocol])}};
  all_.push_back(std::make_unique<series>(calls_, durations_, labels));
  s = all_.back().get();
  row.by_protocol[protocol].store(s, std::memory_order_release);
  return *s;
}

verdict call_metrics::on_call(call& c) {
  auto it = by_name_.find(c.req.method);
  method_row& row = it == by_name_.end() ? unknown_ : *it->second;
  c.series = &series_of(row, protocol_index(c.req.meta.protocol));
  return verdict::proceed;
}

verdict call_metrics::on_answer(call& c) {
  auto& s = *static_cast<series*>(c.series);
  s.codes.of(c.answer.error ? c.answer.error->code : 0).Increment();
  const auto elapsed = std::chrono::steady_clock::now() - c.received;
  s.duration.Observe(std::chrono::duration<double>(elapsed).count());
  return verdict::proceed;
}

}  // namespace netcall::detail

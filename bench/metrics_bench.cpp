// What counting one call costs: prometheus-cpp's own Counter and Histogram (what the library's
// handles do per call) against netcall's per-loop counters (transport/call_metrics.hpp), one
// thread and two threads on the same series. Run:
//   ./build/bin/metrics_bench --benchmark_min_time=0.2
// The figures decided how /metrics counts calls (docs/architecture.md "Metrics").
#include <benchmark/benchmark.h>
#include <prometheus/counter.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <array>
#include <atomic>
#include <cstdint>

namespace {

const prometheus::Histogram::BucketBoundaries buckets{0.0001, 0.00025, 0.0005, 0.001, 0.0025,
                                                      0.005,  0.01,    0.025,  0.05,  0.1,
                                                      0.25,   0.5,     1,      2.5,   5,   10};

struct shared_series {
  prometheus::Registry registry;
  prometheus::Counter* calls;
  prometheus::Histogram* duration;
  shared_series() {
    calls = &prometheus::BuildCounter().Name("calls_total").Register(registry).Add(
        {{"method", "add"}, {"protocol", "msgpack"}, {"code", "0"}});
    duration = &prometheus::BuildHistogram().Name("duration_seconds").Register(registry).Add(
        {{"method", "add"}, {"protocol", "msgpack"}}, buckets);
  }
};

shared_series& series() {
  static shared_series s;
  return s;
}

void prometheus_cpp_handles(benchmark::State& state) {
  auto& s = series();
  double seconds = 0.0003;
  for (auto _ : state) {
    s.calls->Increment();
    s.duration->Observe(seconds);
    benchmark::DoNotOptimize(seconds);
  }
}
BENCHMARK(prometheus_cpp_handles)->Threads(1)->Threads(2);

// A per-loop series: one writer thread, relaxed load + store (no locked instruction).
struct loop_series {
  std::atomic<std::int64_t> calls{0};
  std::array<std::atomic<std::int64_t>, 17> bucket{};
  std::atomic<std::int64_t> sum_ns{0};
  static void add(std::atomic<std::int64_t>& a, std::int64_t n) {
    a.store(a.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
};

void per_loop_counters(benchmark::State& state) {
  static loop_series per_thread[2];
  loop_series& s = per_thread[state.thread_index()];
  std::int64_t ns = 300'000;
  static constexpr std::array<std::int64_t, 16> bounds_ns{
      100'000, 250'000, 500'000, 1'000'000, 2'500'000, 5'000'000, 10'000'000, 25'000'000,
      50'000'000, 100'000'000, 250'000'000, 500'000'000, 1'000'000'000, 2'500'000'000,
      5'000'000'000, 10'000'000'000};
  for (auto _ : state) {
    loop_series::add(s.calls, 1);
    std::size_t i = 0;
    while (i < bounds_ns.size() && ns > bounds_ns[i]) ++i;
    loop_series::add(s.bucket[i], 1);
    loop_series::add(s.sum_ns, ns);
    benchmark::DoNotOptimize(ns);
  }
}
BENCHMARK(per_loop_counters)->Threads(1)->Threads(2);

}  // namespace

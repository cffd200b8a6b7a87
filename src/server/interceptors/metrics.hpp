#pragma once
/// \file
/// The call metrics interceptor (SPEC §7): counts every call by method, protocol and code
/// (`netcall_server_calls_total`) and observes its duration (`netcall_server_call_duration_seconds`,
/// a histogram by method and protocol), with prometheus-cpp's handles.
///
/// Handles are made once per method and protocol (the first call of each), never per call: a
/// call finds its method's row by one hash lookup (like the procedure runner's), its protocol's
/// series by index, and its code's counter in a short lock-free table. The label set is
/// bounded: a method label is only ever a registered method's name (anything else counts as
/// `_unknown`), a protocol one of five, and at most `code_counters::max_codes` codes per series
/// (more: `code="other"`). Outermost in the chain, so refusals are counted too.
///
/// Cost (bench/metrics_bench.cpp, bench/RESULTS.md): a counter increment and a histogram
/// observation are ~20 ns, under 5 % of a MessagePack call's server CPU, so prometheus-cpp's own
/// handles are used rather than per-loop counters.

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <array>
#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "netcall/server.hpp"
#include "server/pipeline.hpp"

namespace netcall::detail {

/// The counters of one series by `code` label, made on first use: lookups take no lock.
class code_counters {
 public:
  /// Distinct codes per series; further ones share `code="other"`.
  static constexpr std::size_t max_codes = 16;

  /// Counters of `family` with `labels` plus `code`.
  code_counters(prometheus::Family<prometheus::Counter>& family, prometheus::Labels labels);

  /// The counter of `code` (0 for success). Thread-safe.
  prometheus::Counter& of(int code);

 private:
  prometheus::Family<prometheus::Counter>& family_;
  const prometheus::Labels labels_;
  std::array<int, max_codes> codes_{};
  std::array<prometheus::Counter*, max_codes> counters_{};
  std::atomic<std::size_t> used_{0};  // entries below it are published (release/acquire)
  prometheus::Counter* other_ = nullptr;
  std::mutex adding_;
};

class call_metrics final : public interceptor {
 public:
  /// Registers the two families in `registry`; a row for each procedure of `procedures` (its
  /// entries must not change while calls run: they are fixed at `server::start`).
  call_metrics(const registry& procedures, prometheus::Registry& registry);
  ~call_metrics() override;

  verdict on_call(call& c) override;
  verdict on_answer(call& c) override;

  /// The protocols calls are labelled with, in `call_metadata::protocol` form.
  static constexpr std::size_t protocol_count = 5;

 private:
  struct series;
  struct method_row {
    std::string name;
    std::array<std::atomic<series*>, protocol_count> by_protocol{};
  };
  series& series_of(method_row& row, std::size_t protocol);

  prometheus::Family<prometheus::Counter>& calls_;
  prometheus::Family<prometheus::Histogram>& durations_;
  std::vector<std::unique_ptr<method_row>> rows_;
  std::unordered_map<std::string_view, method_row*> by_name_;  // read-only after construction
  method_row unknown_;
  std::mutex adding_;
  std::vector<std::unique_ptr<series>> all_;
};

}  // namespace netcall::detail

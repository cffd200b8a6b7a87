#include "bench.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "netcall/histogram.hpp"
#include "report.hpp"

namespace netcall_cli {
namespace {

using steady = std::chrono::steady_clock;

/// The shortest measured window, in seconds, over which the client's CPU share is reported.
constexpr double kMinCpuWindowS = 0.1;

/// CPU time (user + system) of the whole process so far, in seconds.
double cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/// One client I/O thread's share of the load. Its counters are touched only from that thread,
/// except the atomics read by the progress line.
struct worker {
  std::unique_ptr<netcall::client> client;
  std::unique_ptr<netcall::channel> channel;  // routed calls instead
  netcall::latency_histogram histogram;
  std::uint64_t errors = 0;
  std::atomic<std::uint64_t> completed{0};  // measured calls
  std::optional<netcall::error> first_error;  // warm-up included
};

struct run_state {
  const bench_options* options;
  steady::time_point measure_from;
  steady::time_point stop_at;
  std::atomic<bool> stopping{false};
  std::atomic<std::int64_t> issue_budget{0};  // measured calls still to start (with --calls)
  std::atomic<unsigned> in_flight{0};
  std::atomic<bool> any_succeeded{false};  // one call (warm-up included) got a result
  std::mutex done_mutex;
  std::condition_variable done_cv;
};

void issue(run_state& s, worker& w);

// One of the `concurrency` call slots is done: the run ends when the last one is.
void release_slot(run_state& s) {
  if (s.in_flight.fetch_sub(1) == 1) {
    std::lock_guard lock(s.done_mutex);
    s.done_cv.notify_all();
  }
}

/// A call of `w` that started at `started` ended with `o`: counts it when it is measured, notes
/// the first error, and starts the next call unless the run is stopping.
void on_complete(run_state& s, worker& w, steady::time_point started, const netcall::outcome& o) {
  const auto now = steady::now();
  const bool by_count = s.options->calls > 0;
  // Measured: every call started after the warm-up (with --calls, exactly that many are
  // started); with --duration, those that complete before the end.
  if (started >= s.measure_from && (by_count || !s.stopping.load(std::memory_order_relaxed))) {
    w.histogram.record(static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(now - started).count()));
    if (o.failure) ++w.errors;
    w.completed.fetch_add(1, std::memory_order_relaxed);
  }
  if (!o.failure) {
    s.any_succeeded.store(true, std::memory_order_relaxed);
  } else {
    if (!w.first_error) w.first_error = *o.failure;
    // Not one call got through and this one could not connect: the server is not there at
    // all, and spinning on refused connections until the end would measure nothing.
    if (o.failure->code() == netcall::status_code::unavailable &&
        !s.any_succeeded.load(std::memory_order_relaxed)) {
      s.stopping = true;
    }
  }
  if (!by_count && now >= s.stop_at) s.stopping = true;
  if (s.stopping.load(std::memory_order_relaxed)) return release_slot(s);
  issue(s, w);
}

void issue(run_state& s, worker& w) {
  const auto started = steady::now();
  if (s.options->calls > 0 && started >= s.measure_from &&
      s.issue_budget.fetch_sub(1, std::memory_order_relaxed) <= 0) {
    s.stopping = true;  // --calls N: N measured calls were started; the others drain
    return release_slot(s);
  }
  auto done = [&s, &w, started](netcall::outcome o) { on_complete(s, w, started, o); };
  if (w.channel) {
    netcall::route_options route;
    route.idempotent = s.options->idempotent;
    w.channel->async_call_params(s.options->target, s.options->method, s.options->params,
                                 std::move(done), route);
    return;
  }
  w.client->async_call_params(s.options->method, s.options->params, std::move(done));
}

/// `n` with a comma every three digits: 1,234,567.
std::string with_commas(std::uint64_t n) {
  const std::string digits = std::to_string(n);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

/// The name `--protocol` takes for `p`.
const char* protocol_name(netcall::protocol p) {
  switch (p) {
    case netcall::protocol::jsonrpc: return "jsonrpc";
    case netcall::protocol::jsonrpc_http: return "jsonrpc-http";
    case netcall::protocol::xmlrpc: return "xmlrpc";
    case netcall::protocol::msgpack: return "msgpack";
  }
  return "?";
}

}  // namespace

int run_bench(const bench_options& o) {
  const unsigned threads = std::max(1u, std::min(o.threads, o.connections));
  std::vector<std::unique_ptr<worker>> workers;
  for (unsigned t = 0; t < threads; ++t) {
    auto w = std::make_unique<worker>();
    netcall::client_options co = o.client;
    // Bench calls are never retried: no idempotency keys, so the server measures its call
    // path rather than its memory of outcomes (and the peers' load client sends none either).
    co.connections = o.connections / threads + (t < o.connections % threads ? 1 : 0);
    if (o.make_channel) {
      // Keys only when a retry may need them (--retries): moves of attempts that certainly
      // did not run need none, and a direct bench sends none either.
      co.idempotency_keys = co.retry.max_attempts > 1;
      w->channel = o.make_channel(co);
    } else {
      co.idempotency_keys = false;
      co.retry.max_attempts = 1;
      w->client = std::make_unique<netcall::client>(o.target, co);
    }
    workers.push_back(std::move(w));
  }

  run_state s;
  s.options = &o;
  const auto start = steady::now();
  s.measure_from = start + o.warmup;
  s.stop_at = s.measure_from + o.duration;
  s.issue_budget = static_cast<std::int64_t>(o.calls);
  s.in_flight = o.concurrency;

  const bool progress = isatty(STDERR_FILENO) && !o.json;
  // The client's CPU use is read at the two ends of the measured window, each beside the clock
  // reading it is divided by: the start-up (building clients, connecting) and the warm-up are
  // not counted, and a short run cannot divide a whole process's CPU time by a few microseconds.
  std::optional<double> cpu_at_measure;
  steady::time_point cpu_measured_from;
  auto start_cpu_window = [&] {
    cpu_at_measure = cpu_seconds();
    cpu_measured_from = steady::now();
  };
  if (o.warmup.count() == 0) start_cpu_window();
  // Start the closed loop: `concurrency` calls in flight, spread over the workers.
  for (unsigned i = 0; i < o.concurrency; ++i) issue(s, *workers[i % workers.size()]);

  std::unique_lock lock(s.done_mutex);
  std::uint64_t last_completed = 0;
  auto last_tick = steady::now();
  for (;;) {
    // Wake each 100ms for the progress line, and at the end of the warm-up to start the window.
    auto wake = steady::now() + std::chrono::milliseconds(100);
    if (!cpu_at_measure && s.measure_from < wake) wake = s.measure_from;
    if (s.done_cv.wait_until(lock, wake, [&] { return s.in_flight.load() == 0; })) break;
    const auto now = steady::now();
    if (!cpu_at_measure && now >= s.measure_from) start_cpu_window();
    if (progress && now - last_tick >= std::chrono::seconds(1)) {
      std::uint64_t completed = 0;
      for (auto& w : workers) completed += w->completed.load(std::memory_order_relaxed);
      const double secs = std::chrono::duration<double>(now - last_tick).count();
      const double elapsed = std::chrono::duration<double>(now - start).count();
      std::fprintf(stderr, "\r%5.1fs  %s calls/s%s   ", elapsed,
                   with_commas(static_cast<std::uint64_t>((completed - last_completed) / secs))
                       .c_str(),
                   now < s.measure_from ? " (warm-up)" : "");
      last_completed = completed;
      last_tick = now;
    }
  }
  lock.unlock();
  const auto end = steady::now();
  // Only a window that was started has CPU time to report (a run that ended in its warm-up,
  // e.g. on a server that refused every connection, has none).
  const std::optional<double> cpu_used =
      cpu_at_measure ? std::optional(cpu_seconds() - *cpu_at_measure) : std::nullopt;
  const double cpu_window_s =
      cpu_at_measure ? std::chrono::duration<double>(end - cpu_measured_from).count() : 0;
  if (progress) std::fprintf(stderr, "\r%60s\r", "");

  netcall::latency_histogram all;
  std::uint64_t errors = 0;
  std::optional<netcall::error> first_error;
  for (auto& w : workers) {
    all.merge(w->histogram);
    errors += w->errors;
    if (!first_error && w->first_error) first_error = w->first_error;
  }
  workers.clear();  // joins the client threads

  // Not one call got a result: no table of a run that measured nothing but failures.
  if (first_error && !s.any_succeeded.load()) {
    std::fprintf(stderr, "netcall: bench: every call failed: %s\n",
                 error_text(*first_error).c_str());
    return is_unreachable(*first_error) ? 3 : 1;
  }

  const double measured_s =
      std::max(0.0, std::chrono::duration<double>(end - std::max(s.measure_from, start)).count());
  const double cps = measured_s > 0 ? static_cast<double>(all.count()) / measured_s : 0;
  const double us = 1e-3;
  // The kernel adds a thread's CPU time to the process's when that thread is scheduled or at a
  // scheduler tick (4-10 ms), so each of the two readings can miss up to a tick per running
  // thread: a share needs a window of many ticks (a 2 ms window once read 304% on 2 cores).
  const bool cpu_known = cpu_used && cpu_window_s >= kMinCpuWindowS;
  const double cpu_pct = cpu_known ? std::max(0.0, *cpu_used) / cpu_window_s * 100.0 : 0;
  const double cpu_per_call_us =
      cpu_known && all.count() ? std::max(0.0, *cpu_used) / static_cast<double>(all.count()) * 1e6
                               : 0;
  if (o.json) {
    char cpu[96] = "\"client_cpu_pct\":null,\"client_cpu_us_per_call\":null";
    if (cpu_known) {
      std::snprintf(cpu, sizeof cpu, "\"client_cpu_pct\":%.1f,\"client_cpu_us_per_call\":%.3f",
                    cpu_pct, cpu_per_call_us);
    }
    std::printf(
        "{\"calls\":%llu,\"errors\":%llu,\"duration_s\":%.3f,\"throughput_cps\":%.1f,"
        "\"latency_us\":{\"mean\":%.2f,\"p50\":%.2f,\"p90\":%.2f,\"p99\":%.2f,\"p999\":%.2f,"
        "\"max\":%.2f},%s}\n",
        static_cast<unsigned long long>(all.count()), static_cast<unsigned long long>(errors),
        measured_s, cps, all.mean() * us, all.percentile(50) * us, all.percentile(90) * us,
        all.percentile(99) * us, all.percentile(99.9) * us, static_cast<double>(all.max()) * us,
        cpu);
  } else {
    std::printf("netcall bench: %s on %s over %s, %u in flight on %u connection(s), %u thread(s)\n",
                o.method.c_str(), o.target.c_str(), protocol_name(o.client.protocol),
                o.concurrency, o.connections, threads);
    std::printf("calls        %s in %.2f s (errors: %s)\n", with_commas(all.count()).c_str(),
                measured_s, with_commas(errors).c_str());
    std::printf("throughput   %s calls/s\n", with_commas(static_cast<std::uint64_t>(cps)).c_str());
    std::printf("latency us   mean %.1f  p50 %.1f  p90 %.1f  p99 %.1f  p99.9 %.1f  max %.1f\n",
                all.mean() * us, all.percentile(50) * us, all.percentile(90) * us,
                all.percentile(99) * us, all.percentile(99.9) * us,
                static_cast<double>(all.max()) * us);
    if (cpu_known) {
      std::printf("client CPU   %.0f%% of a core (%.2f us per call)\n", cpu_pct, cpu_per_call_us);
    } else {
      std::printf("client CPU   n/a (measured for under 100 ms)\n");
    }
  }
  std::fflush(stdout);
  if (errors > 0 && first_error) {
    std::fprintf(stderr, "netcall: bench: %s of %s calls failed; the first: %s\n",
                 with_commas(errors).c_str(), with_commas(all.count()).c_str(),
                 error_text(*first_error).c_str());
  }
  return errors ? 1 : 0;
}

}  // namespace netcall_cli

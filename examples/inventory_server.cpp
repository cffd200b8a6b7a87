// A small stock-keeping service: the library's C++ types on the wire (docs/library.md "Types").
//
//   inventory_server [HOST:PORT [THREADS [BLOCKING_THREADS [MAX_BLOCKING_QUEUE]]]]
//
// HOST:PORT defaults to 127.0.0.1:0 (port 0 picks a free one); THREADS is the number of event
// loops (default 0: one per core), BLOCKING_THREADS and MAX_BLOCKING_QUEUE size the blocking
// pool (defaults 4 and 256, server_options). Prints "inventory listening on HOST:PORT" and serves
// JSON-RPC 2.0 (TCP, HTTP), XML-RPC and MessagePack-RPC on that port until SIGINT or SIGTERM.
//
// It shows the three kinds of procedure:
//   - plain ones (item.put, item.get, item.find, report.count, blob.size, clock.add_seconds),
//     which run on the event loop that read the call and must not block; their params and results
//     are C++ types, here a struct and an enum described with Boost.Describe;
//   - a coroutine (item.reserve), which returns netcall::task<R> and waits with
//     `co_await netcall::sleep_for(ctx, ...)`, holding no thread while it waits;
//   - a blocking one (report.stock), bound with bind_blocking: it runs on the blocking pool, so
//     the calls it holds up are only those queued behind it there.
//
//   ITEM='{"sku":"A-1","name":"anchor","quantity":3,"tags":["marine"],"status":"in_stock"}'
//   netcall call 127.0.0.1:PORT item.put "$ITEM"
//   netcall call 127.0.0.1:PORT item.get A-1
#include <algorithm>
#include <boost/describe.hpp>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "netcall/server.hpp"
#include "netcall/task.hpp"

namespace inventory {

/// Where an item stands; it travels as its name ("in_stock", ...), and any other name is refused
/// with -32602 listing these.
enum class item_status { in_stock, backordered, discontinued };
BOOST_DESCRIBE_ENUM(item_status, in_stock, backordered, discontinued)

/// A place in the warehouse.
struct location {
  std::string aisle;
  int shelf = 0;
};
BOOST_DESCRIBE_STRUCT(location, (), (aisle, shelf))

/// One stock-keeping unit. It travels as a struct (a JSON object, an XML-RPC `<struct>`, a
/// MessagePack map) of these members by name: a missing member that is not a `std::optional`, or
/// a member not listed here, is refused with -32602 naming it; an empty `std::optional` is
/// written as nil.
struct item {
  std::string sku;                ///< the key, e.g. "A-1"
  std::string name;               ///< what it is, for people
  int quantity = 0;               ///< units in stock; an int (32 bits): more is -32602
  std::vector<std::string> tags;  ///< free-form labels
  std::optional<double> price;    ///< unit price; may be omitted
  /// Travels by name: "in_stock", "backordered" or "discontinued".
  item_status status = item_status::in_stock;
  std::optional<location> bin;  ///< where it is shelved; may be omitted
};
BOOST_DESCRIBE_STRUCT(item, (), (sku, name, quantity, tags, price, status, bin))

/// What item.reserve answers.
struct reservation {
  std::string sku;
  int quantity = 0;      ///< units that were held
  int left = 0;          ///< units left in stock while they were held
  std::string held_for;  ///< the caller's address, "HOST:PORT" (from the call's metadata)
};
BOOST_DESCRIBE_STRUCT(reservation, (), (sku, quantity, left, held_for))

/// What report.stock answers.
struct stock_report {
  std::int64_t number = 0;  ///< 1 for the first report this server made, 2 for the next, ...
  std::int64_t items = 0;   ///< items known
  std::int64_t units = 0;   ///< units in stock, all items together
};
BOOST_DESCRIBE_STRUCT(stock_report, (), (number, items, units))

/// The stock, shared by every event loop and the blocking pool: each member function takes the
/// lock for the time it reads or writes, never while a call waits.
class store {
 public:
  /// Adds or replaces `it` (by its sku); true when it was new. Throws invalid_params (-32602)
  /// for an empty sku or a negative quantity.
  bool put(item it) {
    if (it.sku.empty()) throw netcall::error(netcall::status_code::invalid_params, "empty sku");
    if (it.quantity < 0) {
      throw netcall::error(netcall::status_code::invalid_params, "negative quantity");
    }
    std::lock_guard lock(mutex_);
    const std::string sku = it.sku;
    return items_.insert_or_assign(sku, std::move(it)).second;
  }

  /// The item `sku`. Throws std::out_of_range (-32000, an application error) when there is none.
  item get(const std::string& sku) const {
    std::lock_guard lock(mutex_);
    auto it = items_.find(sku);
    if (it == items_.end()) throw std::out_of_range("no item '" + sku + "'");
    return it->second;
  }

  /// Every item of status `s`, by sku.
  std::vector<item> find(item_status s) const {
    std::lock_guard lock(mutex_);
    std::vector<item> out;
    for (const auto& [sku, it] : items_) {
      if (it.status == s) out.push_back(it);
    }
    return out;
  }

  /// Takes `n` units of `sku` out of stock; returns the units left. Throws std::out_of_range
  /// when there is no such item, std::runtime_error when fewer than `n` are in stock.
  int take(const std::string& sku, int n) {
    std::lock_guard lock(mutex_);
    auto it = items_.find(sku);
    if (it == items_.end()) throw std::out_of_range("no item '" + sku + "'");
    if (it->second.quantity < n) {
      throw std::runtime_error("only " + std::to_string(it->second.quantity) + " of '" + sku +
                               "' in stock");
    }
    it->second.quantity -= n;
    return it->second.quantity;
  }

  /// Puts `n` units of `sku` back (nothing when the item was removed meanwhile).
  void give_back(const std::string& sku, int n) {
    std::lock_guard lock(mutex_);
    auto it = items_.find(sku);
    if (it == items_.end()) return;
    // Saturating: a put may have raised the quantity meanwhile, up to the int's maximum.
    it->second.quantity += std::min(n, std::numeric_limits<int>::max() - it->second.quantity);
  }

  /// A report of the stock as it is now, numbered.
  stock_report report() {
    std::lock_guard lock(mutex_);
    stock_report r;
    r.number = ++reports_;
    r.items = static_cast<std::int64_t>(items_.size());
    for (const auto& [sku, it] : items_) r.units += it.quantity;
    return r;
  }

  /// How many reports were made so far.
  std::int64_t reports() const {
    std::lock_guard lock(mutex_);
    return reports_;
  }

 private:
  mutable std::mutex mutex_;
  std::map<std::string, item> items_;
  std::int64_t reports_ = 0;
};

/// item.reserve: holds `quantity` units of `sku` for `hold_ms` milliseconds (a shopping cart's
/// hold), then puts them back. A coroutine: while it waits, the event loop serves other calls and
/// no thread is held. The call's context gives the caller's address.
netcall::task<reservation> reserve(netcall::call_context& ctx, store& stock, std::string sku,
                                   int quantity, std::int64_t hold_ms) {
  if (quantity <= 0 || hold_ms < 0 || hold_ms > 60'000) {
    throw netcall::error(netcall::status_code::invalid_params,
                         "quantity must be positive and hold_ms within 0..60000");
  }
  reservation r;
  r.sku = sku;
  r.quantity = quantity;
  r.left = stock.take(sku, quantity);
  // The peer is the connection's, valid until the call completes (netcall/metadata.hpp).
  const netcall::call_metadata& meta = ctx.metadata();
  r.held_for = meta.peer != nullptr ? meta.peer->address : std::string();
  co_await netcall::sleep_for(ctx, std::chrono::milliseconds(hold_ms));
  stock.give_back(sku, quantity);
  co_return r;
}

/// report.stock: a report as a slow backend would make it. It really blocks (for `backend_ms`
/// milliseconds, as a database query or an fsync would), which is why it is bound with
/// bind_blocking: it runs on the blocking pool, never on an event loop.
stock_report slow_report(store& stock, std::int64_t backend_ms) {
  if (backend_ms < 0 || backend_ms > 60'000) {
    throw netcall::error(netcall::status_code::invalid_params, "backend_ms must be 0..60000");
  }
  stock_report r = stock.report();  // numbered as soon as it starts
  std::this_thread::sleep_for(std::chrono::milliseconds(backend_ms));
  return r;
}

/// clock.add_seconds: `t` plus `delta` seconds (negative: minus), through the calendar. Over
/// JSON-RPC both `t` and the result are ISO 8601 text ("2026-12-31T23:59:30"); XML-RPC and
/// MessagePack carry a date-time type. A leap second (:60) counts as :59. Throws invalid_params
/// (-32602) for a result outside years 0..9999.
netcall::date_time add_seconds(const netcall::date_time& t, std::int64_t delta) {
  using namespace std::chrono;
  constexpr std::int64_t ten_thousand_years = 10'000LL * 366 * 86'400;
  if (delta < -ten_thousand_years || delta > ten_thousand_years) {  // (no overflow below)
    throw netcall::error(netcall::status_code::invalid_params,
                         "the result is outside years 0..9999");
  }
  const year_month_day date{year{t.year}, month{static_cast<unsigned>(t.month)},
                            day{static_cast<unsigned>(t.day)}};
  if (!date.ok()) {
    throw netcall::error(netcall::status_code::invalid_params, "t: no such day in the calendar");
  }
  const sys_seconds then = sys_days{date} + hours{t.hour} + minutes{t.minute} +
                           std::chrono::seconds{t.second > 59 ? 59 : t.second} +
                           std::chrono::seconds{delta};
  const sys_days then_day = floor<days>(then);
  const year_month_day ymd{then_day};
  const hh_mm_ss hms{then - then_day};
  if (ymd.year() < year{0} || ymd.year() > year{9999}) {
    throw netcall::error(netcall::status_code::invalid_params,
                         "the result is outside years 0..9999");
  }
  netcall::date_time out;
  out.year = static_cast<int>(ymd.year());
  out.month = static_cast<int>(static_cast<unsigned>(ymd.month()));
  out.day = static_cast<int>(static_cast<unsigned>(ymd.day()));
  out.hour = static_cast<int>(hms.hours().count());
  out.minute = static_cast<int>(hms.minutes().count());
  out.second = static_cast<int>(hms.seconds().count());
  out.microsecond = t.microsecond;  // whole seconds were added: the fraction stays
  return out;
}

/// Registers every procedure of the service on `srv`, sharing `stock`.
void bind_all(netcall::server& srv, store& stock) {
  srv.bind(
      "item.put", [&stock](item it) { return stock.put(std::move(it)); }, {"item"},
      "Adds or replaces an item; true when it was new.");
  srv.bind(
      "item.get", [&stock](const std::string& sku) { return stock.get(sku); }, {"sku"},
      "The item of a sku.");
  srv.bind(
      "item.find", [&stock](item_status s) { return stock.find(s); }, {"status"},
      "Every item of a status, by sku.");
  // A coroutine procedure: the lambda returns netcall::task<reservation>; its first param,
  // call_context&, is not a wire param.
  srv.bind(
      "item.reserve",
      [&stock](netcall::call_context& ctx, std::string sku, int quantity, std::int64_t hold_ms) {
        return reserve(ctx, stock, std::move(sku), quantity, hold_ms);
      },
      {"sku", "quantity", "hold_ms"},
      "Holds quantity units of sku for hold_ms milliseconds, then puts them back.");
  srv.bind_blocking(
      "report.stock", [&stock](std::int64_t backend_ms) { return slow_report(stock, backend_ms); },
      {"backend_ms"}, "A stock report from a backend that takes backend_ms.");
  srv.bind(
      "report.count", [&stock] { return stock.reports(); }, {},
      "How many reports were started so far.");
  // bytes and date_time params: JSON has neither, so JSON-RPC gives them as base64 and
  // ISO 8601 text (netcall/codec.hpp); the other protocols have the types themselves.
  srv.bind(
      "blob.size", [](const netcall::bytes& b) { return static_cast<std::int64_t>(b.data.size()); },
      {"data"}, "The number of octets of data.");
  srv.bind("clock.add_seconds", add_seconds, {"t", "seconds"},
           "The date-time t plus seconds (negative: minus).");
}

}  // namespace inventory

/// Reads the optional count argv[i] (a non-negative integer), or `fallback` when absent; exits
/// with status 2 on anything else.
static unsigned long count_arg(int argc, char** argv, int i, unsigned long fallback) {
  if (argc <= i) return fallback;
  try {
    std::size_t used = 0;
    const unsigned long n = std::stoul(argv[i], &used);
    if (used == std::string(argv[i]).size() && argv[i][0] != '-') return n;
  } catch (const std::exception&) {
  }
  std::fprintf(stderr,
               "usage: inventory_server [HOST:PORT [THREADS [BLOCKING_THREADS "
               "[MAX_BLOCKING_QUEUE]]]]\n");
  std::exit(2);
}

int main(int argc, char** argv) {
  netcall::server_options options;
  options.threads = static_cast<unsigned>(count_arg(argc, argv, 2, 0));
  options.blocking_threads = static_cast<unsigned>(count_arg(argc, argv, 3, 4));
  options.max_blocking_queue = count_arg(argc, argv, 4, 256);
  // The store is declared first so that it outlives the server: at shutdown the server waits
  // for blocking procedures still running, and they use it.
  inventory::store stock;
  netcall::server srv(options);
  inventory::bind_all(srv, stock);
  srv.listen(argc > 1 ? argv[1] : "127.0.0.1:0");
  for (const auto& ep : srv.start()) std::printf("inventory listening on %s\n", ep.c_str());
  std::fflush(stdout);
  srv.run();  // until SIGINT or SIGTERM; calls in flight finish first
}

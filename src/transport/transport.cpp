#include "transport/transport.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <charconv>
#include <stdexcept>

namespace netcall::detail {
namespace {

constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t read_chunk_bytes = 64 * 1024;

}  // namespace

// ---- metrics ----------------------------------------------------------------------------------

std::string transport_metrics::render() const {
  std::string out;
  auto metric = [&out](std::string_view name, std::string_view type, std::string_view help,
                       std::int64_t v, std::string_view labels = {}) {
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
    out += labels;
    out += ' ';
    out += std::to_string(v);
    out += '\n';
  };
  metric("netcall_connections_active", "gauge", "Open client connections.",
         connections_active.load());
  metric("netcall_connections_total", "counter", "Connections accepted since start.",
         connections_total.load());
  metric("netcall_connections_refused_total", "counter",
         "Connections closed at once because --max-connections was reached.",
         connections_refused.load());
  metric("netcall_calls_in_flight", "gauge", "Calls running and not yet answered.",
         calls_in_flight.load());
  out +=
      "# HELP netcall_calls_total Calls received, by protocol.\n"
      "# TYPE netcall_calls_total counter\n";
  out += "netcall_calls_total{protocol=\"jsonrpc\"} " + std::to_string(calls_jsonrpc.load()) + "\n";
  out += "netcall_calls_total{protocol=\"xmlrpc\"} " + std::to_string(calls_xmlrpc.load()) + "\n";
  out += "netcall_calls_total{protocol=\"msgpack\"} " + std::to_string(calls_msgpack.load()) +
         "\n";
  metric("netcall_call_errors_total", "counter", "Calls answered with an error.",
         call_errors.load());
  metric("netcall_protocol_errors_total", "counter",
         "Messages that could not be parsed or exceeded a limit.", protocol_errors.load());
  return out;
}

// ---- connection -------------------------------------------------------------------------------

connection::connection(tcp::socket s, transport_shared& sh)
    : socket(std::move(s)), shared(sh), last_activity_(std::chrono::steady_clock::now()) {
  shared.metrics.connections_active.fetch_add(1, std::memory_order_relaxed);
  shared.metrics.connections_total.fetch_add(1, std::memory_order_relaxed);
}

connection::~connection() {
  if (watchdog_) watchdog_->cancel();
  shared.metrics.connections_active.fetch_sub(1, std::memory_order_relaxed);
}

void connection::after(std::chrono::milliseconds delay, std::function<void()> fn) {
  auto timer = std::make_shared<asio::steady_timer>(socket.get_executor(), delay);
  timer->async_wait([timer, fn = std::move(fn)](const boost::system::error_code&) { fn(); });
}

void connection::post(std::function<void()> fn) {
  asio::post(socket.get_executor(), std::move(fn));
}

bool connection::try_call_now(const request& req, response& out) {
  if (shared.stopping.load(std::memory_order_relaxed) ||
      in_flight >= shared.options.max_in_flight_per_connection) {
    return false;  // `call` answers the refusal
  }
  if (!shared.handler.try_handle_now(req, out)) return false;
  if (out.error) shared.metrics.call_errors.fetch_add(1, std::memory_order_relaxed);
  return true;
}

void connection::call(request req, std::function<void(response)> done) {
  const bool stopping = shared.stopping.load(std::memory_order_relaxed);
  if (!stopping && in_flight >= shared.options.max_in_flight_per_connection) {
    response refusal;
    refusal.id = std::move(req.id);
    refusal.error = fault{wire_code(status_code::resource_exhausted),
                          "too many calls in flight on this connection (limit " +
                              std::to_string(shared.options.max_in_flight_per_connection) +
                              "); the call was not run"};
    shared.metrics.call_errors.fetch_add(1, std::memory_order_relaxed);
    done(std::move(refusal));
    return;
  }
  ++in_flight;
  shared.metrics.calls_in_flight.fetch_add(1, std::memory_order_relaxed);
  auto finish = [self = shared_from_this(), done = std::move(done)](response r) mutable {
        // Shutdown waits while calls are in flight or writes active: the answer counts as a
        // write from before its call stops counting until `done` has queued it (encoding a
        // large answer takes long enough for shutdown to see both counters at zero).
        auto& metrics = self->shared.metrics;
        metrics.writes_active.fetch_add(1, std::memory_order_relaxed);
        --self->in_flight;
        metrics.calls_in_flight.fetch_sub(1, std::memory_order_relaxed);
        if (r.error) metrics.call_errors.fetch_add(1, std::memory_order_relaxed);
        self->touch();
        done(std::move(r));
        metrics.writes_active.fetch_sub(1, std::memory_order_relaxed);
      };
  if (stopping) {
    shared.handler.handle_while_stopping(std::move(req), *this, std::move(finish));
  } else {
    shared.handler.handle(std::move(req), *this, std::move(finish));
  }
}

void connection::send(std::string_view bytes) {
  if (closed_) return;
  pending_.append(bytes);
  if (!holding) flush();
}

void connection::flush() {
  if (write_active_ || closed_) return;
  if (pending_.empty()) {
    if (close_after_flush_) close();
    return;
  }
  std::swap(pending_, writing_);
  write_active_ = true;
  shared.metrics.writes_active.fetch_add(1, std::memory_order_relaxed);
  asio::async_write(socket, asio::buffer(writing_),
                    [self = shared_from_this()](const boost::system::error_code& ec, std::size_t) {
                      self->on_written(ec);
                    });
}

void connection::on_written(const boost::system::error_code& ec) {
  write_active_ = false;
  writing_.clear();
  if (drained_) drained_->cancel();
  if (ec) {
    close();
  } else {
    touch();
    flush();  // what was queued meanwhile starts counting before this write stops
  }
  shared.metrics.writes_active.fetch_sub(1, std::memory_order_relaxed);
}

void connection::close_after_flush() {
  close_after_flush_ = true;
  if (!write_active_) flush();
}

void connection::close() {
  if (closed_) return;
  closed_ = true;
  boost::system::error_code ignored;
  socket.shutdown(tcp::socket::shutdown_both, ignored);
  socket.close(ignored);
  if (drained_) drained_->cancel();
  if (watchdog_) watchdog_->cancel();
}

asio::awaitable<void> connection::drain_below(std::size_t limit) {
  while (!closed_ && unsent() >= limit) {
    if (!drained_) drained_ = std::make_shared<asio::steady_timer>(socket.get_executor());
    drained_->expires_at(std::chrono::steady_clock::time_point::max());
    co_await drained_->async_wait(use_nothrow);
  }
}

asio::awaitable<void> connection::watchdog(std::weak_ptr<connection> weak) {
  std::shared_ptr<asio::steady_timer> timer;
  std::chrono::milliseconds idle{};
  if (auto self = weak.lock()) {
    idle = self->shared.options.idle_timeout;
    timer = std::make_shared<asio::steady_timer>(self->socket.get_executor());
    self->watchdog_ = timer;
  } else {
    co_return;
  }
  for (;;) {
    std::chrono::steady_clock::time_point due;
    {
      auto self = weak.lock();
      if (!self || self->closed_) co_return;
      const auto now = std::chrono::steady_clock::now();
      due = self->last_activity_ + idle;
      if (now >= due) {
        if (self->in_flight == 0) {
          spdlog::debug("closing idle connection");
          self->close();
          co_return;
        }
        due = now + idle;
      }
    }
    timer->expires_at(due);
    co_await timer->async_wait(use_nothrow);
  }
}

// ---- protocol sniffing ------------------------------------------------------------------------

const std::vector<stream_protocol>& stream_protocols() {
  static const std::vector<stream_protocol> protocols = {
      {"jsonrpc", &sniff_jsonrpc_stream, &serve_jsonrpc_stream},
      {"msgpack", &sniff_msgpack_stream, &serve_msgpack_stream},
      {"http", &sniff_http, &serve_http},
  };
  return protocols;
}

asio::awaitable<std::string_view> read_some_shared(connection& c,
                                                   boost::system::error_code& ec) {
  // One buffer per event loop (thread): the bytes are consumed before the reader awaits again.
  thread_local std::string buffer(read_chunk_bytes, '\0');
  for (;;) {
    std::tie(ec) = co_await c.socket.async_wait(tcp::socket::wait_read, use_nothrow);
    if (ec) co_return std::string_view();
    const std::size_t n = c.socket.read_some(asio::buffer(buffer), ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) continue;
    if (ec) co_return std::string_view();
    co_return std::string_view(buffer.data(), n);
  }
}

asio::awaitable<bool> read_more(connection& c, std::string& initial, std::string_view& input) {
  if (!initial.empty()) std::string().swap(initial);  // the sniffed bytes are consumed
  if (c.unsent() >= max_unsent_bytes) co_await c.drain_below(max_unsent_bytes);
  if (c.closed()) co_return false;
  boost::system::error_code ec;
  input = co_await read_some_shared(c, ec);
  if (ec) {
    if (c.in_flight == 0) c.close_after_flush();
    co_return false;
  }
  co_return true;
}

void keep_unparsed(std::string& pending, std::string_view data, std::size_t consumed) {
  if (!pending.empty() && data.data() == pending.data()) {
    pending.erase(0, consumed);
  } else {
    pending.assign(data.substr(consumed));
  }
}

asio::awaitable<void> serve_connection(std::shared_ptr<connection> c) {
  // The watchdog holds only a weak reference: the connection ends when its reader does.
  asio::co_spawn(c->socket.get_executor(), connection::watchdog(c), asio::detached);
  boost::system::error_code ec;
  c->socket.non_blocking(true, ec);
  if (ec) co_return;
  std::string initial;
  const std::size_t max_sniff = 4096;
  const stream_protocol* chosen = nullptr;
  while (!chosen) {
    const std::string_view bytes = co_await read_some_shared(*c, ec);
    if (ec) co_return;
    initial.append(bytes);
    bool undecided = false;
    for (const auto& p : stream_protocols()) {
      const auto verdict = p.sniff(initial);
      if (verdict == sniff_result::mine) {
        chosen = &p;
        break;
      }
      undecided = undecided || verdict == sniff_result::need_more;
    }
    if (!chosen && (!undecided || initial.size() > max_sniff)) {
      // No protocol recognises these bytes: nothing can be answered in a language the client
      // speaks, so only this connection is closed.
      c->shared.metrics.protocol_errors.fetch_add(1, std::memory_order_relaxed);
      spdlog::debug("closing connection: unrecognised protocol");
      c->close();
      co_return;
    }
  }
  co_await chosen->serve(std::move(c), std::move(initial));
}

// ---- transport --------------------------------------------------------------------------------

transport::transport(const server_options& options, call_handler& handler)
    : shared_{options, handler, {}, decode_limits{options.max_depth, options.max_batch}} {
  unsigned n = options.threads ? options.threads : std::thread::hardware_concurrency();
  if (n == 0) n = 1;
  for (unsigned i = 0; i < n; ++i) {
    loops_.push_back(std::make_unique<asio::io_context>(1));
    work_.emplace_back(loops_.back()->get_executor());
  }
}

transport::~transport() { shutdown(std::chrono::milliseconds(0)); }

std::vector<std::string> transport::start(const std::vector<std::string>& addresses) {
  std::vector<std::string> bound;
  for (const auto& address : addresses) {
    const tcp::endpoint ep = parse_endpoint(address);
    auto acceptor = std::make_shared<tcp::acceptor>(*loops_.front());
    boost::system::error_code ec;
    acceptor->open(ep.protocol(), ec);
    if (!ec) acceptor->set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor->bind(ep, ec);
    if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      throw error(status_code::unavailable, "cannot listen on " + address + ": " + ec.message());
    }
    bound.push_back(to_string(acceptor->local_endpoint()));
    acceptors_.push_back(acceptor);
  }
  for (auto& acceptor : acceptors_) {
    asio::co_spawn(*loops_.front(), accept_loop(acceptor), asio::detached);
  }
  for (auto& loop : loops_) {
    threads_.emplace_back([&loop] {
      // An exception escaping a handler (e.g. std::bad_alloc on a huge message) ends that
      // handler only: log it and keep the loop running for every other connection.
      for (;;) {
        try {
          loop->run();
          return;
        } catch (const std::exception& e) {
          spdlog::error("event loop: {}", e.what());
        } catch (...) {
          spdlog::error("event loop: unknown exception");
        }
      }
    });
  }
  return bound;
}

asio::awaitable<void> transport::accept_loop(std::shared_ptr<tcp::acceptor> acceptor) {
  for (;;) {
    auto& loop = *loops_[next_loop_.fetch_add(1, std::memory_order_relaxed) % loops_.size()];
    auto [ec, socket] = co_await acceptor->async_accept(loop, use_nothrow);
    if (ec == asio::error::operation_aborted || !acceptor->is_open()) co_return;
    if (ec) {
      // Out of descriptors and similar: back off briefly rather than spin.
      spdlog::warn("accept failed: {}", ec.message());
      asio::steady_timer pause(acceptor->get_executor(), std::chrono::milliseconds(50));
      co_await pause.async_wait(use_nothrow);
      continue;
    }
    if (static_cast<std::size_t>(shared_.metrics.connections_active.load()) >=
        shared_.options.max_connections) {
      shared_.metrics.connections_refused.fetch_add(1, std::memory_order_relaxed);
      boost::system::error_code ignored;
      socket.close(ignored);
      continue;
    }
    socket.set_option(tcp::no_delay(true), ec);
    auto c = std::make_shared<connection>(std::move(socket), shared_);
    asio::co_spawn(loop, serve_connection(std::move(c)), [](std::exception_ptr e) {
      // A connection's coroutine must not throw; if it does, log it: only that connection ends.
      if (!e) return;
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        spdlog::error("connection ended by an exception: {}", ex.what());
      } catch (...) {
        spdlog::error("connection ended by an unknown exception");
      }
    });
  }
}

void transport::watch_signals(std::function<void(int)> on_signal) {
  signals_ = std::make_unique<asio::signal_set>(*loops_.front(), SIGINT, SIGTERM);
  signals_->async_wait(
      [on_signal = std::move(on_signal)](const boost::system::error_code& ec, int signo) {
        if (!ec) on_signal(signo);
      });
}

void transport::shutdown(std::chrono::milliseconds grace) {
  if (stopped_) return;
  stopped_ = true;
  shared_.stopping.store(true);
  if (!threads_.empty()) {
    asio::post(*loops_.front(), [this] {
      for (auto& a : acceptors_) {
        boost::system::error_code ignored;
        a->close(ignored);
      }
    });
    const auto deadline = std::chrono::steady_clock::now() + grace;
    // Answers of calls in flight are still written: wait for the calls and for their writes.
    while ((shared_.metrics.calls_in_flight.load() > 0 ||
            shared_.metrics.writes_active.load() > 0) &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  for (auto& loop : loops_) loop->stop();
  for (auto& t : threads_) t.join();
  threads_.clear();
  signals_.reset();  // the loops are stopped: no handler runs concurrently
  work_.clear();
  acceptors_.clear();
  // Destroying the loops destroys the suspended connection coroutines and closes their sockets.
  loops_.clear();
}

// ---- addresses --------------------------------------------------------------------------------

tcp::endpoint parse_endpoint(std::string_view host_port) {
  std::string_view host, port;
  if (host_port.starts_with('[')) {
    const auto close = host_port.find(']');
    if (close == std::string_view::npos || close + 1 >= host_port.size() ||
        host_port[close + 1] != ':') {
      throw std::invalid_argument("malformed address '" + std::string(host_port) +
                                  "' (expected HOST:PORT)");
    }
    host = host_port.substr(1, close - 1);
    port = host_port.substr(close + 2);
  } else {
    const auto colon = host_port.rfind(':');
    if (colon == std::string_view::npos) {
      throw std::invalid_argument("malformed address '" + std::string(host_port) +
                                  "' (expected HOST:PORT)");
    }
    host = host_port.substr(0, colon);
    port = host_port.substr(colon + 1);
  }
  unsigned p = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || p > 65535) {
    throw std::invalid_argument("bad port in '" + std::string(host_port) + "' (0-65535)");
  }
  if (host.empty()) throw std::invalid_argument("missing host in '" + std::string(host_port) + "'");
  boost::system::error_code ec2;
  auto address = asio::ip::make_address(std::string(host), ec2);
  if (!ec2) return {address, static_cast<unsigned short>(p)};
  asio::io_context io;
  tcp::resolver resolver(io);
  auto results = resolver.resolve(std::string(host), std::string(port), ec2);
  if (ec2 || results.empty()) {
    throw std::invalid_argument("cannot resolve host '" + std::string(host) + "'");
  }
  return results.begin()->endpoint();
}

std::string to_string(const tcp::endpoint& ep) {
  const auto address = ep.address();
  std::string host = address.to_string();
  if (address.is_v6()) host = "[" + host + "]";
  return host + ":" + std::to_string(ep.port());
}

}  // namespace netcall::detail

#include "transport/transport.hpp"

#include <spdlog/logger.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "common/duration.hpp"
#include "common/endpoint.hpp"
#include "netcall/status.hpp"
#include "transport/tcp_stream.hpp"

namespace netcall::detail {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);

asio::awaitable<void> serve_new(event_loop& loop, std::unique_ptr<byte_stream> stream,
                                transport_shared& shared) {
  // Made here, on its own loop's thread: a connection registers with its loop.
  auto c = std::make_shared<server_connection>(loop, std::move(stream), shared);
  try {
    co_await server_connection::serve(c);
  } catch (const std::exception& e) {
    // Only this connection ends.
    shared.options.log->error("connection from {} ended by an exception: {}",
                              c->peer().address, e.what());
  } catch (...) {
    shared.options.log->error("connection from {} ended by an unknown exception",
                              c->peer().address);
  }
}

}  // namespace

transport::transport(transport_options options, call_handler& handler, access_policy& access,
                     tls_settings* tls)
    : shared_{options, handler, access, tls, transport_metrics(options.registry), {}} {
  unsigned n = shared_.options.threads ? shared_.options.threads
                                       : std::thread::hardware_concurrency();
  if (n == 0) n = 1;
  for (unsigned i = 0; i < n; ++i) {
    loops_.push_back(std::make_unique<event_loop>());
    work_.emplace_back(loops_.back()->io().get_executor());
    shared_.loop_counters.push_back(&loops_.back()->metrics);
  }
}

transport::~transport() {
  stop(std::chrono::milliseconds(0));
  // The loops go now, with what still runs on them (their destructors).
  loops_.clear();
}

std::vector<std::string> transport::start(const std::vector<std::string>& addresses) {
  std::vector<std::string> bound;
  for (const auto& address : addresses) {
    const tcp::endpoint ep = parse_endpoint(address);
    auto acceptor = std::make_shared<tcp::acceptor>(loops_.front()->io());
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
  for (auto& loop : loops_) {
    asio::post(loop->io(), [l = loop.get(), idle = shared_.options.idle_timeout] {
      l->start_idle_sweep(idle);
    });
  }
  for (auto& acceptor : acceptors_) {
    asio::co_spawn(loops_.front()->io(), accept_loop(acceptor), asio::detached);
  }
  for (auto& loop : loops_) {
    threads_.emplace_back([l = loop.get(), log = shared_.options.log] {
      // An exception escaping a handler (e.g. std::bad_alloc on a huge message) ends that
      // handler only: log it and keep the loop running for every other connection.
      for (;;) {
        try {
          l->io().run();
          return;
        } catch (const std::exception& e) {
          log->error("event loop: {}", e.what());
        } catch (...) {
          log->error("event loop: unknown exception");
        }
      }
    });
  }
  return bound;
}

asio::awaitable<void> transport::accept_loop(std::shared_ptr<tcp::acceptor> acceptor) {
  for (;;) {
    event_loop& loop = next_loop();
    auto [ec, socket] = co_await acceptor->async_accept(loop.io(), use_nothrow);
    // A connection accepted as the server began to stop is served too (a last read answers
    // what its client sent with -32002): dropped, its unread request would get a reset.
    if (!ec) admit(loop, std::move(socket));
    if (ec == asio::error::operation_aborted || !acceptor->is_open() || !accepting_) co_return;
    if (ec) {
      // Out of descriptors and similar: back off briefly rather than spin.
      shared_.options.log->warn("accept failed: {}", ec.message());
      asio::steady_timer pause(acceptor->get_executor(), std::chrono::milliseconds(50));
      co_await pause.async_wait(use_nothrow);
    }
  }
}

event_loop& transport::next_loop() {
  return *loops_[next_loop_.fetch_add(1, std::memory_order_relaxed) % loops_.size()];
}

void transport::admit(event_loop& loop, tcp::socket socket) {
  auto& m = shared_.metrics;
  m.accepted();
  if (static_cast<std::size_t>(m.connections_active.load()) >= shared_.options.max_connections) {
    m.refused(refusal::max_connections);
    boost::system::error_code ignored;
    socket.close(ignored);
    return;
  }
  // The slot is taken here, so a burst of accepts cannot overshoot the limit.
  m.connections_active.fetch_add(1, std::memory_order_relaxed);
  asio::co_spawn(loop.io(),
                 serve_new(loop, std::make_unique<tcp_stream>(std::move(socket)), shared_),
                 asio::detached);
}

void transport::take_backlog(tcp::acceptor& acceptor) {
  boost::system::error_code ec;
  acceptor.non_blocking(true, ec);
  for (std::size_t i = 0; !ec && i < max_backlog_taken; ++i) {
    event_loop& loop = next_loop();
    tcp::socket socket(loop.io());
    acceptor.accept(socket, ec);  // would_block once the backlog is empty
    if (!ec) admit(loop, std::move(socket));
  }
}

void transport::watch_signals(std::function<void(int)> on_signal,
                              std::function<void()> on_reload) {
  signals_ = std::make_unique<asio::signal_set>(loops_.front()->io(), SIGINT, SIGTERM);
  signals_->async_wait(
      [on_signal = std::move(on_signal)](const boost::system::error_code& ec, int signo) {
        if (!ec) on_signal(signo);
      });
  if (!on_reload) return;
  reload_signal_ = std::make_unique<asio::signal_set>(loops_.front()->io(), SIGHUP);
  wait_for_reload(std::make_shared<std::function<void()>>(std::move(on_reload)));
}

void transport::wait_for_reload(std::shared_ptr<std::function<void()>> on_reload) {
  reload_signal_->async_wait([this, on_reload](const boost::system::error_code& ec, int) {
    if (ec) return;
    (*on_reload)();
    wait_for_reload(on_reload);
  });
}

void transport::stop(std::chrono::milliseconds grace) {
  if (stopped_) return;
  stopped_ = true;
  accepting_ = false;
  // Outlives the loops' threads (joined below): they count themselves in it until they stop.
  drain_state state;
  if (!threads_.empty()) {
    asio::post(loops_.front()->io(), [this] {
      for (auto& a : acceptors_) {
        // Connections the kernel completed and nobody accepted yet would be reset by the close,
        // with the requests their clients already sent: they get a last read too.
        take_backlog(*a);
        boost::system::error_code ignored;
        a->close(ignored);
      }
    });
    // Each loop says when it is busy and when empty (no polling). Drained: no call runs and no
    // answer is being written on any loop at once. Then each loop stops reading, lets the last
    // answers leave and closes its connections. All within the grace.
    const auto deadline = saturating_add(std::chrono::steady_clock::now(), grace);
    state.busy = loops_.size();
    for (auto& loop : loops_) {
      asio::post(loop->io(), [&state, l = loop.get()] { l->drain(state); });
    }
    std::unique_lock lock(state.mutex);
    if (state.changed.wait_until(lock, deadline, [&] { return state.busy == 0; })) {
      state.closing = loops_.size();
      for (auto& loop : loops_) {
        asio::post(loop->io(), [&state, l = loop.get()] { l->close_all(state); });
      }
      state.changed.wait_until(lock, deadline, [&] { return state.closing == 0; });
    }
    // The lock is let go before the loops are joined: a loop may be counting itself.
  }
  for (auto& loop : loops_) loop->io().stop();
  for (auto& t : threads_) t.join();
  threads_.clear();
  signals_.reset();  // the loops are stopped: no handler runs concurrently
  reload_signal_.reset();
  work_.clear();
  acceptors_.clear();
}

}  // namespace netcall::detail

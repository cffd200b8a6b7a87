#include "netcall/client.hpp"

#include <atomic>
#include <future>
#include <optional>
#include <random>
#include <thread>

#include "client/connection.hpp"
#include "common/duration.hpp"
#include "common/endpoint.hpp"
#include "protocol/idempotency.hpp"
#include "protocol/protocols.hpp"

namespace netcall {

using detail::steady;

namespace {

/// The local refusal of named params over XML-RPC, or nullopt. XML-RPC params are positional
/// only (xmlrpc.com spec: `<params>` is a list of `<param>`): a struct of named params would
/// reach the server as one struct param, which a procedure of two params refuses with a
/// count that does not say why. Nothing is sent, and nothing is retried.
std::optional<error> xmlrpc_named_params(protocol p, const value& params) {
  if (p != protocol::xmlrpc || !params.is_struct()) return std::nullopt;
  return error(status_code::invalid_params, "XML-RPC has no named params: pass them positionally");
}

}  // namespace

struct client::impl {
  impl(std::string address, client_options o)
      : host_port(std::move(address)),
        endpoint(detail::parse_endpoint(host_port)),
        options(o),
        protocol(detail::client_protocol_for(o.protocol)),
        work(io.get_executor()),
        random(std::random_device{}()),
        client_id(std::uniform_int_distribution<std::uint64_t>()(random)) {
    if (options.connections == 0) options.connections = 1;
    for (unsigned i = 0; i < options.connections; ++i) {
      connections.push_back(
          std::make_shared<detail::connection>(io, endpoint, host_port, options, protocol));
    }
    thread = std::thread([this] { io.run(); });
  }

  std::string host_port;
  boost::asio::ip::tcp::endpoint endpoint;
  client_options options;
  const detail::client_protocol& protocol;
  boost::asio::io_context io{1};
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work;
  std::vector<std::shared_ptr<detail::connection>> connections;
  std::atomic<std::uint64_t> next_connection{0};
  std::atomic<std::uint64_t> next_sequence{1};
  std::mt19937_64 random;  // used on the I/O thread only (after construction)
  std::uint64_t client_id;
  std::thread thread;

  detail::connection& pick() {
    return *connections[next_connection.fetch_add(1, std::memory_order_relaxed) %
                        connections.size()];
  }

  struct logical_call;

  std::shared_ptr<detail::request> make_request(std::string_view method, value params,
                                                bool notification) {
    auto req = std::make_shared<detail::request>();
    req->method = std::string(method);
    req->params = std::move(params);
    req->notification = notification;
    return req;
  }
};

/// One logical call: its attempts, the waits between them and its outcome. Lives on the I/O
/// thread. `owner` outlives it: the client joins the I/O thread before its state goes.
struct client::impl::logical_call : std::enable_shared_from_this<logical_call> {
  client::impl* owner = nullptr;
  detail::connection* connection = nullptr;
  /// The request every attempt sends; attempts hold it through this object's ownership (one
  /// allocation a call).
  detail::request request;
  std::uint64_t sequence = 0;
  int attempts_made = 0;
  int max_attempts = 1;
  steady::time_point deadline = steady::time_point::max();
  std::chrono::milliseconds backoff_cap{0};
  std::function<void(outcome)> done;
  std::unique_ptr<boost::asio::steady_timer> wait;

  void start_attempt() {
    ++attempts_made;
    const auto now = steady::now();
    const auto attempt_deadline =
        std::min(deadline, detail::saturating_add(now, owner->options.timeout));
    if (attempt_deadline <= now) {
      return finish({value(), error(status_code::deadline_exceeded,
                                    "deadline of " +
                                        std::to_string(owner->options.deadline.count()) +
                                        "ms passed")});
    }
    auto self = shared_from_this();
    std::shared_ptr<const detail::request> req(self, &request);  // aliasing: no allocation
    connection->submit(detail::attempt{std::move(req), sequence, attempt_deadline,
                                    [self = shared_from_this()](outcome o, detail::attempt_end) {
                                      self->on_attempt(std::move(o));
                                    }});
  }

  void on_attempt(outcome o) {
    if (!o.failure) return finish(std::move(o));
    const auto code = o.failure->code();
    // Retried: the outcome is unknown (timeout, connection trouble) or the call was not run
    // (-32002 from a server that is shutting down). Any other answer is final (SPEC §4).
    const bool retriable = code == status_code::unavailable ||
                           code == status_code::deadline_exceeded;
    if (!retriable || attempts_made >= max_attempts || steady::now() >= deadline) {
      if (attempts_made > 1 && retriable) {
        o.failure = error(o.failure->code(), o.failure->wire_code(),
                          std::string(o.failure->what()) + " (after " +
                              std::to_string(attempts_made) + " attempts)");
      }
      return finish(std::move(o));
    }
    // Exponential backoff with full jitter, never past the deadline.
    auto pause = std::chrono::milliseconds(std::uniform_int_distribution<std::int64_t>(
        0, std::max<std::int64_t>(0, backoff_cap.count()))(owner->random));
    if (deadline != steady::time_point::max()) {
      pause = std::min(pause, std::chrono::duration_cast<std::chrono::milliseconds>(
                                  deadline - steady::now()));
    }
    const auto& policy = owner->options.retry;
    if (owner->options.on_retry) owner->options.on_retry(*o.failure, attempts_made, pause);
    backoff_cap = std::min(policy.max_backoff,
                           std::chrono::milliseconds(static_cast<std::int64_t>(
                               static_cast<double>(backoff_cap.count()) * policy.multiplier)));
    wait = std::make_unique<boost::asio::steady_timer>(owner->io, pause);
    wait->async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (ec) {
        return self->finish({value(), error(status_code::unavailable, "client stopped")});
      }
      self->start_attempt();
    });
  }

  void finish(outcome o) {
    auto d = std::move(done);
    done = nullptr;
    if (d) d(std::move(o));
  }
};

client::client(std::string host_port, client_options options)
    : impl_(std::make_shared<impl>(std::move(host_port), options)) {}

client::~client() {
  auto& d = *impl_;
  boost::asio::post(d.io, [&d] {
    for (auto& c : d.connections) {
      c->shutdown(error(status_code::unavailable, "client closed"));
    }
    d.io.stop();
  });
  d.thread.join();
}

void client::async_call_params(std::string_view method, value params,
                               std::function<void(outcome)> done, call_options call) {
  auto& d = *impl_;
  if (auto refused = xmlrpc_named_params(d.options.protocol, params)) {
    // Fails at once, on the I/O thread like every outcome.
    boost::asio::post(d.io, [done = std::move(done), e = std::move(*refused)]() mutable {
      done({value(), std::move(e)});
    });
    return;
  }
  auto c = std::make_shared<impl::logical_call>();
  c->owner = impl_.get();
  c->connection = &d.pick();
  c->sequence = d.next_sequence.fetch_add(1, std::memory_order_relaxed);
  detail::request& req = c->request;
  req.method = std::string(method);
  req.params = std::move(params);
  if (d.options.idempotency_keys) {
    // One key for every attempt of this logical call (SPEC §4); the protocol puts it where it
    // travels (docs/failures.md: JSON-RPC's request id, which still ends with the sequence
    // number; an HTTP header; MessagePack-RPC's fifth element).
    req.meta.idempotency_key = detail::make_idempotency_key(d.client_id, c->sequence);
  }
  d.protocol.prepare(req, static_cast<std::uint32_t>(c->sequence));
  const bool retriable = d.options.idempotency_keys || call.idempotent;
  c->max_attempts = retriable ? std::max(1, d.options.retry.max_attempts) : 1;
  if (d.options.deadline.count() > 0) {
    c->deadline = detail::saturating_add(steady::now(), d.options.deadline);
  }
  c->backoff_cap = d.options.retry.initial_backoff;
  c->done = std::move(done);
  // From a completion (the I/O thread itself, as a closed loop calls) start at once: no trip
  // through the scheduler's queue and its lock.
  if (d.io.get_executor().running_in_this_thread()) return c->start_attempt();
  boost::asio::post(d.io, [c = std::move(c)] { c->start_attempt(); });
}

value client::call_params(std::string_view method, value params, call_options call) {
  if (std::this_thread::get_id() == impl_->thread.get_id()) {
    throw std::logic_error("netcall::client: a blocking call from the client's own I/O thread "
                           "would never return; use async_call_params there");
  }
  std::promise<outcome> promise;
  auto future = promise.get_future();
  async_call_params(
      method, std::move(params), [&promise](outcome o) { promise.set_value(std::move(o)); },
      call);
  outcome o = future.get();
  if (o.failure) throw *o.failure;
  return std::move(o.result);
}

void client::notify(std::string_view method, value params) {
  auto& d = *impl_;
  if (auto refused = xmlrpc_named_params(d.options.protocol, params)) throw *refused;
  // Over a protocol without notifications (XML-RPC) this is a call whose answer is dropped.
  auto req = d.make_request(method, std::move(params), d.protocol.has_notifications());
  d.protocol.prepare(*req, 0);
  std::shared_ptr<const detail::request> shared = std::move(req);
  boost::asio::post(d.io, [c = &d.pick(), shared] { c->notify(shared); });
}

}  // namespace netcall

#include "netcall/channel.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <condition_variable>
#include <future>
#include <mutex>
#include <random>
#include <thread>
#include <unordered_map>

#include "cluster/endpoint.hpp"
#include "cluster/load_balancer.hpp"
#include "common/duration.hpp"
#include "protocol/idempotency.hpp"
#include "protocol/protocols.hpp"

namespace netcall {

using detail::attempt_end;
using detail::endpoint;
using detail::steady;

namespace {

/// FNV-1a over the method name, for the route cache (looked up on every call).
struct name_hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept {
    std::uint64_t h = 14695981039346656037ull;
    for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
    return static_cast<std::size_t>(h);
  }
};

class static_resolver final : public resolver {
 public:
  explicit static_resolver(membership m) : membership_(std::move(m)) {}
  void start(listener on_change) override { on_change(membership_); }
  void stop() override {}

 private:
  membership membership_;
};

}  // namespace

std::unique_ptr<resolver> make_static_resolver(membership m) {
  return std::make_unique<static_resolver>(std::move(m));
}

membership membership_of(const cluster_config& config) {
  membership m;
  for (const auto& n : config.nodes) m.nodes.push_back({n.name, n.address, {}});
  for (const auto& [method, nodes] : config.procedures) m.placement.emplace(method, nodes);
  return m;
}

struct channel::impl {
  impl(std::unique_ptr<resolver> r, channel_options o)
      : options(std::move(o)),
        protocol(detail::client_protocol_for(options.client.protocol)),
        balancer(detail::make_load_balancer(options.load_balancer)),
        source(std::move(r)),
        work(io.get_executor()),
        random(std::random_device{}()),
        client_id(std::uniform_int_distribution<std::uint64_t>()(random)) {
    thread = std::thread([this] { io.run(); });
    source->start([this](membership m) {
      boost::asio::post(io, [this, m = std::move(m)]() mutable { apply(std::move(m)); });
    });
  }

  channel_options options;
  const detail::client_protocol& protocol;
  std::unique_ptr<detail::load_balancer> balancer;
  std::unique_ptr<resolver> source;
  boost::asio::io_context io{1};
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work;
  std::mt19937_64 random;  // on the I/O thread only (after construction)
  std::uint64_t client_id;
  std::atomic<std::uint64_t> next_sequence{1};
  std::thread thread;

  // The membership, on the I/O thread.
  std::vector<std::shared_ptr<endpoint>> endpoints;
  std::unordered_map<std::string, std::shared_ptr<endpoint>, name_hash, std::equal_to<>> by_name;
  std::map<std::string, std::vector<std::string>, std::less<>> placement;
  /// method -> the endpoints that serve it (health not considered): filled on first use,
  /// emptied on every membership change.
  std::unordered_map<std::string, std::vector<endpoint*>, name_hash, std::equal_to<>> routes;
  /// The same, without the nodes whose procedures are unknown (route_options::known_servers_only).
  std::unordered_map<std::string, std::vector<endpoint*>, name_hash, std::equal_to<>> known_routes;
  std::vector<endpoint*> scratch;  // candidates of one pick
  bool membership_seen = false;     // on the I/O thread: apply() ran once
  bool closing = false;             // on the I/O thread: the channel is being destroyed
  /// Calls made before the resolver's first membership: started when it arrives (or failed
  /// at their deadline by their own timer).
  std::vector<std::function<void()>> waiting_for_membership;

  std::mutex membership_mutex;
  std::condition_variable membership_known;
  bool have_membership = false;

  void apply(membership m) {
    std::vector<std::shared_ptr<endpoint>> next;
    decltype(by_name) next_by_name;
    for (auto& n : m.nodes) {
      if (next_by_name.contains(n.name)) continue;  // a resolver's duplicate: first wins
      std::shared_ptr<endpoint> e;
      auto old = by_name.find(n.name);
      if (old != by_name.end() && old->second->same_node(n)) {
        e = old->second;
        e->set_procedures(std::move(n.procedures));
      } else {
        try {
          e = std::make_shared<endpoint>(io, std::move(n), options, protocol);
        } catch (const std::exception&) {
          continue;  // an address that does not resolve: not routable until it does
        }
      }
      next_by_name.emplace(e->name(), e);
      next.push_back(std::move(e));
    }
    for (auto& e : endpoints) {
      auto it = next_by_name.find(e->name());
      if (it == next_by_name.end() || it->second != e) {
        e->shutdown(error(status_code::unavailable, "node " + e->name() + " left the cluster"));
      }
    }
    endpoints = std::move(next);
    by_name = std::move(next_by_name);
    placement = std::move(m.placement);
    routes.clear();
    known_routes.clear();
    if (!membership_seen) {
      membership_seen = true;
      auto waiting = std::move(waiting_for_membership);
      for (auto& start : waiting) start();
    }
    {
      std::lock_guard lock(membership_mutex);
      have_membership = true;
    }
    membership_known.notify_all();
  }

  const std::vector<endpoint*>& route(std::string_view method, bool known_only = false) {
    auto& cache = known_only ? known_routes : routes;
    auto it = cache.find(method);
    if (it != cache.end()) return it->second;
    std::vector<endpoint*> serving;
    auto listed = placement.find(method);
    for (auto& e : endpoints) {
      bool serves;
      if (listed != placement.end()) {
        serves = std::find(listed->second.begin(), listed->second.end(), e->name()) !=
                 listed->second.end();
      } else if (!e->procedures().empty()) {
        serves = std::find(e->procedures().begin(), e->procedures().end(), method) !=
                 e->procedures().end();
      } else {
        serves = !known_only;  // nothing says otherwise: every node may serve it
      }
      if (serves) serving.push_back(e.get());
    }
    return cache.emplace(std::string(method), std::move(serving)).first->second;
  }

  struct routed_call;
};

/// One logical routed call: its attempts on endpoints, the waits between them, its outcome.
/// Lives on the I/O thread (SPEC §5 failover rules; docs/clusters.md).
struct channel::impl::routed_call : std::enable_shared_from_this<routed_call> {
  impl* owner = nullptr;
  std::string target;  // a node name, or empty for `any`
  /// The request every attempt sends (its method is the call's); attempts hold it through this
  /// object's ownership: one allocation a call.
  detail::request request;
  std::uint64_t sequence = 0;
  bool idempotent = false;
  bool known_only = false;
  int retries_left = 0;
  int attempts = 0;
  steady::time_point deadline = steady::time_point::max();
  std::chrono::milliseconds backoff_cap{0};
  /// Endpoints this call certainly did not run on in the current round (skipped by `any`).
  std::vector<const endpoint*> tried;
  /// Set once an attempt's outcome is unknown and the call may not move: every later attempt
  /// goes here, with the same idempotency key.
  std::shared_ptr<endpoint> sticky;
  std::optional<error> last_error;
  std::function<void(outcome)> done;
  std::function<void(const std::string&, int)> on_finish;  // route_options::on_finish
  std::string last_node;  // the node of the last attempt
  std::unique_ptr<boost::asio::steady_timer> wait;

  void fail(status_code code, std::string message) {
    finish({value(), error(code, std::move(message))});
  }

  void finish(outcome o) {
    if (on_finish && done) on_finish(last_node, o.failure ? o.failure->wire_code() : 0);
    auto d = std::move(done);
    done = nullptr;
    if (d) d(std::move(o));
  }

  void finish_with_last() {
    error e = last_error ? *last_error : error(status_code::unavailable, "no attempt was made");
    if (attempts > 1) {
      e = error(e.code(), e.wire_code(),
                std::string(e.what()) + " (after " + std::to_string(attempts) + " attempts)");
    }
    finish({value(), std::move(e)});
  }

  std::shared_ptr<endpoint> choose() {
    auto& o = *owner;
    if (sticky) {
      auto it = o.by_name.find(sticky->name());
      if (it == o.by_name.end() || it->second != sticky) {
        // The node left: the call may have run there, so it cannot go elsewhere.
        if (!last_error) last_error = error(status_code::unavailable, "node left the cluster");
        return nullptr;
      }
      return sticky;
    }
    if (!target.empty()) {
      auto it = o.by_name.find(target);
      if (it == o.by_name.end()) {
        last_error = error(status_code::unavailable, "no node named '" + target +
                                                         "' in the cluster");
        return nullptr;
      }
      return it->second;
    }
    const auto& serving = o.route(request.method, known_only);
    if (serving.empty()) {
      if (o.endpoints.empty()) {
        last_error = error(status_code::unavailable, "no node of the cluster is known");
      } else if (!last_error) {
        last_error = error(status_code::method_not_found, "method not found: " + request.method +
                                                              " (no node of the cluster serves it)");
      }
      return nullptr;
    }
    // Healthy replicas not tried in this round; when every one is ejected, the ejected ones
    // (better an attempt than a certain failure; Envoy's panic threshold).
    o.scratch.clear();
    for (auto* e : serving) {
      if (e->healthy() && std::find(tried.begin(), tried.end(), e) == tried.end()) {
        o.scratch.push_back(e);
      }
    }
    if (o.scratch.empty()) {
      for (auto* e : serving) {
        if (std::find(tried.begin(), tried.end(), e) == tried.end()) o.scratch.push_back(e);
      }
    }
    if (o.scratch.empty()) return nullptr;  // every replica tried in this round
    return o.balancer->pick(o.scratch)->shared_from_this();
  }

  void start() {
    if (owner->closing) return fail(status_code::unavailable, "channel closed");
    const auto now = steady::now();
    if (now >= deadline) {
      return fail(status_code::deadline_exceeded,
                  "deadline of " + std::to_string(owner->options.client.deadline.count()) +
                      "ms passed");
    }
    if (!owner->membership_seen) {
      // The resolver has not reported yet (an etcd read under way): wait for it rather than
      // fail a call that may well be served, at most this attempt's timeout.
      return wait_for_membership(now);
    }
    auto e = choose();
    if (!e) {
      if (!sticky && target.empty() && !tried.empty() && retries_left > 0) {
        tried.clear();  // every replica failed once: a new round after a pause
        return retry_later();
      }
      return finish_with_last();
    }
    ++attempts;
    if (on_finish) last_node = e->name();
    const auto attempt_deadline =
        std::min(deadline, detail::saturating_add(now, owner->options.client.timeout));
    std::shared_ptr<const detail::request> req(shared_from_this(), &request);  // aliasing
    e->submit(detail::attempt{std::move(req), sequence, attempt_deadline,
                              [self = shared_from_this(), e](outcome o, attempt_end how) {
                                self->on_attempt(e, std::move(o), how);
                              }});
  }

  void on_attempt(const std::shared_ptr<endpoint>& e, outcome o, attempt_end how) {
    if (how == attempt_end::answered) {
      e->on_success();
      if (!o.failure) return finish(std::move(o));
      const int code = o.failure->wire_code();
      // Certainly not run: the node is shutting down, or (for `any`) it does not serve the
      // method after all (the placement changed). Move on at once.
      const bool not_run = code == wire_code(status_code::unavailable) ||
                           (target.empty() && !sticky &&
                            code == wire_code(status_code::method_not_found));
      if (!not_run) return finish(std::move(o));
      last_error = std::move(o.failure);
      if (!target.empty() || sticky) return retry_or_finish();
      tried.push_back(e.get());
      return start();
    }
    e->on_failure();
    last_error = std::move(o.failure);
    if (how == attempt_end::not_sent) {
      if (!target.empty() || sticky) return retry_or_finish();
      tried.push_back(e.get());
      return start();
    }
    // Lost: the outcome is unknown.
    const bool connection_lost = last_error->code() == status_code::unavailable;
    if (target.empty() && idempotent && !sticky) {
      tried.push_back(e.get());
      if (connection_lost) return start();  // safe to run elsewhere, at once
      return retry_or_finish();
    }
    // Not idempotent: only the same node, with the same idempotency key, may see it again.
    if (target.empty()) sticky = e;
    retry_or_finish();
  }

  void wait_for_membership(steady::time_point now) {
    const auto until =
        std::min(deadline, detail::saturating_add(now, owner->options.client.timeout));
    wait = std::make_unique<boost::asio::steady_timer>(owner->io, until);
    auto self = shared_from_this();
    owner->waiting_for_membership.push_back([self] {
      if (self->wait) self->wait->cancel();
    });
    wait->async_wait([self](const boost::system::error_code&) {
      self->wait.reset();
      if (self->owner->membership_seen) return self->start();
      self->fail(status_code::unavailable, "the cluster's membership is not known yet");
    });
  }

  void retry_or_finish() {
    if (retries_left <= 0 || steady::now() >= deadline) return finish_with_last();
    retry_later();
  }

  void retry_later() {
    --retries_left;
    auto pause = std::chrono::milliseconds(std::uniform_int_distribution<std::int64_t>(
        0, std::max<std::int64_t>(0, backoff_cap.count()))(owner->random));
    if (deadline != steady::time_point::max()) {
      pause = std::min(pause, std::chrono::duration_cast<std::chrono::milliseconds>(
                                  deadline - steady::now()));
    }
    const auto& policy = owner->options.client.retry;
    if (owner->options.client.on_retry && last_error) {
      owner->options.client.on_retry(*last_error, attempts, pause);
    }
    backoff_cap = std::min(policy.max_backoff,
                           std::chrono::milliseconds(static_cast<std::int64_t>(
                               static_cast<double>(backoff_cap.count()) * policy.multiplier)));
    wait = std::make_unique<boost::asio::steady_timer>(owner->io, pause);
    wait->async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (ec) return self->fail(status_code::unavailable, "channel closed");
      self->start();
    });
  }
};

channel::channel(std::unique_ptr<resolver> r, channel_options options)
    : impl_(std::make_shared<impl>(std::move(r), std::move(options))) {}

channel::channel(const cluster_config& config, channel_options options)
    : channel(make_static_resolver(membership_of(config)), std::move(options)) {}

channel::~channel() {
  auto& d = *impl_;
  d.source->stop();
  boost::asio::post(d.io, [&d] {
    d.closing = true;  // calls failed by the shutdowns below start no new attempt
    for (auto& e : d.endpoints) e->shutdown(error(status_code::unavailable, "channel closed"));
    d.io.stop();
  });
  d.thread.join();
}

bool channel::wait_for_membership(std::chrono::milliseconds timeout) {
  auto& d = *impl_;
  std::unique_lock lock(d.membership_mutex);
  return d.membership_known.wait_for(lock, timeout, [&d] { return d.have_membership; });
}

void channel::async_call_params(std::string_view target, std::string_view method, value params,
                                std::function<void(outcome)> done, route_options options) {
  auto& d = *impl_;
  // XML-RPC params are positional only (as client.cpp refuses them): a struct would reach a
  // node as one struct param. Refused here, nothing sent, nothing retried.
  if (d.options.client.protocol == protocol::xmlrpc && params.is_struct()) {
    return done(outcome{value(), error(status_code::invalid_params,
                                       "XML-RPC has no named params: pass them positionally")});
  }
  auto c = std::make_shared<impl::routed_call>();
  c->owner = &d;
  if (target != "any") c->target = std::string(target);
  c->sequence = d.next_sequence.fetch_add(1, std::memory_order_relaxed);
  detail::request& req = c->request;
  req.method = std::string(method);
  req.params = std::move(params);
  if (!options.idempotency_key.empty()) {
    if (d.options.client.protocol == protocol::jsonrpc ||
        d.options.client.protocol == protocol::jsonrpc_http) {
      throw std::invalid_argument(
          "route_options::idempotency_key needs MessagePack-RPC or XML-RPC (JSON-RPC's request "
          "id carries the channel's own keys)");
    }
    req.meta.idempotency_key = std::move(options.idempotency_key);
  } else if (d.options.client.idempotency_keys) {
    req.meta.idempotency_key = detail::make_idempotency_key(d.client_id, c->sequence);
  }
  d.protocol.prepare(req, static_cast<std::uint32_t>(c->sequence));
  c->idempotent = options.idempotent;
  c->known_only = options.known_servers_only;
  c->on_finish = std::move(options.on_finish);
  const bool retriable = !req.meta.idempotency_key.empty() || options.idempotent;
  c->retries_left = retriable ? std::max(0, d.options.client.retry.max_attempts - 1) : 0;
  if (d.options.client.deadline.count() > 0) {
    c->deadline = detail::saturating_add(steady::now(), d.options.client.deadline);
  }
  c->backoff_cap = d.options.client.retry.initial_backoff;
  c->done = std::move(done);
  // From a completion (the I/O thread itself) start at once, as the client does.
  if (d.io.get_executor().running_in_this_thread()) return c->start();
  boost::asio::post(d.io, [c = std::move(c)] { c->start(); });
}

value channel::call_params(std::string_view target, std::string_view method, value params,
                           route_options options) {
  if (std::this_thread::get_id() == impl_->thread.get_id()) {
    throw std::logic_error("netcall::channel: a blocking call from the channel's own I/O thread "
                           "would never return; use async_call_params there");
  }
  std::promise<outcome> promise;
  auto future = promise.get_future();
  async_call_params(
      target, method, std::move(params), [&promise](outcome o) { promise.set_value(std::move(o)); },
      std::move(options));
  outcome o = future.get();
  if (o.failure) throw *o.failure;
  return std::move(o.result);
}

std::vector<endpoint_status> channel::status() {
  auto& d = *impl_;
  std::promise<std::vector<endpoint_status>> promise;
  auto future = promise.get_future();
  boost::asio::post(d.io, [&d, &promise] {
    std::vector<endpoint_status> out;
    for (auto& e : d.endpoints) {
      out.push_back({e->name(), e->address(), e->healthy(), e->outstanding(), e->failures()});
    }
    promise.set_value(std::move(out));
  });
  return future.get();
}

std::vector<std::string> channel::serving(std::string_view method) {
  auto& d = *impl_;
  std::promise<std::vector<std::string>> promise;
  auto future = promise.get_future();
  boost::asio::post(d.io, [&d, &promise, m = std::string(method)] {
    std::vector<std::string> out;
    for (auto* e : d.route(m)) out.push_back(e->name());
    promise.set_value(std::move(out));
  });
  return future.get();
}

}  // namespace netcall

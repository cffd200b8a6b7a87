#pragma once
/// \file
/// Writing an RPC server: register procedures, listen, run (SPEC §2).
///
/// ```cpp
/// netcall::server srv;
/// srv.bind("add", [](std::int64_t a, std::int64_t b) { return a + b; }, {"a", "b"}, "Adds.");
/// srv.listen("127.0.0.1:8000");
/// srv.run();  // until SIGINT/SIGTERM
/// ```
/// One port serves JSON-RPC 2.0 (TCP and HTTP), XML-RPC (HTTP), MessagePack-RPC (TCP) and
/// positional JSON array calls (TCP); the first bytes of a connection pick the protocol.

#include <atomic>
#include <chrono>
#include <coroutine>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "netcall/binding.hpp"
#include "netcall/cluster.hpp"
#include "netcall/duration.hpp"
#include "netcall/log.hpp"
#include "netcall/metadata.hpp"
#include "netcall/outcome.hpp"
#include "netcall/status.hpp"
#include "netcall/value.hpp"

namespace netcall {

namespace detail {
struct registry_access;
}

/// What the server knows of a procedure; `system.methodHelp` and `system.methodSignature` answer
/// from it (XML-RPC introspection conventions, SPEC §2).
struct procedure_info {
  /// The method name on the wire, e.g. "add" or "counter.increment".
  std::string name;
  /// Param names in positional order; JSON-RPC named params (an object) are matched to these.
  /// Empty: the procedure takes positional params only.
  std::vector<std::string> param_names;
  /// Signatures as XML-RPC type names, each `[result, param...]`; "any" where any type goes.
  std::vector<std::vector<std::string>> signatures;
  /// One line of help text.
  std::string help;
  /// JSON Schema (draft-07, as OpenRPC 1.2 uses) of each param in positional order, for
  /// `rpc.discover`: `{"type": "integer"}`, `{"type": "string", "format": "date-time"}`, ...
  /// The typed `bind` fills it from the C++ param types (netcall/codec.hpp). Empty: derived
  /// from `signatures` (one signature: its types; several: `anyOf` of them; "any": `{}`).
  std::vector<value> param_schemas{};
  /// JSON Schema of the result; nil: derived from `signatures` as above.
  value result_schema{};
  /// How many leading params a call must give; the others may be omitted (a typed procedure's
  /// trailing `std::optional` params). `all_params` (the default): every param is required.
  std::size_t required_params = all_params;
  /// `required_params` when every param is required.
  static constexpr std::size_t all_params = static_cast<std::size_t>(-1);
};

/// Per-call services for procedures that wait (timers) without holding a thread.
class call_context {
 public:
  virtual ~call_context() = default;
  /// Runs `fn` on the event loop that read the call after `delay`, never blocking a thread.
  /// Callable until the call completes. When the server stops first, `fn` is dropped unrun.
  virtual void after(std::chrono::milliseconds delay, std::function<void()> fn) = 0;
  /// Runs `fn` soon on the event loop that read the call. Thread-safe: a procedure that
  /// completes on another thread may use it to get back to the loop. Dropped once the server
  /// has stopped.
  virtual void post(std::function<void()> fn) = 0;
  /// The call's metadata: protocol, peer, idempotency key, deadline (netcall/metadata.hpp).
  /// Valid until the call completes.
  virtual const call_metadata& metadata() const = 0;
  /// Runs `job` on the server's blocking pool (`server_options::blocking_threads`), off every
  /// event loop: for work that blocks (a file, a database). Returns false, without running
  /// it, when the pool already holds `blocking_threads + max_blocking_queue` jobs. An
  /// exception leaving `job` is logged and dropped. Thread-safe; callable until the call
  /// completes.
  virtual bool run_blocking(std::function<void()> job) = 0;
};

/// An awaitable for coroutine procedures: `co_await netcall::sleep_for(ctx, 250ms);` resumes
/// the coroutine on the call's event loop after `delay`, holding no thread
/// (`call_context::after`). When the server stops first, the `co_await` throws
/// `netcall::error(status_code::unavailable)` so that the coroutine ends and frees what it
/// holds; its call is no longer answered, and `ctx.metadata().peer` must not be read after it.
inline auto sleep_for(call_context& ctx, std::chrono::milliseconds delay) {
  /// Resumes the coroutine once: from the timer, or, when the timer is dropped unrun (the
  /// server stopped), from its destructor with `cancelled` set.
  struct wake {
    wake(std::coroutine_handle<> handle, bool* flag) : h(handle), cancelled(flag) {}
    wake(const wake&) = delete;
    wake& operator=(const wake&) = delete;
    std::coroutine_handle<> h;
    bool* cancelled;
    std::atomic<bool> claimed{false};
    void resume(bool stopped) {
      if (claimed.exchange(true)) return;
      *cancelled = stopped;
      h.resume();
    }
    ~wake() { resume(true); }
  };
  struct awaiter {
    call_context& ctx;
    std::chrono::milliseconds delay;
    bool cancelled = false;
    bool await_ready() const noexcept { return false; }
    bool await_suspend(std::coroutine_handle<> h) {
      auto w = std::make_shared<wake>(h, &cancelled);
      try {
        ctx.after(delay, [w] { w->resume(false); });
      } catch (...) {
        w->claimed = true;  // not suspended: the exception reaches the coroutine
        throw;
      }
      // The timer was dropped at once (the loop is gone): go on here, cancelled, rather than
      // resume from this frame's destructor (which would nest one resumption in another).
      if (w.use_count() == 1 && !w->claimed.exchange(true)) {
        cancelled = true;
        return false;
      }
      return true;
    }
    void await_resume() const {
      if (cancelled) throw error(status_code::unavailable, "the server stopped");
    }
  };
  return awaiter{ctx, delay};
}

/// Completes an asynchronous call; call it once, from any thread (it hops to the call's event
/// loop). A second call is ignored; a completion destroyed without being called answers the
/// call with internal_error (-32603), so a forgotten completion never leaves a client waiting.
using completion = std::function<void(outcome)>;
/// A procedure that answers later: receives positional params (named params already matched to
/// `procedure_info::param_names`), the call context, and the completion to call exactly once.
using async_procedure = std::function<void(array params, call_context& ctx, completion done)>;
/// A procedure that answers at once (runs inline on the event loop that read the call; it must
/// not block). Throw `netcall::error` or any std::exception to fail. The params are the call's
/// own, no longer needed once it returns: it may move from them (a typed procedure taking a
/// `netcall::value` by value gets its param moved, so `echo` copies nothing); a callable taking
/// `const array&` fits too.
using sync_procedure = std::function<value(array& params)>;

namespace detail {

/// The exception `e` as the failure of an outcome: a netcall::error as it is, another
/// std::exception as application_error (-32000) with its what() (SPEC §2).
error error_of(std::exception_ptr e);

/// A coroutine procedure (returns task<R>) as an async_procedure: the params are converted
/// and kept, with the call's own params (a string_view param views them), until the
/// coroutine ends; its result or exception completes the call.
template <class F>
async_procedure make_coroutine_invoker(F fn, std::vector<std::string> names) {
  using pt = procedure_traits<F>;
  using result = typename pt::result;
  auto shared = std::make_shared<F>(std::move(fn));
  return [shared, names = std::move(names)](array params, call_context& ctx, completion done) {
    check_param_count(params.size(),
                      required_params<typename pt::args>(std::make_index_sequence<pt::arity>{}),
                      pt::arity);
    struct frame_args {
      array params;
      std::optional<typename pt::args> args;
    };
    auto kept = std::make_shared<frame_args>();
    kept->params = std::move(params);
    auto converted = [&]<std::size_t... I>(std::index_sequence<I...>) {
      return typename pt::args(
          pass_param<std::tuple_element_t<I, typename pt::declared>>(kept->params, I, names)...);
    };
    kept->args.emplace(converted(std::make_index_sequence<pt::arity>{}));
    // Declared by value: moved into the coroutine frame; by reference: kept here.
    auto coroutine = [&]<std::size_t... I>(std::index_sequence<I...>) {
      if constexpr (pt::takes_context) {
        return (*shared)(ctx, static_cast<std::tuple_element_t<I, typename pt::declared>&&>(
                                  std::get<I>(*kept->args))...);
      } else {
        return (*shared)(static_cast<std::tuple_element_t<I, typename pt::declared>&&>(
            std::get<I>(*kept->args))...);
      }
    }(std::make_index_sequence<pt::arity>{});
    if constexpr (std::is_void_v<result>) {
      start(std::move(coroutine), [kept, shared, done](std::exception_ptr failure) {
        done(failure ? outcome{value(), error_of(failure)} : outcome{});
      });
    } else {
      start(std::move(coroutine), [kept, shared, done](std::exception_ptr failure,
                                                        std::optional<result> r) {
        if (failure) return done(outcome{value(), error_of(failure)});
        try {
          done(outcome{result_value(std::move(*r)), std::nullopt});
        } catch (...) {
          done(outcome{value(), error_of(std::current_exception())});
        }
      });
    }
  };
}

/// A typed procedure that runs on the blocking pool (call_context::run_blocking): queued,
/// converted and run on a pool thread, answered from there; a full pool answers -32001.
template <class F>
async_procedure make_blocking_invoker(F fn, std::vector<std::string> names) {
  auto shared = std::make_shared<F>(std::move(fn));
  auto shared_names = std::make_shared<const std::vector<std::string>>(std::move(names));
  return [shared, shared_names](array params, call_context& ctx, completion done) {
    auto job = [shared, shared_names, params = std::move(params), &ctx, done]() mutable {
      outcome o;
      try {
        o.result = invoke_to_value(*shared, params, *shared_names, &ctx);
      } catch (...) {
        o.failure = error_of(std::current_exception());
      }
      done(std::move(o));
    };
    if (!ctx.run_blocking(std::move(job))) {
      done(outcome{value(), error(status_code::resource_exhausted,
                                  "the blocking pool is full (server_options::"
                                  "max_blocking_queue); not run")});
    }
  };
}

/// A typed procedure taking `call_context&` that answers at once, as an async_procedure.
template <class F>
async_procedure make_context_invoker(F fn, std::vector<std::string> names) {
  auto shared = std::make_shared<F>(std::move(fn));
  return [shared, names = std::move(names)](array params, call_context& ctx, completion done) {
    done(outcome{invoke_to_value(*shared, params, names, &ctx), std::nullopt});
  };
}

}  // namespace detail

/// The set of registered procedures. Register everything before `server::start`; lookups are
/// then read-only and safe from every event-loop thread.
class registry {
 public:
  registry() = default;
  /// Copies every entry (the lookup index is rebuilt for the copy).
  registry(const registry& other);
  registry& operator=(const registry& other);
  registry(registry&&) noexcept = default;
  registry& operator=(registry&&) noexcept = default;

  /// Registers a typed callable as procedure `name`: its params and result are converted with
  /// netcall/codec.hpp (any C++ type with a codec). A callable returning `netcall::task<R>` is
  /// a coroutine procedure; a first param `netcall::call_context&` receives the call's context.
  /// `param_names` enables named params (must have one name per param when not empty).
  /// Runs on the event loop that read the call: it must not block (see `bind_blocking`).
  /// Throws std::invalid_argument when `name` is empty, already bound, or begins with
  /// "system." or "rpc." (reserved for the server's own introspection and `rpc.discover`), or
  /// when param_names has the wrong length, an empty name or a name twice.
  template <class F>
  void bind(std::string name, F fn, std::vector<std::string> param_names = {},
            std::string help = {}) {
    bind(procedure_info{std::move(name), std::move(param_names), {}, std::move(help)},
         std::move(fn));
  }

  /// Registers a typed callable with explicit introspection data: `info.param_names` as above;
  /// `info.signatures` replaces the inferred signature when not empty (e.g. a procedure taking
  /// `netcall::value` params that accepts ints and doubles), and then `rpc.discover` derives
  /// its schemas from them unless `info.param_schemas`/`result_schema` are given. Same errors
  /// as `bind` above.
  template <class F>
  void bind(procedure_info info, F fn) {
    using pt = detail::procedure_traits<F>;
    describe<F>(info);
    auto names = info.param_names;
    if constexpr (pt::coroutine) {
      add_async(std::move(info), detail::make_coroutine_invoker(std::move(fn), std::move(names)));
    } else if constexpr (pt::takes_context) {
      add_async(std::move(info), detail::make_context_invoker(std::move(fn), std::move(names)));
    } else {
      add_sync(std::move(info), detail::make_invoker(std::move(fn), std::move(names)));
    }
  }

  /// Registers a typed callable that may block (a file read, a database call): each call runs
  /// on the server's blocking pool (`server_options::blocking_threads`), never on an event
  /// loop, so other calls go on meanwhile. A call finding `blocking_threads +
  /// max_blocking_queue` calls already there is refused with -32001 (resource_exhausted), not
  /// run. When the server shuts down, calls still queued after `shutdown_grace` are dropped
  /// unrun and running ones are waited for. Params, names and errors as `bind`; a coroutine
  /// cannot be blocking.
  template <class F>
  void bind_blocking(std::string name, F fn, std::vector<std::string> param_names = {},
                     std::string help = {}) {
    bind_blocking(procedure_info{std::move(name), std::move(param_names), {}, std::move(help)},
                  std::move(fn));
  }

  /// `bind_blocking` with explicit introspection data (as `bind(procedure_info, F)`).
  template <class F>
  void bind_blocking(procedure_info info, F fn) {
    static_assert(!detail::procedure_traits<F>::coroutine,
                  "a coroutine procedure waits without blocking: bind it with bind()");
    describe<F>(info);
    auto names = info.param_names;
    add_async(std::move(info), detail::make_blocking_invoker(std::move(fn), std::move(names)));
  }

  /// Registers an untyped procedure that answers at once. Same errors as `bind`.
  void add_sync(procedure_info info, sync_procedure fn);
  /// Registers an asynchronous procedure (e.g. one that waits on a timer). Same errors as `bind`.
  void add_async(procedure_info info, async_procedure fn);

  /// One registered procedure.
  struct entry {
    procedure_info info;
    sync_procedure sync;    ///< set for procedures that answer at once
    async_procedure async;  ///< set for procedures that answer later
  };

  /// The procedure named `name`, or nullptr.
  const entry* find(std::string_view name) const;
  /// Every registered procedure, by name (the server's built-in `system.*` and `rpc.*` ones
  /// included once it started).
  const std::map<std::string, entry, std::less<>>& entries() const { return entries_; }

 private:
  friend struct detail::registry_access;  // the server registers its own system.* procedures
  /// Checks the names of a typed callable `F` and fills what `info` leaves empty: signature,
  /// param and result schemas, required params.
  template <class F>
  void describe(procedure_info& info) const {
    using pt = detail::procedure_traits<F>;
    check_names(info.name, info.param_names.size(), pt::arity);
    const bool inferred = info.signatures.empty();
    if (inferred) info.signatures.push_back(detail::signature_of<F>());
    if (inferred && info.param_schemas.empty()) info.param_schemas = detail::param_schemas_of<F>();
    if (inferred && info.result_schema.is_nil()) info.result_schema = detail::result_schema_of<F>();
    if (info.required_params == procedure_info::all_params) {
      info.required_params = detail::required_params<typename pt::args>(
          std::make_index_sequence<pt::arity>{});
    }
  }
  void check_names(const std::string& name, std::size_t names, std::size_t arity) const;
  void add(entry e);
  /// Registers a procedure of a reserved name (the server's own `system.*` and `rpc.*`).
  void add_reserved(entry e);
  void reindex();
  std::map<std::string, entry, std::less<>> entries_;
  /// The same entries by hash of their name: what `find` reads on every call.
  struct name_hash {  // FNV-1a: method names are short, and this runs on every call
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
      std::uint64_t h = 14695981039346656037ull;
      for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
      return static_cast<std::size_t>(h);
    }
  };
  std::unordered_map<std::string_view, const entry*, name_hash, std::equal_to<>> index_;
};

/// One call as the access log sees it (SPEC §7 `--access-log`): given to
/// `server_options::access_log` once the call's answer is in its connection's output (a
/// notification's too, though nothing is sent). The views are valid during the call only.
struct access_record {
  /// When the call arrived (system clock).
  std::chrono::system_clock::time_point time;
  /// The client's address, "HOST:PORT".
  std::string_view peer;
  /// The protocol, as call_metadata::protocol names it ("msgpack", "jsonrpc-http", ...).
  std::string_view protocol;
  /// The method as the client sent it (any text: escape it before writing it out).
  std::string_view method;
  /// The request id as the client sent it, in JSON form (`7`, `"a"`, `null`); "" for
  /// protocols without ids (XML-RPC, positional JSON array calls).
  std::string request_id;
  /// 0 for success, else the error code sent (JSON-RPC numbering, SPEC §2).
  int code = 0;
  /// From arrival to the answer being ready to send (microseconds).
  std::chrono::microseconds duration{0};
  /// Size of the message the call came in (bytes; the calls of a batch share their batch's
  /// message, an HTTP call counts its body).
  std::size_t bytes_in = 0;
  /// Bytes its answer added to the connection's output (HTTP: head and body; 0 for a
  /// notification; a batch's answer leaves as one, counted on the call answered last when it
  /// was answered later, else on none).
  std::size_t bytes_out = 0;
  /// True for a notification (no answer sent).
  bool notification = false;
};

/// Server settings; every field has the SPEC §2 default.
struct server_options {
  /// Listen addresses "HOST:PORT" (port 0 picks a free port). Default 127.0.0.1:8000 when empty.
  std::vector<std::string> listen;
  /// Event loops (threads); 0 means one per core.
  unsigned threads = 0;
  /// Largest message accepted (bytes): a JSON text, or an HTTP body. Default 16 MiB.
  std::size_t max_message_bytes = 16u << 20;
  /// Deepest array/struct nesting accepted in a message.
  std::size_t max_depth = 128;
  /// Most entries in one JSON-RPC batch (more: -32600) and in one system.multicall (more:
  /// -32001); nothing of a longer one runs.
  std::size_t max_batch = 10000;
  /// The decoded-size budget (docs/failures.md "Memory model"): the values one message decodes
  /// into may take at most this many times the message's size in bytes, plus 1 MiB (each value
  /// counts sizeof(netcall::value), 40 bytes, plus the bytes of a string longer than 15). A
  /// message over it is refused with -32001 as soon as it passes (what was built is freed),
  /// not run; the connection goes on. 0: no budget.
  std::size_t max_decoded_ratio = 6;
  /// Answers waiting to be written, all connections together (bytes; docs/failures.md "Memory
  /// model"). Past it, a connection whose own answers are not all written is not read until
  /// the total falls below it (a client that does not read its answers stops being served; one
  /// that reads them keeps its turn). Each connection also stops being read at 4 MiB of its
  /// own. Default 64 MiB.
  std::size_t max_unsent_bytes = 64u << 20;
  /// Threads of the blocking pool, where procedures bound with `bind_blocking` (and jobs given
  /// to `call_context::run_blocking`) run; started at the first such call. Default 4.
  unsigned blocking_threads = 4;
  /// Calls that may wait for a blocking-pool thread beyond those running; the next is
  /// refused with -32001 (resource_exhausted) without running. Default 256.
  std::size_t max_blocking_queue = 256;
  /// Most simultaneous connections; new ones beyond it are closed at once.
  std::size_t max_connections = 10000;
  /// A connection with no complete message and nothing in flight for this long is closed.
  std::chrono::milliseconds idle_timeout{60'000};
  /// On stop: how long calls in flight may still finish.
  std::chrono::milliseconds shutdown_grace{5'000};
  /// No answer leaves before the call's first arrival + this delay (SPEC §2 `--delay`): a
  /// retry (same idempotency key) waits for that same moment and then gets the stored outcome,
  /// with no second delay. A timer, never a blocked thread.
  std::chrono::milliseconds response_delay{0};
  /// Most calls running at once on one connection; the call beyond it is refused with -32001
  /// (resource_exhausted) without running. Each call of a JSON-RPC batch and of a
  /// system.multicall counts (a multicall itself counts as one more).
  std::size_t max_in_flight_per_connection = 1024;
  /// How long the outcome of a call with an idempotency key is kept for its retries (SPEC §4).
  std::chrono::milliseconds dedup_ttl{300'000};
  /// Upper bound of the stored outcomes' approximate size (bytes). Each peer (client host) may
  /// hold max(1/8 of it, min(it, 64 KiB)) and loses its own oldest first; over the whole bound,
  /// the peer holding the most loses its oldest first (docs/failures.md).
  std::size_t dedup_max_bytes = 64u << 20;

  // Clusters (SPEC §5, docs/clusters.md).

  /// This node's name in its cluster (`--name`). Empty: the node takes the name the first
  /// `cluster apply` gives its address.
  std::string name;
  /// Placement applied at start (`--cluster FILE`), as if `cluster apply` had sent it: listed
  /// procedures this node does not serve answer -32601 naming the nodes that do. `name` must be
  /// a node of it, unless `gateway` is set (a gateway need not be a node).
  std::optional<cluster_config> cluster;
  /// Forward a call for a method other nodes serve (by the placement, or by their registry
  /// records) to one of them, with failover and the caller's idempotency key (`--gateway`).
  /// Needs `cluster` or `registry_url`.
  bool gateway = false;
  /// An etcd registry, "etcd://HOST:PORT" (`--registry`): the node registers under
  /// `/netcall/nodes/NAME` with a lease kept alive, follows the placement stored under
  /// `/netcall/placement`, and (as a gateway) routes by the records there. Needs `name`.
  std::string registry_url;
  /// Time to live of the registration lease (`--registry-ttl`, seconds, default 10): a node
  /// that dies is gone from the registry at most this long after.
  std::chrono::seconds registry_ttl{10};
  /// "HOST:PORT" other nodes and clients reach this node at, written in its registry record.
  /// Empty: the first listen address with its real port.
  std::string advertise_address;

  // Security (SPEC §6, docs/security.md).

  /// Tokens every call must carry (`--token`, repeatable). With `token_file` as well, both
  /// count. None (and no file): calls need no token.
  std::vector<std::string> tokens;
  /// A file of tokens, one a line, `#` comments (`--token-file`): read at start and again by
  /// `reload()` (SIGHUP), so tokens rotate without a restart.
  std::string token_file;
  /// PEM certificate chain and private key (`--tls-cert`, `--tls-key`): every listener then
  /// also accepts TLS, told from plain connections by their first byte. Reloaded by `reload()`.
  std::string tls_cert_file;
  std::string tls_key_file;
  /// Refuse connections that do not start with TLS (`--tls-only`; needs a certificate).
  bool tls_only = false;
  /// Require client certificates signed by this CA, PEM (`--tls-client-ca`); the verified
  /// subject is `peer_info::tls_identity`. Implies `tls_only`: a plain connection has no
  /// certificate.
  std::string tls_client_ca_file;
  /// Web origins ("https://app.example.com") whose browser requests are answered, with CORS
  /// headers (`--allow-origin`; "*" for any). Any other request with an Origin gets 403.
  std::vector<std::string> allow_origins;
  /// Host names HTTP requests may name in `Host` besides the listen addresses and localhost
  /// (`--allow-host`; "*" for any). Others get 403 (DNS rebinding).
  std::vector<std::string> allow_hosts;

  // Operations (SPEC §7, docs/operations.md).

  /// Where the server logs (netcall/log.hpp): the application's own logger, or serve_main's.
  /// Empty: lines at `log_level` and above to stderr (`stderr_log_sink`; with the default
  /// `info`, e.g. "signal 15: shutting down"). Nothing is ever written to stdout.
  log_sink log;
  /// Lines below this level are neither formatted nor given to `log` (`--log-level`).
  netcall::log_level log_level = netcall::log_level::info;
  /// Called once per call with its access record (`--access-log`, SPEC §7), on the call's
  /// event loop: it must be quick (serve_main's formats a line into a buffered file) and must
  /// not throw. Empty: no access log.
  std::function<void(const access_record&)> access_log;
  /// Count every call by method, protocol and code, and its duration
  /// (`netcall_server_calls_total`, `netcall_server_call_duration_seconds`, SPEC §7). On by
  /// default; off only to measure what it costs (bench/RESULTS.md).
  bool call_metrics = true;
  /// Called once when the graceful shutdown begins (SIGTERM, `stop()`), before calls in flight
  /// are drained, on the thread that shuts down (serve_main tells systemd STOPPING=1 there).
  std::function<void()> on_shutdown;
};

/// An RPC server: a registry of procedures served on one or more listening ports.
///
/// Every call goes through one pipeline of interceptors (limits, `--delay`, tokens, at-most-once
/// by idempotency key, refusal while shutting down, cluster routing) to its procedure; the built-in `system.*`
/// procedures are registry entries like any other (docs/architecture.md).
class server {
 public:
  /// Keeps `options` (they may still be changed with `options()` until `start`).
  explicit server(server_options options = {});
  ~server();
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  /// Registers a typed procedure (see `registry::bind`).
  template <class F>
  server& bind(std::string name, F fn, std::vector<std::string> param_names = {},
               std::string help = {}) {
    procedures().bind(std::move(name), std::move(fn), std::move(param_names), std::move(help));
    return *this;
  }

  /// Registers a typed procedure that may block; it runs on the blocking pool (see
  /// `registry::bind_blocking`).
  template <class F>
  server& bind_blocking(std::string name, F fn, std::vector<std::string> param_names = {},
                        std::string help = {}) {
    procedures().bind_blocking(std::move(name), std::move(fn), std::move(param_names),
                               std::move(help));
    return *this;
  }

  /// The procedures this server serves; register before `start`.
  registry& procedures();

  /// The options, to change before `start` (serve_main sets them from flags and the config
  /// file). Changes after `start` have no effect.
  server_options& options();

  /// Adds a listen address "HOST:PORT" (before `start`).
  void listen(std::string host_port);

  /// Registers the built-in `system.*` procedures and `rpc.discover` (and
  /// `system.cluster.apply`/`info`, SPEC §5), reads the token file and the TLS files, opens
  /// every listener and starts the event loops; returns the bound addresses as "HOST:PORT"
  /// with real ports, in `listen` order.
  /// Installs no signal handler (`run` does). Throws netcall::error(unavailable) when an
  /// address cannot be bound; std::invalid_argument for a malformed address, a file that
  /// cannot be read, a malformed token, `tls_only` or `tls_client_ca_file` without a
  /// certificate, a certificate without its key; and for inconsistent cluster options: a
  /// `cluster` without a `name` or whose nodes do not include it (unless `gateway`), a
  /// `gateway` without `cluster` or `registry_url`, a malformed `registry_url` or one without
  /// `name`, a malformed `name`.
  std::vector<std::string> start();

  /// Blocks until `stop()` or, with `handle_signals` (the default), SIGINT/SIGTERM, then shuts
  /// down gracefully (SPEC §2): stop accepting, refuse new calls with -32002, let calls in
  /// flight finish and their answers be written for up to `shutdown_grace`, close everything.
  /// With `handle_signals`, SIGHUP calls `reload()` meanwhile; the signals are watched only
  /// while `run` runs (their handlers are process-wide: a program that handles them itself
  /// passes false and calls `stop()`). Starts the server first when `start` was not called.
  void run(bool handle_signals = true);

  /// Watches SIGINT and SIGTERM (then `stop()`) and SIGHUP (then `reload()`) from now until
  /// the server stops: what `run()` does first. Their handlers are process-wide. For a program
  /// that must not lose a signal between `start` and `run` (serve_main). After `start`; a
  /// second call does nothing.
  void watch_signals();

  /// Asks `run` to shut down; callable from any thread or a signal-free context. Before `run`
  /// was called, the next `run` returns at once (after the graceful shutdown).
  void stop();

  /// Shuts down gracefully without `run` (for a server started with `start`): as `run` does
  /// once asked to stop. Blocks until done. Callable once, from any thread but a procedure's.
  void shutdown();

  /// Reads `token_file` and the TLS certificate and key again (what SIGHUP does while `run`
  /// runs): new calls and handshakes use them, connections already open are kept. Callable
  /// from any thread after `start`. Throws std::invalid_argument when a file cannot be read
  /// (then the old tokens and certificate stay in use).
  void reload();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace netcall

#include "server/cluster_node.hpp"

#include "common/token_set.hpp"

#include <spdlog/logger.h>

#include <algorithm>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <future>
#include <thread>

#include "cluster/etcd.hpp"
#include "cluster/etcd_registry.hpp"
#include "cluster/registry_keys.hpp"
#include "server/procedure_runner.hpp"

namespace netcall::detail {

/// Keeps this node's record in etcd and follows the placement stored there (SPEC §5), on a
/// thread of its own: etcd's pace never touches an event loop.
class registration_keeper {
 public:
  registration_keeper(std::string etcd, std::string name, std::string record,
                      std::chrono::seconds ttl, const logger_ptr& log,
                      std::function<void(const std::string&)> on_placement)
      : work_(io_.get_executor()),
        registration_(io_, etcd, std::string(node_prefix) + name, std::move(record), ttl),
        placement_(io_, etcd, std::string(placement_key),
                   [on_placement = std::move(on_placement)](
                       const std::map<std::string, std::string>& kvs) {
                     auto it = kvs.find(std::string(placement_key));
                     if (it != kvs.end()) on_placement(it->second);
                   }) {
    registration_.set_logger(log);
    placement_.set_logger(log);
    registration_.start();
    placement_.start();
    thread_ = std::thread([this] { io_.run(); });
  }

  ~registration_keeper() { stop(); }

  void update(std::string record) { registration_.update(std::move(record)); }

  /// Revokes the lease (at most about 2 s) and stops the thread.
  void stop() {
    if (!thread_.joinable()) return;
    std::promise<void> revoked;
    boost::asio::post(io_, [this, &revoked] {
      placement_.stop();
      registration_.stop([&revoked] { revoked.set_value(); });
    });
    revoked.get_future().wait_for(std::chrono::seconds(3));
    io_.stop();
    thread_.join();
  }

 private:
  boost::asio::io_context io_{1};
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  etcd::registration registration_;
  etcd::watcher placement_;
  std::thread thread_;
};

namespace {

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) {
    if (!out.empty()) out += ", ";
    out += n;
  }
  return out;
}

std::shared_ptr<const placement_table> table_of(const std::string& self,
                                                const cluster_config& config) {
  auto t = std::make_shared<placement_table>();
  for (const auto& [method, nodes] : config.procedures) {
    placement_table::route r;
    r.here = std::find(nodes.begin(), nodes.end(), self) != nodes.end();
    r.serving = joined(nodes);
    t->methods.emplace(method, std::move(r));
  }
  return t;
}

}  // namespace

bool admin_allowed(const call_metadata& meta) {
  return meta.authenticated || meta.peer == nullptr || is_loopback_peer(meta.peer->address);
}

bool is_loopback_peer(std::string_view address) {
  if (address.starts_with("127.")) return true;
  if (address.starts_with("[::1]")) return true;
  if (address.starts_with("[::ffff:127.")) return true;
  return false;
}

cluster_node::cluster_node(const server_options& options, const registry& procedures,
                           logger_ptr log)
    : options_(options), procedures_(procedures), log_(std::move(log)), name_(options.name) {
  if (!options.name.empty() && !is_node_name(options.name)) {
    throw std::invalid_argument("--name '" + options.name +
                                "' is not a node name (letters, digits, '_', '-', '.'; not 'any')");
  }
  if (!options.registry_url.empty()) {
    etcd::parse_url(options.registry_url);  // std::invalid_argument when malformed
    if (options.name.empty()) throw std::invalid_argument("--registry needs --name");
  }
  if (options.gateway && !options.cluster && options.registry_url.empty()) {
    throw std::invalid_argument("--gateway needs --cluster FILE or --registry URL");
  }
  if (options.cluster) {
    if (options.name.empty()) {
      throw std::invalid_argument("--cluster needs --name (this node's name in the file)");
    }
    if (options.cluster->find(options.name) == nullptr && !options.gateway) {
      throw std::invalid_argument("--name '" + options.name +
                                  "' is not a node of the cluster file (and this is no gateway)");
    }
    table_.store(table_of(options.name, *options.cluster));
    active_ = true;
  }
  if (!options.registry_url.empty() && !options.cluster) {
    // A placement stored by `cluster apply --registry` holds from the first call on: read it
    // before listening (the watcher keeps it current afterwards). etcd down: start without.
    try {
      if (auto text = read_placement(options.registry_url)) {
        auto config = parse_cluster(*text, "registry placement");
        if (config.find(options.name) != nullptr) {
          table_.store(table_of(options.name, config));
          active_ = true;
        }
      }
    } catch (const std::exception& e) {
      log_->warn("registry placement not read at start: {}", e.what());
    }
  }
  if (options.gateway) {
    channel_options c;
    c.client.protocol = protocol::msgpack;  // carries any idempotency key (docs/clusters.md)
    c.client.timeout = std::chrono::seconds(30);
    c.client.retry.max_attempts = 3;  // an unknown outcome: the same node, the same key
    c.client.connections = 2;
    // Nodes of one cluster share their tokens: the gateway presents its own first one.
    if (!options_.tokens.empty()) {
      c.client.token = options_.tokens.front();
    } else if (!options_.token_file.empty()) {
      c.client.token = token_set::read_file(options_.token_file).front();
    }
    if (options.cluster) {
      membership m = membership_of(*options.cluster);
      // The gateway never forwards to itself (it would be asked again).
      std::erase_if(m.nodes, [&](const node_info& n) { return n.name == options.name; });
      gateway_ = std::make_unique<channel>(make_static_resolver(std::move(m)), c);
    } else {
      gateway_ = std::make_unique<channel>(make_etcd_resolver(options.registry_url), c);
    }
    active_ = true;
  }
}

cluster_node::~cluster_node() = default;

std::string cluster_node::name() const {
  std::lock_guard lock(mutex_);
  return name_;
}

std::vector<std::string> cluster_node::apply(const std::string& node,
                                             const cluster_config& config) {
  if (config.find(node) == nullptr) {
    throw error(status_code::invalid_params,
                "invalid params: node '" + node + "' is not in the cluster file");
  }
  {
    std::lock_guard lock(mutex_);
    if (!name_.empty() && name_ != node) {
      throw error(status_code::invalid_params,
                  "invalid params: this node is '" + name_ + "', the cluster file names it '" +
                      node + "' at this address");
    }
    name_ = node;
  }
  auto t = table_of(node, config);
  std::vector<std::string> serves;
  for (const auto& [method, r] : t->methods) {
    if (r.here) serves.push_back(method);
  }
  std::sort(serves.begin(), serves.end());
  table_.store(std::move(t), std::memory_order_release);
  active_ = true;
  publish();
  return serves;
}

std::vector<std::string> cluster_node::serving() const {
  auto t = table();
  std::vector<std::string> out;
  for (const auto& [name, e] : procedures_.entries()) {
    if (name.starts_with("system.") || name.starts_with("rpc.")) continue;
    if (t) {
      auto it = t->methods.find(name);
      if (it != t->methods.end() && !it->second.here) continue;
    }
    out.push_back(name);
  }
  return out;  // the registry's map is sorted
}

std::vector<registry::entry> cluster_node::admin_procedures() {
  std::vector<registry::entry> out;
  registry::entry apply_entry;
  apply_entry.info = {"system.cluster.apply",
                      {"node", "cluster"},
                      {{"struct", "string", "string"}},
                      "Applies a cluster file's placement to this node (SPEC §5 cluster apply): "
                      "node is this node's name in it, cluster the file's YAML text. Loopback "
                      "peers, or calls with the node's token, only. Returns {node, serves}."};
  apply_entry.async = [this](array params, call_context& ctx, completion done) {
    if (!admin_allowed(ctx.metadata())) {
      // -32003 "unauthenticated, not run" (SPEC §2, §6).
      return done({value(), error(status_code::unauthenticated,
                                  "unauthenticated: system.cluster.apply is accepted from "
                                  "loopback peers, or with the node's token (SPEC §5); run "
                                  "netcall cluster apply on the node's host, or give --token")});
    }
    try {
      if (params.size() != 2 || !params[0].is_string() || !params[1].is_string()) {
        throw error(status_code::invalid_params,
                    "invalid params: system.cluster.apply takes (node: string, cluster: string)");
      }
      cluster_config config;
      try {
        config = parse_cluster(params[1].as_string(), "cluster");
      } catch (const cluster_file_error& e) {
        throw error(status_code::invalid_params, std::string("invalid params: ") + e.what());
      }
      auto serves = apply(params[0].as_string(), config);
      array list;
      for (auto& s : serves) list.emplace_back(std::move(s));
      structure result;
      result.emplace_back("node", value(params[0].as_string()));
      result.emplace_back("serves", value(std::move(list)));
      done({value(std::move(result)), std::nullopt});
    } catch (...) {
      done({value(), to_error(fault_of(std::current_exception()))});
    }
  };
  out.push_back(std::move(apply_entry));

  registry::entry info_entry;
  info_entry.info = {"system.cluster.info",
                     {},
                     {{"struct"}},
                     "This node's cluster state: {node, serves, gateway} (SPEC §5 cluster "
                     "status)."};
  info_entry.sync = [this](const array& params) -> value {
    if (!params.empty()) {
      throw error(status_code::invalid_params, "invalid params: system.cluster.info takes none");
    }
    array serves;
    for (auto& s : serving()) serves.emplace_back(std::move(s));
    structure result;
    result.emplace_back("node", value(name()));
    result.emplace_back("serves", value(std::move(serves)));
    result.emplace_back("gateway", value(options_.gateway));
    return value(std::move(result));
  };
  out.push_back(std::move(info_entry));
  return out;
}

void cluster_node::started(const std::vector<std::string>& bound) {
  if (options_.registry_url.empty() || bound.empty()) return;
  advertised_ = options_.advertise_address.empty() ? bound.front() : options_.advertise_address;
  auto keeper = std::make_unique<registration_keeper>(
      etcd::parse_url(options_.registry_url), options_.name, node_record(advertised_, serving()),
      options_.registry_ttl, log_, [this](const std::string& text) {
        // A placement stored by `cluster apply --registry`: applied like a direct apply.
        try {
          auto config = parse_cluster(text, "registry placement");
          if (config.find(options_.name) != nullptr) {
            apply(options_.name, config);
          } else {
            log_->warn("registry placement does not name this node ({}); not applied",
                         options_.name);
          }
        } catch (const std::exception& e) {
          log_->warn("registry placement not applied: {}", e.what());
        }
      });
  std::lock_guard lock(mutex_);
  registration_ = std::move(keeper);
}

void cluster_node::stopping() {
  std::unique_ptr<registration_keeper> keeper;
  {
    std::lock_guard lock(mutex_);
    keeper = std::move(registration_);
  }
  if (keeper) keeper->stop();  // without the lock: a placement being applied may need it
}

void cluster_node::publish() {
  std::lock_guard lock(mutex_);
  if (registration_) registration_->update(node_record(advertised_, serving()));
}

}  // namespace netcall::detail

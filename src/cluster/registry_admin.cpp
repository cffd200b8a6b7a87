// One-shot registry operations for the CLI (`cluster apply --registry`, `cluster status
// --registry`): each runs one etcd request on a private io_context and returns.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include "cluster/etcd.hpp"
#include "cluster/registry_keys.hpp"
#include "netcall/channel.hpp"

namespace netcall {
namespace {

template <class T, class F>
T run_once(std::string_view registry_url, F make_operation) {
  const std::string host_port = detail::etcd::parse_url(registry_url);
  boost::asio::io_context io{1};
  detail::etcd::client etcd(io.get_executor(), host_port);
  auto result = boost::asio::co_spawn(io, make_operation(etcd), boost::asio::use_future);
  io.run();
  return result.get();  // rethrows the operation's netcall::error
}

}  // namespace

void store_placement(std::string_view registry_url, std::string_view cluster_yaml) {
  run_once<void>(registry_url, [&](detail::etcd::client& etcd) {
    return etcd.put(std::string(detail::placement_key), std::string(cluster_yaml));
  });
}

membership read_registry(std::string_view registry_url) {
  auto found = run_once<detail::etcd::range_result>(registry_url, [&](detail::etcd::client& etcd) {
    return etcd.range_prefix(std::string(detail::node_prefix));
  });
  std::map<std::string, std::string> records;
  for (auto& kv : found.kvs) records.emplace(std::move(kv.key), std::move(kv.value));
  return detail::membership_of_records(records);
}

namespace detail {

std::optional<std::string> read_placement(std::string_view registry_url) {
  return run_once<std::optional<std::string>>(registry_url, [](etcd::client& etcd) {
    return etcd.get(std::string(placement_key));
  });
}

}  // namespace detail
}  // namespace netcall

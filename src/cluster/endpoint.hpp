#pragma once
/// \file
/// One node as a channel sees it (gRPC's subchannel, brpc's server node): its connections, the
/// calls outstanding on it, and its health (SPEC §5). Passive health: a transport failure ejects
/// the endpoint for a back-off that doubles while it keeps failing; when the ejection ends an
/// active health check (a `system.listMethods` call) must succeed before it is healthy again.
/// Lives on the channel's I/O thread.

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <string>
#include <vector>

#include "client/connection.hpp"
#include "netcall/channel.hpp"

namespace netcall::detail {

class endpoint : public std::enable_shared_from_this<endpoint> {
 public:
  /// Throws std::invalid_argument when `node.address` is malformed or does not resolve.
  endpoint(boost::asio::io_context& io, node_info node, const channel_options& options,
           const client_protocol& protocol);

  const std::string& name() const { return node_.name; }
  const std::string& address() const { return node_.address; }
  const std::vector<std::string>& procedures() const { return node_.procedures; }
  /// True when `node` is this endpoint's node at the same address.
  bool same_node(const node_info& node) const {
    return node.name == node_.name && node.address == node_.address;
  }
  void set_procedures(std::vector<std::string> p) { node_.procedures = std::move(p); }

  /// Sends an attempt on the connection with the fewest calls outstanding; after `shutdown`,
  /// fails it at once as not sent.
  void submit(attempt a);
  /// Calls in flight on this endpoint from this channel.
  std::size_t outstanding() const { return outstanding_; }

  /// Not ejected (passive health).
  bool healthy() const { return !ejected_; }
  /// Consecutive transport failures.
  std::uint64_t failures() const { return failures_; }
  /// An attempt got an answer: the node is alive.
  void on_success();
  /// An attempt failed at the transport (no connection, lost, timed out): eject for the
  /// growing back-off, then check actively.
  void on_failure();

  /// Fails everything in flight with `why` and stops the health checks (the node left). Must
  /// be called before the endpoint is dropped while calls are in flight: their completions hold
  /// the endpoint (the channel does this for every endpoint it drops or owns at its end).
  void shutdown(const error& why);

 private:
  void schedule_check();
  void check();

  node_info node_;
  const channel_options& options_;
  const client_protocol& protocol_;
  client_options probe_options_;
  std::vector<std::shared_ptr<connection>> connections_;
  std::shared_ptr<connection> probe_;
  std::size_t outstanding_ = 0;
  bool ejected_ = false;
  bool closed_ = false;
  std::uint64_t failures_ = 0;
  std::uint64_t probe_sequence_ = 1;
  boost::asio::steady_timer check_timer_;
};

}  // namespace netcall::detail

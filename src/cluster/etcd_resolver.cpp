// The etcd resolver (SPEC §5 "Dynamic membership"): follows the node records under
// `/netcall/nodes/` and reports them as the membership; keeps the last one while etcd is
// unreachable (the watcher resynchronises when it answers again).
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <future>
#include <thread>

#include "cluster/etcd.hpp"
#include "cluster/etcd_registry.hpp"
#include "cluster/registry_keys.hpp"
#include "netcall/channel.hpp"

namespace netcall {
namespace {

class etcd_resolver final : public resolver {
 public:
  explicit etcd_resolver(std::string host_port)
      : host_port_(std::move(host_port)), work_(io_.get_executor()) {}

  ~etcd_resolver() override { stop(); }

  void start(listener on_change) override {
    watcher_ = std::make_unique<detail::etcd::watcher>(
        io_, host_port_, std::string(detail::node_prefix),
        [on_change = std::move(on_change)](const std::map<std::string, std::string>& records) {
          on_change(detail::membership_of_records(records));
        });
    watcher_->start();
    thread_ = std::thread([this] { io_.run(); });
  }

  void stop() override {
    if (!thread_.joinable()) return;
    std::promise<void> stopped;
    boost::asio::post(io_, [this, &stopped] {
      watcher_->stop();
      stopped.set_value();
    });
    stopped.get_future().wait();
    io_.stop();
    thread_.join();
    watcher_.reset();
  }

 private:
  std::string host_port_;
  boost::asio::io_context io_{1};
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::unique_ptr<detail::etcd::watcher> watcher_;
  std::thread thread_;
};

}  // namespace

std::unique_ptr<resolver> make_etcd_resolver(std::string_view url) {
  return std::make_unique<etcd_resolver>(detail::etcd::parse_url(url));
}

}  // namespace netcall

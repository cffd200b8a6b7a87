#pragma once
/// \file
/// Plain TCP as a byte stream (transport/byte_stream.hpp).

#include <boost/asio/ip/tcp.hpp>
#include <functional>
#include <memory>

#include "transport/byte_stream.hpp"

namespace netcall::detail {

class tcp_stream final : public byte_stream {
 public:
  /// Takes a connected socket; turns Nagle off (requests and answers are small and latency
  /// matters) and puts it in non-blocking mode.
  explicit tcp_stream(boost::asio::ip::tcp::socket socket);

  boost::asio::any_io_executor get_executor() override { return socket_.get_executor(); }
  /// Waits for readability, then reads without blocking: no buffer is lent to the kernel while
  /// waiting, so an idle connection holds none.
  boost::asio::awaitable<std::size_t> read_some(boost::asio::mutable_buffer into,
                                                boost::system::error_code& ec) override;
  boost::asio::awaitable<void> wait_readable(boost::system::error_code& ec) override;
  void write(boost::asio::const_buffer data, write_callback done) override;
  void shutdown_send() override;
  bool input_pending() const override;
  std::size_t unacknowledged() const override;
  void close() override;
  std::string remote_address() const override;

 private:
  boost::asio::ip::tcp::socket socket_;
};

/// Opens a TCP connection to `endpoint` on `executor` and calls `done(ec, stream)` there (the
/// stream is null when `ec` is set).
void async_connect_tcp(boost::asio::any_io_executor executor,
                       const boost::asio::ip::tcp::endpoint& endpoint,
                       std::function<void(boost::system::error_code,
                                          std::unique_ptr<byte_stream>)> done);

}  // namespace netcall::detail

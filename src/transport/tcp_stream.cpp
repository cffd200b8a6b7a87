#include "transport/tcp_stream.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <linux/sockios.h>
#include <sys/ioctl.h>

#include "common/endpoint.hpp"

namespace netcall::detail {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

tcp_stream::tcp_stream(tcp::socket socket) : socket_(std::move(socket)) {
  boost::system::error_code ignored;
  socket_.set_option(tcp::no_delay(true), ignored);
  socket_.non_blocking(true, ignored);
}

asio::awaitable<std::size_t> tcp_stream::read_some(asio::mutable_buffer into,
                                                   boost::system::error_code& ec) {
  for (;;) {
    std::tie(ec) = co_await socket_.async_wait(tcp::socket::wait_read,
                                               asio::as_tuple(asio::use_awaitable));
    if (ec) co_return 0;
    const std::size_t n = socket_.read_some(into, ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) continue;
    if (ec) co_return 0;
    co_return n;
  }
}

asio::awaitable<void> tcp_stream::wait_readable(boost::system::error_code& ec) {
  std::tie(ec) =
      co_await socket_.async_wait(tcp::socket::wait_read, asio::as_tuple(asio::use_awaitable));
}

void tcp_stream::write(asio::const_buffer data, write_callback done) {
  asio::async_write(socket_, data,
                    [done = std::move(done)](const boost::system::error_code& ec, std::size_t) {
                      done.fn(done.context, ec);
                    });
}

void tcp_stream::shutdown_send() {
  boost::system::error_code ignored;
  socket_.shutdown(tcp::socket::shutdown_send, ignored);
}

bool tcp_stream::input_pending() const {
  boost::system::error_code ec;
  return socket_.available(ec) > 0 && !ec;
}

std::size_t tcp_stream::unacknowledged() const {
  int queued = 0;
  if (ioctl(const_cast<tcp::socket&>(socket_).native_handle(), SIOCOUTQ, &queued) != 0) return 0;
  return queued > 0 ? static_cast<std::size_t>(queued) : 0;
}

void tcp_stream::close() {
  boost::system::error_code ignored;
  socket_.shutdown(tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
}

std::string tcp_stream::remote_address() const {
  boost::system::error_code ec;
  const auto ep = socket_.remote_endpoint(ec);
  return ec ? std::string() : to_string(ep);
}

void async_connect_tcp(asio::any_io_executor executor, const tcp::endpoint& endpoint,
                       std::function<void(boost::system::error_code,
                                          std::unique_ptr<byte_stream>)> done) {
  auto socket = std::make_shared<tcp::socket>(executor);
  socket->async_connect(endpoint, [socket, done = std::move(done)](
                                      const boost::system::error_code& ec) {
    if (ec) return done(ec, nullptr);
    done(ec, std::make_unique<tcp_stream>(std::move(*socket)));
  });
}

}  // namespace netcall::detail

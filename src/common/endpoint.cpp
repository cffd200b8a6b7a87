#include "common/endpoint.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <charconv>
#include <stdexcept>

namespace netcall::detail {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

tcp::endpoint parse_endpoint(std::string_view host_port) {
  std::string_view host, port;
  if (host_port.starts_with('[')) {
    const auto close = host_port.find(']');
    if (close == std::string_view::npos || close + 1 >= host_port.size() ||
        host_port[close + 1] != ':') {
      throw std::invalid_argument("malformed address '" + std::string(host_port) +
                                  "' (expected HOST:PORT)");
    }
    host = host_port.substr(1, close - 1);
    port = host_port.substr(close + 2);
  } else {
    const auto colon = host_port.rfind(':');
    if (colon == std::string_view::npos) {
      throw std::invalid_argument("malformed address '" + std::string(host_port) +
                                  "' (expected HOST:PORT)");
    }
    host = host_port.substr(0, colon);
    port = host_port.substr(colon + 1);
  }
  unsigned p = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || p > 65535) {
    throw std::invalid_argument("bad port in '" + std::string(host_port) + "' (0-65535)");
  }
  if (host.empty()) throw std::invalid_argument("missing host in '" + std::string(host_port) + "'");
  boost::system::error_code ec2;
  auto address = asio::ip::make_address(std::string(host), ec2);
  if (!ec2) return {address, static_cast<unsigned short>(p)};
  asio::io_context io;
  tcp::resolver resolver(io);
  auto results = resolver.resolve(std::string(host), std::string(port), ec2);
  if (ec2 || results.empty()) {
    throw std::invalid_argument("cannot resolve host '" + std::string(host) + "'");
  }
  return results.begin()->endpoint();
}

std::string to_string(const tcp::endpoint& ep) {
  const auto address = ep.address();
  std::string host = address.to_string();
  if (address.is_v6()) host = "[" + host + "]";
  return host + ":" + std::to_string(ep.port());
}

}  // namespace netcall::detail

#pragma once
/// \file
/// Network addresses as SPEC §2 and §3 write them: "HOST:PORT", "[V6]:PORT".

#include <boost/asio/ip/tcp.hpp>
#include <string>
#include <string_view>

namespace netcall::detail {

/// Parses "HOST:PORT" or "[V6]:PORT" (port 0-65535) into an endpoint, resolving a host name
/// (blocking, first address). Throws std::invalid_argument with a one-line reason: malformed,
/// bad port, missing host, or a name that does not resolve.
boost::asio::ip::tcp::endpoint parse_endpoint(std::string_view host_port);

/// "HOST:PORT" of an endpoint ("[::1]:80" for IPv6).
std::string to_string(const boost::asio::ip::tcp::endpoint& ep);

}  // namespace netcall::detail

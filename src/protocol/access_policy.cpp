#include "protocol/access_policy.hpp"

#include <boost/asio/ip/address.hpp>
#include <algorithm>
#include <cctype>

namespace netcall::detail {

namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

/// The normalised text of an IP address, or empty when `host` is not one.
std::string ip_text(std::string_view host) {
  boost::system::error_code ec;
  const auto a = boost::asio::ip::make_address(std::string(host), ec);
  if (ec) return {};
  if (a.is_v6() && a.to_v6().is_v4_mapped()) {
    return boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, a.to_v6()).to_string();
  }
  return a.to_string();
}

}  // namespace

std::string_view host_of(std::string_view host_port) {
  if (host_port.starts_with('[')) {
    const auto close = host_port.find(']');
    return close == std::string_view::npos ? host_port.substr(1) : host_port.substr(1, close - 1);
  }
  const auto colon = host_port.rfind(':');
  // More than one colon without brackets: a bare IPv6 address.
  if (colon != std::string_view::npos && host_port.find(':') == colon) {
    return host_port.substr(0, colon);
  }
  return host_port;
}

void access_policy::set_tokens(std::shared_ptr<const token_set> tokens) {
  if (tokens && tokens->empty()) tokens = nullptr;
  std::lock_guard lock(tokens_mutex_);
  if (tokens == nullptr) {
    if (!all_tokens_.empty()) return;  // a reload cannot turn tokens off
    required_.store(false, std::memory_order_relaxed);
    return;
  }
  all_tokens_.push_back(tokens);
  tokens_.store(tokens.get(), std::memory_order_release);
  required_.store(true, std::memory_order_relaxed);
}

bool access_policy::token_valid(std::string_view token) const {
  if (!tokens_required()) return true;
  const token_set* tokens = tokens_.load(std::memory_order_acquire);
  return tokens != nullptr && !token.empty() && tokens->contains(token);
}

void access_policy::set_listen_addresses(const std::vector<std::string>& addresses) {
  listen_hosts_.clear();
  any_address_ = false;
  for (const auto& a : addresses) {
    const std::string ip = ip_text(host_of(a));
    if (ip.empty()) continue;
    if (ip == "0.0.0.0" || ip == "::") any_address_ = true;
    listen_hosts_.push_back(ip);
  }
}

bool access_policy::origin_allowed(std::string_view origin) const {
  return std::any_of(allowed_origins.begin(), allowed_origins.end(), [&](const std::string& o) {
    return o == "*" || iequals(o, origin);
  });
}

bool access_policy::host_allowed(std::string_view host) const {
  if (host.empty()) return true;  // no Host header: not a browser (they always send one)
  const std::string_view name = host_of(host);
  if (name.empty()) return false;
  // What clients send most: a listen address as written (no parsing).
  for (const auto& h : listen_hosts_) {
    if (h == name) return true;
  }
  if (iequals(name, "localhost")) return true;
  if (name.size() > 10 && iequals(name.substr(name.size() - 10), ".localhost")) return true;
  const std::string ip = ip_text(name);
  if (!ip.empty()) {
    if (any_address_) return true;
    if (std::find(listen_hosts_.begin(), listen_hosts_.end(), ip) != listen_hosts_.end()) {
      return true;
    }
  }
  return std::any_of(allowed_hosts.begin(), allowed_hosts.end(), [&](const std::string& h) {
    return h == "*" || iequals(h, name);
  });
}

std::chrono::milliseconds access_policy::record_failure(std::string_view peer_address) {
  const auto now = std::chrono::steady_clock::now();
  std::string ip(host_of(peer_address));
  any_failure_.store(true, std::memory_order_relaxed);
  std::lock_guard lock(failures_mutex_);
  constexpr std::size_t max_peers = 10'000;
  if (failures_.size() >= max_peers && !failures_.contains(ip)) {
    std::erase_if(failures_, [&](const auto& kv) { return now - kv.second.last > failure_window; });
    if (failures_.size() >= max_peers) {
      // Still full: forget the peer whose last failure is oldest.
      auto oldest = std::min_element(failures_.begin(), failures_.end(), [](const auto& a,
                                                                             const auto& b) {
        return a.second.last < b.second.last;
      });
      failures_.erase(oldest);
    }
  }
  auto& f = failures_[ip];
  if (now - f.last > failure_window) f.count = 0;
  f.last = now;
  ++f.count;
  if (f.count <= free_failures) return std::chrono::milliseconds(0);
  const int doublings = std::min(f.count - free_failures - 1, 8);
  const auto penalty = std::min(std::chrono::milliseconds(250) * (1 << doublings), max_penalty);
  f.blocked_until = now + penalty;
  return penalty;
}

std::chrono::milliseconds access_policy::blocked_for(std::string_view peer_address) {
  if (!any_failure_.load(std::memory_order_relaxed)) return std::chrono::milliseconds(0);
  std::lock_guard lock(failures_mutex_);
  const auto it = failures_.find(std::string(host_of(peer_address)));
  if (it == failures_.end()) return std::chrono::milliseconds(0);
  const auto left = it->second.blocked_until - std::chrono::steady_clock::now();
  if (left <= std::chrono::steady_clock::duration::zero()) return std::chrono::milliseconds(0);
  return std::chrono::ceil<std::chrono::milliseconds>(left);
}

}  // namespace netcall::detail

#include "server/outcome_cache.hpp"

#include "common/duration.hpp"

namespace netcall::detail {

std::size_t approximate_bytes(const value& v) {
  std::size_t n = sizeof(value);
  switch (v.kind()) {
    case kind::string:
      n += v.as_string().size();
      break;
    case kind::bytes:
      n += v.as_bytes().data.size();
      break;
    case kind::array:
      for (const auto& e : v.as_array()) n += approximate_bytes(e);
      break;
    case kind::structure:
      for (const auto& [k, e] : v.as_struct()) n += k.size() + sizeof(std::string) + approximate_bytes(e);
      break;
    default:
      break;
  }
  return n;
}

outcome_cache::outcome_cache(std::chrono::milliseconds ttl, std::size_t max_bytes)
    : ttl_(ttl), max_bytes_(max_bytes) {}

outcome_cache::verdict outcome_cache::find_locked(const std::string& key,
                                                  const std::string& method, time_point arrival,
                                                  waiter& w, response& stored,
                                                  time_point& first_arrival, bool insert) {
  evict(std::chrono::steady_clock::now());
  auto it = entries_.find(key);
  if (it == entries_.end()) {
    if (!insert) return verdict::absent;
    entry& e = entries_.try_emplace(key).first->second;
    e.method = method;
    e.first_arrival = arrival;
    return verdict::run;
  }
  entry& e = it->second;
  if (e.method != method) return verdict::conflict;
  first_arrival = e.first_arrival;
  if (e.finished) {
    stored = e.outcome;
    return verdict::stored;
  }
  e.waiters.push_back(std::move(w));
  return verdict::wait;
}

outcome_cache::verdict outcome_cache::begin(const std::string& key, const std::string& method,
                                            time_point arrival, waiter w, response& stored,
                                            time_point& first_arrival) {
  std::lock_guard lock(mutex_);
  return find_locked(key, method, arrival, w, stored, first_arrival, true);
}

outcome_cache::verdict outcome_cache::lookup(const std::string& key, const std::string& method,
                                             waiter w, response& stored,
                                             time_point& first_arrival) {
  std::lock_guard lock(mutex_);
  return find_locked(key, method, {}, w, stored, first_arrival, false);
}

void outcome_cache::finish(const std::string& key, const response& outcome) {
  std::vector<waiter> waiters;
  {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(key);
    if (it == entries_.end()) return;
    entry& e = it->second;
    e.finished = true;
    e.outcome.result = outcome.result;
    e.outcome.error = outcome.error;
    e.bytes = key.size() * 2 + e.method.size() + 128 + approximate_bytes(outcome.result) +
              (outcome.error ? outcome.error->message.size() : 0);
    bytes_ += e.bytes;
    waiters.swap(e.waiters);
    const auto now = std::chrono::steady_clock::now();
    finished_.emplace_back(now, key);
    evict(now);
  }
  for (auto& w : waiters) w(outcome);
}

void outcome_cache::evict(time_point now) {
  while (!finished_.empty() &&
         (saturating_add(finished_.front().first, ttl_) <= now || bytes_ > max_bytes_)) {
    auto it = entries_.find(finished_.front().second);
    if (it != entries_.end() && it->second.finished) {
      bytes_ -= it->second.bytes;
      entries_.erase(it);
    }
    finished_.pop_front();
  }
}

std::size_t outcome_cache::size() const {
  std::lock_guard lock(mutex_);
  return finished_.size();
}

std::size_t outcome_cache::bytes() const {
  std::lock_guard lock(mutex_);
  return bytes_;
}

}  // namespace netcall::detail

#include "server/outcome_cache.hpp"

#include <algorithm>
#include <bit>
#include <cstring>
#include <random>

#include "common/duration.hpp"

namespace netcall::detail {

// ---- SipHash-2-4 ------------------------------------------------------------------------------

namespace {

std::uint64_t load_le64(const unsigned char* p) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

}  // namespace

siphash128::siphash128(std::uint64_t k0, std::uint64_t k1, bool wide)
    : v0_(k0 ^ 0x736f6d6570736575ULL),
      v1_(k1 ^ 0x646f72616e646f6dULL),
      v2_(k0 ^ 0x6c7967656e657261ULL),
      v3_(k1 ^ 0x7465646279746573ULL) {
  if (wide) v1_ ^= 0xee;
}

void siphash128::rounds(int n) {
  for (int i = 0; i < n; ++i) {
    v0_ += v1_;
    v1_ = std::rotl(v1_, 13);
    v1_ ^= v0_;
    v0_ = std::rotl(v0_, 32);
    v2_ += v3_;
    v3_ = std::rotl(v3_, 16);
    v3_ ^= v2_;
    v0_ += v3_;
    v3_ = std::rotl(v3_, 21);
    v3_ ^= v0_;
    v2_ += v1_;
    v1_ = std::rotl(v1_, 17);
    v1_ ^= v2_;
    v2_ = std::rotl(v2_, 32);
  }
}

void siphash128::compress(std::uint64_t m) {
  v3_ ^= m;
  rounds(2);
  v0_ ^= m;
}

void siphash128::update(std::string_view data) {
  total_ += data.size();
  auto p = reinterpret_cast<const unsigned char*>(data.data());
  std::size_t n = data.size();
  if (tail_size_ > 0) {
    const std::size_t take = std::min(n, tail_.size() - tail_size_);
    std::memcpy(tail_.data() + tail_size_, p, take);
    tail_size_ += take;
    p += take;
    n -= take;
    if (tail_size_ < tail_.size()) return;
    compress(load_le64(tail_.data()));
    tail_size_ = 0;
  }
  for (; n >= 8; p += 8, n -= 8) compress(load_le64(p));
  std::memcpy(tail_.data(), p, n);
  tail_size_ = n;
}

void siphash128::finish_message() {
  std::uint64_t b = total_ << 56;
  for (std::size_t i = 0; i < tail_size_; ++i) b |= std::uint64_t{tail_[i]} << (8 * i);
  compress(b);
}

params_fingerprint siphash128::finish() {
  finish_message();
  v2_ ^= 0xee;
  rounds(4);
  params_fingerprint out;
  out.low = v0_ ^ v1_ ^ v2_ ^ v3_;
  v1_ ^= 0xdd;
  rounds(4);
  out.high = v0_ ^ v1_ ^ v2_ ^ v3_;
  return out;
}

std::uint64_t siphash128::finish64() {
  finish_message();
  v2_ ^= 0xff;
  rounds(4);
  return v0_ ^ v1_ ^ v2_ ^ v3_;
}

// ---- the canonical encoding of params ---------------------------------------------------------

namespace {

void put_u64(siphash128& h, std::uint64_t v) {
  unsigned char b[8];
  for (int i = 0; i < 8; ++i) b[i] = static_cast<unsigned char>(v >> (8 * i));
  h.update(std::string_view(reinterpret_cast<const char*>(b), sizeof b));
}

void put_text(siphash128& h, std::string_view s) {
  put_u64(h, s.size());
  h.update(s);
}

/// Each value: its kind (one byte), then its contents; lengths and counts before what they
/// count, so no two trees share an encoding.
void put_value(siphash128& h, const value& v) {
  const char tag = static_cast<char>(v.kind());
  h.update(std::string_view(&tag, 1));
  switch (v.kind()) {
    case kind::nil:
      break;
    case kind::boolean:
      put_u64(h, v.as_bool() ? 1 : 0);
      break;
    case kind::integer:
      put_u64(h, static_cast<std::uint64_t>(v.as_int()));
      break;
    case kind::floating:
      put_u64(h, std::bit_cast<std::uint64_t>(v.as_double()));  // what was received: -0.0 too
      break;
    case kind::string:
      put_text(h, v.as_string());
      break;
    case kind::bytes:
      put_text(h, v.as_bytes().data);
      break;
    case kind::date_time: {
      const date_time& t = v.as_date_time();
      for (int f : {t.year, t.month, t.day, t.hour, t.minute, t.second}) {
        put_u64(h, static_cast<std::uint64_t>(f));
      }
      break;
    }
    case kind::array: {
      const array& a = v.as_array();
      put_u64(h, a.size());
      for (const value& e : a) put_value(h, e);
      break;
    }
    case kind::structure: {
      // Named params are a set of names: {"a":1,"b":2} and {"b":2,"a":1} are one call. Sorted
      // by name (stably: members of one name keep their order, the first being the one read).
      const structure& s = v.as_struct();
      put_u64(h, s.size());
      auto by_name = [](const member* x, const member* y) { return x->first < y->first; };
      constexpr std::size_t on_stack = 16;
      std::array<const member*, on_stack> small;
      std::vector<const member*> large;
      const member** first = small.data();
      if (s.size() > on_stack) {
        large.resize(s.size());
        first = large.data();
      }
      for (std::size_t i = 0; i < s.size(); ++i) first[i] = &s[i];
      const member** last = first + s.size();
      if (!std::is_sorted(first, last, by_name)) std::stable_sort(first, last, by_name);
      for (const member** m = first; m != last; ++m) {
        put_text(h, (*m)->first);
        put_value(h, (*m)->second);
      }
      break;
    }
  }
}

std::uint64_t random_word() {
  std::random_device device;
  return (std::uint64_t{device()} << 32) ^ device();
}

}  // namespace

// ---- sizes and peers --------------------------------------------------------------------------

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

std::string_view peer_host(std::string_view address) {
  if (address.starts_with('[')) {
    const auto end = address.find(']');
    return end == std::string_view::npos ? address : address.substr(1, end - 1);
  }
  const auto colon = address.rfind(':');
  return colon == std::string_view::npos ? address : address.substr(0, colon);
}

// ---- the cache --------------------------------------------------------------------------------

namespace {

/// A peer's share: an eighth of the budget, but not less than 64 KiB (or the whole budget, when
/// smaller), so that small budgets still keep a few outcomes per peer.
constexpr std::size_t share_divisor = 8;
constexpr std::size_t share_floor = 64 * 1024;

}  // namespace

outcome_cache::outcome_cache(std::chrono::milliseconds ttl, std::size_t max_bytes)
    : ttl_(ttl),
      max_bytes_(max_bytes),
      share_bytes_(std::max(max_bytes / share_divisor, std::min(max_bytes, share_floor))),
      hash_key0_(random_word()),
      hash_key1_(random_word()) {}

params_fingerprint outcome_cache::fingerprint(const value& params) const {
  siphash128 h(hash_key0_, hash_key1_);
  put_value(h, params);
  return h.finish();
}

outcome_cache::peer_state& outcome_cache::peer_of(std::string_view address) {
  const std::string_view host = peer_host(address);
  auto it = peers_.find(std::string(host));
  if (it == peers_.end()) {
    it = peers_.try_emplace(std::string(host)).first;
    it->second.name = &it->first;
  }
  return it->second;
}

void outcome_cache::set_peer_bytes(peer_state& p, std::size_t bytes) {
  if (p.bytes == bytes) return;
  if (p.bytes > 0) {
    // Moved within the set without a new node.
    auto node = by_bytes_.extract({p.bytes, &p});
    if (bytes > 0) {
      node.value().first = bytes;
      by_bytes_.insert(std::move(node));
    }
  } else {
    by_bytes_.emplace(bytes, &p);
  }
  p.bytes = bytes;
}

outcome_cache::verdict outcome_cache::find_locked(const call_identity& call, time_point arrival,
                                                  waiter& w, response& stored,
                                                  time_point& first_arrival, bool insert) {
  evict(std::chrono::steady_clock::now(), nullptr);
  auto it = entries_.find(std::string(call.key));
  if (it == entries_.end()) {
    if (!insert) return verdict::absent;
    entry& e = entries_.try_emplace(std::string(call.key)).first->second;
    e.method = call.method;
    e.params = call.params;
    e.first_arrival = arrival;
    e.peer = &peer_of(call.peer);
    ++e.peer->entries;
    return verdict::run;
  }
  entry& e = it->second;
  if (e.method != call.method) return verdict::conflict;
  if (e.params != call.params) return verdict::other_params;
  first_arrival = e.first_arrival;
  if (e.finished) {
    stored = e.outcome;
    return verdict::stored;
  }
  e.waiters.push_back(std::move(w));
  return verdict::wait;
}

outcome_cache::verdict outcome_cache::begin(const call_identity& call, time_point arrival,
                                            waiter w, response& stored,
                                            time_point& first_arrival) {
  std::lock_guard lock(mutex_);
  return find_locked(call, arrival, w, stored, first_arrival, true);
}

outcome_cache::verdict outcome_cache::lookup(const call_identity& call, waiter w,
                                             response& stored, time_point& first_arrival) {
  std::lock_guard lock(mutex_);
  return find_locked(call, {}, w, stored, first_arrival, false);
}

void outcome_cache::finish(const std::string& key, const response& outcome) {
  std::vector<waiter> waiters;
  {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(key);
    if (it == entries_.end() || it->second.finished) return;
    entry& e = it->second;
    e.finished = true;
    e.outcome.result = outcome.result;
    e.outcome.error = outcome.error;
    e.bytes = key.size() * 2 + e.method.size() + 192 + approximate_bytes(outcome.result) +
              (outcome.error ? outcome.error->message.size() : 0);
    const auto now = std::chrono::steady_clock::now();
    e.stored_at = now;
    bytes_ += e.bytes;
    peer_state& p = *e.peer;
    set_peer_bytes(p, p.bytes + e.bytes);
    e.in_all = finished_.insert(finished_.end(), &*it);
    e.in_peer = p.finished.insert(p.finished.end(), &*it);
    waiters.swap(e.waiters);
    evict(now, &p);
  }
  for (auto& w : waiters) w(outcome);
}

void outcome_cache::erase(entry_node& node) {
  entry& e = node.second;
  peer_state& p = *e.peer;
  if (e.finished) {
    bytes_ -= e.bytes;
    set_peer_bytes(p, p.bytes - e.bytes);
    finished_.erase(e.in_all);
    p.finished.erase(e.in_peer);
  }
  const bool peer_gone = --p.entries == 0;
  const std::string* peer_name = p.name;
  // Found first, erased by iterator: the keys are the nodes' own, gone with them.
  entries_.erase(entries_.find(node.first));
  if (peer_gone) peers_.erase(peers_.find(*peer_name));
}

void outcome_cache::evict(time_point now, peer_state* stored_by) {
  // Expired, oldest first.
  while (!finished_.empty() &&
         saturating_add(finished_.front()->second.stored_at, ttl_) <= now) {
    entry_node* oldest = finished_.front();
    if (oldest->second.peer == stored_by && stored_by->entries == 1) stored_by = nullptr;
    erase(*oldest);
  }
  // A peer over its share loses its own oldest outcomes (but keeps its newest): one client's
  // answers never push out another's.
  if (stored_by != nullptr) {
    while (stored_by->bytes > share_bytes_ && stored_by->finished.size() > 1) {
      erase(*stored_by->finished.front());
    }
  }
  // Over the whole budget (many peers near their shares, or one large outcome): the peer that
  // holds the most loses its oldest first.
  while (bytes_ > max_bytes_ && !by_bytes_.empty()) {
    peer_state* largest = by_bytes_.rbegin()->second;
    erase(*largest->finished.front());
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

std::size_t outcome_cache::peer_bytes(std::string_view peer) const {
  std::lock_guard lock(mutex_);
  auto it = peers_.find(std::string(peer_host(peer)));
  return it == peers_.end() ? 0 : it->second.bytes;
}

}  // namespace netcall::detail

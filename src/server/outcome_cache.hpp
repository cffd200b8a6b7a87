#pragma once
/// \file
/// The server's memory of recent call outcomes, keyed by idempotency key: what makes a retried
/// call execute at most once (SPEC §4). Shared by every event loop; thread-safe.
///
/// A key names one call: its method and its params. The params are remembered as a 128-bit
/// fingerprint (a keyed SipHash of a canonical encoding of the value tree), not as a copy, so
/// an entry costs little beyond its outcome; a retry whose method or params differ is a
/// conflict, whether the first attempt finished or still runs.
///
/// The memory is bounded by age (`ttl`) and by size (`max_bytes`), and shared fairly among
/// peers (client addresses, without the port): a peer over its share (`share_bytes()`) loses
/// its own oldest outcomes, never another peer's; when the whole is over `max_bytes`, the peer
/// holding the most loses its oldest first. docs/failures.md has the rules and defaults.

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "protocol/message.hpp"

namespace netcall::detail {

/// What a call's params looked like, in 128 bits: equal params (same value tree: kinds,
/// contents, array order; struct members in any order) give equal fingerprints, different
/// ones differ but for a chance of about 2^-128 per pair.
struct params_fingerprint {
  std::uint64_t high = 0;  ///< bits 64..127
  std::uint64_t low = 0;   ///< bits 0..63
  friend bool operator==(const params_fingerprint&, const params_fingerprint&) = default;
};

/// SipHash-2-4 (Aumasson and Bernstein, 2012), fed in pieces: the hash of params
/// fingerprints, with its 128-bit output. Keyed (the cache draws a random key), so a client
/// cannot choose params that collide.
class siphash128 {
 public:
  /// `k0`, `k1`: the 16-byte key as two little-endian words (bytes 0..7, bytes 8..15).
  /// `wide`: the 128-bit variant (`finish`); false for the 64-bit one (`finish64`).
  siphash128(std::uint64_t k0, std::uint64_t k1, bool wide = true);
  /// Adds `data` to the message.
  void update(std::string_view data);
  /// The 128-bit hash of everything added: `low` holds output bytes 0..7, `high` bytes 8..15
  /// (little-endian). The object is spent afterwards.
  params_fingerprint finish();
  /// The 64-bit variant's output (construct with `wide` false). The object is spent afterwards.
  std::uint64_t finish64();

 private:
  void compress(std::uint64_t m);
  void rounds(int n);
  void finish_message();
  std::uint64_t v0_, v1_, v2_, v3_;
  std::array<unsigned char, 8> tail_{};
  std::size_t tail_size_ = 0;
  std::uint64_t total_ = 0;
};

class outcome_cache {
 public:
  using time_point = std::chrono::steady_clock::time_point;
  /// Receives the outcome (result or error; the id is not kept) of a call that was still
  /// running when its retry arrived. Called on the thread that finished the call: post to the
  /// retry's own loop before touching it.
  using waiter = std::function<void(const response&)>;

  /// Outcomes are kept `ttl` after they were stored (saturating: any ttl is safe), and the
  /// total of their approximate sizes stays within `max_bytes`, each peer's within
  /// `share_bytes()` (see the file comment).
  outcome_cache(std::chrono::milliseconds ttl, std::size_t max_bytes);

  /// Of the calls that hold a key.
  struct call_identity {
    /// The idempotency key (SPEC §4).
    std::string_view key;
    /// The method called.
    std::string_view method;
    /// `fingerprint(params)` of the params received.
    params_fingerprint params;
    /// Who sent it: the peer's address (its host counts, the port is ignored); empty when
    /// unknown. Only the attempt that registers the key (verdict::run) is charged for it.
    std::string_view peer;
  };

  enum class verdict {
    run,           ///< first time this key is seen: run the call, then `finish(key, outcome)`
    stored,        ///< the call finished before: `stored` holds its outcome
    wait,          ///< the call is running: `w` will receive its outcome
    conflict,      ///< the key belongs to a call of another method: refuse (nothing registered)
    other_params,  ///< the key belongs to a call of this method with other params: refuse
    absent,        ///< (lookup only) the key is unknown
  };

  /// The fingerprint of `params` under this cache's secret key: a canonical encoding of the
  /// value tree (kinds, lengths, contents; struct members sorted by name, which keeps members
  /// of one name in their order) through SipHash-2-4-128. Allocates only for structs of more
  /// than 16 members whose names are not in order.
  params_fingerprint fingerprint(const value& params) const;

  /// Looks the call's key up for a call that arrived at `arrival`, and registers what the
  /// caller must do. For `stored` and `wait`, `first_arrival` is when the key's first attempt
  /// arrived (what `--delay` counts from, SPEC §2).
  verdict begin(const call_identity& call, time_point arrival, waiter w, response& stored,
                time_point& first_arrival);
  /// Like begin, but never registers a new call: `absent` when the key is unknown.
  verdict lookup(const call_identity& call, waiter w, response& stored, time_point& first_arrival);
  /// Stores the outcome of a call begun with verdict::run and hands it to every waiter.
  void finish(const std::string& key, const response& outcome);

  /// Outcomes stored now, and their approximate size (bytes): for tests and metrics.
  std::size_t size() const;
  std::size_t bytes() const;
  /// The approximate size (bytes) of the outcomes stored for `peer` (an address; its host
  /// counts): for tests.
  std::size_t peer_bytes(std::string_view peer) const;
  /// What one peer may hold: max(max_bytes / 8, min(max_bytes, 64 KiB)). A peer over it loses
  /// its own oldest outcomes, but keeps its newest one (which the whole budget still bounds).
  std::size_t share_bytes() const { return share_bytes_; }

 private:
  struct entry;
  struct peer_state;
  using entry_map = std::unordered_map<std::string, entry>;
  using entry_node = entry_map::value_type;
  /// Finished entries, oldest first.
  using age_list = std::list<entry_node*>;
  using peer_map = std::unordered_map<std::string, peer_state>;

  struct peer_state {
    std::size_t bytes = 0;      ///< of its finished entries
    std::size_t entries = 0;    ///< finished or running
    age_list finished;          ///< its finished entries, oldest first
    const std::string* name = nullptr;  ///< its key in peers_
  };
  struct entry {
    std::string method;
    params_fingerprint params;
    time_point first_arrival;
    time_point stored_at;
    bool finished = false;
    response outcome;
    std::vector<waiter> waiters;
    std::size_t bytes = 0;
    peer_state* peer = nullptr;  ///< charged for it (the peer of the attempt that ran)
    age_list::iterator in_all;   ///< in finished_ (once finished)
    age_list::iterator in_peer;  ///< in peer->finished (once finished)
  };

  void evict(time_point now, peer_state* stored_by);
  void erase(entry_node& node);
  void set_peer_bytes(peer_state& p, std::size_t bytes);
  peer_state& peer_of(std::string_view address);
  verdict find_locked(const call_identity& call, time_point arrival, waiter& w, response& stored,
                      time_point& first_arrival, bool insert);

  const std::chrono::milliseconds ttl_;
  const std::size_t max_bytes_;
  const std::size_t share_bytes_;
  const std::uint64_t hash_key0_;
  const std::uint64_t hash_key1_;
  mutable std::mutex mutex_;
  entry_map entries_;
  peer_map peers_;
  /// Every finished entry, oldest first: for expiry.
  age_list finished_;
  /// Peers holding finished outcomes by the bytes they hold: who loses first when the whole
  /// is over max_bytes.
  std::set<std::pair<std::size_t, peer_state*>> by_bytes_;
  std::size_t bytes_ = 0;
};

/// The approximate memory a value occupies (bytes), for the cache's size bound.
std::size_t approximate_bytes(const value& v);

/// The part of a peer address ("HOST:PORT", "[V6]:PORT") that names the client: its host.
std::string_view peer_host(std::string_view address);

}  // namespace netcall::detail

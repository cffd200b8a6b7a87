#pragma once
/// \file
/// The idempotency key convention (SPEC §4, docs/failures.md "Where the key travels").
///
/// A key is `nc1:<client id: 16 lowercase hex digits>:<sequence number: 1-20 decimal digits>`.
/// The client id is random per client; the sequence number counts its logical calls; every
/// attempt of one logical call carries the same key. JSON-RPC carries it as the request `id`
/// (a string id is any client's to choose, so the request stays valid JSON-RPC for every
/// server); HTTP carries it in the `Idempotency-Key` header (XML-RPC has no id).

#include <cstdint>
#include <string>
#include <string_view>

namespace netcall::detail {

/// The HTTP header that carries the key (IETF draft "The Idempotency-Key HTTP Header Field").
inline constexpr std::string_view idempotency_header = "Idempotency-Key";

/// True when `text` has the exact shape of a netcall idempotency key.
inline bool is_idempotency_key(std::string_view text) {
  constexpr std::string_view prefix = "nc1:";
  if (text.size() < prefix.size() + 16 + 2 || !text.starts_with(prefix)) return false;
  text.remove_prefix(prefix.size());
  for (std::size_t i = 0; i < 16; ++i) {
    const char c = text[i];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  if (text[16] != ':') return false;
  text.remove_prefix(17);
  if (text.empty() || text.size() > 20) return false;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

/// The key for call number `sequence` of client `client_id`.
inline std::string make_idempotency_key(std::uint64_t client_id, std::uint64_t sequence) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string key = "nc1:";
  for (int shift = 60; shift >= 0; shift -= 4) key += hex[(client_id >> shift) & 0xf];
  key += ':';
  key += std::to_string(sequence);
  return key;
}

}  // namespace netcall::detail

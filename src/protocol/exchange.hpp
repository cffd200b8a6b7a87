#pragma once
/// \file
/// The calls of one message and the answers they get, in message order: how a JSON-RPC batch
/// (over TCP or HTTP) and an HTTP request's body are answered as one reply once every call in
/// them completed.

#include <cstddef>
#include <optional>
#include <utility>
#include <vector>

#include "protocol/message.hpp"

namespace netcall::detail {

struct exchange {
  /// A JSON-RPC batch (answered as an array even with one entry).
  bool batch = false;
  /// One slot per entry of the message, in order: an answer ready at once (an entry that could
  /// not be decoded), an empty response waiting for its call's answer, or nullopt for a
  /// notification (no answer).
  std::vector<std::optional<response>> answers;
  /// The calls to run: the answer slot each fills, and the request.
  std::vector<std::pair<std::size_t, request>> calls;

  /// Empties the exchange, keeping its storage.
  void clear() {
    batch = false;
    answers.clear();
    calls.clear();
  }
};

}  // namespace netcall::detail

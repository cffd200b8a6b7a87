#pragma once
/// \file
/// The tokens a server accepts (SPEC §6): given with `--token`, or read from `--token-file` (one
/// token a line, so a new token can be added before the old one is removed: rotation). Compared
/// in constant time (OpenSSL's CRYPTO_memcmp), so the time an answer takes tells nothing of how
/// much of a guess was right.

#include <string>
#include <string_view>
#include <vector>

namespace netcall::detail {

class token_set {
 public:
  token_set() = default;
  /// Throws std::invalid_argument for an empty token, or one with whitespace or control
  /// characters (they could not travel in an HTTP header or a URL's password).
  explicit token_set(std::vector<std::string> tokens);

  /// The tokens of `path`: one token a line; blank lines and lines starting with `#` are skipped,
  /// surrounding whitespace (CR included) is trimmed. Throws std::invalid_argument naming the
  /// file when it cannot be read, holds no token, or holds a malformed one (as above).
  static std::vector<std::string> read_file(const std::string& path);

  /// True when `candidate` is one of the tokens. Every token of the same length is compared
  /// whole, in constant time; no early exit on the first match.
  bool contains(std::string_view candidate) const;

  bool empty() const { return tokens_.empty(); }
  std::size_t size() const { return tokens_.size(); }

 private:
  std::vector<std::string> tokens_;
};

}  // namespace netcall::detail

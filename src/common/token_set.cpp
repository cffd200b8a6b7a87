#include "common/token_set.hpp"

#include <openssl/crypto.h>

#include <fstream>
#include <stdexcept>

namespace netcall::detail {

namespace {

void check_token(std::string_view token, std::string_view where) {
  if (token.empty()) throw std::invalid_argument(std::string(where) + ": empty token");
  for (unsigned char ch : token) {
    if (ch <= ' ' || ch == 0x7f) {
      throw std::invalid_argument(std::string(where) +
                                  ": a token holds no whitespace or control characters");
    }
  }
}

std::string_view trimmed(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

}  // namespace

token_set::token_set(std::vector<std::string> tokens) : tokens_(std::move(tokens)) {
  for (const auto& t : tokens_) check_token(t, "--token");
}

std::vector<std::string> token_set::read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::invalid_argument("cannot read token file " + path);
  std::vector<std::string> tokens;
  std::string line;
  std::size_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (number > 100'000) throw std::invalid_argument("token file " + path + ": too many lines");
    const std::string_view t = trimmed(line);
    if (t.empty() || t.front() == '#') continue;
    check_token(t, "token file " + path + " line " + std::to_string(number));
    tokens.emplace_back(t);
  }
  if (in.bad()) throw std::invalid_argument("cannot read token file " + path);
  if (tokens.empty()) throw std::invalid_argument("token file " + path + " holds no token");
  return tokens;
}

bool token_set::contains(std::string_view candidate) const {
  int found = 0;
  for (const auto& t : tokens_) {
    if (t.size() != candidate.size()) continue;
    found |= CRYPTO_memcmp(t.data(), candidate.data(), t.size()) == 0 ? 1 : 0;
  }
  return found != 0;
}

}  // namespace netcall::detail

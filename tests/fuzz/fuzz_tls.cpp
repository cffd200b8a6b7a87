// Fuzz target: the server's TLS path (SPEC §6), without sockets: the sniff that tells a TLS
// handshake from the other protocols (transport/tls_stream.hpp is_tls_handshake), then the
// server side of transport/tls_stream.cpp fed the input as what a hostile client sends on one
// connection, in reads of sizes derived from the input: the first read is what the connection
// sniffed (as server_connection::start_tls hands it over), the rest arrives read after read
// over an in-memory byte stream, and what the stream writes back (handshake records, alerts) is
// collected. Beyond "never crash, never leak, never hang": the handshake of bytes no client
// produced fails with a reason, and once the input is used up everything has completed.
//
// Seeds: real ClientHellos (OpenSSL's s_client, TLS 1.2 and 1.3, with and without ALPN).
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <unistd.h>

#include "fuzz_support.hpp"
#include "transport/tls_stream.hpp"

namespace {

namespace asio = boost::asio;
using namespace netcall::detail;

/// A byte stream over the fuzz input: reads return the next `step` bytes (end of stream once
/// the input is used up); writes are collected and complete on the next turn of the loop.
class memory_stream final : public byte_stream {
 public:
  memory_stream(asio::any_io_executor ex, std::string_view input, std::size_t step)
      : ex_(std::move(ex)), input_(input), step_(step) {}

  asio::any_io_executor get_executor() override { return ex_; }
  asio::awaitable<std::size_t> read_some(asio::mutable_buffer into,
                                         boost::system::error_code& ec) override {
    if (closed_ || input_.empty()) {
      ec = asio::error::eof;
      co_return 0;
    }
    const std::size_t n = std::min({step_, into.size(), input_.size()});
    std::memcpy(into.data(), input_.data(), n);
    input_.remove_prefix(n);
    ec = {};
    co_return n;
  }
  asio::awaitable<void> wait_readable(boost::system::error_code& ec) override {
    ec = {};
    co_return;
  }
  void write(asio::const_buffer data, write_callback done) override {
    written += std::string_view(static_cast<const char*>(data.data()), data.size());
    asio::post(ex_, [done = std::move(done), closed = closed_] {
      done.fn(done.context, closed ? asio::error::broken_pipe : boost::system::error_code());
    });
  }
  void shutdown_send() override {}
  bool input_pending() const override { return !input_.empty(); }
  std::size_t unacknowledged() const override { return 0; }
  void close() override { closed_ = true; }
  std::string remote_address() const override { return "127.0.0.1:1"; }

  std::string written;

 private:
  asio::any_io_executor ex_;
  std::string_view input_;
  std::size_t step_;
  bool closed_ = false;
};

/// A server context with a throwaway self-signed P-256 certificate, made once.
tls_context server_context() {
  static const tls_context ctx = [] {
    EVP_PKEY* key = EVP_EC_gen("P-256");
    X509* cert = X509_new();
    ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert), 0);
    X509_gmtime_adj(X509_getm_notAfter(cert), 86400);
    X509_set_pubkey(cert, key);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(cert), "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("fuzz"), -1, -1, 0);
    X509_set_issuer_name(cert, X509_get_subject_name(cert));
    X509_sign(cert, key, EVP_sha256());
    const std::string base = "/tmp/netcall_fuzz_tls_" + std::to_string(getpid());
    FILE* c = std::fopen((base + ".pem").c_str(), "w");
    FILE* k = std::fopen((base + ".key").c_str(), "w");
    PEM_write_X509(c, cert);
    PEM_write_PrivateKey(k, key, nullptr, nullptr, 0, nullptr, nullptr);
    std::fclose(c);
    std::fclose(k);
    X509_free(cert);
    EVP_PKEY_free(key);
    tls_context made = make_server_tls_context(base + ".pem", base + ".key", "");
    std::remove((base + ".pem").c_str());
    std::remove((base + ".key").c_str());
    return made;
  }();
  return ctx;
}

}  // namespace

namespace netcall::fuzz {

// gcc 12 takes asio's aligned frame allocation for a mismatch (-Wmismatched-new-delete) when it
// sees a coroutine's ramp and its frame's delete in one function of internal linkage.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

/// What server_connection::start_tls does with a connection, then its reads. Outside the
/// extern "C" function (gcc 12 mangles a coroutine lambda there twice).
asio::awaitable<void> serve(std::unique_ptr<byte_stream> inner, std::string_view sniffed,
                            bool& finished) {
  tls_stream tls(std::move(inner), server_context(), tls_stream::role::server, sniffed);
  boost::system::error_code ec;
  co_await tls.handshake(ec);
  if (ec) {
    NETCALL_FUZZ_CHECK(!tls.failure().empty(), "a failed handshake says why");
  } else {
    // Only a client holding the session keys gets here; read what follows as the connection
    // would, and answer it.
    char buffer[4096];
    bool answered = false;
    for (int reads = 0; reads < 10000; ++reads) {
      const std::size_t n = co_await tls.read_some(asio::buffer(buffer), ec);
      if (ec) break;
      if (!answered) {  // one write at a time: the first bytes are echoed
        answered = true;
        tls.write(asio::buffer(buffer, n),
                  {[](void*, const boost::system::error_code&) {}, nullptr, nullptr});
      }
    }
  }
  tls.shutdown_send();
  finished = true;
}

#pragma GCC diagnostic pop

}  // namespace netcall::fuzz

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  // The transport starts TLS only on a handshake record's first bytes.
  if (!is_tls_handshake(input.substr(0, 2)) || input.size() < 2) return 0;
  const std::uint64_t h = netcall::fuzz::input_hash(input);
  const std::size_t sniffed = std::min<std::size_t>(input.size(), 1 + h % 64);
  const std::size_t step = h % 3 == 0 ? input.size() : 1 + (h >> 8) % 300;

  asio::io_context io;
  auto inner = std::make_unique<memory_stream>(io.get_executor(), input.substr(sniffed), step);
  bool finished = false;
  asio::co_spawn(io, netcall::fuzz::serve(std::move(inner), input.substr(0, sniffed), finished),
                 asio::detached);
  io.run();
  NETCALL_FUZZ_CHECK(finished, "the handshake and reads completed once the input was used up");
  return 0;
}

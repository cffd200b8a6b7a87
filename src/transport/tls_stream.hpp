#pragma once
/// \file
/// TLS as a byte stream (SPEC §6, docs/security.md): OpenSSL over another byte stream through
/// memory BIOs, so the protocols above never know whether bytes are encrypted (docs/style.md, after
/// KJ's TLS wrapper) and the server can start TLS on bytes it already read while sniffing.
///
/// Contexts: a server's is made from its certificate and key (and a client CA when client
/// certificates are required) and swapped on SIGHUP (tls_contexts); each connection keeps the
/// context it started with. Defaults: TLS 1.2 and 1.3 only, no renegotiation, the server's
/// cipher preference, forward-secret TLS 1.2 ciphers, ALPN `http/1.1` when the client offers it.

#include <openssl/types.h>

#include <mutex>
#include <boost/asio/ip/tcp.hpp>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "transport/byte_stream.hpp"

namespace netcall::detail {

/// An OpenSSL context, freed with SSL_CTX_free.
using tls_context = std::shared_ptr<SSL_CTX>;

/// A server context from PEM files: `cert_file` (the certificate chain, leaf first),
/// `key_file` (its private key), and `client_ca_file` (when not empty: clients must present a
/// certificate signed by it). Throws std::invalid_argument naming the file and OpenSSL's reason
/// when one cannot be read or the key does not match the certificate.
tls_context make_server_tls_context(const std::string& cert_file, const std::string& key_file,
                                    const std::string& client_ca_file);

/// A client context: servers are verified against `ca_file` (PEM) or, when empty, the system's
/// CAs; `cert_file`/`key_file` (both or neither) is the client's own certificate. Throws
/// std::invalid_argument as above.
tls_context make_client_tls_context(const std::string& ca_file, const std::string& cert_file,
                                    const std::string& key_file);

/// The TLS settings of a server's transport. Thread-safe.
class tls_settings {
 public:
  /// The context new connections use.
  tls_context context() const {
    std::lock_guard lock(mutex_);
    return context_;
  }
  /// Replaces it (a reload); connections keep the one they started with.
  void replace(tls_context context) {
    std::lock_guard lock(mutex_);
    context_ = std::move(context);
  }
  /// Refuse connections that do not start with a TLS handshake.
  bool tls_only = false;

 private:
  // Not std::atomic<std::shared_ptr>: see access_policy.hpp.
  mutable std::mutex mutex_;
  tls_context context_;
};

/// True when `first_bytes` begin a TLS handshake record (content type 22, version 3.x: RFC 8446
/// §5.1): what the server's sniffing checks first.
inline bool is_tls_handshake(std::string_view first_bytes) {
  return !first_bytes.empty() && static_cast<unsigned char>(first_bytes[0]) == 0x16 &&
         (first_bytes.size() < 2 || first_bytes[1] == 0x03);
}

/// TLS over another byte stream (the server's accepted TCP stream, or a client's). Reads
/// decrypt what arrived; a write encrypts all of its bytes at once and completes when their
/// records are written; `shutdown_send` sends close_notify before the inner FIN. Every member
/// runs on the inner stream's executor, as byte_stream says.
class tls_stream final : public byte_stream {
 public:
  /// Which side of the handshake this end plays.
  enum class role { client, server };

  /// Wraps `inner`. `already_read`: bytes of the handshake the server read while sniffing.
  /// `server_name` (client): the name or IP address the certificate must be valid for, also
  /// sent as SNI when it is a name. `alpn_http` (client): offer ALPN `http/1.1`.
  tls_stream(std::unique_ptr<byte_stream> inner, tls_context context, role r,
             std::string_view already_read = {}, const std::string& server_name = {},
             bool alpn_http = false);
  ~tls_stream() override;

  /// Runs the handshake; `ec` set when it failed (a certificate that does not verify, a
  /// client without a required certificate, not TLS at all), with OpenSSL's reason in
  /// `failure()`.
  boost::asio::awaitable<void> handshake(boost::system::error_code& ec);
  /// Why the handshake failed, for logs and errors.
  const std::string& failure() const;
  /// The verified subject of the peer's certificate (RFC 2253), empty without one.
  std::string peer_subject() const;

  boost::asio::any_io_executor get_executor() override;
  boost::asio::awaitable<std::size_t> read_some(boost::asio::mutable_buffer into,
                                                boost::system::error_code& ec) override;
  boost::asio::awaitable<void> wait_readable(boost::system::error_code& ec) override;
  void write(boost::asio::const_buffer data, write_callback done) override;
  void shutdown_send() override;
  bool input_pending() const override;
  std::size_t unacknowledged() const override;
  void close() override;
  std::string remote_address() const override;

 private:
  struct state;
  std::shared_ptr<state> state_;
};

/// Opens a TCP connection to `endpoint`, runs a client TLS handshake (verifying the server as
/// `server_name`), and calls `done(ec, stream, why)` on `executor` (`why` says why it failed).
void async_connect_tls(boost::asio::any_io_executor executor,
                       const boost::asio::ip::tcp::endpoint& endpoint, tls_context context,
                       std::string server_name, bool alpn_http,
                       std::function<void(boost::system::error_code, std::unique_ptr<byte_stream>,
                                          std::string why)> done);

}  // namespace netcall::detail

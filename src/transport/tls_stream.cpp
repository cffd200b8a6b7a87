#include "transport/tls_stream.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <array>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/error.hpp>
#include <climits>
#include <stdexcept>

#include "transport/tcp_stream.hpp"

namespace netcall::detail {

namespace asio = boost::asio;

namespace {

/// OpenSSL's last error as text (and the queue emptied).
std::string openssl_reason() {
  std::string out;
  while (const unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? "unknown TLS error" : out;
}

tls_context own(SSL_CTX* ctx) {
  if (ctx == nullptr) throw std::invalid_argument("cannot make a TLS context: " + openssl_reason());
  return tls_context(ctx, &SSL_CTX_free);
}

void set_modern_defaults(SSL_CTX* ctx) {
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
  // TLS 1.2: forward secrecy and AEAD only (TLS 1.3's suites all are).
  SSL_CTX_set_cipher_list(ctx,
                          "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
                          "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
                          "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305");
  // An idle connection holds no record buffers (as a plain one holds no read buffer): OpenSSL
  // frees them when empty.
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
}

int select_http11(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
                  unsigned int inlen, void*) {
  static constexpr unsigned char ours[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
  unsigned char* chosen = nullptr;
  if (SSL_select_next_proto(&chosen, outlen, ours, sizeof ours, in, inlen) !=
      OPENSSL_NPN_NEGOTIATED) {
    return SSL_TLSEXT_ERR_NOACK;  // the client offers no HTTP/1.1: go on without ALPN
  }
  *out = chosen;
  return SSL_TLSEXT_ERR_OK;
}

void load_certificate(SSL_CTX* ctx, const std::string& cert_file, const std::string& key_file,
                      const char* what) {
  if (SSL_CTX_use_certificate_chain_file(ctx, cert_file.c_str()) != 1) {
    throw std::invalid_argument(std::string("cannot load the ") + what + " certificate " +
                                cert_file + ": " + openssl_reason());
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    throw std::invalid_argument(std::string("cannot load the ") + what + " key " + key_file +
                                ": " + openssl_reason());
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    throw std::invalid_argument("the key " + key_file + " does not match the certificate " +
                                cert_file);
  }
}

/// Ciphertext read from the inner stream is copied into OpenSSL's BIO at once: one buffer per
/// thread serves every TLS stream of that thread (the inner read fills it synchronously after
/// its wait, and nothing runs between that and the copy).
std::array<char, 16 * 1024>& cipher_buffer() {
  thread_local std::array<char, 16 * 1024> buffer;
  return buffer;
}

}  // namespace

tls_context make_server_tls_context(const std::string& cert_file, const std::string& key_file,
                                    const std::string& client_ca_file) {
  ERR_clear_error();
  tls_context ctx = own(SSL_CTX_new(TLS_server_method()));
  set_modern_defaults(ctx.get());
  SSL_CTX_set_options(ctx.get(), SSL_OP_CIPHER_SERVER_PREFERENCE);
  load_certificate(ctx.get(), cert_file, key_file, "server");
  SSL_CTX_set_alpn_select_cb(ctx.get(), &select_http11, nullptr);
  if (!client_ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(ctx.get(), client_ca_file.c_str(), nullptr) != 1) {
      throw std::invalid_argument("cannot load the client CA " + client_ca_file + ": " +
                                  openssl_reason());
    }
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(client_ca_file.c_str());
    if (names != nullptr) SSL_CTX_set_client_CA_list(ctx.get(), names);
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  }
  return ctx;
}

tls_context make_client_tls_context(const std::string& ca_file, const std::string& cert_file,
                                    const std::string& key_file) {
  ERR_clear_error();
  tls_context ctx = own(SSL_CTX_new(TLS_client_method()));
  set_modern_defaults(ctx.get());
  const int loaded = ca_file.empty()
                         ? SSL_CTX_set_default_verify_paths(ctx.get())
                         : SSL_CTX_load_verify_locations(ctx.get(), ca_file.c_str(), nullptr);
  if (loaded != 1) {
    throw std::invalid_argument("cannot load the CA " +
                                (ca_file.empty() ? std::string("(system default)") : ca_file) +
                                ": " + openssl_reason());
  }
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  if (cert_file.empty() != key_file.empty()) {
    throw std::invalid_argument("a client certificate needs both its certificate and its key");
  }
  if (!cert_file.empty()) load_certificate(ctx.get(), cert_file, key_file, "client");
  return ctx;
}

// ---- the stream -------------------------------------------------------------------------------

/// What outlives the stream while the inner stream still completes a write (the write's
/// keep-alive): the inner stream and the TLS session.
struct tls_stream::state : std::enable_shared_from_this<tls_stream::state> {
  std::unique_ptr<byte_stream> inner;
  tls_context context;
  SSL* ssl = nullptr;
  BIO* in = nullptr;   // ciphertext received, for OpenSSL to read (owned by ssl)
  BIO* out = nullptr;  // ciphertext OpenSSL produced, to send (owned by ssl)
  std::string failure;

  std::string queued;   // ciphertext waiting to be written
  std::string writing;  // ciphertext being written by the inner stream
  bool inner_writing = false;
  bool user_waiting = false;    // a write's bytes are in `queued` or `writing`
  bool user_in_flight = false;  // ... in `writing`
  write_callback user_done;
  bool shutdown_after_flush = false;

  ~state() {
    if (ssl != nullptr) SSL_free(ssl);
  }

  /// Moves what OpenSSL produced to `queued`.
  void take_output() {
    char* data = nullptr;
    const long n = BIO_get_mem_data(out, &data);
    if (n <= 0) return;
    queued.append(data, static_cast<std::size_t>(n));
    (void)BIO_reset(out);
  }

  /// Starts writing `queued` unless a write is under way. `self` is kept by the write.
  static void flush(const std::shared_ptr<state>& self) {
    state& s = *self;
    if (s.inner_writing) return;
    if (s.queued.empty()) {
      if (s.shutdown_after_flush) {
        s.shutdown_after_flush = false;
        s.inner->shutdown_send();
      }
      return;
    }
    s.writing.swap(s.queued);
    s.inner_writing = true;
    s.user_in_flight = s.user_waiting;
    s.inner->write(asio::buffer(s.writing), {&on_written, &s, self});
  }

  static void on_written(void* context, const boost::system::error_code& ec) {
    state& s = *static_cast<state*>(context);
    s.inner_writing = false;
    s.writing.clear();
    write_callback done;
    if (s.user_in_flight || (ec && s.user_waiting)) {
      s.user_in_flight = false;
      s.user_waiting = false;
      done = std::move(s.user_done);
    }
    // Alive while this runs (the write's keep-alive), and through the next write.
    const auto self = s.shared_from_this();
    if (done.fn != nullptr) {
      auto keep = done.keep_alive;
      done.fn(done.context, ec);  // may write again
    }
    if (!ec) flush(self);  // what was produced meanwhile (a read's answer, close_notify)
  }

  /// Reads ciphertext from the inner stream into OpenSSL; false with `ec` when it ended.
  asio::awaitable<bool> fill(boost::system::error_code& ec) {
    auto& buffer = cipher_buffer();
    const std::size_t n = co_await inner->read_some(asio::buffer(buffer), ec);
    if (ec) co_return false;
    BIO_write(in, buffer.data(), static_cast<int>(n));
    co_return true;
  }
};

tls_stream::tls_stream(std::unique_ptr<byte_stream> inner, tls_context context, role r,
                       std::string_view already_read, const std::string& server_name,
                       bool alpn_http)
    : state_(std::make_shared<state>()) {
  state& s = *state_;
  s.inner = std::move(inner);
  s.context = std::move(context);
  s.ssl = SSL_new(s.context.get());
  if (s.ssl == nullptr) throw std::runtime_error("cannot start TLS: " + openssl_reason());
  s.in = BIO_new(BIO_s_mem());
  s.out = BIO_new(BIO_s_mem());
  BIO_set_mem_eof_return(s.in, -1);  // no bytes yet means "wait", not "ended"
  SSL_set_bio(s.ssl, s.in, s.out);
  if (!already_read.empty()) {
    BIO_write(s.in, already_read.data(), static_cast<int>(already_read.size()));
  }
  if (r == role::server) {
    SSL_set_accept_state(s.ssl);
    return;
  }
  SSL_set_connect_state(s.ssl);
  if (!server_name.empty()) {
    boost::system::error_code ec;
    asio::ip::make_address(server_name, ec);
    if (ec) {
      SSL_set_tlsext_host_name(s.ssl, server_name.c_str());  // SNI: names only (RFC 6066 §3)
      SSL_set1_host(s.ssl, server_name.c_str());
    } else {
      X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(s.ssl), server_name.c_str());
    }
  }
  if (alpn_http) {
    static constexpr unsigned char protos[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
    SSL_set_alpn_protos(s.ssl, protos, sizeof protos);
  }
}

tls_stream::~tls_stream() = default;

asio::awaitable<void> tls_stream::handshake(boost::system::error_code& ec) {
  auto self = state_;
  state& s = *self;
  ec = {};
  for (;;) {
    ERR_clear_error();
    const int r = SSL_do_handshake(s.ssl);
    s.take_output();
    state::flush(self);
    if (r == 1) co_return;
    const int err = SSL_get_error(s.ssl, r);
    if (err == SSL_ERROR_WANT_READ) {
      if (!co_await s.fill(ec)) {
        s.failure = "the connection closed during the TLS handshake";
        co_return;
      }
      continue;
    }
    s.failure = openssl_reason();
    const long verify = SSL_get_verify_result(s.ssl);
    if (verify != X509_V_OK) {
      s.failure += std::string(" (certificate: ") + X509_verify_cert_error_string(verify) + ")";
    }
    ec = asio::error::access_denied;
    co_return;
  }
}

const std::string& tls_stream::failure() const { return state_->failure; }

std::string tls_stream::peer_subject() const {
  X509* cert = SSL_get1_peer_certificate(state_->ssl);
  if (cert == nullptr) return {};
  std::string out;
  if (SSL_get_verify_result(state_->ssl) == X509_V_OK) {
    BIO* bio = BIO_new(BIO_s_mem());
    X509_NAME_print_ex(bio, X509_get_subject_name(cert), 0, XN_FLAG_RFC2253);
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio, &data);
    if (n > 0) out.assign(data, static_cast<std::size_t>(n));
    BIO_free(bio);
  }
  X509_free(cert);
  return out;
}

asio::any_io_executor tls_stream::get_executor() { return state_->inner->get_executor(); }

asio::awaitable<std::size_t> tls_stream::read_some(asio::mutable_buffer into,
                                                   boost::system::error_code& ec) {
  auto self = state_;
  state& s = *self;
  ec = {};
  for (;;) {
    ERR_clear_error();
    const int n = SSL_read(s.ssl, into.data(),
                           static_cast<int>(std::min<std::size_t>(into.size(), INT_MAX)));
    const int err = n > 0 ? SSL_ERROR_NONE : SSL_get_error(s.ssl, n);
    if (n > 0) {
      // Every record already received goes out in this read, as plain TCP hands over all that
      // arrived: the session then answers them together, in one write (one record).
      std::size_t total = static_cast<std::size_t>(n);
      while (total < into.size()) {
        const int more = SSL_read(s.ssl, static_cast<char*>(into.data()) + total,
                                  static_cast<int>(std::min<std::size_t>(into.size() - total,
                                                                         INT_MAX)));
        if (more <= 0) {
          ERR_clear_error();  // WANT_READ, or an end the next read reports
          break;
        }
        total += static_cast<std::size_t>(more);
      }
      s.take_output();  // a read may answer (TLS 1.3 key update, alerts)
      state::flush(self);
      co_return total;
    }
    s.take_output();
    state::flush(self);
    if (err == SSL_ERROR_WANT_READ) {
      if (!co_await s.fill(ec)) co_return 0;
      continue;
    }
    if (err == SSL_ERROR_ZERO_RETURN) {
      ec = asio::error::eof;  // the peer's close_notify
    } else {
      s.failure = openssl_reason();
      ec = asio::error::connection_reset;
    }
    co_return 0;
  }
}

asio::awaitable<void> tls_stream::wait_readable(boost::system::error_code& ec) {
  auto self = state_;
  state& s = *self;
  ec = {};
  for (;;) {
    ERR_clear_error();
    char probe;
    const int n = SSL_peek(s.ssl, &probe, 1);  // decrypts what arrived, consumes nothing
    const int err = n > 0 ? SSL_ERROR_NONE : SSL_get_error(s.ssl, n);
    s.take_output();
    state::flush(self);
    if (err != SSL_ERROR_WANT_READ) co_return;  // data, or an end read_some will report
    co_await s.inner->wait_readable(ec);
    if (ec) co_return;
    if (!co_await s.fill(ec)) {
      ec = {};  // readable: read_some reports the end
      co_return;
    }
  }
}

void tls_stream::write(asio::const_buffer data, write_callback done) {
  state& s = *state_;
  ERR_clear_error();
  const int n = data.size() == 0 ? 0 : SSL_write(s.ssl, data.data(), static_cast<int>(data.size()));
  if (data.size() > 0 && n <= 0) {
    s.failure = openssl_reason();
    asio::post(get_executor(), [done = std::move(done)] {
      done.fn(done.context, asio::error::connection_reset);
    });
    return;
  }
  s.take_output();
  s.user_waiting = true;
  s.user_done = std::move(done);
  state::flush(state_);
}

void tls_stream::shutdown_send() {
  state& s = *state_;
  ERR_clear_error();
  SSL_shutdown(s.ssl);  // queues close_notify
  s.take_output();
  s.shutdown_after_flush = true;
  state::flush(state_);
}

bool tls_stream::input_pending() const {
  const state& s = *state_;
  return s.inner->input_pending() || BIO_ctrl_pending(s.in) > 0 || SSL_pending(s.ssl) > 0;
}

std::size_t tls_stream::unacknowledged() const {
  const state& s = *state_;
  return s.inner->unacknowledged() + s.queued.size() + s.writing.size();
}

void tls_stream::close() { state_->inner->close(); }

std::string tls_stream::remote_address() const { return state_->inner->remote_address(); }

void async_connect_tls(asio::any_io_executor executor, const asio::ip::tcp::endpoint& endpoint,
                       tls_context context, std::string server_name, bool alpn_http,
                       std::function<void(boost::system::error_code,
                                          std::unique_ptr<byte_stream>, std::string)> done) {
  async_connect_tcp(
      executor, endpoint,
      [executor, context = std::move(context), server_name = std::move(server_name), alpn_http,
       done = std::move(done)](boost::system::error_code ec,
                               std::unique_ptr<byte_stream> tcp) mutable {
        if (ec) return done(ec, nullptr, ec.message());
        auto tls = std::make_unique<tls_stream>(std::move(tcp), std::move(context),
                                                tls_stream::role::client, std::string_view(),
                                                server_name, alpn_http);
        asio::co_spawn(
            executor,
            [tls = std::move(tls), done = std::move(done)]() mutable -> asio::awaitable<void> {
              boost::system::error_code ec;
              co_await tls->handshake(ec);
              if (ec) {
                std::string why = "TLS handshake failed: " + tls->failure();
                tls->close();
                co_return done(ec, nullptr, std::move(why));
              }
              done(ec, std::move(tls), std::string());
            },
            asio::detached);
      });
}

}  // namespace netcall::detail

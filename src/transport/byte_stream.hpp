#pragma once
/// \file
/// A byte stream: what the server's connections and the client's connections read and write,
/// whatever carries the bytes (docs/style.md, after KJ's AsyncIoStream). Plain TCP is
/// transport/tcp_stream.hpp; a TLS stream wraps another stream behind the same interface, so
/// protocols never know whether bytes are encrypted.
///
/// Every member runs on the stream's executor (one event loop, or a client's I/O thread).

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/system/error_code.hpp>
#include <cstddef>
#include <memory>
#include <string>

namespace netcall::detail {

/// The completion of a write: `fn(context, ec)`, run on the stream's executor. A plain function
/// pointer and a context (no type-erased callable to allocate), and what must stay alive until
/// it runs.
struct write_callback {
  void (*fn)(void* context, const boost::system::error_code& ec) = nullptr;
  void* context = nullptr;
  /// Held by the pending write: released after `fn` ran, or when the event loop is destroyed
  /// with the write still pending (then `fn` never runs).
  std::shared_ptr<void> keep_alive;
};

class byte_stream {
 public:
  virtual ~byte_stream() = default;

  /// The executor every operation of this stream runs on.
  virtual boost::asio::any_io_executor get_executor() = 0;

  /// Waits until bytes arrive, then reads what has arrived into `into` (at most its size) and
  /// returns the count. Returns 0 with `ec` set when the stream ended (asio::error::eof: the
  /// peer finished sending) or failed. The server passes its event loop's shared buffer, so a
  /// stream must not hold `into` past the return (an idle connection holds no read buffer).
  virtual boost::asio::awaitable<std::size_t> read_some(boost::asio::mutable_buffer into,
                                                        boost::system::error_code& ec) = 0;

  /// Waits until bytes can be read (or the stream ended) without reading them. Cancellable
  /// (asio per-operation cancellation), so it can race another wait.
  virtual boost::asio::awaitable<void> wait_readable(boost::system::error_code& ec) = 0;

  /// Writes all of `data`, then calls `done`. One write at a time; `data` must stay valid and
  /// the stream alive until `done` runs.
  virtual void write(boost::asio::const_buffer data, write_callback done) = 0;

  /// Ends the sending direction once what was written is sent (TCP: a FIN); reading goes on.
  virtual void shutdown_send() = 0;

  /// True when bytes have arrived that were not read yet (closing then would send a reset,
  /// and a reset can make the peer lose answers it has not read).
  virtual bool input_pending() const = 0;

  /// Bytes written that the peer has not acknowledged yet (TCP: SIOCOUTQ). A reset would
  /// destroy them: a close waits for them while the peer may still send.
  virtual std::size_t unacknowledged() const = 0;

  /// Closes both directions now: pending operations complete with an error.
  virtual void close() = 0;

  /// The peer's address, "HOST:PORT" ("[V6]:PORT"); empty when unknown.
  virtual std::string remote_address() const = 0;
};

}  // namespace netcall::detail

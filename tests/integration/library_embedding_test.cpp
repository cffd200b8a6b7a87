// The library inside someone else's program (SPEC §7, docs/operations.md "Logs"): a server
// given the application's own log sink writes nothing to stdout, changes no signal disposition
// in `start`, logs through the sink, and stops without `run`.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdio>
#include <fcntl.h>
#include <mutex>
#include <string>
#include <vector>

#include "netcall/client.hpp"
#include "netcall/server.hpp"

using namespace netcall;

namespace {

/// The handler installed for `signo` right now.
void* disposition(int signo) {
  struct sigaction now {};
  sigaction(signo, nullptr, &now);
  return reinterpret_cast<void*>(now.sa_handler);
}

/// Sends this process's stdout to a temporary file while alive; `text()` reads what was
/// written there.
class stdout_capture {
 public:
  stdout_capture() {
    std::fflush(stdout);
    saved_ = dup(STDOUT_FILENO);
    file_ = std::tmpfile();
    dup2(fileno(file_), STDOUT_FILENO);
  }
  ~stdout_capture() {
    std::fflush(stdout);
    dup2(saved_, STDOUT_FILENO);
    close(saved_);
    std::fclose(file_);
  }
  std::string text() {
    std::fflush(stdout);
    std::string out;
    std::rewind(file_);
    char buf[4096];
    for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, file_)) > 0;) out.append(buf, n);
    return out;
  }

 private:
  int saved_ = -1;
  std::FILE* file_ = nullptr;
};

TEST(library_embedding, own_log_sink_nothing_on_stdout_no_signal_handlers) {
  void* const sigint_before = disposition(SIGINT);
  void* const sigterm_before = disposition(SIGTERM);
  void* const sighup_before = disposition(SIGHUP);
  void* const sigpipe_before = disposition(SIGPIPE);

  std::mutex mutex;
  std::vector<std::pair<log_level, std::string>> lines;
  server_options options;
  // A non-loopback listener without a token: the server warns, through the sink.
  options.listen = {"0.0.0.0:0"};
  options.threads = 1;
  options.log_level = log_level::debug;
  options.log = [&](log_level level, std::string_view text) {
    std::lock_guard lock(mutex);
    lines.emplace_back(level, std::string(text));
  };
  stdout_capture captured;
  {
    server srv(options);
    srv.bind("add", [](std::int64_t a, std::int64_t b) { return a + b; });
    const auto bound = srv.start();
    ASSERT_EQ(bound.size(), 1u);
    EXPECT_EQ(disposition(SIGINT), sigint_before);
    EXPECT_EQ(disposition(SIGTERM), sigterm_before);
    EXPECT_EQ(disposition(SIGHUP), sighup_before);
    EXPECT_EQ(disposition(SIGPIPE), sigpipe_before);  // serve_main's choice, not the library's

    client_options co;
    co.protocol = protocol::msgpack;
    client c("127.0.0.1:" + bound[0].substr(bound[0].rfind(':') + 1), co);
    EXPECT_EQ(c.call<std::int64_t>("add", 2, 3), 5);
    EXPECT_THROW(c.call<std::int64_t>("nope"), error);
    srv.shutdown();  // graceful, without run()
  }
  EXPECT_EQ(captured.text(), "");
  EXPECT_EQ(disposition(SIGINT), sigint_before);
  EXPECT_EQ(disposition(SIGTERM), sigterm_before);

  std::lock_guard lock(mutex);
  bool warned = false;
  bool connection_line = false;
  for (const auto& [level, text] : lines) {
    if (level == log_level::warn && text.find("without a token") != std::string::npos) {
      warned = true;
    }
    // Connection-level lines name the peer.
    if (text.find("connection from 127.0.0.1:") != std::string::npos) connection_line = true;
  }
  EXPECT_TRUE(warned) << "the exposure warning reaches the application's sink";
  EXPECT_TRUE(connection_line) << "a debug line names the connection's peer";
}

TEST(library_embedding, log_level_filters_before_the_sink) {
  std::mutex mutex;
  std::vector<log_level> seen;
  server_options options;
  options.listen = {"0.0.0.0:0"};
  options.threads = 1;
  options.log_level = log_level::error;  // the exposure warnings are below it
  options.log = [&](log_level level, std::string_view) {
    std::lock_guard lock(mutex);
    seen.push_back(level);
  };
  server srv(options);
  srv.start();
  srv.shutdown();
  std::lock_guard lock(mutex);
  for (log_level l : seen) EXPECT_GE(static_cast<int>(l), static_cast<int>(log_level::error));
}

TEST(library_embedding, run_without_signals_returns_after_an_earlier_stop) {
  server_options options;
  options.listen = {"127.0.0.1:0"};
  options.threads = 1;
  options.log = [](log_level, std::string_view) {};
  server srv(options);
  srv.start();
  srv.stop();
  srv.run(false);  // returns: stop() came first; no signal watched
  EXPECT_EQ(disposition(SIGTERM), reinterpret_cast<void*>(SIG_DFL));
}

}  // namespace

TEST(library_embedding, a_client_resetting_mid_answer_raises_no_sigpipe) {
  // This process keeps SIGPIPE's default action (which ends it): the library's own writes must
  // never raise it (docs/library.md "SIGPIPE"), so the reset below fails one write only.
  ASSERT_EQ(disposition(SIGPIPE), reinterpret_cast<void*>(SIG_DFL));
  server_options options;
  options.listen = {"127.0.0.1:0"};
  options.threads = 1;
  options.log = [](log_level, std::string_view) {};
  server srv(options);
  srv.bind("blob", [](std::int64_t n) { return std::string(static_cast<std::size_t>(n), 'b'); });
  const auto bound = srv.start();
  const int port = std::stoi(bound[0].substr(bound[0].rfind(':') + 1));
  for (int i = 0; i < 3; ++i) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_GE(fd, 0);
    const int small = 4096;
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(static_cast<std::uint16_t>(port));
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to), 0);
    const std::string call = R"({"jsonrpc":"2.0","id":1,"method":"blob","params":[8388608]})";
    ASSERT_EQ(::send(fd, call.data(), call.size(), 0), static_cast<ssize_t>(call.size()));
    char some[1024];
    ASSERT_GT(::recv(fd, some, sizeof some, 0), 0);  // the 8 MiB answer is on its way
    const linger reset{1, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
    ::close(fd);  // a reset, with most of the answer unsent
  }
  client_options co;
  co.protocol = protocol::msgpack;
  client c("127.0.0.1:" + std::to_string(port), co);
  EXPECT_EQ(c.call<std::string>("blob", 3), "bbb");  // still serving: the process lives
  srv.shutdown();
}

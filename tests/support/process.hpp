#pragma once
/// \file
/// Starts a real netcalld for C++ integration tests: `127.0.0.1:0`, reads the listening line,
/// stops the process by its PID (SIGTERM, then SIGKILL) when the object goes.

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace netcall::test {

class netcalld_process {
 public:
  explicit netcalld_process(std::vector<std::string> args = {}) {
    int out[2];
    if (pipe(out) != 0) throw std::runtime_error("pipe failed");
    std::vector<std::string> all = {NETCALLD_PATH, "--listen", "127.0.0.1:0", "--log-level",
                                    "warn"};
    all.insert(all.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : all) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    posix_spawn_file_actions_addclose(&actions, out[0]);
    if (posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ) != 0) {
      throw std::runtime_error("cannot start netcalld");
    }
    posix_spawn_file_actions_destroy(&actions);
    close(out[1]);
    // The listening line, bounded by a 10 s deadline.
    std::string line;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    char c = 0;
    while (std::chrono::steady_clock::now() < deadline) {
      const auto n = read(out[0], &c, 1);
      if (n <= 0) break;
      if (c == '\n') break;
      line += c;
    }
    close(out[0]);
    const std::string prefix = "netcalld listening on ";
    if (line.rfind(prefix, 0) != 0) {
      stop();
      throw std::runtime_error("netcalld did not start: '" + line + "'");
    }
    address_ = line.substr(prefix.size());
  }
  ~netcalld_process() { stop(); }
  netcalld_process(const netcalld_process&) = delete;
  netcalld_process& operator=(const netcalld_process&) = delete;

  const std::string& address() const { return address_; }
  pid_t pid() const { return pid_; }

  /// SIGTERM, wait up to 10 s, then SIGKILL. Returns the exit status (-1 when killed).
  int stop() {
    if (pid_ <= 0) return status_;
    kill(pid_, SIGTERM);
    for (int i = 0; i < 1000; ++i) {
      int st = 0;
      if (waitpid(pid_, &st, WNOHANG) == pid_) {
        status_ = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
        pid_ = 0;
        return status_;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = 0;
    return status_ = -1;
  }

 private:
  pid_t pid_ = 0;
  int status_ = -1;
  std::string address_;
};

}  // namespace netcall::test

#pragma once
/// \file
/// Starts a real etcd (3.4, `etcd` on PATH or $NETCALL_ETCD) for integration tests: a single
/// member on two free 127.0.0.1 ports (client, peer) with a temporary data directory, waits until
/// `GET /health` answers true, and stops it by its PID (SIGTERM, then SIGKILL). `stop()` then
/// `start()` restarts it on the same ports and data directory, which is how tests make an etcd
/// outage; `kill9()` is the crash. The directory is removed when the object goes. etcd is
/// killed with the thread that started it (PR_SET_PDEATHSIG): start it from the test's main
/// thread (a test body, SetUp, a test environment).

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace netcall::test {

/// A free TCP port on 127.0.0.1: bound to port 0, read, closed. Another process may take it
/// before it is used; callers retry.
inline unsigned short free_loopback_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error("socket failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    close(fd);
    throw std::runtime_error("cannot bind a loopback port");
  }
  close(fd);
  return ntohs(addr.sin_port);
}

/// One HTTP/1.0 GET to 127.0.0.1:`port` (each step bounded by `timeout`); the whole answer, or ""
/// when there is none.
inline std::string http_get_loopback(unsigned short port, const std::string& path,
                                     std::chrono::milliseconds timeout) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  if (fd < 0) return "";
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  std::string answer;
  const auto wait_for = [&](short events) {
    pollfd p{fd, events, 0};
    return poll(&p, 1, static_cast<int>(timeout.count())) == 1 && !(p.revents & POLLERR);
  };
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 && errno != EINPROGRESS) {
    close(fd);
    return "";
  }
  int so_error = 0;
  socklen_t so_len = sizeof so_error;
  if (!wait_for(POLLOUT) || getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &so_len) != 0 ||
      so_error != 0) {
    close(fd);
    return "";
  }
  const std::string request = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
  if (send(fd, request.data(), request.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(request.size())) {
    close(fd);
    return "";
  }
  char buf[4096];
  while (wait_for(POLLIN)) {
    const auto n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    answer.append(buf, static_cast<std::size_t>(n));
  }
  close(fd);
  return answer;
}

class etcd_process {
 public:
  /// Starts etcd on two free loopback ports (trying new ports when etcd cannot bind them).
  /// Throws std::runtime_error when it does not answer `/health` within 30 s.
  etcd_process() {
    char dir_template[] = "/tmp/netcall-etcd-XXXXXX";
    if (!mkdtemp(dir_template)) throw std::runtime_error("mkdtemp failed");
    dir_ = dir_template;
    for (int attempt = 1;; ++attempt) {
      client_port_ = free_loopback_port();
      peer_port_ = free_loopback_port();
      if (peer_port_ == client_port_) continue;
      try {
        start();
        return;
      } catch (const port_taken&) {
        if (attempt == 5) {
          std::filesystem::remove_all(dir_);
          throw std::runtime_error("etcd could not bind its ports in 5 attempts: " + log());
        }
        std::filesystem::remove_all(dir_ + "/data");
      } catch (...) {
        std::filesystem::remove_all(dir_);
        throw;
      }
    }
  }
  ~etcd_process() {
    stop();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  etcd_process(const etcd_process&) = delete;
  etcd_process& operator=(const etcd_process&) = delete;

  /// Starts etcd again on the same ports and data directory (after `stop()` or `kill9()`) and
  /// waits until it answers `/health` (bounded: 30 s). Throws std::runtime_error otherwise.
  void start() {
    if (pid_ > 0) return;
    const std::string client_url = "http://127.0.0.1:" + std::to_string(client_port_);
    const std::string peer_url = "http://127.0.0.1:" + std::to_string(peer_port_);
    // clang-format off
    std::vector<std::string> args = {
        etcd_binary(),
        "--name", "netcall-test",
        "--data-dir", dir_ + "/data",
        "--listen-client-urls", client_url,
        "--advertise-client-urls", client_url,
        "--listen-peer-urls", peer_url,
        "--initial-advertise-peer-urls", peer_url,
        "--initial-cluster", "netcall-test=" + peer_url,
        "--log-level", "warn",
    };
    // clang-format on
    pid_ = spawn(args, {}, dir_ + "/etcd.log");
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = 0;
        if (log().find("address already in use") != std::string::npos) {
          throw port_taken("etcd could not bind its ports: " + log());
        }
        throw std::runtime_error("etcd exited at start: " + log());
      }
      const auto answer =
          http_get_loopback(client_port_, "/health", std::chrono::milliseconds(1000));
      if (answer.find("\"health\":\"true\"") != std::string::npos) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));  // poll interval
    }
    stop();
    throw std::runtime_error("etcd did not answer /health within 30 s: " + log());
  }

  /// SIGTERM, wait up to 10 s, then SIGKILL. Nothing when it is not running.
  void stop() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = 0;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));  // poll interval
    }
    kill9();
  }

  /// SIGKILL, as a crash; waits for the process to go.
  void kill9() {
    if (pid_ <= 0) return;
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = 0;
  }

  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }
  unsigned short client_port() const { return client_port_; }
  /// "127.0.0.1:PORT" of the client URL.
  std::string host_port() const { return "127.0.0.1:" + std::to_string(client_port_); }
  /// "etcd://127.0.0.1:PORT" (SPEC §5).
  std::string url() const { return "etcd://" + host_port(); }
  /// What etcd wrote to stdout and stderr so far (all its starts).
  std::string log() const {
    std::ifstream in(dir_ + "/etcd.log");
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

  /// Runs `etcdctl --endpoints=http://HOST:PORT ARGS...` (API v3; `etcdctl` on PATH or
  /// $NETCALL_ETCDCTL) and returns its stdout.
  /// Throws std::runtime_error when it exits with an error (etcdctl bounds itself: 5 s).
  std::string etcdctl(const std::vector<std::string>& args) const {
    const char* etcdctl_path = std::getenv("NETCALL_ETCDCTL");
    std::vector<std::string> all = {etcdctl_path && *etcdctl_path ? etcdctl_path : "etcdctl",
                                    "--endpoints=http://" + host_port(), "--dial-timeout=2s",
                                    "--command-timeout=5s"};
    all.insert(all.end(), args.begin(), args.end());
    const std::string out_path = dir_ + "/etcdctl.out";
    const pid_t pid = spawn(all, {"ETCDCTL_API=3"}, out_path, O_TRUNC);
    int status = 0;
    waitpid(pid, &status, 0);
    std::ifstream in(out_path);
    std::stringstream text;
    text << in.rdbuf();
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      throw std::runtime_error("etcdctl failed: " + text.str());
    }
    return text.str();
  }

 private:
  /// etcd exited because another process holds one of its ports.
  struct port_taken : std::runtime_error {
    using std::runtime_error::runtime_error;
  };

  static std::string etcd_binary() {
    const char* path = std::getenv("NETCALL_ETCD");
    return path && *path ? path : "etcd";
  }

  /// `name` as a path: itself when it has a '/', else the first executable of that name on
  /// PATH. Throws std::runtime_error when there is none.
  static std::string find_program(const std::string& name) {
    if (name.find('/') != std::string::npos) return name;
    const char* path = std::getenv("PATH");
    std::stringstream dirs(path ? path : "/usr/local/bin:/usr/bin:/bin");
    for (std::string dir; std::getline(dirs, dir, ':');) {
      const auto candidate = (dir.empty() ? std::string(".") : dir) + "/" + name;
      if (access(candidate.c_str(), X_OK) == 0) return candidate;
    }
    throw std::runtime_error("no " + name + " on PATH");
  }

  /// Starts `args` with the environment plus `extra_env`, stdout and stderr written to `output`
  /// (appended, or with `O_TRUNC` replacing it), stdin /dev/null, and none of this process's
  /// other descriptors (sockets the tests hold must not live on in etcd). The child is killed
  /// when the thread that started it ends (PR_SET_PDEATHSIG): a test that crashes leaves no
  /// etcd behind. fork, not posix_spawn, for those two; the child makes only
  /// async-signal-safe calls before execve.
  static pid_t spawn(std::vector<std::string> args, std::vector<std::string> extra_env,
                     const std::string& output, int mode = O_APPEND) {
    const std::string program = find_program(args[0]);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::vector<char*> envp;
    for (char** e = environ; *e; ++e) envp.push_back(*e);
    for (auto& e : extra_env) envp.push_back(e.data());
    envp.push_back(nullptr);
    const pid_t parent = getpid();
    const pid_t pid = fork();
    if (pid < 0) throw std::runtime_error("cannot start " + args[0] + ": fork failed");
    if (pid == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(127);  // the parent is already gone
      const int out = open(output.c_str(), O_WRONLY | O_CREAT | mode, 0600);
      const int in = open("/dev/null", O_RDONLY);
      if (out < 0 || in < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0 || dup2(in, 0) < 0) {
        _exit(127);
      }
      if (close_range(3, ~0U, 0) != 0) {
        for (int fd = 3; fd < 4096; ++fd) close(fd);
      }
      execve(program.c_str(), argv.data(), envp.data());
      _exit(127);
    }
    return pid;
  }

  std::string dir_;
  unsigned short client_port_ = 0;
  unsigned short peer_port_ = 0;
  pid_t pid_ = 0;
};

}  // namespace netcall::test

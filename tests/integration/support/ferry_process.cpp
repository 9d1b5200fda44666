// Child-process control for integration tests: fork/exec with redirected output and
// bounded waits.
#include "ferry_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace ferry::test {
namespace {

constexpr auto PollInterval = 10ms;

// fork + exec with stdout/stderr redirected to files; returns the pid.
int spawn(const std::vector<std::string>& argv, const std::vector<std::string>& env,
          const std::string& out_path, const std::string& err_path) {
  const pid_t pid = ::fork();
  if (pid < 0)
    throw std::runtime_error("fork failed");
  if (pid == 0) {
    const int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int null = ::open("/dev/null", O_RDONLY);
    ::dup2(null, 0);
    ::dup2(out, 1);
    ::dup2(err, 2);
    for (const auto& e : env)
      ::putenv(const_cast<char*>(e.c_str()));
    std::vector<char*> args;
    for (const auto& a : argv)
      args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  return pid;
}

std::optional<int> waitPid(int pid, std::chrono::milliseconds deadline) {
  const auto until = std::chrono::steady_clock::now() + deadline;
  while (std::chrono::steady_clock::now() < until) {
    int status = 0;
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid)
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    std::this_thread::sleep_for(PollInterval);
  }
  return std::nullopt;
}

// The port of the nth "<marker>HOST:PORT" in `text`, if there is one.
std::optional<int> nthPort(const std::string& text, std::string_view marker, std::size_t nth) {
  std::size_t seen = 0;
  for (std::size_t at = text.find(marker); at != std::string::npos;
       at = text.find(marker, at + 1)) {
    const std::size_t end = text.find_first_of(" \n", at + marker.size());
    const std::string address = text.substr(at + marker.size(), end - at - marker.size());
    const std::size_t colon = address.rfind(':');
    if (colon == std::string::npos || seen++ != nth)
      continue;
    return std::stoi(address.substr(colon + 1));
  }
  return std::nullopt;
}

} // namespace

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string ferryBinary() {
  return FERRY_BINARY;
}

TempDir::TempDir() {
  std::string templ = (std::filesystem::temp_directory_path() / "ferry-test-XXXXXX").string();
  if (::mkdtemp(templ.data()) == nullptr)
    throw std::runtime_error("mkdtemp failed");
  path_ = templ;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string TempDir::write(const std::string& name, const std::string& content) const {
  const std::string path = path_ + "/" + name;
  const std::string tmp = path + ".tmp";
  std::ofstream(tmp, std::ios::binary) << content;
  std::filesystem::rename(tmp, path); // atomic: a reload never reads half a file
  return path;
}

RunResult runFerry(const std::vector<std::string>& args, std::chrono::milliseconds deadline) {
  TempDir dir;
  std::vector<std::string> argv{ferryBinary()};
  argv.insert(argv.end(), args.begin(), args.end());
  const int pid = spawn(argv, {}, dir.path() + "/out", dir.path() + "/err");
  RunResult result;
  if (auto code = waitPid(pid, deadline)) {
    result.exit_code = *code;
  } else {
    ::kill(pid, SIGKILL);
    waitPid(pid, 5s);
  }
  result.out = readFile(dir.path() + "/out");
  result.err = readFile(dir.path() + "/err");
  return result;
}

FerryProcess::FerryProcess(const std::string& yaml, std::vector<std::string> env) {
  config_path_ = dir_.write("ferry.yaml", yaml);
  log_path_ = dir_.path() + "/stderr.log";
  pid_ =
      spawn({ferryBinary(), "--config", config_path_}, env, dir_.path() + "/stdout.log", log_path_);
}

FerryProcess::~FerryProcess() {
  if (!status_) {
    ::kill(pid_, SIGKILL);
    waitPid(pid_, 5s);
  }
}

std::optional<int> FerryProcess::waitListening(std::size_t nth,
                                               std::chrono::milliseconds deadline) {
  return waitPort("listening on ", nth, deadline);
}

std::optional<int> FerryProcess::waitAdminPort(std::chrono::milliseconds deadline) {
  return waitPort("admin interface on ", 0, deadline);
}

std::optional<int> FerryProcess::waitPort(std::string_view marker, std::size_t nth,
                                          std::chrono::milliseconds deadline) {
  const auto until = std::chrono::steady_clock::now() + deadline;
  while (std::chrono::steady_clock::now() < until) {
    if (auto port = nthPort(log(), marker, nth))
      return port;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      return std::nullopt;
    }
    std::this_thread::sleep_for(PollInterval);
  }
  return std::nullopt;
}

bool FerryProcess::waitLog(const std::string& text, std::chrono::milliseconds deadline) const {
  const auto until = std::chrono::steady_clock::now() + deadline;
  while (std::chrono::steady_clock::now() < until) {
    if (log().find(text) != std::string::npos)
      return true;
    std::this_thread::sleep_for(PollInterval);
  }
  return false;
}

std::string FerryProcess::log() const {
  return readFile(log_path_);
}

void FerryProcess::rewriteConfig(const std::string& yaml) const {
  dir_.write("ferry.yaml", yaml);
}

void FerryProcess::signal(int sig) const {
  ::kill(pid_, sig);
}

std::optional<int> FerryProcess::waitExit(std::chrono::milliseconds deadline) {
  if (!status_)
    status_ = waitPid(pid_, deadline);
  return status_;
}

} // namespace ferry::test

// The real ferry binary as a child process: a config written to a private temp dir,
// stderr captured to a file that tests search, signals, and exits awaited with deadlines.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ferry::test {

using namespace std::chrono_literals;

// A private directory under $TMPDIR, removed with its content on destruction.
class TempDir {
public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string write(const std::string& name, const std::string& content) const;

private:
  std::string path_;
};

struct RunResult {
  int exit_code = -1; // -1: did not exit in time (killed)
  std::string out;
  std::string err;
};

// Runs ferry with `args` to completion (for --check, --version, ...).
RunResult runFerry(const std::vector<std::string>& args, std::chrono::milliseconds deadline = 10s);

class FerryProcess {
public:
  // Starts `ferry --config <dir>/ferry.yaml` with `yaml` as the config. Extra
  // environment entries ("NAME=value") are added to the child's environment.
  explicit FerryProcess(const std::string& yaml, std::vector<std::string> env = {});
  ~FerryProcess(); // SIGKILL if still running

  FerryProcess(const FerryProcess&) = delete;
  FerryProcess& operator=(const FerryProcess&) = delete;

  // Waits for the n-th (0-based) "listening on HOST:PORT" line and returns the port.
  std::optional<int> waitListening(std::size_t nth = 0, std::chrono::milliseconds deadline = 10s);
  // Waits for the "admin interface on HOST:PORT" line and returns the port.
  std::optional<int> waitAdminPort(std::chrono::milliseconds deadline = 10s);

  // Waits until the captured stderr contains `text` (searching from the start).
  bool waitLog(const std::string& text, std::chrono::milliseconds deadline = 10s) const;
  std::string log() const;

  void rewriteConfig(const std::string& yaml) const;
  void signal(int sig) const;

  // Waits for exit; returns the exit status, or nullopt on timeout.
  std::optional<int> waitExit(std::chrono::milliseconds deadline = 10s);

  int pid() const { return pid_; }
  const TempDir& dir() const { return dir_; }

private:
  // The port of the nth line with `marker` followed by HOST:PORT, once one is logged.
  std::optional<int> waitPort(std::string_view marker, std::size_t nth,
                              std::chrono::milliseconds deadline);

  TempDir dir_;
  std::string config_path_;
  std::string log_path_;
  int pid_ = -1;
  std::optional<int> status_;
};

// Path of the ferry binary under test.
std::string ferryBinary();

// The whole content of a file ("" if it cannot be read).
std::string readFile(const std::string& path);

} // namespace ferry::test

// Shared helpers of the net tests: a private temp directory for hosts and resolv.conf
// files, and a bounded run of an event loop.
#pragma once

#include "ferry/net/event_ptr.h"

#include <catch2/catch.hpp>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>

namespace ferry::net::test {

class TempDir {
public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "ferry-net-XXXXXX");
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    path_ = pattern;
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  std::string write(const std::string& name, const std::string& text) const {
    const auto file = path_ / name;
    std::ofstream(file) << text;
    return file.string();
  }

private:
  std::filesystem::path path_;
};

// Runs `base` until `done()` or the deadline; returns done().
inline bool runUntil(event_base* base, const std::function<bool()>& done,
                     std::chrono::milliseconds deadline = std::chrono::milliseconds(3000)) {
  bool expired = false;
  EventPtr timer(evtimer_new(
      base, [](evutil_socket_t, short, void* arg) { *static_cast<bool*>(arg) = true; }, &expired));
  const timeval tv = toTimeval(deadline.count());
  evtimer_add(timer.get(), &tv);
  while (!done() && !expired)
    event_base_loop(base, EVLOOP_ONCE);
  return done();
}

} // namespace ferry::net::test

// ferry's entry point: command line, config load, signals (SIGHUP reload, SIGUSR1 access
// log reopen, SIGTERM and SIGINT drain), systemd readiness notifications, and wiring of
// the modules.
#include "ferry/admin/admin_server.h"
#include "ferry/cache/disk_store.h"
#include "ferry/cache/memory_store.h"
#include "ferry/cache/tiered_store.h"
#include "ferry/config/config.h"
#include "ferry/core/log.h"
#include "ferry/net/event_ptr.h"
#include "ferry/proxy/server.h"

#include <event2/event.h>
#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

namespace {

using namespace ferry;

constexpr int ExitOk = 0;
constexpr int ExitFailure = 1; // bad config, bind failure
constexpr int ExitUsage = 2;

constexpr const char* DefaultConfig = "/etc/ferry/ferry.yaml";

void printUsage(std::FILE* out) {
  std::fprintf(out,
               "Usage: ferry [--config FILE] [--check]\n"
               "\n"
               "A forward caching HTTP proxy.\n"
               "\n"
               "  -c, --config FILE  configuration file (default %s)\n"
               "      --check        validate the configuration, print every error, exit\n"
               "  -v, --version      print the version and exit\n"
               "  -h, --help         print this help and exit\n"
               "\n"
               "Exit status: 0 success, 1 invalid configuration or start-up failure\n"
               "(e.g. the listen address is in use), 2 bad command line.\n"
               "Signals: SIGHUP reloads the configuration, SIGUSR1 reopens the access log,\n"
               "SIGTERM/SIGINT drain and exit.\n",
               DefaultConfig);
}

struct Options {
  std::string config = DefaultConfig;
  bool check = false;
};

std::optional<config::Config> loadConfig(const std::string& path) {
  try {
    return config::load(path);
  } catch (const config::Error& e) {
    for (const auto& problem : e.problems())
      spdlog::error("{}", problem);
    return std::nullopt;
  }
}

// The access log of `settings`, or nullptr after logging why it cannot be opened.
std::shared_ptr<proxy::AccessLogWriter> openAccessLog(const proxy::AccessLog& settings) {
  try {
    return std::make_shared<proxy::AccessLogWriter>(settings);
  } catch (const std::system_error& e) {
    spdlog::error("cannot open access log {}: {}", settings.path, e.what());
    return nullptr;
  }
}

class Daemon {
public:
  Daemon(std::string config_path, std::shared_ptr<const config::Config> config,
         std::shared_ptr<proxy::AccessLogWriter> access_log,
         std::shared_ptr<cache::MemoryStore> memory, std::shared_ptr<cache::DiskStore> disk)
      : config_path_(std::move(config_path)), config_(std::move(config)),
        access_log_(std::move(access_log)), memory_(std::move(memory)), disk_(std::move(disk)),
        store_(disk_ ? std::make_shared<cache::TieredStore>(memory_, disk_)
                     : std::shared_ptr<cache::Store>(memory_)),
        base_(event_base_new()), started_(std::chrono::system_clock::now()) {}

  // The admin listener first: the workers must know its address to never connect to it.
  bool start() {
    if (!startAdmin())
      return false;
    auto started = proxy::Server::start(runtime(config_, access_log_), base_.get());
    if (auto* err = std::get_if<net::SocketError>(&started)) {
      spdlog::critical("cannot listen: {}", err->message);
      return false;
    }
    server_ = std::move(std::get<std::unique_ptr<proxy::Server>>(started));
    // Before "listening on" is logged: from then on a SIGHUP is a reload, never the default
    // action that ends the process (a supervisor may send one as soon as it sees that line).
    watchSignals();
    for (const auto& address : server_->listening())
      spdlog::info("listening on {}", address.toString());
    spdlog::info("ferry {} started: {} workers, config {}", FERRY_VERSION, config_->proxy.workers,
                 config_path_);
    return true;
  }

  int run() {
    sd_notify(0, "READY=1\nSTATUS=serving");
    event_base_dispatch(base_.get());

    sd_notify(0, "STOPPING=1\nSTATUS=draining");
    if (admin_)
      admin_->setDraining();
    spdlog::info("draining (grace {} ms)", config_->proxy.timeouts.shutdown_grace.count());
    server_->drain();
    spdlog::info("stopped");
    return ExitOk;
  }

private:
  void watchSignals() {
    const std::pair<int, event_callback_fn> handlers[] = {{SIGHUP, &Daemon::onReload},
                                                          {SIGUSR1, &Daemon::onReopenLog},
                                                          {SIGTERM, &Daemon::onStop},
                                                          {SIGINT, &Daemon::onStop}};
    for (const auto& [signal, handler] : handlers) {
      signals_.emplace_back(evsignal_new(base_.get(), signal, handler, this));
      event_add(signals_.back().get(), nullptr);
    }
  }

  // The admin listener, when configured, runs on this (the main) thread's loop.
  bool startAdmin() {
    if (!config_->admin.listen)
      return true;
    // The PAC file announces the first proxy listener, bound after this one: asked lazily.
    admin::Sources sources{
        FERRY_VERSION, started_,
        [memory = memory_, disk = disk_] {
          const cache::StoreStats stats = memory->stats();
          const cache::DiskStats on_disk = disk ? disk->stats() : cache::DiskStats{};
          return admin::CacheFigures{stats.entries,   stats.used_bytes,   stats.budget_bytes,
                                     on_disk.entries, on_disk.used_bytes, on_disk.budget_bytes};
        },
        [this] { return server_->listening().front(); }};
    auto started = admin::AdminServer::start(base_.get(), config_->admin, std::move(sources));
    if (auto* err = std::get_if<net::SocketError>(&started)) {
      spdlog::critical("cannot listen for admin: {}", err->message);
      return false;
    }
    admin_ = std::move(std::get<std::unique_ptr<admin::AdminServer>>(started));
    spdlog::info("admin interface on {} (/, /status.json, /metrics, /healthz, /proxy.pac)",
                 admin_->address().toString());
    return true;
  }

  // What the workers run with. Aliasing pointers: each module sees only its settings but
  // keeps the whole config snapshot alive.
  proxy::Runtime runtime(const std::shared_ptr<const config::Config>& c,
                         std::shared_ptr<proxy::AccessLogWriter> access_log) const {
    proxy::Runtime out;
    out.settings = std::shared_ptr<const proxy::Settings>(c, &c->proxy);
    out.cache_settings = std::shared_ptr<const cache::Settings>(c, &c->cache);
    out.access_log = std::move(access_log);
    out.store = store_;
    if (admin_)
      out.other_listeners.push_back(admin_->address());
    return out;
  }

  static void onStop(evutil_socket_t sig, short, void* arg) noexcept {
    spdlog::info("received {}, shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
    event_base_loopbreak(static_cast<Daemon*>(arg)->base_.get());
  }

  // logrotate's postrotate: the access log goes on in a new file at the same path.
  static void onReopenLog(evutil_socket_t, short, void* arg) noexcept {
    spdlog::info("SIGUSR1: reopening the access log");
    static_cast<Daemon*>(arg)->access_log_->reopen();
  }

  static void onReload(evutil_socket_t, short, void* arg) noexcept {
    static_cast<Daemon*>(arg)->reload();
  }

  void reload() {
    sd_notify(0, "RELOADING=1\nSTATUS=reloading");
    spdlog::info("SIGHUP: reloading {}", config_path_);
    if (auto next = loadConfig(config_path_)) {
      auto snapshot = std::make_shared<const config::Config>(std::move(*next));
      // Same log file: reopen it (logrotate moved it away); another: open the new one.
      const auto& log = snapshot->proxy.access_log;
      const auto& old_log = config_->proxy.access_log;
      auto access_log = access_log_;
      if (log.path == old_log.path && log.format == old_log.format)
        access_log->reopen();
      else
        access_log = openAccessLog(log);
      if (!access_log) {
        spdlog::error("reload failed; keeping the running configuration");
      } else if (auto err = server_->reload(runtime(snapshot, access_log))) {
        spdlog::error("reload failed: {}; keeping the running configuration", err->message);
      } else {
        if (snapshot->admin.listen != config_->admin.listen)
          spdlog::warn("admin.listen changed: takes effect after a restart");
        if (admin_)
          admin_->reconfigure(snapshot->admin);
        memory_->reconfigure(snapshot->cache);
        const cache::DiskSettings& disk = snapshot->cache.disk;
        const cache::DiskSettings& running = config_->cache.disk;
        if (disk.path != running.path || disk.size_bytes != running.size_bytes ||
            disk.max_object_bytes != running.max_object_bytes || disk.sync != running.sync)
          spdlog::warn("cache.disk changed: takes effect after a restart");
        config_ = snapshot;
        access_log_ = access_log;
        core::setLogLevel(config_->log_level);
        spdlog::info("configuration reloaded");
      }
    } else {
      spdlog::error("reload failed: {} is invalid; keeping the running configuration",
                    config_path_);
    }
    sd_notify(0, "READY=1\nSTATUS=serving");
  }

  std::string config_path_;
  std::shared_ptr<const config::Config> config_;
  std::shared_ptr<proxy::AccessLogWriter> access_log_;
  std::shared_ptr<cache::MemoryStore> memory_;
  std::shared_ptr<cache::DiskStore> disk_; // null without cache.disk
  std::shared_ptr<cache::Store> store_;    // what the workers use: memory, or both tiers
  net::EventBasePtr base_;                 // outlives server_, which has an event on it
  std::unique_ptr<proxy::Server> server_;
  std::vector<net::EventPtr> signals_; // SIGHUP, SIGUSR1, SIGTERM, SIGINT, from start()
  std::chrono::system_clock::time_point started_;
  std::unique_ptr<admin::AdminServer> admin_;
};

} // namespace

int main(int argc, char** argv) {
  Options opts;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if ((arg == "--config" || arg == "-c") && i + 1 < argc) {
      opts.config = argv[++i];
    } else if (arg.rfind("--config=", 0) == 0) {
      opts.config = arg.substr(9);
    } else if (arg == "--check") {
      opts.check = true;
    } else if (arg == "--version" || arg == "-v") {
      std::printf("ferry %s\n", FERRY_VERSION);
      return ExitOk;
    } else if (arg == "--help" || arg == "-h") {
      printUsage(stdout);
      return ExitOk;
    } else {
      std::fprintf(stderr, "ferry: unknown or incomplete option '%s'\n\n", arg.c_str());
      printUsage(stderr);
      return ExitUsage;
    }
  }

  if (opts.check) {
    try {
      config::load(opts.config);
    } catch (const config::Error& e) {
      for (const auto& problem : e.problems())
        std::fprintf(stderr, "%s\n", problem.c_str());
      return ExitFailure;
    }
    std::printf("%s: configuration OK\n", opts.config.c_str());
    return ExitOk;
  }

  core::initLogging(core::LogLevel::Info);
  auto loaded = loadConfig(opts.config);
  if (!loaded)
    return ExitFailure;
  auto config = std::make_shared<const config::Config>(std::move(*loaded));
  core::setLogLevel(config->log_level);

  std::signal(SIGPIPE, SIG_IGN);
  net::enableThreads();

  auto access_log = openAccessLog(config->proxy.access_log);
  if (!access_log)
    return ExitFailure;
  std::shared_ptr<cache::DiskStore> disk;
  if (!config->cache.disk.path.empty()) {
    auto opened = cache::DiskStore::open(config->cache.disk, config->cache.max_variants);
    if (auto* error = std::get_if<std::string>(&opened)) {
      spdlog::critical("cannot use cache.disk: {}", *error);
      return ExitFailure;
    }
    disk = std::move(std::get<std::unique_ptr<cache::DiskStore>>(opened));
    const cache::DiskStats stats = disk->stats();
    spdlog::info("disk cache {}: {} entries, {} of {} bytes", config->cache.disk.path,
                 stats.entries, stats.used_bytes, stats.budget_bytes);
  }
  auto memory = std::make_shared<cache::MemoryStore>(config->cache);
  Daemon daemon(opts.config, config, std::move(access_log), std::move(memory), std::move(disk));
  if (!daemon.start())
    return ExitFailure;
  return daemon.run();
}

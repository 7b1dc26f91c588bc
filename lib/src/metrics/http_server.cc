// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// MetricsServer over cpp-httplib. The httplib server and the registry
// pointer live in a State shared with the listening thread, so a Stop that
// times out can let the thread finish on its own: the thread keeps the
// State alive, and the registry pointer is cleared under `mu` (which every
// request holds while rendering) before Stop returns.
#include "exactly/metrics/http_server.h"

#include <httplib.h>
#include <sys/socket.h>

#include <fmt/format.h>

#include <exception>
#include <future>
#include <mutex>
#include <shared_mutex>
#include <thread>

namespace exactly::metrics {

namespace {

struct State {
  httplib::Server server;
  std::shared_mutex mu;
  const Registry* registry = nullptr;  // null once stopped
};

}  // namespace

struct MetricsServer::Impl {
  std::shared_ptr<State> state;
  std::string address;
  std::uint16_t port = 0;
  std::chrono::milliseconds stop_timeout{0};
  std::future<void> done;  // ready when the listening thread has returned
  std::mutex stop_mu;
  bool stopped = false;
  Status stop_status;
};

MetricsServer::MetricsServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

MetricsServer::~MetricsServer() { (void)Stop(); }

std::uint16_t MetricsServer::port() const noexcept { return impl_->port; }
const std::string& MetricsServer::address() const noexcept { return impl_->address; }

Result<std::unique_ptr<MetricsServer>> MetricsServer::Start(const Registry& registry, const ServerOptions& options) {
  if (options.bind_address.empty()) return Status::InvalidArgument("metrics server: empty bind address");
  if (options.threads == 0) return Status::InvalidArgument("metrics server: threads must be at least 1");
  try {
    auto impl = std::make_unique<Impl>();
    impl->state = std::make_shared<State>();
    impl->state->registry = &registry;
    impl->address = options.bind_address;
    impl->stop_timeout = options.stop_timeout;
    httplib::Server& server = impl->state->server;
    const std::size_t threads = options.threads;
    server.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
    server.set_read_timeout(options.io_timeout);
    server.set_write_timeout(options.io_timeout);
    server.set_keep_alive_timeout(1);
    // httplib's default sets SO_REUSEPORT, which would let a second
    // process bind the same port and take half the scrapes: bind
    // exclusively (SO_REUSEADDR only allows a restart over TIME_WAIT).
    server.set_socket_options([](socket_t sock) {
      int yes = 1;
      (void)::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    });
    State* st = impl->state.get();
    server.Get("/metrics", [st](const httplib::Request&, httplib::Response& res) {
      try {
        std::shared_lock lk(st->mu);
        if (st->registry == nullptr) {
          res.status = 503;
          res.set_content("stopping\n", "text/plain");
          return;
        }
        res.set_content(st->registry->Render(), std::string(Registry::kContentType));
      } catch (const std::exception& e) {
        res.status = 500;
        res.set_content(fmt::format("rendering metrics failed: {}\n", e.what()), "text/plain");
      }
    });

    int port = options.port;
    if (options.port == 0) {
      port = server.bind_to_any_port(options.bind_address);
      if (port <= 0) {
        return Status::Unavailable(fmt::format("metrics server: cannot bind {} (an ephemeral port)",
                                               options.bind_address));
      }
    } else if (!server.bind_to_port(options.bind_address, options.port)) {
      return Status::Unavailable(fmt::format(
          "metrics server: cannot bind {}:{} (in use, not a local address, or not permitted)", options.bind_address,
          options.port));
    }
    impl->port = static_cast<std::uint16_t>(port);

    std::promise<void> done;
    impl->done = done.get_future();
    std::thread([state = impl->state, done = std::move(done)]() mutable {
      try {
        state->server.listen_after_bind();
      } catch (...) {  // nothing may escape a thread; the owner sees it stop
      }
      done.set_value();
    }).detach();

    // stop() is a no-op until the accept loop runs, so wait for it.
    const auto deadline = std::chrono::steady_clock::now() + options.start_timeout;
    while (!server.is_running()) {
      if (impl->done.wait_for(std::chrono::milliseconds(1)) == std::future_status::ready) {
        return Status::Unavailable(fmt::format("metrics server on {}:{} stopped at once", options.bind_address, port));
      }
      if (std::chrono::steady_clock::now() > deadline) {
        auto owner = std::unique_ptr<MetricsServer>(new MetricsServer(std::move(impl)));
        (void)owner->Stop();
        return Status::TimedOut(fmt::format("metrics server on {}:{} did not start within {} ms",
                                            options.bind_address, port, options.start_timeout.count()));
      }
    }
    return std::unique_ptr<MetricsServer>(new MetricsServer(std::move(impl)));
  } catch (const std::exception& e) {
    return Status::Internal(fmt::format("metrics server: {}", e.what()));
  }
}

Status MetricsServer::Stop() noexcept {
  try {
    std::lock_guard lk(impl_->stop_mu);
    if (impl_->stopped) return impl_->stop_status;
    impl_->stopped = true;
    {
      // Requests in flight finish rendering first; later ones see null.
      std::unique_lock lk2(impl_->state->mu);
      impl_->state->registry = nullptr;
    }
    // May race with the thread starting its loop; repeat until it ends.
    const auto deadline = std::chrono::steady_clock::now() + impl_->stop_timeout;
    while (true) {
      impl_->state->server.stop();
      if (impl_->done.wait_for(std::chrono::milliseconds(10)) == std::future_status::ready) break;
      if (std::chrono::steady_clock::now() > deadline) {
        impl_->stop_status = Status::TimedOut(fmt::format(
            "metrics server on {}:{}: requests in flight did not finish within {} ms; left to finish on their own",
            impl_->address, impl_->port, impl_->stop_timeout.count()));
        return impl_->stop_status;
      }
    }
    return Status::OK();
  } catch (...) {
    return Status::Internal("metrics server: stopping failed");
  }
}

}  // namespace exactly::metrics

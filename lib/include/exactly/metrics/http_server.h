// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// MetricsServer: serves a Registry's exposition (registry.h) over HTTP at
// GET /metrics (HEAD too), on a background thread, using cpp-httplib.
// Any other path answers 404.
//
// Contract
// - Start binds `bind_address:port` (port 0: an ephemeral port; port()
//   reports the bound one) and returns once the server accepts
//   connections, or an error: kInvalidArgument for a bad address,
//   kUnavailable when the address cannot be bound (in use, not local),
//   kTimedOut when the server thread did not start within start_timeout.
// - Each scrape renders the registry on a server thread; updates to the
//   registry's metrics run concurrently and never wait for a scrape.
// - Stop (idempotent) stops accepting, waits up to stop_timeout for the
//   requests in flight, and returns kTimedOut if they did not finish (the
//   server's thread then finishes on its own; it no longer touches the
//   registry once Stop has returned). The destructor calls Stop and never
//   throws.
// - The registry must outlive the server (or at least its Stop).
// - Slow clients are bounded by io_timeout per read and write.
//
// Thread safety: port(), address() and Stop() may be called from any
// thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "exactly/metrics/registry.h"
#include "exactly/status.h"

namespace exactly::metrics {

struct ServerOptions {
  std::string bind_address = "127.0.0.1";
  std::uint16_t port = 0;  // 0: ephemeral
  std::chrono::milliseconds start_timeout{5000};
  std::chrono::milliseconds stop_timeout{5000};
  std::chrono::milliseconds io_timeout{5000};
  std::size_t threads = 2;  // concurrent scrapes served
};

class MetricsServer {
 public:
  static Result<std::unique_ptr<MetricsServer>> Start(const Registry& registry, const ServerOptions& options = {});

  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  std::uint16_t port() const noexcept;
  const std::string& address() const noexcept;
  Status Stop() noexcept;

 private:
  struct Impl;
  explicit MetricsServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace exactly::metrics

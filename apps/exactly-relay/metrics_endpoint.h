// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// exactly-relay's /metrics: a registry with the relay's metrics
// (kafka::RelayMetrics, docs/OPERATIONS.md) and exactly_build_info{version}
// served on --metrics-address:
// --metrics-port. Create before the Relay (its checkpoint observer goes
// into RelayOptions), Start, then Update(relay) on the loop thread after
// every RunFor slice. Destroy after the Relay is closed; the server stops
// first.
//
// Thread safety: Update on the relay's thread; scrapes on the server's.
#pragma once

#include <memory>

#include "exactly/kafka/consumer_metrics.h"
#include "exactly/metrics/http_server.h"
#include "exactly/metrics/registry.h"
#include "options.h"

namespace exactly::relay_app {

class MetricsEndpoint {
 public:
  static Result<std::unique_ptr<MetricsEndpoint>> Create();
  // Binds and serves; logs the URL (with the bound port).
  Status Start(const std::string& address, std::uint16_t port);
  void Update(const kafka::Relay& relay) { metrics_->Update(relay); }
  std::function<void(std::chrono::microseconds)> CheckpointObserver() { return metrics_->CheckpointObserver(); }
  std::uint16_t port() const { return server_ ? server_->port() : 0; }

 private:
  metrics::Registry registry_;
  std::unique_ptr<kafka::RelayMetrics> metrics_;
  std::unique_ptr<metrics::MetricsServer> server_;  // declared last: stops first
};

}  // namespace exactly::relay_app

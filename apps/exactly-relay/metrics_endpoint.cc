// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
#include "metrics_endpoint.h"

#include <fmt/format.h>

#include "log.h"

namespace exactly::relay_app {

namespace {
// The version exactly_build_info reports (the project's, from CMake).
constexpr std::string_view kBuildVersion = EXACTLY_VERSION;
}  // namespace

Result<std::unique_ptr<MetricsEndpoint>> MetricsEndpoint::Create() {
  auto e = std::make_unique<MetricsEndpoint>();
  auto m = kafka::RelayMetrics::Create(e->registry_);
  if (!m.ok()) return m.status();
  e->metrics_ = std::move(*m);
  // The Prometheus convention for "which version runs where": a constant
  // 1, the version in a label, so queries can join on it.
  auto info = e->registry_.AddGauge("exactly_build_info", "Always 1; the exactly version of this relay.", {"version"});
  if (!info.ok()) return info.status();
  auto series = (*info)->With({kBuildVersion});
  if (!series.ok()) return series.status();
  (*series)->Set(1);
  return e;
}

Status MetricsEndpoint::Start(const std::string& address, std::uint16_t port) {
  metrics::ServerOptions so;
  so.bind_address = address;
  so.port = port;
  auto server = metrics::MetricsServer::Start(registry_, so);
  if (!server.ok()) return server.status().WithContext(fmt::format("--metrics-address {} --metrics-port {}", address, port));
  server_ = std::move(*server);
  apps::LogInfo(fmt::format("metrics at http://{}:{}/metrics", address, server_->port()),
                {apps::Field("metrics_address", address), apps::Field("metrics_port", std::uint64_t{server_->port()})});
  return Status::OK();
}

}  // namespace exactly::relay_app

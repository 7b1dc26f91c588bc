// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
#include "commands.h"

#include <fmt/format.h>

#include <charconv>
#include <vector>

namespace exactly::apps {

namespace {

std::vector<std::string_view> Words(std::string_view line) {
  std::vector<std::string_view> words;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) ++i;
    const std::size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t' && line[i] != '\r') ++i;
    if (i > start) words.push_back(line.substr(start, i - start));
  }
  return words;
}

template <class T>
Result<T> Number(std::string_view word, std::string_view what) {
  T v{};
  auto [p, ec] = std::from_chars(word.data(), word.data() + word.size(), v);
  if (ec != std::errc() || p != word.data() + word.size()) {
    return Status::InvalidArgument(fmt::format("{} '{}' is not a number", what, word));
  }
  return v;
}

Result<std::int32_t> Broker(const kafka::MockCluster& cluster, std::string_view word, bool allow_none) {
  auto id = Number<std::int32_t>(word, "broker");
  if (!id.ok()) return id.status();
  if ((allow_none && *id == -1) || (*id >= 1 && *id <= cluster.broker_count())) return *id;
  return Status::InvalidArgument(fmt::format("no broker {} (brokers are 1..{})", *id, cluster.broker_count()));
}

Status Usage(std::string_view command, std::string_view args) {
  return Status::InvalidArgument(fmt::format("usage: {} {}", command, args));
}

Status Run(kafka::MockCluster& cluster, const std::vector<std::string_view>& w, std::string& extra) {
  const std::string_view cmd = w[0];
  if (cmd == "down" || cmd == "up") {
    if (w.size() != 2) return Usage(cmd, "BROKER");
    auto b = Broker(cluster, w[1], false);
    if (!b.ok()) return b.status();
    return cmd == "down" ? cluster.SetBrokerDown(*b) : cluster.SetBrokerUp(*b);
  }
  if (cmd == "leader") {
    if (w.size() != 4) return Usage(cmd, "TOPIC PARTITION BROKER");
    auto p = Number<std::int32_t>(w[2], "partition");
    if (!p.ok()) return p.status();
    auto b = Broker(cluster, w[3], true);
    if (!b.ok()) return b.status();
    return cluster.SetLeader(w[1], Partition(*p), *b);
  }
  if (cmd == "rtt") {
    if (w.size() != 3) return Usage(cmd, "BROKER MS");
    auto b = Broker(cluster, w[1], false);
    if (!b.ok()) return b.status();
    auto ms = Number<int>(w[2], "rtt");
    if (!ms.ok()) return ms.status();
    return cluster.SetRtt(*b, *ms);
  }
  if (cmd == "errors") {
    if (w.size() != 4) return Usage(cmd, "API COUNT ERROR");
    auto api = kafka::MockCluster::ApiKeyByName(w[1]);
    if (!api.ok()) return api.status();
    auto count = Number<std::size_t>(w[2], "count");
    if (!count.ok()) return count.status();
    auto err = kafka::MockCluster::ErrorCodeByName(w[3]);
    if (!err.ok()) return err.status();
    return cluster.PushRequestErrors(*api, *count, *err);
  }
  if (cmd == "clear") {
    if (w.size() != 2) return Usage(cmd, "API");
    auto api = kafka::MockCluster::ApiKeyByName(w[1]);
    if (!api.ok()) return api.status();
    cluster.ClearRequestErrors(*api);
    return Status::OK();
  }
  if (cmd == "topic") {
    if (w.size() != 3) return Usage(cmd, "NAME PARTITIONS");
    auto n = Number<int>(w[2], "partition count");
    if (!n.ok()) return n.status();
    return cluster.CreateTopic(w[1], *n);
  }
  if (cmd == "help") {
    if (w.size() != 1) return Usage(cmd, "");
    extra = std::string(kBrokerCommandHelp);
    return Status::OK();
  }
  return Status::InvalidArgument(fmt::format("unknown command '{}' (try: help)", cmd));
}

}  // namespace

std::string RunBrokerCommand(kafka::MockCluster& cluster, std::string_view line) {
  const auto words = Words(line);
  if (words.empty() || words[0].starts_with('#')) return {};
  std::string extra;
  const Status st = Run(cluster, words, extra);
  if (!st.ok()) return fmt::format("error: {}", st.message());
  return extra + "ok";
}

}  // namespace exactly::apps

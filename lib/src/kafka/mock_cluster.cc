// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
#include "exactly/kafka/mock_cluster.h"

// clang-format off
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>  // must follow rdkafka.h
// clang-format on
#include <fmt/format.h>

#include <charconv>
#include <cstring>

#include "handles.h"

namespace exactly::kafka {

using detail::FromError;

namespace {

struct MockDeleter {
  void operator()(rd_kafka_mock_cluster_t* m) const noexcept { rd_kafka_mock_cluster_destroy(m); }
};

// Kafka protocol API keys (from the Kafka protocol guide).
struct ApiKeyName {
  std::string_view name;
  std::int16_t key;
};
constexpr ApiKeyName kApiKeys[] = {
    {"Produce", 0},          {"Fetch", 1},
    {"ListOffsets", 2},      {"Metadata", 3},
    {"OffsetCommit", 8},     {"OffsetFetch", 9},
    {"FindCoordinator", 10}, {"JoinGroup", 11},
    {"Heartbeat", 12},       {"LeaveGroup", 13},
    {"SyncGroup", 14},       {"DescribeGroups", 15},
    {"ListGroups", 16},      {"SaslHandshake", 17},
    {"ApiVersions", 18},     {"CreateTopics", 19},
    {"DeleteTopics", 20},    {"DeleteRecords", 21},
    {"InitProducerId", 22},  {"OffsetForLeaderEpoch", 23},
    {"AddPartitionsToTxn", 24}, {"AddOffsetsToTxn", 25},
    {"EndTxn", 26},          {"TxnOffsetCommit", 28},
};

bool IEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

template <class T>
std::optional<T> ParseInt(std::string_view s) {
  T v{};
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

}  // namespace

struct MockCluster::Impl {
  detail::HandlePtr rk;  // owns the cluster's thread; must outlive `cluster`
  std::unique_ptr<rd_kafka_mock_cluster_t, MockDeleter> cluster;
  std::string bootstraps;
  int brokers = 0;

  ~Impl() { cluster.reset(); }  // the cluster before its handle, whatever the member order
};

MockCluster::MockCluster(std::unique_ptr<Impl> impl) noexcept : impl_(std::move(impl)) {}
MockCluster::MockCluster(MockCluster&&) noexcept = default;
MockCluster& MockCluster::operator=(MockCluster&&) noexcept = default;
MockCluster::~MockCluster() = default;

Result<MockCluster> MockCluster::Create(int brokers, const KafkaConfig& config) {
  if (brokers < 1) return Status::InvalidArgument(fmt::format("a mock cluster needs at least 1 broker, not {}", brokers));
  KafkaConfig owner = config;
  // The owning handle never connects anywhere; hide its notice about
  // having no bootstrap.servers unless the caller asked for logs.
  if (!owner.Has("log_level")) owner.Set("log_level", "4");
  auto conf = detail::BuildConf(owner);
  if (!conf.ok()) return conf.status();
  auto rk = detail::NewHandle(RD_KAFKA_PRODUCER, std::move(*conf));
  if (!rk.ok()) return rk.status();
  auto impl = std::make_unique<Impl>();
  impl->rk = std::move(*rk);
  impl->cluster.reset(rd_kafka_mock_cluster_new(impl->rk.get(), brokers));
  if (!impl->cluster) return Status::Internal(fmt::format("rd_kafka_mock_cluster_new({}) failed", brokers));
  impl->bootstraps = rd_kafka_mock_cluster_bootstraps(impl->cluster.get());
  impl->brokers = brokers;
  return MockCluster(std::move(impl));
}

const std::string& MockCluster::bootstraps() const noexcept { return impl_->bootstraps; }
int MockCluster::broker_count() const noexcept { return impl_->brokers; }

Status MockCluster::CreateTopic(std::string_view topic, int partitions, int replication_factor) {
  if (topic.empty()) return Status::InvalidArgument("empty topic name");
  if (partitions < 1) return Status::InvalidArgument(fmt::format("topic '{}': partitions must be >= 1", topic));
  if (replication_factor < 1 || replication_factor > impl_->brokers) {
    return Status::InvalidArgument(fmt::format("topic '{}': replication factor {} not in 1..{}", topic,
                                               replication_factor, impl_->brokers));
  }
  const std::string name(topic);
  return FromError(rd_kafka_mock_topic_create(impl_->cluster.get(), name.c_str(), partitions, replication_factor),
                   fmt::format("create topic '{}'", name));
}

Status MockCluster::SetBrokerDown(std::int32_t broker) {
  return FromError(rd_kafka_mock_broker_set_down(impl_->cluster.get(), broker), fmt::format("broker {} down", broker));
}
Status MockCluster::SetBrokerUp(std::int32_t broker) {
  return FromError(rd_kafka_mock_broker_set_up(impl_->cluster.get(), broker), fmt::format("broker {} up", broker));
}
Status MockCluster::SetLeader(std::string_view topic, Partition partition, std::int32_t broker) {
  const std::string name(topic);
  return FromError(rd_kafka_mock_partition_set_leader(impl_->cluster.get(), name.c_str(), partition.value(), broker),
                   fmt::format("set leader of {}[{}] to {}", name, partition.value(), broker));
}
Status MockCluster::SetCoordinator(std::string_view key_type, std::string_view key, std::int32_t broker) {
  const std::string type(key_type), name(key);
  return FromError(rd_kafka_mock_coordinator_set(impl_->cluster.get(), type.c_str(), name.c_str(), broker),
                   fmt::format("set {} coordinator of '{}' to {}", type, name, broker));
}
Status MockCluster::SetRtt(std::int32_t broker, int rtt_ms) {
  if (rtt_ms < 0) return Status::InvalidArgument(fmt::format("negative rtt {}", rtt_ms));
  return FromError(rd_kafka_mock_broker_set_rtt(impl_->cluster.get(), broker, rtt_ms),
                   fmt::format("set rtt of broker {}", broker));
}

Status MockCluster::PushRequestErrors(std::int16_t api_key, std::size_t count, int error_code) {
  if (count == 0) return Status::OK();
  std::vector<rd_kafka_resp_err_t> errs(count, static_cast<rd_kafka_resp_err_t>(error_code));
  rd_kafka_mock_push_request_errors_array(impl_->cluster.get(), api_key, count, errs.data());
  return Status::OK();
}

void MockCluster::ClearRequestErrors(std::int16_t api_key) {
  rd_kafka_mock_clear_request_errors(impl_->cluster.get(), api_key);
}

void MockCluster::SetTopicError(std::string_view topic, int error_code) {
  const std::string name(topic);
  rd_kafka_mock_topic_set_error(impl_->cluster.get(), name.c_str(), static_cast<rd_kafka_resp_err_t>(error_code));
}

Result<std::int16_t> MockCluster::ApiKeyByName(std::string_view name) {
  for (const auto& k : kApiKeys) {
    if (IEquals(k.name, name)) return k.key;
  }
  if (auto n = ParseInt<std::int16_t>(name); n && *n >= 0) return *n;
  std::string known;
  for (const auto& k : kApiKeys) known += fmt::format("{}{}", known.empty() ? "" : ", ", k.name);
  return Status::InvalidArgument(fmt::format("unknown API key '{}' (known: {}, or a number)", name, known));
}

Result<int> MockCluster::ErrorCodeByName(std::string_view name) {
  if (name.starts_with("RD_KAFKA_RESP_ERR_")) name.remove_prefix(std::strlen("RD_KAFKA_RESP_ERR_"));
  const rd_kafka_err_desc* descs = nullptr;
  size_t n = 0;
  rd_kafka_get_err_descs(&descs, &n);
  for (size_t i = 0; i < n; ++i) {
    if (descs[i].name != nullptr && IEquals(descs[i].name, name)) return static_cast<int>(descs[i].code);
  }
  if (auto v = ParseInt<int>(name)) return *v;
  return Status::InvalidArgument(
      fmt::format("unknown error name '{}' (use a Kafka error name such as NOT_LEADER_FOR_PARTITION, or a number)",
                  name));
}

}  // namespace exactly::kafka

// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// MockCluster: librdkafka's in-process mock Kafka cluster, for tests and
// the exactly-broker app. See docs on its limits (MOCK-BROKER notes): it
// keeps only ~5 MiB per partition, Kafka transactions are not real, and
// group joins are slow unless session.timeout.ms is lowered.
//
// Contract
// - Create(n) starts n brokers (ids 1..n) on 127.0.0.1 with random ports,
//   owned by a dedicated producer handle; both die with the object.
//   Clients in this and other processes connect via bootstraps().
// - Topics are created explicitly with CreateTopic (the mock does not
//   answer the Admin API's CreateTopics).
// - Fault injection: broker down/up, partition leader, round-trip time,
//   and request errors pushed per API key (consumed one per request).
// - API keys and error codes can be looked up by name (ApiKeyByName:
//   "Produce", "Fetch", ... or a number; ErrorCodeByName: librdkafka's
//   names without the RD_KAFKA_RESP_ERR_ prefix, e.g.
//   "NOT_LEADER_FOR_PARTITION", or a number).
//
// Thread safety: the mock calls are thread-safe (they post to the mock's
// own thread); Create/destroy must not race with them.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "exactly/kafka/config.h"
#include "exactly/status.h"
#include "exactly/types.h"

namespace exactly::kafka {

class MockCluster {
 public:
  // `config` is applied to the owning handle (e.g. log_level).
  static Result<MockCluster> Create(int brokers, const KafkaConfig& config = {});

  MockCluster(MockCluster&&) noexcept;
  MockCluster& operator=(MockCluster&&) noexcept;
  MockCluster(const MockCluster&) = delete;
  MockCluster& operator=(const MockCluster&) = delete;
  ~MockCluster();

  // "127.0.0.1:port,..."
  const std::string& bootstraps() const noexcept;
  int broker_count() const noexcept;

  Status CreateTopic(std::string_view topic, int partitions, int replication_factor = 1);
  Status SetBrokerDown(std::int32_t broker);
  Status SetBrokerUp(std::int32_t broker);
  Status SetLeader(std::string_view topic, Partition partition, std::int32_t broker);
  Status SetRtt(std::int32_t broker, int rtt_ms);
  // Pins the coordinator of a consumer group (`key_type` "group") or a
  // transactional id ("transaction") to `broker`.
  Status SetCoordinator(std::string_view key_type, std::string_view key, std::int32_t broker);
  // The next `count` requests of `api_key` fail with `error_code`.
  Status PushRequestErrors(std::int16_t api_key, std::size_t count, int error_code);
  void ClearRequestErrors(std::int16_t api_key);
  // Metadata requests for `topic` answer with `error_code` (0 clears it).
  // The mock otherwise creates every topic a client asks about, so this is
  // how a missing topic (UNKNOWN_TOPIC_OR_PART) is simulated.
  void SetTopicError(std::string_view topic, int error_code);

  static Result<std::int16_t> ApiKeyByName(std::string_view name);
  static Result<int> ErrorCodeByName(std::string_view name);

 private:
  struct Impl;
  explicit MockCluster(std::unique_ptr<Impl> impl) noexcept;
  std::unique_ptr<Impl> impl_;
};

}  // namespace exactly::kafka

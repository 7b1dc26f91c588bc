// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
#include "exactly/kafka/read_back.h"

#include <fmt/format.h>

#include <utility>

#include "exactly/kafka/consumer.h"
#include "exactly/kafka/producer.h"

namespace exactly::kafka {

namespace {
using Clock = std::chrono::steady_clock;

std::chrono::milliseconds Left(Clock::time_point deadline) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
}
}  // namespace

Result<std::vector<OwnedRecord>> ReadTopicToEnd(const KafkaConfig& config, const std::string& topic,
                                                std::int32_t partitions, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  if (partitions <= 0) {
    // A producer handle only to read the partition count from metadata;
    // it must not create the topic by asking.
    KafkaConfig meta_config{{"bootstrap.servers", config.Get("bootstrap.servers").value_or("")},
                            {"allow.auto.create.topics", "false"}};
    auto meta = Producer::Create(meta_config);
    if (!meta.ok()) return meta.status();
    auto count = meta->PartitionCount(topic, Left(deadline));
    if (!count.ok()) return count.status();
    partitions = *count;
  }
  KafkaConfig conf = config;
  conf.Set("enable.auto.commit", "false");
  // Never read past records the broker dropped.
  conf.Set("auto.offset.reset", "error");
  if (!conf.Has("fetch.wait.max.ms")) conf.Set("fetch.wait.max.ms", "10");
  auto consumer = Consumer::Create(conf);
  if (!consumer.ok()) return consumer.status();

  const auto n = static_cast<std::size_t>(partitions);
  std::vector<std::int64_t> high(n);
  std::vector<TopicPartitionOffset> assignment;
  std::uint64_t to_read = 0;
  for (std::int32_t p = 0; p < partitions; ++p) {
    const TopicPartition tp{Topic(topic), Partition(p)};
    auto wm = consumer->QueryWatermarks(tp, Left(deadline));
    if (!wm.ok()) return wm.status();
    if (wm->low.value() != 0) {
      return Status::Corruption(fmt::format("{} starts at offset {}: the broker deleted records (retention)",
                                            tp.ToString(), wm->low.value()));
    }
    high[static_cast<std::size_t>(p)] = wm->high.value();
    to_read += static_cast<std::uint64_t>(wm->high.value());
    assignment.push_back({tp, kOffsetBeginning});
  }
  EXACTLY_RETURN_IF_ERROR(consumer->Assign(assignment));
  std::vector<std::vector<OwnedRecord>> per(n);
  std::uint64_t got = 0;
  while (got < to_read) {
    const auto left = Left(deadline);
    if (left.count() <= 0) {
      (void)consumer->Close(std::chrono::seconds(1));
      return Status::TimedOut(fmt::format("read {} of {} records of {} in {} ms", got, to_read, topic,
                                          timeout.count()));
    }
    auto msg = consumer->Poll(std::min(left, std::chrono::milliseconds(100)));
    if (!msg.ok()) return msg.status();
    if (msg->empty()) continue;
    if (!msg->ok()) {
      if (msg->partition_eof()) continue;
      return msg->status().WithContext(fmt::format("reading back {}", topic));
    }
    const auto p = static_cast<std::size_t>(msg->partition().value());
    if (p >= n || msg->offset().value() >= high[p]) continue;  // written after the watermarks were read
    per[p].push_back(OwnedRecord::FromView(msg->view()));
    ++got;
  }
  (void)consumer->Close(std::chrono::seconds(5));
  std::vector<OwnedRecord> all;
  all.reserve(got);
  for (auto& v : per) {
    for (auto& r : v) all.push_back(std::move(r));
  }
  return all;
}

}  // namespace exactly::kafka

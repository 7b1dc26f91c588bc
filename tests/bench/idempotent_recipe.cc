// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
#include "idempotent_recipe.h"

#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>

#include <map>
#include <string>
#include <memory>
#include <unordered_set>
#include <vector>

#include "exactly/envelope.h"
#include "exactly/kafka/consumer.h"
#include "exactly/kafka/producer.h"

namespace exactly::bench {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

std::string_view HeaderValue(std::span<const HeaderView> headers, std::string_view name) {
  for (const auto& h : headers) {
    if (h.name == name) return h.value.value_or(std::string_view());
  }
  return {};
}

void CheckDb(const rocksdb::Status& s, std::string_view what) {
  if (!s.ok()) Die(Status::IoError(s.ToString()), what);
}

}  // namespace

RecipeResult RunIdempotentRecipe(kafka::MockCluster& cluster, const Input& input, const std::string& group,
                                 const std::string& output, const RecipeOptions& options) {
  const std::string& bs = cluster.bootstraps();
  Check(cluster.CreateTopic(output, input.spec.partitions), "output topic");
  TempDir dir("exactly-recipe-bench");
  rocksdb::Options dbo;
  dbo.create_if_missing = true;
  rocksdb::DB* raw = nullptr;
  CheckDb(rocksdb::DB::Open(dbo, dir.path(), &raw), "open rocksdb");
  std::unique_ptr<rocksdb::DB> db(raw);
  rocksdb::WriteOptions wo;
  wo.sync = options.sync;

  auto consumer = Check(kafka::Consumer::Create(ConsumerConfig(bs, group)), "recipe consumer");
  auto producer_config = ProducerConfig(bs);
  if (options.linger_ms >= 0) producer_config.Set("linger.ms", std::to_string(options.linger_ms));
  auto producer = Check(kafka::Producer::Create(producer_config), "recipe producer");
  Check(consumer.Subscribe({input.spec.topic}), "subscribe");

  RecipeResult r;
  std::uint64_t n = 0;
  Clock::time_point t0;
  double c0 = 0;
  ThreadSample threads0;
  std::vector<kafka::KafkaMessage> batch;
  std::unordered_set<std::string> in_batch;
  std::map<std::int32_t, std::int64_t> next_offsets;
  std::string id, found;
  auto lap = Clock::now();
  auto add = [&](double& into) {
    const auto now = Clock::now();
    if (n != 0) into += std::chrono::duration<double>(now - lap).count();
    lap = now;
  };
  while (n < input.records) {
    batch.clear();
    for (auto wait = 100ms; batch.size() < options.max_batch; wait = 0ms) {
      auto msg = Check(consumer.Poll(wait), "poll");
      if (msg.empty()) break;
      if (!msg.ok()) continue;
      batch.push_back(std::move(msg));
    }
    if (batch.empty()) continue;
    if (n == 0) {
      t0 = Clock::now();
      c0 = CpuSeconds();
      threads0 = SampleThreads();
      lap = t0;
    }
    add(r.poll_s);
    rocksdb::WriteBatch writes;
    in_batch.clear();
    next_offsets.clear();
    for (const auto& msg : batch) {
      const auto headers = msg.headers();
      id.assign(HeaderValue(headers, header::kProducer));
      id += ' ';
      id += HeaderValue(headers, header::kEpoch);
      id += ' ';
      id += HeaderValue(headers, header::kSeq);
      next_offsets[msg.partition().value()] = msg.offset().value() + 1;
      bool seen = in_batch.count(id) != 0;
      if (!seen) {
        const auto s = db->Get(rocksdb::ReadOptions(), id, &found);
        if (!s.ok() && !s.IsNotFound()) CheckDb(s, "get");
        seen = s.ok();
      }
      if (seen) {
        ++r.skipped;
        continue;
      }
      Check(producer.Produce({output, msg.partition(), msg.key(), msg.value(), headers}, 60s), "recipe produce");
      ++r.produced;
      if (options.per_record) {
        CheckDb(db->Put(wo, id, rocksdb::Slice()), "put");
      } else {
        CheckDb(writes.Put(id, rocksdb::Slice()), "batch put");
      }
      in_batch.insert(id);
    }
    n += batch.size();
    add(r.process_s);
    Check(producer.Flush(120s), "recipe flush");
    add(r.flush_s);
    if (!options.per_record) CheckDb(db->Write(wo, &writes), "write");
    add(r.write_s);
    std::vector<kafka::TopicPartitionOffset> offsets;
    for (const auto& [p, o] : next_offsets) {
      offsets.push_back({TopicPartition{Topic(input.spec.topic), Partition(p)}, Offset(o)});
    }
    Check(consumer.Commit(offsets, /*async=*/false), "commit");
    add(r.commit_s);
    ++r.batches;
  }
  Finish(r.m, input, t0, c0, 0, threads0);
  r.m.output_records = producer.counters().delivered;
  batch.clear();  // librdkafka's destroy waits for every consumed message to be released
  (void)consumer.Close(10s);
  return r;
}

}  // namespace exactly::bench

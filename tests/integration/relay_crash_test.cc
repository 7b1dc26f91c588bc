// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// A relay killed without its final checkpoint and restarted: its output,
// deduplicated downstream by stamps, equals the crash-free output, record
// for record. Once in process (the relay and its store destroyed without
// Close, unflushed output lost) and once as a subprocess killed with
// SIGKILL and restarted.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <map>
#include <memory>
#include <thread>
#include <tuple>

#include "demo_traffic.h"
#include "demo_verify.h"
#include "exactly/checkpoint_store.h"
#include "exactly/envelope.h"
#include "exactly/kafka/mock_cluster.h"
#include "exactly/kafka/producer.h"
#include "exactly/kafka/relay.h"
#include "relay_test_util.h"

namespace exactly::testing {
namespace {

using namespace std::chrono_literals;

void Generate(const std::string& bs, const std::string& topic, int partitions, const std::string& prefix,
              std::uint64_t messages, int producers = 2, bool large = true) {
  auto pconf = RelayProducerConfig(bs);
  pconf.Set("enable.idempotence", "true");
  auto producer = kafka::Producer::Create(pconf);
  ASSERT_TRUE(producer.ok());
  relay_demo::TrafficOptions traffic;
  traffic.topic = topic;
  traffic.partitions = partitions;
  traffic.producers = producers;
  traffic.producer_prefix = prefix;
  traffic.messages = messages;
  traffic.retry_percent = 5;
  if (large) {
    traffic.large_messages = {1'200'000};
  } else {
    traffic.large_messages.clear();
  }
  relay_demo::TrafficReport report;
  const Status st = relay_demo::GenerateTraffic(*producer, traffic, &report);
  ASSERT_TRUE(st.ok()) << st.ToString();
}

// (producer, seq, chunk index) -> the record, for record-level comparisons.
using RecordKey = std::tuple<std::string, std::uint64_t, std::uint32_t>;
std::map<RecordKey, OwnedRecord> ByStamp(const std::vector<OwnedRecord>& records) {
  std::map<RecordKey, OwnedRecord> out;
  for (const auto& r : records) {
    const Envelope env = Classify(r.view().headers);
    out.emplace(RecordKey{std::string(env.producer), env.stamp.seq.value(), env.chunk ? env.chunk->index : 0}, r);
  }
  return out;
}

void ExpectSameOutput(const std::vector<OwnedRecord>& clean, const std::vector<OwnedRecord>& crashed) {
  const auto a = ByStamp(clean);
  const auto b = ByStamp(crashed);
  ASSERT_EQ(a.size(), b.size());  // the same set of distinct output records
  for (const auto& [key, r] : a) {
    auto it = b.find(key);
    ASSERT_NE(it, b.end()) << std::get<0>(key) << " seq " << std::get<1>(key);
    EXPECT_EQ(r.partition, it->second.partition);
    EXPECT_EQ(r.key, it->second.key);
    EXPECT_TRUE(r.value == it->second.value) << std::get<0>(key) << " seq " << std::get<1>(key);
    EXPECT_EQ(r.headers, it->second.headers);
  }
}

// `producers` per burst of traffic; `cache`: the crashing relay's
// max_resident_producers (0: the default).
void KilledInProcessThenRestarted(int producers, std::size_t cache) {
  auto cluster = kafka::MockCluster::Create(1);
  ASSERT_TRUE(cluster.ok());
  const std::string bs = cluster->bootstraps();
  for (const char* t : {"in", "out-clean", "out-crash"}) ASSERT_TRUE(cluster->CreateTopic(t, 2).ok());
  TempDir dir;

  // The relay that will crash runs through a first burst of input...
  ASSERT_NO_FATAL_FAILURE(Generate(bs, "in", 2, "w1", 1000, producers));
  auto first_half = HighWatermarks(bs, "in", 2);
  ASSERT_TRUE(first_half.ok());
  auto o = RelayTestOptions(bs, "in", "out-crash", "");
  o.group = "crash";
  o.checkpoint_interval = 50ms;
  if (cache > 0) {
    o.engine.max_resident_producers = cache;
    // Checkpoints by records too, so that some are committed well before
    // the second burst is processed, however fast the machine.
    o.checkpoint_records = 1000;
  }
  kafka::RelayStats before_crash, after_restart;
  std::uint64_t forwarded_before_crash = 0;
  {
    auto store = CheckpointStore::Open(dir.sub("crash"));
    ASSERT_TRUE(store.ok());
    auto relay = kafka::Relay::Create(**store, o);
    ASSERT_TRUE(relay.ok());
    auto checkpointed = [&] {
      std::vector<kafka::PartitionPosition> saved = (*relay)->Positions();
      for (auto& p : saved) p.next = p.checkpointed;
      return CaughtUp(saved, *first_half);
    };
    ASSERT_TRUE(DriveUntil({[&] { return (*relay)->RunFor(20ms); }}, checkpointed, 60s).ok());
    // ...then crashes a few milliseconds into the second: no final
    // checkpoint, no flush, no group leave; the store goes too, as with
    // SIGKILL.
    const std::uint64_t checkpoints_before = (*relay)->stats().consumer.checkpoints;
    ASSERT_NO_FATAL_FAILURE(Generate(bs, "in", 2, "w2", 1000, producers));
    const std::int64_t before = (*first_half)[0] + (*first_half)[1];
    auto processed = [&] {
      std::int64_t n = 0;
      for (const auto& p : (*relay)->Positions()) n += p.next ? p.next->value() : 0;
      return n;
    };
    // Crash once some of the second burst's output is acknowledged (so
    // the restart relays it again) but before it is all processed.
    const std::uint64_t acked_before = (*relay)->stats().producer.delivered;
    ASSERT_TRUE(DriveUntil({[&] { return (*relay)->RunFor(1ms); }},
                           [&] {
                             // With a cache, only once checkpoints hold (and evicted) some of
                             // the second burst's producers, so that the restart reads them back.
                             return processed() > before && (*relay)->stats().producer.delivered > acked_before &&
                                    (cache == 0 || (*relay)->stats().consumer.checkpoints >= checkpoints_before + 2);
                           },
                           60s)
                    .ok());
    EXPECT_GE((*relay)->stats().consumer.checkpoints, 1u);
    forwarded_before_crash = (*relay)->stats().forwarded;
    before_crash = (*relay)->stats();
  }
  EXPECT_GT(forwarded_before_crash, 0u);
  if (cache > 0) {
    // The second burst once more, with the same stamps (duplicates to the
    // relay), so that the restarted relay looks its producers up whatever
    // the crash left to replay: on a loaded machine the whole burst can be
    // processed and checkpointed by the time the crash condition holds,
    // and the restart then had nothing to process (seen in CI).
    ASSERT_NO_FATAL_FAILURE(Generate(bs, "in", 2, "w2", 1000, producers));
  }
  auto high = HighWatermarks(bs, "in", 2);
  ASSERT_TRUE(high.ok());
  {
    auto store = CheckpointStore::Open(dir.sub("crash"));
    ASSERT_TRUE(store.ok());
    auto relay = kafka::Relay::Create(**store, o);
    ASSERT_TRUE(relay.ok());
    // Same group: the join waits for the dead member's session to expire.
    const Status st = DriveUntil({[&] { return (*relay)->RunFor(50ms); }},
                                 [&] { return CaughtUp((*relay)->Positions(), *high); }, 60s);
    ASSERT_TRUE(st.ok()) << st.ToString();
    after_restart = (*relay)->stats();
    ASSERT_TRUE((*relay)->Close(30s).ok());
  }
  if (cache > 0) {
    // The cache was used: producers were evicted before the crash, and the
    // restarted relay (restored without producers) read them back.
    EXPECT_GT(before_crash.consumer.engine.producers_evicted, 0u);
    EXPECT_GT(after_restart.consumer.engine.producers_fetched, 0u)
        << "misses " << after_restart.consumer.engine.producer_cache_misses << ", hits "
        << after_restart.consumer.engine.producer_cache_hits << ", evicted " << after_restart.consumer.engine.producers_evicted
        << ", before the crash: evicted " << before_crash.consumer.engine.producers_evicted << ", fetched "
        << before_crash.consumer.engine.producers_fetched;
  }
  {  // The crash-free run over the same input.
    auto store = CheckpointStore::Open(dir.sub("clean"));
    ASSERT_TRUE(store.ok());
    auto clean = RelayTestOptions(bs, "in", "out-clean", "");
    clean.group = "clean";
    auto relay = kafka::Relay::Create(**store, clean);
    ASSERT_TRUE(relay.ok()) << relay.status().ToString();
    ASSERT_TRUE(DriveUntil({[&] { return (*relay)->RunFor(50ms); }},
                           [&] { return CaughtUp((*relay)->Positions(), *high); }, 60s)
                    .ok());
    ASSERT_TRUE((*relay)->Close(30s).ok());
  }

  auto input = relay_demo::ReadTopic(bs, "in", 30s);
  auto clean = relay_demo::ReadTopic(bs, "out-clean", 30s);
  auto crashed = relay_demo::ReadTopic(bs, "out-crash", 30s);
  ASSERT_TRUE(input.ok() && clean.ok() && crashed.ok());
  const auto ref = relay_demo::ComputeReference(*input);
  const auto clean_index = relay_demo::IndexOutput(*clean, "relay-test", Epoch(0));
  const auto crash_index = relay_demo::IndexOutput(*crashed, "relay-test", Epoch(0));
  const auto v = relay_demo::Compare(ref, crash_index);
  for (const auto& e : v.examples) ADD_FAILURE() << e;
  EXPECT_TRUE(v.ok());
  EXPECT_TRUE(relay_demo::Compare(ref, clean_index).ok());
  EXPECT_EQ(clean_index.repeats, 0u);
  ASSERT_NO_FATAL_FAILURE(ExpectSameOutput(*clean, *crashed));
  std::cerr << "[          ] crashed run: " << crashed->size() << " output records, " << crash_index.repeats
            << " repeated message(s) after the restart\n";
}

TEST(RelayCrash, KilledInProcessThenRestartedMatchesCrashFreeRun) { KilledInProcessThenRestarted(2, 0); }

// The same with a producer cache far smaller than the producers: evictions
// and reads from the store all along, and a restore without producers.
TEST(RelayCrash, KilledInProcessWithATinyProducerCacheMatchesCrashFreeRun) { KilledInProcessThenRestarted(24, 4); }

#ifdef EXACTLY_RELAY_BIN
// The group's committed offsets (the relay commits them after each checkpoint).
std::int64_t Committed(const std::string& bs, const std::string& group, const std::string& topic, int partitions) {
  auto conf = kafka::KafkaConfig{{"bootstrap.servers", bs}, {"group.id", group}};
  auto consumer = kafka::Consumer::Create(conf);
  if (!consumer.ok()) return -1;
  std::vector<TopicPartition> tps;
  for (int p = 0; p < partitions; ++p) tps.push_back({Topic(topic), Partition(p)});
  auto committed = consumer->Committed(tps, 5s);
  if (!committed.ok()) return -1;
  std::int64_t n = 0;
  for (const auto& c : *committed) n += std::max<std::int64_t>(0, c.offset.value());
  return n;
}

Status WaitCommitted(const std::string& bs, std::int64_t at_least, std::chrono::seconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (Committed(bs, "sub", "in", 2) < at_least) {
    if (std::chrono::steady_clock::now() > deadline) return Status::TimedOut("committed offsets did not advance");
    std::this_thread::sleep_for(100ms);
  }
  return Status::OK();
}

TEST(RelayCrash, SigkilledSubprocessThenRestartedLosesNothing) {
  auto cluster = kafka::MockCluster::Create(1);
  ASSERT_TRUE(cluster.ok());
  const std::string bs = cluster->bootstraps();
  for (const char* t : {"in", "out"}) ASSERT_TRUE(cluster->CreateTopic(t, 2).ok());
  ASSERT_TRUE(cluster->CreateTopic("dlq", 1).ok());
  TempDir dir;
  const std::vector<std::string> argv = {EXACTLY_RELAY_BIN,
                                         "--brokers", bs, "--input", "in", "--output", "out", "--dlq", "dlq",
                                         "--state-dir", dir.sub("state"), "--group", "sub", "--relay-id", "relay-test",
                                         "--checkpoint-interval-ms", "100", "--status-interval-ms", "0",
                                         "-X", "reconnect.backoff.max.ms=500",
                                         "--consumer-X", "fetch.wait.max.ms=10",
                                         "--consumer-X", "session.timeout.ms=6000",
                                         "--producer-X", "linger.ms=5"};

  ASSERT_NO_FATAL_FAILURE(Generate(bs, "in", 2, "first", 1000));
  auto first_high = HighWatermarks(bs, "in", 2);
  ASSERT_TRUE(first_high.ok());
  const std::int64_t first_total = (*first_high)[0] + (*first_high)[1];
  auto first = Subprocess::Spawn(argv);
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(WaitCommitted(bs, 1, 30s).ok());
  // More input while it runs, in pieces (one large message in the first:
  // the mock broker keeps only ~5 MiB per partition); the kill once the
  // relay has checkpointed some of it, and at least one piece is written
  // only after the kill. So the kill lands mid-stream and leaves input to replay
  // however the machine schedules the test (a kill after the input was
  // complete, or racing its last piece, let a loaded machine's relay finish
  // everything first).
  constexpr int kPieces = 10;
  int written = 0;
  while (written < kPieces - 1 && Committed(bs, "sub", "in", 2) <= first_total) {
    ASSERT_NO_FATAL_FAILURE(Generate(bs, "in", 2, fmt::format("second{}-", written), 100, 2, written == 0));
    ++written;
  }
  ASSERT_TRUE(WaitCommitted(bs, first_total + 1, 60s).ok()) << "no checkpoint into the second burst";
  first->Signal(SIGKILL);
  for (; written < kPieces; ++written) {
    ASSERT_NO_FATAL_FAILURE(Generate(bs, "in", 2, fmt::format("second{}-", written), 100, 2, written == 0));
  }
  auto killed = first->Wait(10s);
  ASSERT_TRUE(killed.ok());
  EXPECT_EQ(*killed, 128 + SIGKILL);

  auto high = HighWatermarks(bs, "in", 2);
  ASSERT_TRUE(high.ok());
  const std::int64_t total = (*high)[0] + (*high)[1];
  EXPECT_LT(Committed(bs, "sub", "in", 2), total) << "nothing left to replay after the kill";
  auto second = Subprocess::Spawn(argv);
  ASSERT_TRUE(second.ok());
  ASSERT_TRUE(WaitCommitted(bs, total, 60s).ok());
  second->Signal(SIGTERM);
  auto exited = second->Wait(30s);
  ASSERT_TRUE(exited.ok());
  EXPECT_EQ(*exited, 0);

  auto input = relay_demo::ReadTopic(bs, "in", 30s);
  auto output = relay_demo::ReadTopic(bs, "out", 30s);
  auto dead = relay_demo::ReadTopic(bs, "dlq", 30s);
  ASSERT_TRUE(input.ok() && output.ok() && dead.ok());
  const auto ref = relay_demo::ComputeReference(*input);
  const auto index = relay_demo::IndexOutput(*output, "relay-test", Epoch(0));
  const auto v = relay_demo::Compare(ref, index);
  for (const auto& e : v.examples) ADD_FAILURE() << e;
  EXPECT_TRUE(v.ok());
  const auto dl = relay_demo::CompareDeadLetters(ref, *dead);
  for (const auto& e : dl.examples) ADD_FAILURE() << e;
  EXPECT_TRUE(dl.ok());
}
#endif

}  // namespace
}  // namespace exactly::testing

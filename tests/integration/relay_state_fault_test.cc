// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// The relay's state directory fails mid-run (disk full, I/O error, failed
// fsync) or is found corrupt at start-up.
//
// A write fault: the relay stops with a clear error; what the store holds
// afterwards (and what the group committed to Kafka) never covers an input
// record whose output is not in the output topic; once the fault is gone a
// restarted relay resumes, and its output, deduplicated by the relay's
// stamps, is exactly the expected messages: nothing lost, and nothing
// repeated below the last checkpoint. Faults are injected below RocksDB
// (StoreFaultInjector); a real ENOSPC variant on a small tmpfs runs where
// mounting is permitted.
//
// A corrupt directory (garbage in a RocksDB file, a missing CURRENT): the
// relay cannot start, and says why, naming the directory; no crash.
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <tuple>

#include "demo_traffic.h"
#include "demo_verify.h"
#include "exactly/checkpoint_store.h"
#include "exactly/envelope.h"
#include "exactly/kafka/consumer.h"
#include "exactly/kafka/mock_cluster.h"
#include "exactly/kafka/producer.h"
#include "exactly/kafka/relay.h"
#include "exactly/store_fault_injection.h"
#include "relay_test_util.h"

namespace exactly::testing {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

constexpr int kPartitions = 2;

// A chunked message in the traffic (the mock keeps about 5 MiB per
// partition: only in the bursts that are relayed before the next).
constexpr std::size_t kLarge = 600'000;

// Partition -> next offset recorded in the store (absent: none).
std::map<std::int32_t, std::int64_t> StoredOffsets(const std::string& dir) {
  StoreOptions opt;
  opt.read_only = true;
  opt.create_if_missing = false;
  auto store = CheckpointStore::Open(dir, opt);
  EXPECT_TRUE(store.ok()) << store.status().ToString();
  std::map<std::int32_t, std::int64_t> out;
  if (!store.ok()) return out;
  for (int p = 0; p < kPartitions; ++p) {
    auto off = (*store)->LoadOffset(TopicPartition{Topic("in"), Partition(p)});
    EXPECT_TRUE(off.ok()) << off.status().ToString();
    if (off.ok() && off->has_value()) out[p] = (*off)->value();
  }
  return out;
}

// Partition -> offset the group committed to Kafka (absent: none).
std::map<std::int32_t, std::int64_t> GroupCommitted(const std::string& bs, const std::string& group) {
  std::map<std::int32_t, std::int64_t> out;
  auto consumer = kafka::Consumer::Create(kafka::KafkaConfig{{"bootstrap.servers", bs}, {"group.id", group}});
  EXPECT_TRUE(consumer.ok());
  if (!consumer.ok()) return out;
  std::vector<TopicPartition> tps;
  for (int p = 0; p < kPartitions; ++p) tps.push_back({Topic("in"), Partition(p)});
  auto committed = consumer->Committed(tps, 10s);
  EXPECT_TRUE(committed.ok()) << committed.status().ToString();
  if (!committed.ok()) return out;
  for (const auto& c : *committed)
    if (c.offset.value() >= 0) out[c.tp.partition.value()] = c.offset.value();
  return out;
}

// Output records per (partition of the input, input offset, chunk index),
// from the relay's stamps: producer relay-test/in/<p>, seq = input offset.
std::map<std::tuple<std::int32_t, std::uint64_t, std::uint32_t>, int> CountByStamp(
    const std::vector<OwnedRecord>& output) {
  std::map<std::tuple<std::int32_t, std::uint64_t, std::uint32_t>, int> n;
  for (const auto& r : output) {
    const Envelope env = Classify(r.view().headers);
    const std::string producer(env.producer);
    const std::int32_t p = producer == kafka::RelayProducerId("relay-test", "in", Partition(1)) ? 1 : 0;
    ++n[{p, env.stamp.seq.value(), env.chunk ? env.chunk->index : 0}];
  }
  return n;
}

// Every input message completed below the stored offset of its partition
// has its output in `output`: the store never got ahead of the output.
void ExpectStoreCoveredByOutput(const std::map<std::int32_t, std::int64_t>& stored,
                                const std::vector<OwnedRecord>& input, const std::vector<OwnedRecord>& output) {
  const auto ref = relay_demo::ComputeReference(input);
  const auto index = relay_demo::IndexOutput(output, "relay-test", Epoch(0));
  std::uint64_t covered = 0;
  for (const auto& [src, msg] : ref.messages) {
    auto it = stored.find(src.partition);
    if (it == stored.end() || src.offset >= it->second) continue;
    ++covered;
    EXPECT_TRUE(index.messages.contains(src))
        << "input " << src.topic << "[" << src.partition << "]@" << src.offset
        << " is below the stored offset " << it->second << " but has no output";
  }
  EXPECT_GT(covered, 0u) << "the fault came before any checkpoint: the test shows nothing";
}

struct FaultCase {
  const char* name;
  StoreFaultInjector::Error error;
  StoreFaultInjector::Files files;
  bool sync_only;
};
void PrintTo(const FaultCase& c, std::ostream* os) { *os << c.name; }

class RelayStateFault : public ::testing::TestWithParam<FaultCase> {};

// `fail` makes the store's writes fail once the relay is mid-stream;
// `clear` removes the fault after the relay stopped.
void RunFaultScenario(const std::string& state_dir, const StoreOptions& store_options,
                      const std::function<void()>& fail, const std::function<void()>& clear) {
  auto cluster = kafka::MockCluster::Create(1);
  ASSERT_TRUE(cluster.ok());
  const std::string bs = cluster->bootstraps();
  ASSERT_TRUE(cluster->CreateTopic("in", kPartitions).ok());
  ASSERT_TRUE(cluster->CreateTopic("out", kPartitions).ok());
  auto o = RelayTestOptions(bs, "in", "out", "");
  o.group = "fault";
  o.checkpoint_interval = 50ms;
  o.checkpoint_records = 50;  // many small store writes while traffic flows

  ASSERT_NO_FATAL_FAILURE(GenerateRelayInput(bs, "in", kPartitions, "w1", 600, {kLarge}));
  auto first = HighWatermarks(bs, "in", kPartitions);
  ASSERT_TRUE(first.ok());
  std::vector<kafka::PartitionPosition> at_stop;
  Status stopped;
  {
    auto store = CheckpointStore::Open(state_dir, store_options);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    auto relay = kafka::Relay::Create(**store, o);
    ASSERT_TRUE(relay.ok()) << relay.status().ToString();
    auto checkpointed_first = [&] {
      std::vector<kafka::PartitionPosition> saved = (*relay)->Positions();
      for (auto& p : saved) p.next = p.checkpointed;
      return CaughtUp(saved, *first);
    };
    ASSERT_TRUE(DriveUntil({[&] { return (*relay)->RunFor(20ms); }}, checkpointed_first, 60s).ok());
    // More input, and the state directory fails while it is relayed.
    ASSERT_NO_FATAL_FAILURE(GenerateRelayInput(bs, "in", kPartitions, "w2", 600, {kLarge}));
    // The fault comes once part of the second burst is checkpointed.
    auto checkpointed_some_more = [&] {
      for (const auto& pos : (*relay)->Positions())
        if (pos.checkpointed && pos.checkpointed->value() > first->at(pos.tp.partition.value())) return true;
      return false;
    };
    ASSERT_TRUE(DriveUntil({[&] { return (*relay)->RunFor(1ms); }}, checkpointed_some_more, 60s).ok());
    fail();
    // Traffic goes on, so the relay must checkpoint into the failing store
    // (a real full disk may still take a few small writes: the last page
    // of a file has room).
    for (int round = 0; round < 40 && stopped.ok(); ++round) {
      ASSERT_NO_FATAL_FAILURE(GenerateRelayInput(bs, "in", kPartitions, "w2b" + std::to_string(round), 50));
      auto now_high = HighWatermarks(bs, "in", kPartitions);
      ASSERT_TRUE(now_high.ok());
      const auto deadline = std::chrono::steady_clock::now() + 10s;
      while (stopped.ok() && std::chrono::steady_clock::now() < deadline) {
        stopped = (*relay)->RunFor(20ms);
        std::vector<kafka::PartitionPosition> saved = (*relay)->Positions();
        for (auto& p : saved) p.next = p.checkpointed;
        if (CaughtUp(saved, *now_high)) break;  // checkpointed it all: next round
      }
    }
    const auto stats = (*relay)->stats();
    ASSERT_FALSE(stopped.ok()) << "the relay kept running on a failing state directory: " << stats.consumer.checkpoints
                               << " checkpoints, " << stats.consumer.checkpoint_failures << " failures, "
                               << stats.consumer.rewinds << " rewinds, " << stats.consumer.polled << " polled";
    at_stop = (*relay)->Positions();
    EXPECT_GE((*relay)->stats().consumer.checkpoint_failures, 1u);
    // Every later call reports the same stop; Close writes no checkpoint.
    EXPECT_FALSE((*relay)->RunFor(1ms).ok());
    (void)(*relay)->Close(10s);
  }
  std::cerr << "[          ] relay stopped: " << stopped.ToString() << "\n";
  EXPECT_TRUE(stopped.code() == Code::kIoError || stopped.code() == Code::kFailedPrecondition ||
              stopped.code() == Code::kResourceExhausted)
      << stopped.ToString();
  clear();

  // Nothing was recorded beyond what is really checkpointed, and all of it
  // has its output.
  const auto stored = StoredOffsets(state_dir);
  const auto committed = GroupCommitted(bs, "fault");
  for (const auto& pos : at_stop) {
    const std::int32_t p = pos.tp.partition.value();
    ASSERT_TRUE(pos.checkpointed.has_value());
    ASSERT_TRUE(stored.contains(p));
    // The store holds the last checkpoint the relay saw succeed (or, at
    // most, the failed one whole, which is never past what was processed).
    EXPECT_GE(stored.at(p), pos.checkpointed->value()) << "partition " << p;
    EXPECT_LE(stored.at(p), pos.next->value()) << "partition " << p;
    if (committed.contains(p)) {
      EXPECT_LE(committed.at(p), stored.at(p)) << "partition " << p << ": the group committed past the store";
    }
  }
  {
    auto input = relay_demo::ReadTopic(bs, "in", 30s);
    auto output = relay_demo::ReadTopic(bs, "out", 30s);
    ASSERT_TRUE(input.ok()) << input.status().ToString();
    ASSERT_TRUE(output.ok()) << output.status().ToString();
    ExpectStoreCoveredByOutput(stored, *input, *output);
  }

  // Restarted on the repaired directory: resumes and finishes the input.
  ASSERT_NO_FATAL_FAILURE(GenerateRelayInput(bs, "in", kPartitions, "w3", 200, {kLarge}));
  auto high = HighWatermarks(bs, "in", kPartitions);
  ASSERT_TRUE(high.ok());
  {
    auto store = CheckpointStore::Open(state_dir);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    auto relay = kafka::Relay::Create(**store, o);
    ASSERT_TRUE(relay.ok()) << relay.status().ToString();
    const Status st = DriveUntil({[&] { return (*relay)->RunFor(50ms); }},
                                 [&] { return CaughtUp((*relay)->Positions(), *high); }, 90s);
    ASSERT_TRUE(st.ok()) << st.ToString();
    ASSERT_TRUE((*relay)->Close(30s).ok());
  }
  RelayRun run;
  ASSERT_NO_FATAL_FAILURE(ExpectOutputMatchesReference(bs, "in", "out", "relay-test", &run));
  // Repeats only from the uncheckpointed tail: below the stored offset
  // every output record exists exactly once.
  for (const auto& [key, n] : CountByStamp(run.output)) {
    const auto& [p, seq, chunk] = key;
    const bool below = stored.contains(p) && static_cast<std::int64_t>(seq) < stored.at(p);
    EXPECT_TRUE(!below || n == 1) << "output of input " << p << "@" << seq << " chunk " << chunk << ": " << n
                                  << " records";
  }
  std::cerr << "[          ] " << run.output.size() << " output records, " << run.index.repeats
            << " repeated after the restart; stored offsets at the fault: " << stored.at(0) << ", " << stored.at(1)
            << "\n";
}

TEST_P(RelayStateFault, StopsClearlyRecordsNothingUncheckpointedAndResumesExactly) {
  const FaultCase& c = GetParam();
  TempDir dir;
  auto injector = std::make_shared<StoreFaultInjector>();
  StoreOptions so;
  so.fault_injector = injector;
  RunFaultScenario(
      dir.sub("state"), so,
      [&] {
        if (c.sync_only) {
          injector->ArmSyncFailure(c.error, c.files);
        } else {
          injector->Arm(c.error, c.files, 0);
        }
      },
      [&] {
        EXPECT_GE(injector->injected(), 1u);
        injector->Disarm();
      });
}

INSTANTIATE_TEST_SUITE_P(
    Faults, RelayStateFault,
    ::testing::Values(FaultCase{"DiskFull", StoreFaultInjector::Error::kNoSpace, StoreFaultInjector::Files::kAll, false},
                      FaultCase{"WalIoError", StoreFaultInjector::Error::kIoError,
                                StoreFaultInjector::Files::kWriteAheadLog, false},
                      FaultCase{"FsyncFails", StoreFaultInjector::Error::kIoError,
                                StoreFaultInjector::Files::kWriteAheadLog, true}),
    [](const ::testing::TestParamInfo<FaultCase>& p) { return std::string(p.param.name); });


// A small tmpfs mounted over a scratch directory (needs CAP_SYS_ADMIN:
// root outside a restricted container), unmounted on destruction.
class SmallTmpfs {
 public:
  explicit SmallTmpfs(const std::string& dir) : dir_(dir) {
    if (::mount("exactly-test", dir.c_str(), "tmpfs", 0, "size=2m") == 0) {
      mounted_ = true;
    } else {
      error_ = std::strerror(errno);
    }
  }
  ~SmallTmpfs() {
    if (mounted_) ::umount2(dir_.c_str(), MNT_DETACH);
  }
  bool mounted() const { return mounted_; }
  const std::string& error() const { return error_; }

 private:
  std::string dir_;
  bool mounted_ = false;
  std::string error_;
};

// Writes `path` until the file system is full; returns the bytes written.
std::uint64_t FillUp(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return 0;
  std::setvbuf(f, nullptr, _IONBF, 0);
  const std::string block(64 << 10, 'f');
  std::uint64_t n = 0;
  for (;;) {
    const std::size_t w = std::fwrite(block.data(), 1, block.size(), f);
    n += w;
    if (w < block.size()) break;
  }
  std::fclose(f);
  return n;
}

// The same with a real ENOSPC: the state directory on a 2 MiB tmpfs (small enough that RocksDB's preallocation of the write-ahead log fails, so log writes need new blocks), which
// a filler file then fills up while the relay runs.
TEST(RelayStateFaultRealDisk, FullTmpfsStopsTheRelayAndItResumesOnceThereIsRoom) {
  TempDir dir;
  const std::string mnt = dir.sub("mnt");
  fs::create_directories(mnt);
  SmallTmpfs tmpfs(mnt);
  if (!tmpfs.mounted()) {
    GTEST_SKIP() << "cannot mount a tmpfs at " << mnt << " (" << tmpfs.error()
                 << "; needs CAP_SYS_ADMIN): the injected disk-full variant (RelayStateFault) covers the logic";
  }
  const std::string filler = mnt + "/filler";
  RunFaultScenario(
      mnt + "/state", StoreOptions{},
      [&] {
        const std::uint64_t n = FillUp(filler);
        std::cerr << "[          ] filled the tmpfs with " << n << " bytes\n";
      },
      [&] { fs::remove(filler); });
}


#ifdef EXACTLY_RELAY_BIN
// Garbage in the state directory's RocksDB files, or its CURRENT file gone:
// exactly-relay refuses to start, naming the directory (exit status 1),
// and never crashes; a second start says the same (the failed one did not
// turn the directory into an empty state).
TEST(RelayDamagedStateDir, RefusesToStartNamingTheDirectory) {
  auto cluster = kafka::MockCluster::Create(1);
  ASSERT_TRUE(cluster.ok());
  const std::string bs = cluster->bootstraps();
  ASSERT_TRUE(cluster->CreateTopic("in", 1).ok());
  ASSERT_TRUE(cluster->CreateTopic("out", 1).ok());
  const std::vector<std::pair<std::string, std::function<void(const fs::path&)>>> damages = {
      {"missing CURRENT", [](const fs::path& d) { fs::remove(d / "CURRENT"); }},
      {"garbage CURRENT", [](const fs::path& d) { std::ofstream(d / "CURRENT") << "\x01\x02garbage"; }},
      {"garbage MANIFEST",
       [](const fs::path& d) {
         for (const auto& e : fs::directory_iterator(d))
           if (e.path().filename().string().starts_with("MANIFEST-")) std::ofstream(e.path()) << std::string(300, '\x7f');
       }},
  };
  for (const auto& [what, damage] : damages) {
    TempDir dir;
    const std::string state = dir.sub("state");
    {
      auto store = CheckpointStore::Open(state);
      ASSERT_TRUE(store.ok()) << store.status().ToString();
    }
    damage(state);
    for (int attempt = 0; attempt < 2; ++attempt) {
      auto child = Subprocess::Spawn({"/bin/sh", "-c",
                                      std::string(EXACTLY_RELAY_BIN) + " --brokers " + bs +
                                          " --input in --output out --group g --relay-id r --state-dir " + state +
                                          " 2>&1"});
      ASSERT_TRUE(child.ok());
      std::string text;
      for (;;) {
        auto line = child->ReadLine(30s);
        if (!line.ok()) break;
        text += *line + "\n";
      }
      auto status = child->Wait(30s);
      ASSERT_TRUE(status.ok()) << what;
      EXPECT_EQ(*status, 1) << what << " (attempt " << attempt << "): " << text;
      EXPECT_NE(text.find("state directory " + state + " is damaged"), std::string::npos)
          << what << " (attempt " << attempt << "): " << text;
    }
  }
}
#endif

}  // namespace
}  // namespace exactly::testing

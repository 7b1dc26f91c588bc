// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
#include "workload.h"

#include <fmt/format.h>
#include <signal.h>

#include <fstream>
#include <optional>
#include <thread>

#include "exactly/kafka/consumer.h"
#include "exactly/kafka/producer.h"
#include "process.h"
#include "reference.h"
#include "seed.h"

namespace exactly::torture {

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

std::uint64_t HashString(const std::string& s) {
  std::uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

// Compressible but not uniform text: a random word repeated, with one
// random letter every 64 bytes, so that lz4 keeps partitions well under the
// mock broker's retention while every message stays distinct.
std::string Text(std::mt19937_64& rng, std::size_t size) {
  std::string word(8, 'a');
  for (char& c : word) c = static_cast<char>('a' + rng() % 26);
  std::string out;
  out.reserve(size);
  while (out.size() < size) {
    out += out.size() % 64 == 0 ? static_cast<char>('A' + rng() % 26) : word[out.size() % word.size()];
  }
  return out;
}

Status WriteLines(const std::string& path, const std::vector<std::string>& lines) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  for (const auto& l : lines) f << l << '\n';
  f.close();
  if (!f) return Status::IoError(fmt::format("cannot write {}", path));
  return Status::OK();
}

struct Running {
  Child child;
  std::string what;
  bool watch = false;     // killed once the partition's watermark reaches kill_at
  std::int64_t base = 0;  // the watermark before it started
  std::int64_t kill_at = 0;
  std::int64_t message_end = 0;  // watermark once its big message is complete (if alone)
};

}  // namespace

Workload::Workload(WorkloadOptions options) : o_(std::move(options)), rng_(MixSeed(o_.seed ^ 0x776f726bull)) {
  // Three stable producers own partitions 0..P-2 and a fourth shares
  // partition 0; the restarted producer and its zombie own the last one.
  const std::int32_t shared = std::max(1, o_.partitions - 1);
  for (std::int32_t i = 0; i < shared; ++i) stable_.push_back({fmt::format("torture-stable-{}", i), i});
  stable_.push_back({fmt::format("torture-stable-{}", shared), 0});
  hostile_epoch_.assign(static_cast<std::size_t>(o_.partitions), 0);
  hostile_seq_.assign(static_cast<std::size_t>(o_.partitions), 0);
}

std::string Workload::Payload(const std::string& id, std::uint64_t seq) const {
  std::mt19937_64 r(MixSeed(o_.seed ^ HashString(id) ^ MixSeed(seq)));
  const std::uint64_t kind = r() % 100;
  std::size_t size = kind < 70 ? 16 + r() % 300 : kind < 95 ? 513 + r() % 3500 : 8192 + r() % 32768;
  return fmt::format("{}:{}:", id, seq) + Text(r, size);
}

Status Workload::Run(const std::atomic<bool>& stop) {
  while (!stop.load()) {
    EXACTLY_RETURN_IF_ERROR(Round(stop));
    ++stats_.rounds;
    const auto pause = std::chrono::milliseconds(
        o_.round_pause.count() / 2 +
        static_cast<std::int64_t>(rng_() % static_cast<std::uint64_t>(o_.round_pause.count() + 1)));
    const auto until = Clock::now() + pause;
    while (!stop.load() && Clock::now() < until) std::this_thread::sleep_for(20ms);
  }
  return Status::OK();
}

Status Workload::Round(const std::atomic<bool>& stop) {
  auto uniform = [&](std::uint64_t lo, std::uint64_t hi) { return lo + rng_() % (hi - lo + 1); };
  auto coin = [&](double p) { return std::uniform_real_distribution<double>(0, 1)(rng_) < p; };
  const std::string bin = o_.produce_bin;
  auto common = [&](std::int32_t partition, const std::string& id) {
    return std::vector<std::string>{bin,
                                    "--brokers",
                                    o_.bootstraps,
                                    "-t",
                                    o_.topic,
                                    "-p",
                                    std::to_string(partition),
                                    "--producer-id",
                                    id,
                                    "-X",
                                    "linger.ms=5",
                                    "-X",
                                    "compression.type=lz4",
                                    "-X",
                                    "reconnect.backoff.max.ms=500",
                                    "--timeout-ms",
                                    "120000"};
  };
  std::vector<Running> runs;
  auto spawn = [&](std::vector<std::string> argv, const std::vector<std::string>& lines, std::string what) -> Status {
    const std::string file = fmt::format("{}/lines-{}.txt", o_.work_dir, file_counter_++ % 64);
    EXACTLY_RETURN_IF_ERROR(WriteLines(file, lines));
    SpawnSpec spec;
    spec.argv = std::move(argv);
    spec.stdin_file = file;
    spec.stderr_file = o_.work_dir + "/producers.log";
    auto child = Child::Spawn(spec);
    if (!child.ok()) return child.status();
    ++stats_.producer_runs;
    runs.push_back(Running{std::move(*child), std::move(what)});
    return Status::OK();
  };

  for (Stable& s : stable_) {
    std::uint64_t first = 0, count = 0;
    if (s.next_seq > 0 && coin(0.2)) {
      const std::uint64_t back = std::min<std::uint64_t>(s.next_seq, 40);
      first = s.next_seq - uniform(1, back);
      count = uniform(1, std::min<std::uint64_t>(20, s.next_seq - first));
      ++stats_.retried_windows;
    } else {
      if (s.next_seq > 0 && coin(0.1)) {
        s.next_seq += uniform(1, 5);
        ++stats_.gaps;
      }
      first = s.next_seq;
      count = uniform(1, static_cast<std::uint64_t>(o_.max_batch));
      s.next_seq += count;
    }
    std::vector<std::string> lines;
    for (std::uint64_t i = 0; i < count; ++i) lines.push_back(Payload(s.id, first + i));
    auto argv = common(s.partition, s.id);
    for (const char* a : {"--epoch", "0", "--chunk-bytes", "512", "-H", "app=torture", "-H", "eo.trace=stable"}) {
      argv.push_back(a);
    }
    argv.insert(argv.end(), {"--first-seq", std::to_string(first)});
    EXACTLY_RETURN_IF_ERROR(
        spawn(std::move(argv), lines, fmt::format("{} seq {}..{}", s.id, first, first + count - 1)));
  }

  const std::int32_t own = o_.partitions - 1;
  const std::string epoch_dir = o_.work_dir + "/restarted-epoch";
  bool kill_round = false;
  if (zombie_due_) {
    std::vector<std::string> lines;
    const std::uint64_t count = uniform(3, 15);
    for (std::uint64_t i = 0; i < count; ++i) lines.push_back(Payload(restarted_id_, zombie_seq_ + i));
    auto argv = common(own, restarted_id_);
    argv.insert(argv.end(), {"--epoch", std::to_string(zombie_epoch_), "--first-seq", std::to_string(zombie_seq_),
                             "--chunk-bytes", "1000"});
    EXACTLY_RETURN_IF_ERROR(spawn(std::move(argv), lines, fmt::format("zombie epoch {}", zombie_epoch_)));
    ++stats_.zombie_runs;
    zombie_due_ = false;
  } else {
    kill_round = coin(o_.producer_kill_probability);
  }
  {
    const std::uint64_t epoch = restarted_runs_++;
    const std::uint64_t first = coin(0.5) ? 0 : restarted_next_seq_;
    std::vector<std::string> lines;
    auto argv = common(own, restarted_id_);
    argv.insert(argv.end(), {"--epoch-dir", epoch_dir, "--first-seq", std::to_string(first), "--chunk-bytes", "1000"});
    std::int64_t big_chunks = 0;
    if (kill_round) {
      // Slow enough that the watermark can be watched between chunks.
      argv.insert(argv.end(), {"-X", "batch.num.messages=4", "-X", "queue.buffering.max.messages=16"});
      lines.push_back(Payload(restarted_id_, first));
      lines.push_back(Payload(restarted_id_, first + 1));
      big_chunks = static_cast<std::int64_t>(uniform(150, 400));
      std::mt19937_64 r(MixSeed(o_.seed ^ HashString(restarted_id_) ^ MixSeed(epoch) ^ 0xb16));
      lines.push_back(fmt::format("{}:{}:big:", restarted_id_, first + 2) +
                      Text(r, static_cast<std::size_t>(big_chunks) * 1000 - 40));
      for (std::uint64_t i = 3; i < 6; ++i) lines.push_back(Payload(restarted_id_, first + i));
      zombie_due_ = true;
      zombie_epoch_ = epoch;
      zombie_seq_ = first + 3;
    } else {
      const std::uint64_t count = uniform(1, static_cast<std::uint64_t>(o_.max_batch));
      for (std::uint64_t i = 0; i < count; ++i) lines.push_back(Payload(restarted_id_, first + i));
    }
    restarted_next_seq_ = first + lines.size();
    std::optional<std::int64_t> base;
    if (kill_round) {
      auto wm = [&]() -> Result<kafka::Watermarks> {
        auto c = kafka::Consumer::Create(kafka::KafkaConfig{{"bootstrap.servers", o_.bootstraps}, {"log_level", "2"}});
        if (!c.ok()) return c.status();
        return c->QueryWatermarks(TopicPartition{Topic(o_.topic), Partition(own)}, 10s);
      }();
      if (wm.ok()) base = wm->high.value();
    }
    EXACTLY_RETURN_IF_ERROR(
        spawn(std::move(argv), lines,
              fmt::format("{} epoch {}{}", restarted_id_, epoch, kill_round ? " (to be killed)" : "")));
    ++stats_.restarted_runs;
    if (base) {
      Running& r = runs.back();
      r.watch = true;
      r.base = *base;
      r.kill_at = *base + 2 + static_cast<std::int64_t>(uniform(5, static_cast<std::uint64_t>(big_chunks - 5)));
      r.message_end = *base + 2 + big_chunks;
    }
  }

  if (coin(o_.hostile_probability)) {
    std::int32_t p = static_cast<std::int32_t>(uniform(0, static_cast<std::uint64_t>(own - (kill_round ? 1 : 0))));
    EXACTLY_RETURN_IF_ERROR(Hostile(p));
  }

  std::optional<kafka::Consumer> watcher;
  const auto deadline = Clock::now() + 180s;
  while (true) {
    bool left = false;
    for (Running& r : runs) {
      if (!r.child.running()) continue;
      if (auto e = r.child.TryWait()) {
        if (r.watch) stats_.notes.push_back(fmt::format("{} finished before it could be killed", r.what));
        if (e->signaled || e->code != 0) {
          ++stats_.producer_failures;
          if (stats_.notes.size() < 8) stats_.notes.push_back(fmt::format("{}: {}", r.what, e->ToString()));
        }
        continue;
      }
      left = true;
      if (r.watch) {
        if (!watcher) {
          auto c =
              kafka::Consumer::Create(kafka::KafkaConfig{{"bootstrap.servers", o_.bootstraps}, {"log_level", "2"}});
          if (!c.ok()) return c.status();
          watcher.emplace(std::move(*c));
        }
        auto wm = watcher->QueryWatermarks(TopicPartition{Topic(o_.topic), Partition(own)}, 2s);
        if (wm.ok() && wm->high.value() >= r.kill_at) {
          r.child.Signal(SIGKILL);
          r.child.Wait();
          ++stats_.producer_kills;
          if (wm->high.value() < r.message_end) ++stats_.kills_mid_message;
        }
      }
    }
    if (!left) break;
    if (Clock::now() > deadline || (stop.load() && Clock::now() > deadline - 120s)) {
      for (Running& r : runs) {
        if (r.child.running()) {
          stats_.notes.push_back(fmt::format("{}: still running after its deadline, killed", r.what));
          r.child.Signal(SIGKILL);
          r.child.Wait();
          ++stats_.producer_failures;
        }
      }
      break;
    }
    std::this_thread::sleep_for(runs.size() > 0 && runs.back().watch ? 2ms : 20ms);
  }
  return Status::OK();
}

Status Workload::Hostile(std::int32_t partition) {
  auto producer = kafka::Producer::Create(kafka::KafkaConfig{{"bootstrap.servers", o_.bootstraps},
                                                             {"log_level", "2"},
                                                             {"enable.idempotence", "true"},
                                                             {"linger.ms", "5"},
                                                             {"reconnect.backoff.max.ms", "500"}});
  if (!producer.ok()) return producer.status();
  const auto pi = static_cast<std::size_t>(partition);
  const std::uint64_t e = hostile_epoch_[pi], s = hostile_seq_[pi];
  const std::string id = fmt::format("torture-hostile-{}", partition);
  const std::string E = std::to_string(e);
  auto S = [&](std::uint64_t k) { return std::to_string(s + k); };
  auto crc = [](const std::string& v) { return fmt::format("{:08x}", SimpleCrc32c(v)); };
  using H = std::vector<std::pair<std::string, std::optional<std::string>>>;
  Status failed;
  auto send = [&](const H& hs, std::optional<std::string> value, std::optional<std::string> key = std::nullopt) {
    std::vector<HeaderView> views;
    for (const auto& [n, v] : hs) views.push_back({n, v ? NullableBytes(*v) : std::nullopt});
    const NullableBytes k = key ? NullableBytes(*key) : std::nullopt;
    const NullableBytes val = value ? NullableBytes(*value) : std::nullopt;
    Status st = producer->Produce(kafka::OutgoingRecord{o_.topic, Partition(partition), k, val, views}, 30s);
    if (!st.ok() && failed.ok()) failed = st;
    ++stats_.hostile_records;
  };
  const std::string n = std::to_string(stats_.hostile_batches);
  send({{"app", "torture"}, {"eo.trace", "hostile"}}, "unstamped " + n, "u" + n);  // passes
  send({{"eo.producer", id}, {"eo.epoch", E}}, "no seq");                          // malformed
  send({{"eo.producer", id}, {"eo.epoch", "0" + E}, {"eo.seq", S(1)}}, "leading zero");
  send({{"eo.producer", id}, {"eo.epoch", E}, {"eo.seq", S(1)}, {"eo.seq", S(1)}}, "seq twice");
  send({{"eo.producer", "torture hostile"}, {"eo.epoch", E}, {"eo.seq", S(1)}}, "space in id");
  send({{"eo.producer", id}, {"eo.epoch", E}, {"eo.seq", "18446744073709551616"}}, "seq overflow");
  send({{"eo.producer", id},
        {"eo.epoch", E},
        {"eo.seq", S(1)},
        {"eo.chunk", "2/2"},
        {"eo.size", "4"},
        {"eo.crc", "00000000"}},
       "idx!");
  send({{"eo.producer", id}, {"eo.epoch", E}, {"eo.seq", S(1)}, {"eo.chunk", "0/2"}, {"eo.size", "4"}}, "nocr");
  send({{"eo.producer", id},
        {"eo.epoch", E},
        {"eo.seq", S(1)},
        {"eo.size", "5"},
        {"eo.crc", fmt::format("{:08X}", SimpleCrc32c("valid"))},
        {"eo.trace", "kept"}},
       "valid", "k9");  // delivered, upper-case crc
  send({{"eo.producer", id}, {"eo.epoch", E}, {"eo.seq", S(2)}, {"eo.crc", crc("other")}}, "wrong crc");  // corrupt
  send({{"eo.producer", id},
        {"eo.epoch", E},
        {"eo.seq", S(3)},
        {"eo.chunk", "0/2"},
        {"eo.size", "8"},
        {"eo.crc", crc("abcdefgX")}},
       "abcd");
  send({{"eo.producer", id},
        {"eo.epoch", E},
        {"eo.seq", S(3)},
        {"eo.chunk", "1/2"},
        {"eo.size", "8"},
        {"eo.crc", crc("abcdefgX")}},
       "efgh");  // both chunks corrupt
  const std::string hw = crc("hello world");
  send({{"eo.producer", id},
        {"eo.epoch", E},
        {"eo.seq", S(4)},
        {"eo.chunk", "0/2"},
        {"eo.size", "11"},
        {"eo.crc", hw},
        {"app", "hostile"}},
       "hello ", "k12");
  send({{"eo.producer", id}, {"eo.epoch", E}, {"eo.seq", S(4)}, {"eo.chunk", "1/3"}, {"eo.size", "11"}, {"eo.crc", hw}},
       "world");  // malformed: N differs, P kept
  send({{"eo.producer", id}, {"eo.epoch", E}, {"eo.seq", S(4)}, {"eo.chunk", "1/2"}, {"eo.size", "11"}, {"eo.crc", hw}},
       "world");  // completes "hello world"
  send({{"eo.producer", id},
        {"eo.epoch", E},
        {"eo.seq", S(5)},
        {"eo.chunk", "0/3"},
        {"eo.size", "9"},
        {"eo.crc", crc("aaabbbccc")}},
       "aaa");                                                                      // to be abandoned
  send({{"eo.producer", id}, {"eo.epoch", E}, {"eo.seq", S(6)}}, "after abandon");  // abandons S(5)
  send({{"eo.producer", id}, {"eo.epoch", E}, {"eo.seq", S(6)}}, "after abandon");  // duplicate
  send({{"eo.producer", id}, {"eo.epoch", E}, {"eo.seq", S(4)}}, "late");           // late
  send({{"eo.producer", id},
        {"eo.epoch", E},
        {"eo.seq", S(7)},
        {"eo.chunk", "0/2"},
        {"eo.size", "3"},
        {"eo.crc", crc("xyz")}},
       std::nullopt);  // a null value is an empty chunk
  send({{"eo.producer", id},
        {"eo.epoch", E},
        {"eo.seq", S(7)},
        {"eo.chunk", "1/2"},
        {"eo.size", "3"},
        {"eo.crc", crc("xyz")}},
       "xyz");
  send({}, std::nullopt);  // unstamped, null value: passes
  send({{"eo.producer", id}, {"eo.epoch", std::to_string(e + 1)}, {"eo.seq", "0"}}, "new epoch");
  send({{"eo.producer", id}, {"eo.epoch", E}, {"eo.seq", S(8)}}, "stale");  // fenced by the new epoch
  hostile_epoch_[pi] = e + 1;
  hostile_seq_[pi] = 0;
  ++stats_.hostile_batches;
  Status flushed = producer->Flush(60s);
  (void)producer->Close(10s);
  if (!failed.ok()) stats_.notes.push_back("hostile produce: " + failed.ToString());
  if (!flushed.ok()) stats_.notes.push_back("hostile flush: " + flushed.ToString());
  return Status::OK();
}

}  // namespace exactly::torture

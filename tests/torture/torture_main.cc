// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// exactly-torture: the seeded torture run behind the word "exactly".
//
// It starts exactly-broker (librdkafka's mock cluster, several brokers) as a
// process, keeps stamped producers running as exactly-produce processes
// (retried windows, gaps, a producer SIGKILLed inside a chunked message and
// restarted with a bumped epoch, a zombie under the old epoch) plus hostile
// records, injects broker faults through exactly-broker's stdin (brokers
// down and up, leader moves, retriable Produce / Fetch / OffsetCommit
// errors, latency), and SIGKILLs exactly-relay at random instants, again
// and again, restarting it on the same state directory. At the end a last
// relay drains the input; the input, output and dead-letter topics are read
// back in full, and the output, deduplicated by the relay's stamps, must
// equal what an independent model of DESIGN.md §3 (reference.h) derives
// from the input actually in the topic: nothing missing, nothing extra, no
// output producer out of order, identical bytes, and every rejected input
// record in the dead-letter topic.
//
// Every random choice (messages, producer actions, faults, kill instants)
// comes from the seed printed first; the interleaving of processes is
// the operating system's, so a seed reproduces the schedule, not the exact
// timing. Exit status: 0 everything matched, 1 a mismatch (the first few are
// printed), 2 the run itself could not be carried out.

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "exactly/kafka/consumer.h"
#include "broker_faults.h"
#include "process.h"
#include "seed.h"
#include "reference.h"
#include "verify.h"
#include "workload.h"

#ifndef EXACTLY_TORTURE_BIN_DIR
#define EXACTLY_TORTURE_BIN_DIR ""
#endif

namespace exactly::torture {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

std::atomic<bool> g_interrupted{false};
void OnSignal(int) { g_interrupted.store(true); }

constexpr const char* kInput = "torture-in";
constexpr const char* kOutput = "torture-out";
constexpr const char* kDeadLetters = "torture-dlq";
constexpr const char* kGroup = "torture-relay";
constexpr const char* kRelayId = "torture";
constexpr std::int32_t kInputPartitions = 4;
constexpr std::int32_t kOutputPartitions = 4;
constexpr std::int32_t kDeadLetterPartitions = 2;

struct Options {
  std::uint64_t seed = 0;
  bool seed_given = false;
  int relay_kills = 12;
  int brokers = 3;
  std::string bin_dir = EXACTLY_TORTURE_BIN_DIR;
  std::string work_dir;
  bool keep = false;
  std::int64_t round_pause_ms = 1000;
  int max_batch = 30;
  double producer_kill_probability = 0.3;
  std::uint64_t relay_message_max_bytes = 0;
  std::vector<std::string> relay_producer_props;
  std::vector<std::string> relay_args;
  double blind_kill_fraction = 0.2;
  std::int64_t active_kill_max_ms = 2500;
  std::int64_t fault_min_ms = 300, fault_max_ms = 2500;
  std::string faults = "down,leader,produce,fetch,commit,rtt";
  std::int64_t time_limit_s = 0;
};

const char* kUsage = R"(Usage: exactly-torture [options]
  --seed N                 seed of every random choice (default: random, printed)
  --relay-kills N          SIGKILLs of exactly-relay before the final drain (default 12)
  --brokers N              brokers of the mock cluster (default 3)
  --faults LIST            comma-separated fault kinds: down,leader,produce,fetch,commit,rtt
                           (default all; "none" for none)
  --fault-min-ms/--fault-max-ms MS  pause between faults (default 300..2500)
  --round-pause-ms MS      mean pause between producer rounds (default 1000)
  --max-batch N            largest batch of new messages per producer and round (default 30)
  --producer-kill-probability F  chance per round that the restarted producer is SIGKILLed
                           inside a large chunked message (default 0.3)
  --blind-kill-fraction F  kills at a random instant from start, before or during the
                           group join (default 0.2); the others come 0..--active-kill-max-ms
                           (default 2500) after the relay reports its assignment
  --relay-message-max-bytes N  message.max.bytes of the relay's producer (default: librdkafka's),
                           e.g. 20000 to have the relay re-chunk the larger messages
  --relay-producer-X K=V   extra librdkafka property of the relay's producer (repeatable)
  --relay-arg ARG          extra exactly-relay argument (repeatable), e.g.
                           --relay-arg --flush-timeout-ms=800 so that outages fail checkpoints (rewinds)
  --bin-dir DIR            where exactly-broker, exactly-produce, exactly-relay are
  --work-dir DIR           logs and state (default: a new /tmp/exactly-torture-* directory,
                           removed after a successful run unless --keep)
  --time-limit-s S         give up (exit 2) past S seconds (default: none)
)";

Result<Options> ParseOptions(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--keep") {
      o.keep = true;
      continue;
    }
    if (i + 1 >= argc) return Status::InvalidArgument(fmt::format("{} needs a value\n{}", a, kUsage));
    const std::string v = argv[++i];
    auto num = [&](auto& out) -> Status {
      auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
      if (ec != std::errc() || p != v.data() + v.size())
        return Status::InvalidArgument(fmt::format("{} {}: not a number", a, v));
      return Status::OK();
    };
    Status st;
    if (a == "--seed") {
      st = num(o.seed);
      o.seed_given = true;
    } else if (a == "--relay-kills") {
      st = num(o.relay_kills);
    } else if (a == "--brokers") {
      st = num(o.brokers);
    } else if (a == "--faults") {
      o.faults = v;
    } else if (a == "--fault-min-ms") {
      st = num(o.fault_min_ms);
    } else if (a == "--fault-max-ms") {
      st = num(o.fault_max_ms);
    } else if (a == "--round-pause-ms") {
      st = num(o.round_pause_ms);
    } else if (a == "--max-batch") {
      st = num(o.max_batch);
    } else if (a == "--relay-producer-X") {
      o.relay_producer_props.push_back(v);
    } else if (a == "--relay-arg") {
      o.relay_args.push_back(v);
    } else if (a == "--relay-message-max-bytes") {
      st = num(o.relay_message_max_bytes);
    } else if (a == "--producer-kill-probability") {
      o.producer_kill_probability = std::atof(v.c_str());
    } else if (a == "--blind-kill-fraction") {
      o.blind_kill_fraction = std::atof(v.c_str());
    } else if (a == "--active-kill-max-ms") {
      st = num(o.active_kill_max_ms);
    } else if (a == "--bin-dir") {
      o.bin_dir = v;
    } else if (a == "--work-dir") {
      o.work_dir = v;
    } else if (a == "--time-limit-s") {
      st = num(o.time_limit_s);
    } else {
      return Status::InvalidArgument(fmt::format("unknown option {}\n{}", a, kUsage));
    }
    if (!st.ok()) return st;
  }
  if (o.brokers < 1 || o.max_batch < 1 || o.round_pause_ms < 1 || o.fault_min_ms > o.fault_max_ms ||
      o.relay_kills < 0) {
    return Status::InvalidArgument("out-of-range option");
  }
  return o;
}

void Log(const std::string& line) {
  std::fprintf(stderr, "torture: %s\n", line.c_str());
  std::fflush(stderr);
}

std::string Slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string Tail(const std::string& text, std::size_t lines) {
  if (text.empty()) return text;  // (substr(1) below would throw)
  std::size_t pos = text.size();
  for (std::size_t n = 0; n <= lines && pos > 0; ++n) {
    pos = text.rfind('\n', pos - 1);
    if (pos == std::string::npos) return text;
  }
  return text.substr(pos + 1);
}

// True once the relay's log reports an assignment of at least one partition.
bool Assigned(const std::string& log) {
  for (std::size_t at = log.find("assigned "); at != std::string::npos; at = log.find("assigned ", at + 1)) {
    std::size_t p = at + 9;
    if (p < log.size() && log[p] >= '1' && log[p] <= '9') return true;
  }
  return false;
}

struct RelayStats {
  int kills = 0, blind_kills = 0, active_kills = 0, own_exits = 0, never_assigned = 0;
  std::vector<double> assign_seconds;
  std::vector<std::string> notes;
};

std::vector<std::string> RelayArgs(const Options& o, const std::string& bootstraps, const std::string& state_dir,
                                   std::int64_t interval_ms, std::uint64_t checkpoint_records) {
  std::vector<std::string> a = {o.bin_dir + "/exactly-relay",
                                "--brokers",
                                bootstraps,
                                "--group",
                                kGroup,
                                "--input",
                                kInput,
                                "--output",
                                kOutput,
                                "--dlq",
                                kDeadLetters,
                                "--state-dir",
                                state_dir,
                                "--relay-id",
                                kRelayId,
                                "--checkpoint-interval-ms",
                                std::to_string(interval_ms),
                                "--status-interval-ms",
                                "0",
                                "--consumer-X",
                                "session.timeout.ms=6000",
                                "--consumer-X",
                                "fetch.wait.max.ms=10",
                                "-X",
                                "reconnect.backoff.max.ms=500",
                                "--producer-X",
                                "linger.ms=5",
                                "--producer-X",
                                "compression.type=lz4"};
  if (o.relay_message_max_bytes > 0) {
    a.insert(a.end(), {"--producer-X", fmt::format("message.max.bytes={}", o.relay_message_max_bytes)});
  }
  for (const auto& kv : o.relay_producer_props) a.insert(a.end(), {"--producer-X", kv});
  a.insert(a.end(), o.relay_args.begin(), o.relay_args.end());
  if (checkpoint_records > 0) a.insert(a.end(), {"--checkpoint-records", std::to_string(checkpoint_records)});
  return a;
}

double Mean(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return v.empty() ? 0 : s / static_cast<double>(v.size());
}

int Main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::string_view(argv[i]) == "--help" || std::string_view(argv[i]) == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    }
  }
  auto parsed = ParseOptions(argc, argv);
  if (!parsed.ok()) {
    std::fprintf(stderr, "%s\n", std::string(parsed.status().message()).c_str());
    return 2;
  }
  Options o = *parsed;
  if (!o.seed_given) o.seed = std::random_device{}() ^ (static_cast<std::uint64_t>(std::random_device{}()) << 32);
  const auto started = Clock::now();
  std::signal(SIGPIPE, SIG_IGN);
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);

  if (o.work_dir.empty()) {
    std::string tmpl = (fs::temp_directory_path() / "exactly-torture-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) {
      Log("cannot create a work directory");
      return 2;
    }
    o.work_dir = tmpl;
  } else {
    fs::create_directories(o.work_dir);
  }
  Log(fmt::format("seed {} (reproduce the schedule with --seed {}), {} relay kills, work dir {}", o.seed, o.seed,
                  o.relay_kills, o.work_dir));
  auto infra = [&](const Status& st) {
    Log(fmt::format("could not carry out the run (seed {}): {}; logs kept in {}", o.seed, st.ToString(), o.work_dir));
    return 2;
  };
  auto over_time = [&] {
    return g_interrupted.load() ||
           (o.time_limit_s > 0 && Clock::now() - started > std::chrono::seconds(o.time_limit_s));
  };

  Broker broker;
  const std::vector<TopicSpec> topics = {
      {kInput, kInputPartitions}, {kOutput, kOutputPartitions}, {kDeadLetters, kDeadLetterPartitions}};
  if (Status st = broker.Start(o.bin_dir + "/exactly-broker", o.brokers, topics, o.work_dir + "/broker.log");
      !st.ok()) {
    return infra(st);
  }
  Log(fmt::format("broker at {}", broker.bootstraps()));

  std::mt19937_64 kill_rng(MixSeed(o.seed ^ 0x6b696c6cull));
  auto uniform = [&](std::int64_t lo, std::int64_t hi) {
    return lo + static_cast<std::int64_t>(kill_rng() % static_cast<std::uint64_t>(hi - lo + 1));
  };
  const std::string state_dir = o.work_dir + "/relay-state";

  WorkloadOptions wo;
  wo.produce_bin = o.bin_dir + "/exactly-produce";
  wo.bootstraps = broker.bootstraps();
  wo.topic = kInput;
  wo.partitions = kInputPartitions;
  wo.work_dir = o.work_dir;
  wo.seed = o.seed;
  wo.round_pause = std::chrono::milliseconds(o.round_pause_ms);
  wo.max_batch = o.max_batch;
  wo.producer_kill_probability = o.producer_kill_probability;
  Workload workload(wo);
  std::atomic<bool> stop_workload{false}, stop_faults{false};
  Status workload_status;
  std::thread workload_thread([&] { workload_status = workload.Run(stop_workload); });
  FaultStats faults;
  FaultOptions fo{o.faults, o.fault_min_ms, o.fault_max_ms, o.brokers, topics, o.seed};
  std::thread fault_thread([&] { RunFaults(broker, fo, stop_faults, faults); });
  auto stop_threads = [&] {
    stop_workload.store(true);
    stop_faults.store(true);
    if (workload_thread.joinable()) workload_thread.join();
    if (fault_thread.joinable()) fault_thread.join();
  };

  // Kill, restart, kill: each incarnation of the relay on the same state.
  RelayStats rs;
  for (int incarnation = 0; rs.kills < o.relay_kills; ++incarnation) {
    if (over_time()) {
      stop_threads();
      return infra(Status::TimedOut(fmt::format("interrupted or over the time limit after {} kills", rs.kills)));
    }
    static const std::int64_t kIntervals[] = {50, 100, 250, 500, 1000};
    const std::int64_t interval = kIntervals[kill_rng() % 5];
    const std::uint64_t records = kill_rng() % 3 == 0 ? static_cast<std::uint64_t>(uniform(20, 400)) : 0;
    const bool blind = std::uniform_real_distribution<double>(0, 1)(kill_rng) < o.blind_kill_fraction;
    const std::int64_t blind_ms = uniform(0, 7000), active_ms = uniform(0, o.active_kill_max_ms);
    const std::string log = fmt::format("{}/relay-{}.log", o.work_dir, incarnation);
    SpawnSpec spec;
    spec.argv = RelayArgs(o, broker.bootstraps(), state_dir, interval, records);
    spec.stderr_file = log;
    auto relay = Child::Spawn(spec);
    if (!relay.ok()) {
      stop_threads();
      return infra(relay.status());
    }
    const auto spawned = Clock::now();
    std::optional<ExitInfo> exited;
    if (blind) {
      exited = relay->WaitFor(std::chrono::milliseconds(blind_ms));
    } else {
      const auto deadline = spawned + 40s;
      bool assigned = false;
      while (!exited && Clock::now() < deadline && !g_interrupted.load()) {
        if (Assigned(Slurp(log))) {
          assigned = true;
          break;
        }
        exited = relay->WaitFor(20ms);
      }
      if (assigned) {
        rs.assign_seconds.push_back(std::chrono::duration<double>(Clock::now() - spawned).count());
        exited = relay->WaitFor(std::chrono::milliseconds(active_ms));
      } else if (!exited) {
        ++rs.never_assigned;
      }
    }
    if (exited) {
      ++rs.own_exits;
      rs.notes.push_back(fmt::format("relay incarnation {} exited by itself ({}): {}", incarnation, exited->ToString(),
                                     Tail(Slurp(log), 3)));
      Log(rs.notes.back());
      if (rs.own_exits > 20) {
        stop_threads();
        return infra(Status::Internal("exactly-relay keeps exiting by itself"));
      }
      continue;
    }
    relay->Signal(SIGKILL);
    relay->Wait();
    ++rs.kills;
    ++(blind ? rs.blind_kills : rs.active_kills);
    if (rs.kills % 10 == 0) {
      Log(fmt::format("{} relay kills, {} faults, {} producer rounds, {:.0f} s", rs.kills, faults.total,
                      workload.stats().rounds, std::chrono::duration<double>(Clock::now() - started).count()));
    }
  }

  // Drain: no more input, no more faults, then one relay runs to the end.
  stop_threads();
  if (!workload_status.ok()) return infra(workload_status.WithContext("workload"));
  if (!faults.error.ok()) return infra(faults.error.WithContext("faults"));
  for (int b = 1; b <= o.brokers; ++b) {
    for (const std::string& cmd : {fmt::format("up {}", b), fmt::format("rtt {} 0", b)}) {
      if (Status st = broker.Command(cmd); !st.ok()) return infra(st);
    }
  }
  for (const char* api : {"Produce", "Fetch", "OffsetCommit"}) {
    if (Status st = broker.Command(fmt::format("clear {}", api)); !st.ok()) return infra(st);
  }
  Log(fmt::format("{} relay kills done; draining with a last relay", rs.kills));
  const std::string final_log = o.work_dir + "/relay-final.log";
  SpawnSpec spec;
  spec.argv = RelayArgs(o, broker.bootstraps(), state_dir, 200, 0);
  spec.stderr_file = final_log;
  auto final_relay = Child::Spawn(spec);
  if (!final_relay.ok()) return infra(final_relay.status());
  {
    auto watcher = kafka::Consumer::Create(
        kafka::KafkaConfig{{"bootstrap.servers", broker.bootstraps()}, {"log_level", "2"}, {"group.id", kGroup}});
    if (!watcher.ok()) return infra(watcher.status());
    std::vector<TopicPartition> tps;
    for (std::int32_t p = 0; p < kInputPartitions; ++p) tps.push_back({Topic(kInput), Partition(p)});
    const auto deadline = Clock::now() + 300s;
    while (true) {
      if (Clock::now() > deadline || over_time()) {
        return infra(Status::TimedOut("the last relay did not commit the end of the input in time"));
      }
      if (auto e = final_relay->TryWait()) {
        return infra(
            Status::Internal(fmt::format("the last relay exited ({}): {}", e->ToString(), Tail(Slurp(final_log), 5))));
      }
      // The last incarnation may already have committed the end: wait for
      // this relay's assignment too, or the SIGTERM below can land before
      // it has even installed its handlers (exec and library loading take
      // a while on a loaded machine), and it dies of the default action.
      bool done = Assigned(Slurp(final_log));
      auto committed = watcher->Committed(tps, 5s);
      if (!committed.ok()) {
        done = false;
      } else {
        for (const auto& c : *committed) {
          auto wm = watcher->QueryWatermarks(c.tp, 5s);
          if (!wm.ok() || c.offset.value() != wm->high.value()) done = false;
        }
      }
      if (done) break;
      std::this_thread::sleep_for(200ms);
    }
    (void)watcher->Close(5s);
  }
  final_relay->Signal(SIGTERM);
  auto final_exit = final_relay->WaitFor(90s);
  if (!final_exit || final_exit->signaled || final_exit->code != 0) {
    return infra(Status::Internal(fmt::format("the last relay did not stop cleanly on SIGTERM ({}): {}",
                                              final_exit ? final_exit->ToString() : "still running",
                                              Tail(Slurp(final_log), 5))));
  }

  // Read everything back and judge.
  auto input = ReadWholeTopic(broker.bootstraps(), kInput, kInputPartitions, 180s);
  if (!input.ok()) return infra(input.status().WithContext("reading the input topic"));
  auto output = ReadWholeTopic(broker.bootstraps(), kOutput, kOutputPartitions, 180s);
  if (!output.ok()) return infra(output.status().WithContext("reading the output topic"));
  auto dead = ReadWholeTopic(broker.bootstraps(), kDeadLetters, kDeadLetterPartitions, 180s);
  if (!dead.ok()) return infra(dead.status().WithContext("reading the dead-letter topic"));
  const ReferenceResult ref = RunReference(*input, 100000);
  const Verdict v = Judge(ref, *output, *dead, kRelayId, kInput, 0);
  broker.child().Signal(SIGTERM);
  (void)broker.child().WaitFor(10s);

  // Failed output deliveries make the relay rewind to its last checkpoint;
  // count them from the relay's logs (one per life, plus the last).
  std::uint64_t rewinds = 0;
  for (const auto& entry : fs::directory_iterator(o.work_dir)) {
    if (!entry.path().filename().string().starts_with("relay-")) continue;
    const std::string text = Slurp(entry.path().string());
    for (auto at = text.find("rewinding to the last checkpoint"); at != std::string::npos;
         at = text.find("rewinding to the last checkpoint", at + 1)) {
      ++rewinds;
    }
  }
  const double wall = std::chrono::duration<double>(Clock::now() - started).count();
  const WorkloadStats& ws = workload.stats();
  std::string fault_kinds;
  for (const auto& [k, n] : faults.by_kind)
    fault_kinds += fmt::format("{}{} {}", fault_kinds.empty() ? "" : ", ", k, n);
  std::uint64_t input_bytes = 0;
  for (const auto& r : *input) input_bytes += r.value ? r.value->size() : 0;
  Log(
      fmt::format("producers: {} rounds, {} runs ({} failed), {} retried windows, {} gaps, {} producer kills "
                  "({} inside a chunked message), {} restarts, {} zombie runs, {} hostile batches ({} records)",
                  ws.rounds, ws.producer_runs, ws.producer_failures, ws.retried_windows, ws.gaps, ws.producer_kills,
                  ws.kills_mid_message, ws.restarted_runs, ws.zombie_runs, ws.hostile_batches, ws.hostile_records));
  for (const auto& n : ws.notes) Log("  " + n);
  Log(
      fmt::format("input: {} records, {} payload bytes; reference: {} messages ({} chunked), {} unstamped, {} "
                  "malformed, {} corrupt, {} abandoned, {} stale, {} duplicates, {} duplicate chunks, {} gaps, "
                  "{} still incomplete",
                  ref.records, input_bytes, ref.messages.size(), ref.chunked_delivered, ref.unstamped, ref.malformed,
                  ref.corrupt, ref.abandoned, ref.stale, ref.duplicates, ref.duplicate_chunks, ref.gaps, ref.pending));
  Log(
      fmt::format("relay: {} kills ({} blind, {} after assignment), {} exits on its own, {} never assigned; "
                  "restart to assignment {:.1f} s mean; {} rewinds after failed deliveries; output {} records, {} "
                  "messages, {} repeats dropped; "
                  "faults: {}",
                  rs.kills, rs.blind_kills, rs.active_kills, rs.own_exits, rs.never_assigned, Mean(rs.assign_seconds),
                  rewinds, v.output_records, v.output_messages, v.repeats, fault_kinds.empty() ? "none" : fault_kinds));
  for (const auto& n : rs.notes) Log("  " + n);
  for (const auto& e : v.examples) Log("  " + e);
  std::printf(
      "torture: seed=%llu kills=%d faults=%llu input_records=%llu expected=%llu delivered=%llu missing=%llu "
      "extra=%llu reordered=%llu differing=%llu invalid=%llu dead_lettered=%llu/%llu dead_letter_missing=%llu "
      "dead_letter_unexpected=%llu dead_letter_differing=%llu wall=%.0fs %s\n",
      static_cast<unsigned long long>(o.seed), rs.kills, static_cast<unsigned long long>(faults.total),
      static_cast<unsigned long long>(ref.records), static_cast<unsigned long long>(v.expected),
      static_cast<unsigned long long>(v.delivered), static_cast<unsigned long long>(v.missing),
      static_cast<unsigned long long>(v.extra), static_cast<unsigned long long>(v.reordered),
      static_cast<unsigned long long>(v.differing), static_cast<unsigned long long>(v.invalid),
      static_cast<unsigned long long>(v.dead_lettered), static_cast<unsigned long long>(ref.rejected.size()),
      static_cast<unsigned long long>(v.dead_letter_missing), static_cast<unsigned long long>(v.dead_letter_unexpected),
      static_cast<unsigned long long>(v.dead_letter_differing), wall, v.ok() ? "OK" : "MISMATCH");
  std::fflush(stdout);
  if (!v.ok()) {
    Log(fmt::format("logs kept in {}", o.work_dir));
    return 1;
  }
  if (!o.keep) {
    std::error_code ec;
    fs::remove_all(o.work_dir, ec);
  }
  return 0;
}

}  // namespace
}  // namespace exactly::torture

int main(int argc, char** argv) { return exactly::torture::Main(argc, argv); }

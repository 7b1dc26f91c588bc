// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
#include "exactly/testing/replay_harness.h"

#include <fmt/format.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include "exactly/checkpoint_store.h"
#include "exactly/testing/checkpointed_engine.h"

namespace exactly::testing {
namespace {

// A fresh temporary state directory, removed with this object.
class ScratchDir {
 public:
  ~ScratchDir() {
    if (!path_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(path_, ec);
    }
  }
  Status Create() {
    std::error_code ec;
    std::string tmpl = (std::filesystem::temp_directory_path(ec) / "exactly-harness-XXXXXX").string();
    if (ec) tmpl = "/tmp/exactly-harness-XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) return Status::IoError(fmt::format("mkdtemp {}", tmpl));
    path_ = tmpl;
    return Status::OK();
  }
  const std::string& path() const noexcept { return path_; }

 private:
  std::string path_;
};

OwnedRecord ToRecord(const Message& m) {
  RecordView v;
  v.topic = m.topic;
  v.partition = m.partition;
  v.offset = m.offset;
  v.timestamp = m.timestamp;
  v.key = m.key;
  v.value = m.value;
  v.headers = m.headers;
  return OwnedRecord::FromView(v);
}

void Normalize(PartitionState& s, std::int64_t ttl_ms) {
  std::set<std::string, std::less<>> busy;
  for (const InProgressState& ip : s.in_progress) busy.insert(ip.header.producer);
  const std::int64_t max_ts = s.max_timestamp.value();
  std::erase_if(s.producers, [&](const ProducerState& p) {
    return !busy.contains(p.producer) && max_ts - p.last_seen.value() > ttl_ms;
  });
  std::sort(s.producers.begin(), s.producers.end(),
            [](const ProducerState& a, const ProducerState& b) { return a.producer < b.producer; });
  std::sort(s.in_progress.begin(), s.in_progress.end(), [](const InProgressState& a, const InProgressState& b) {
    return std::tie(a.header.producer, a.header.stamp) < std::tie(b.header.producer, b.header.stamp);
  });
}

std::string Describe(const std::optional<std::string>& v) {
  if (!v) return "(absent)";
  std::string s;
  AppendJsonString(s, *v);
  return s;
}

std::string Describe(const std::optional<EpochSeq>& w) {
  return w ? fmt::format("({}, {})", w->epoch.value(), w->seq.value()) : "(none)";
}

// The first difference between two runs, in words; empty if none.
std::string Difference(const ReplayRun& want, const ReplayRun& got) {
  for (const auto& [key, value] : want.committed) {
    const auto it = got.committed.find(key);
    const std::optional<std::string> other = it == got.committed.end() ? std::nullopt : std::optional(it->second);
    if (other != value) {
      return fmt::format("app key {}: crash-free run committed {}, this run {}", Describe(key), Describe(value),
                         Describe(other));
    }
  }
  for (const auto& [key, value] : got.committed) {
    if (!want.committed.contains(key)) {
      return fmt::format("app key {}: crash-free run committed nothing, this run {}", Describe(key), Describe(value));
    }
  }
  for (const auto& [tp, want_p] : want.partitions) {
    const auto it = got.partitions.find(tp);
    if (it == got.partitions.end()) return fmt::format("partition {} missing from this run's checkpoint", tp);
    const CheckpointedPartition& got_p = it->second;
    if (want_p == got_p) continue;
    if (want_p.next_offset != got_p.next_offset) {
      return fmt::format("partition {}: next offset {} in the crash-free run, {} in this run", tp,
                         want_p.next_offset.value(), got_p.next_offset.value());
    }
    const auto& wp = want_p.state.producers;
    const auto& gp = got_p.state.producers;
    for (std::size_t i = 0; i < std::max(wp.size(), gp.size()); ++i) {
      if (i >= wp.size() || i >= gp.size() || !(wp[i] == gp[i])) {
        return fmt::format("partition {}: producer {} has watermark {} in the crash-free run, {} in this run", tp,
                           i < wp.size() ? wp[i].producer : gp[i].producer,
                           i < wp.size() ? Describe(wp[i].watermark) : "(absent)",
                           i < gp.size() ? Describe(gp[i].watermark) : "(absent)");
      }
    }
    return fmt::format("partition {}: engine state differs ({} vs {} messages in progress, max timestamp {} vs {})", tp,
                       want_p.state.in_progress.size(), got_p.state.in_progress.size(),
                       want_p.state.max_timestamp.value(), got_p.state.max_timestamp.value());
  }
  for (const auto& [tp, p] : got.partitions) {
    if (!want.partitions.contains(tp)) return fmt::format("partition {} only in this run's checkpoint", tp);
  }
  return {};
}

Status CollectFinalState(const CheckpointStore& store, const ReplayHarnessOptions& options, ReplayRun& run) {
  EXACTLY_RETURN_IF_ERROR(store.ScanApp(options.app, "", [&](std::string_view k, std::string_view v) {
    run.committed.emplace(std::string(k), std::string(v));
    return true;
  }));
  auto tps = store.ListPartitions();
  if (!tps.ok()) return tps.status();
  for (const TopicPartition& tp : *tps) {
    auto loaded = store.Load(tp);
    if (!loaded.ok()) return loaded.status();
    if (!loaded->has_value()) continue;
    CheckpointedPartition cp{(*loaded)->next_offset, std::move((*loaded)->state)};
    Normalize(cp.state, options.engine.producer_ttl_ms);
    run.partitions.emplace(tp.ToString(), std::move(cp));
  }
  return Status::OK();
}

}  // namespace

Result<std::vector<OwnedRecord>> ReadRecordedLog(const std::string& path, const RecordedLogOptions& options) {
  auto reader = RecordedLogReader::Open(path, options);
  if (!reader.ok()) return reader.status();
  std::vector<OwnedRecord> out;
  for (;;) {
    RecordView v;
    auto next = (*reader)->Next(&v);
    if (!next.ok()) return next.status();
    if (!*next) return out;
    out.push_back(OwnedRecord::FromView(v));
  }
}

Result<ReplayRun> RunReplay(const std::vector<OwnedRecord>& log, const MessageHandler& handler,
                            const ReplayHarnessOptions& options) {
  EXACTLY_RETURN_IF_ERROR(options.engine.Validate());
  {
    // Resuming skips by offset, which is only sound in Kafka's order.
    OffsetOrderCheck order;
    std::uint64_t pos = 0;
    for (const OwnedRecord& r : log) EXACTLY_RETURN_IF_ERROR(order.Check(r.view(), "<log>", ++pos));
  }
  ScratchDir scratch;
  std::string dir = options.state_dir;
  if (dir.empty()) {
    EXACTLY_RETURN_IF_ERROR(scratch.Create());
    dir = scratch.path();
  }
  std::set<std::uint64_t> crash_points(options.crash_after.begin(), options.crash_after.end());
  if (options.crash_every > 0) {
    for (std::uint64_t p = options.crash_every; p <= log.size(); p += options.crash_every) crash_points.insert(p);
  }
  StoreOptions store_options;
  store_options.sync = false;  // a simulated crash loses no OS buffers; atomicity is what matters
  store_options.background_fold = false;

  ReplayRun run;
  std::uint64_t frontier = 0;  // furthest log position processed so far
  for (;;) {
    auto store = CheckpointStore::Open(dir, store_options);
    if (!store.ok()) return store.status();
    CheckpointedEngine engine(options.engine, nullptr, store->get());
    auto txn = (*store)->BeginApp(options.app);
    if (!txn.ok()) return txn.status();
    std::uint64_t since_checkpoint = 0;
    bool crashed = false;
    for (std::size_t i = 0; i < log.size() && !crashed; ++i) {
      const RecordView view = log[i].view();
      auto admit = engine.Admit(view);
      if (!admit.ok()) return admit.status();
      if (!*admit) continue;
      Status handler_status;
      engine.Process(view, [&](const Message& m) {
        run.handled.push_back(ToRecord(m));
        if (handler_status.ok()) handler_status = handler(m, *txn);
      });
      if (!handler_status.ok()) {
        return handler_status.WithContext(
            fmt::format("handler, message at {}[{}] offset {}", view.topic, view.partition.value(), view.offset.value()));
      }
      const std::uint64_t pos = i + 1;
      if (pos > frontier) {
        frontier = pos;
        if (crash_points.contains(pos)) {
          crashed = true;  // before any checkpoint this record would trigger
          continue;
        }
      }
      if (options.checkpoint_every > 0 && ++since_checkpoint == options.checkpoint_every) {
        since_checkpoint = 0;
        EXACTLY_RETURN_IF_ERROR(engine.Checkpoint(&*txn));
        txn = (*store)->BeginApp(options.app);
        if (!txn.ok()) return txn.status();
      }
    }
    run.counters += engine.engine().counters();
    if (crashed) {
      // Drop the engine, the open transaction and the store, as SIGKILL does.
      run.checkpoints += engine.checkpoints();
      ++run.crashes;
      continue;
    }
    EXACTLY_RETURN_IF_ERROR(engine.Checkpoint(&*txn));
    run.checkpoints += engine.checkpoints();
    EXACTLY_RETURN_IF_ERROR(CollectFinalState(**store, options, run));
    return run;
  }
}

Result<ReplayRun> RunReplay(const std::string& log_path, const MessageHandler& handler,
                            const ReplayHarnessOptions& options) {
  auto log = ReadRecordedLog(log_path, options.log);
  if (!log.ok()) return log.status();
  return RunReplay(*log, handler, options);
}

Status CheckCrashConsistency(const std::vector<OwnedRecord>& log, const MessageHandler& handler,
                             const ReplayHarnessOptions& options, const std::vector<std::uint64_t>& crash_every) {
  ReplayHarnessOptions clean = options;
  clean.state_dir.clear();  // every run gets a fresh directory
  clean.crash_every = 0;
  clean.crash_after.clear();
  auto want = RunReplay(log, handler, clean);
  if (!want.ok()) return want.status().WithContext("crash-free run");
  std::vector<std::uint64_t> schedules = crash_every;
  if (schedules.empty()) schedules.push_back(0);  // only options.crash_after
  for (std::uint64_t k : schedules) {
    ReplayHarnessOptions crashy = options;
    crashy.crash_every = k;
    crashy.state_dir.clear();
    auto got = RunReplay(log, handler, crashy);
    if (!got.ok()) return got.status().WithContext(fmt::format("run crashing every {} records", k));
    const std::string diff = Difference(*want, *got);
    if (!diff.empty()) {
      return Status::Aborted(fmt::format("run crashing every {} records ({} crashes, checkpoint every {}): {}", k,
                                         got->crashes, options.checkpoint_every, diff));
    }
  }
  return Status::OK();
}

Status CheckCrashConsistency(const std::string& log_path, const MessageHandler& handler,
                             const ReplayHarnessOptions& options, const std::vector<std::uint64_t>& crash_every) {
  auto log = ReadRecordedLog(log_path, options.log);
  if (!log.ok()) return log.status();
  return CheckCrashConsistency(*log, handler, options, crash_every);
}

}  // namespace exactly::testing

// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
#include "commands.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "exactly/checkpoint_store.h"
#include "render.h"

namespace exactly::statetool {
namespace {

// The exit status that a store error maps to.
int ExitFor(const Status& s) {
  switch (s.code()) {
    case Code::kCorruption:
      return kExitCorrupt;
    case Code::kBusy:
      return kExitBusy;
    default:
      return kExitStore;
  }
}

int Fail(std::FILE* err, const Status& s, std::string_view what) {
  fmt::print(err, "exactly-state: {}: {}\n", what, s.ToString());
  return ExitFor(s);
}

class Session {
 public:
  Session(const StateToolOptions& o, std::FILE* out, std::FILE* err) : o_(o), out_(out), err_(err) {}

  int Run() {
    const bool writes = o_.command == Command::kForget || o_.command == Command::kSetOffset;
    StoreOptions so;
    so.create_if_missing = false;
    so.read_only = !writes;
    so.background_fold = false;  // a short-lived tool: fold only as Commit asks
    auto store = CheckpointStore::Open(o_.state_dir, so);
    if (!store.ok()) {
      const Status& s = store.status();
      if (s.code() == Code::kBusy) {
        fmt::print(err_,
                   "exactly-state: refusing to modify state directory {}: another process holds it (a running "
                   "relay?). Stop it first; reading commands (ls, show, dump, verify) work meanwhile.\n  {}\n",
                   o_.state_dir, s.ToString());
        return kExitBusy;
      }
      if (s.code() == Code::kNotFound) {
        fmt::print(err_, "exactly-state: no state directory at {} ({})\n", o_.state_dir, s.ToString());
        return kExitStore;
      }
      // The store's errors name the directory already.
      fmt::print(err_, "exactly-state: {}\n", s.ToString());
      return ExitFor(s);
    }
    store_ = std::move(*store);
    switch (o_.command) {
      case Command::kLs:
        return Ls();
      case Command::kShow:
        return Show();
      case Command::kDump:
        return Dump();
      case Command::kVerify:
        return Verify();
      case Command::kForget:
        return Forget();
      case Command::kSetOffset:
        return SetOffset();
    }
    return kExitUsage;
  }

 private:
  // Every partition, loaded; nullopt (after printing the error) on failure.
  std::optional<std::vector<std::pair<TopicPartition, LoadedPartition>>> LoadAll(int* status,
                                                                                 const LoadOptions& lo = {}) {
    auto tps = store_->ListPartitions();
    if (!tps.ok()) {
      *status = Fail(err_, tps.status(), "listing partitions");
      return std::nullopt;
    }
    std::vector<std::pair<TopicPartition, LoadedPartition>> all;
    for (const TopicPartition& tp : *tps) {
      auto p = store_->Load(tp, lo);
      if (!p.ok()) {
        *status = Fail(err_, p.status(), fmt::format("loading {}", Printable(tp.ToString())));
        return std::nullopt;
      }
      if (*p) all.emplace_back(tp, std::move(**p));
    }
    return all;
  }

  int Ls() {
    int status = kExitOk;
    auto all = LoadAll(&status);
    if (!all) return status;
    const StoreInfo info = store_->Info();
    fmt::print(out_, "state directory: {}\n", o_.state_dir);
    fmt::print(out_, "store: id {}, format {}, created by {}, last written by {}\n", info.store_id,
               info.format_version, Printable(info.created_by), Printable(info.written_by));
    if (info.last_checkpoint == 0) {
      fmt::print(out_, "last checkpoint: none\n");
    } else if (info.last_checkpoint_unix_ms <= 0) {
      fmt::print(out_, "last checkpoint: #{} (time not recorded)\n", info.last_checkpoint);
    } else {
      const std::int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count();
      fmt::print(out_, "last checkpoint: #{} at {} (age {})\n", info.last_checkpoint,
                 FormatUnixMs(info.last_checkpoint_unix_ms), FormatAge(now - info.last_checkpoint_unix_ms));
    }
    fmt::print(out_, "partitions: {}\n", all->size());
    if (all->empty()) return kExitOk;
    std::vector<std::vector<std::string>> rows;
    rows.push_back({"TOPIC", "PARTITION", "NEXT_OFFSET", "CHECKPOINT", "PRODUCERS", "IN_PROGRESS",
                    "IN_PROGRESS_BYTES"});
    for (const auto& [tp, p] : *all) {
      rows.push_back({Printable(tp.topic.name()), std::to_string(tp.partition.value()),
                      std::to_string(p.next_offset.value()), std::to_string(p.checkpoint),
                      std::to_string(p.state.producers.size()), std::to_string(p.state.in_progress.size()),
                      std::to_string(InProgressBytes(p.state))});
    }
    PrintTable(rows);
    return kExitOk;
  }

  int Show() {
    int status = kExitOk;
    // One producer: its state is a point read per partition, not a load of
    // every producer (except in a format-1 directory, read as it is).
    auto all = LoadAll(&status, LoadOptions{.producers = false});
    if (!all) return status;
    std::vector<std::vector<std::string>> rows;
    rows.push_back({"TOPIC", "PARTITION", "WATERMARK", "LAST_SEEN", "IN_PROGRESS"});
    for (auto& [tp, p] : *all) {
      auto fetched = store_->FetchProducer(tp, o_.producer);
      if (!fetched.ok() && fetched.status().code() == Code::kNotSupported) {
        auto full = store_->Load(tp);
        if (!full.ok()) return Fail(err_, full.status(), fmt::format("loading {}", Printable(tp.ToString())));
        if (*full) p = std::move(**full);
      } else if (!fetched.ok()) {
        return Fail(err_, fetched.status(), fmt::format("reading {}", Printable(tp.ToString())));
      } else if (*fetched) {
        p.state.producers.push_back(std::move(**fetched));
      }
      auto it = std::find_if(p.state.producers.begin(), p.state.producers.end(),
                             [&](const ProducerState& s) { return s.producer == o_.producer; });
      std::string messages;
      for (const InProgressState& m : p.state.in_progress) {
        if (m.header.producer != o_.producer) continue;
        if (!messages.empty()) messages += ' ';
        messages += fmt::format("{}/{}:{}of{}", m.header.stamp.epoch.value(), m.header.stamp.seq.value(),
                                m.chunks.size(), m.header.count);
      }
      if (it == p.state.producers.end() && messages.empty()) continue;
      std::string watermark = "-";
      std::string last_seen = "-";
      if (it != p.state.producers.end()) {
        if (it->watermark) watermark = fmt::format("{}/{}", it->watermark->epoch.value(), it->watermark->seq.value());
        last_seen = FormatUnixMs(it->last_seen.value());
      }
      rows.push_back({Printable(tp.topic.name()), std::to_string(tp.partition.value()), watermark, last_seen,
                      messages.empty() ? "-" : messages});
    }
    if (rows.size() == 1) {
      fmt::print(err_, "exactly-state: producer '{}' is not tracked in any partition of {}\n",
                 Printable(o_.producer), o_.state_dir);
      return kExitNotFound;
    }
    fmt::print(out_, "producer: {}\n", Printable(o_.producer));
    PrintTable(rows);
    fmt::print(out_, "(WATERMARK: last delivered epoch/seq; IN_PROGRESS: epoch/seq:chunks-received of chunks)\n");
    return kExitOk;
  }

  int Dump() {
    const StoreInfo info = store_->Info();
    std::string line = StoreJsonLine(o_.state_dir, info);
    std::fwrite(line.data(), 1, line.size(), out_);
    auto tps = store_->ListPartitions();
    if (!tps.ok()) return Fail(err_, tps.status(), "listing partitions");
    // One partition in memory at a time.
    for (const TopicPartition& tp : *tps) {
      auto p = store_->Load(tp);
      if (!p.ok()) return Fail(err_, p.status(), fmt::format("loading {}", Printable(tp.ToString())));
      if (!*p) continue;
      line = PartitionJsonLine(tp, **p);
      std::fwrite(line.data(), 1, line.size(), out_);
    }
    return std::fflush(out_) == 0 ? kExitOk : kExitStore;
  }

  int Verify() {
    Status s = store_->Verify();
    if (!s.ok()) {
      fmt::print(err_, "exactly-state: state directory {} is damaged: {}\n", o_.state_dir, s.ToString());
      return ExitFor(s);
    }
    auto tps = store_->ListPartitions();
    if (!tps.ok()) return Fail(err_, tps.status(), "listing partitions");
    fmt::print(out_, "ok: {} partitions, checkpoint #{}, every item decodes\n", tps->size(),
               store_->Info().last_checkpoint);
    return kExitOk;
  }

  // Reports the erasure of one producer and its in-progress messages.
  struct EraseProducer {
    const std::string* producer;
    const std::vector<EpochSeq>* messages;
    void operator()(ChangeVisitor& v) const {
      v.ProducerErased(*producer);
      for (const EpochSeq& stamp : *messages) v.InProgressRemoved(*producer, stamp);
    }
  };

  int Forget() {
    int status = kExitOk;
    auto all = LoadAll(&status);
    if (!all) return status;
    Checkpoint cp = store_->BeginCheckpoint();
    std::size_t partitions = 0;
    std::size_t messages = 0;
    std::vector<std::vector<EpochSeq>> stamps;  // kept alive until Commit
    stamps.reserve(all->size());
    for (const auto& [tp, p] : *all) {
      const bool tracked = std::any_of(p.state.producers.begin(), p.state.producers.end(),
                                       [&](const ProducerState& s) { return s.producer == o_.producer; });
      std::vector<EpochSeq>& mine = stamps.emplace_back();
      for (const InProgressState& m : p.state.in_progress) {
        if (m.header.producer == o_.producer) mine.push_back(m.header.stamp);
      }
      if (!tracked && mine.empty()) continue;
      ++partitions;
      messages += mine.size();
      Status s = cp.AddPartitionChanges(tp, p.next_offset, EraseProducer{&o_.producer, &mine});
      if (!s.ok()) return Fail(err_, s, fmt::format("forgetting in {}", Printable(tp.ToString())));
    }
    if (partitions == 0) {
      fmt::print(err_, "exactly-state: producer '{}' is not tracked in any partition of {}; nothing changed\n",
                 Printable(o_.producer), o_.state_dir);
      return kExitNotFound;
    }
    Status s = store_->Commit(std::move(cp));
    if (!s.ok()) return Fail(err_, s, "writing the checkpoint (nothing was changed)");
    fmt::print(out_, "forgot producer {} in {} partition(s), {} in-progress message(s) dropped; checkpoint #{}\n",
               Printable(o_.producer), partitions, messages, store_->Info().last_checkpoint);
    return kExitOk;
  }

  int SetOffset() {
    const TopicPartition tp{Topic(o_.topic), Partition(o_.partition)};
    auto old = store_->LoadOffset(tp);
    if (!old.ok()) return Fail(err_, old.status(), fmt::format("reading {}", Printable(tp.ToString())));
    if (!*old && !o_.create) {
      fmt::print(err_,
                 "exactly-state: {} has no checkpoint in {}; nothing changed (add --create to start it at offset "
                 "{})\n",
                 Printable(tp.ToString()), o_.state_dir, o_.offset);
      return kExitNotFound;
    }
    Checkpoint cp = store_->BeginCheckpoint();
    // No watermark or chunk changes: only the offset record is rewritten.
    Status s = cp.AddPartitionChanges(tp, Offset(o_.offset), [](ChangeVisitor&) {});
    if (s.ok()) s = store_->Commit(std::move(cp));
    if (!s.ok()) return Fail(err_, s, "writing the checkpoint (nothing was changed)");
    fmt::print(out_, "{}: next offset {} -> {}; checkpoint #{}\n", Printable(tp.ToString()),
               *old ? std::to_string((*old)->value()) : std::string("(none)"), o_.offset,
               store_->Info().last_checkpoint);
    return kExitOk;
  }

  void PrintTable(const std::vector<std::vector<std::string>>& rows) {
    std::vector<std::size_t> width(rows.front().size(), 0);
    for (const auto& r : rows) {
      for (std::size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], r[i].size());
    }
    for (const auto& r : rows) {
      std::string line;
      for (std::size_t i = 0; i < r.size(); ++i) {
        if (i + 1 == r.size()) {
          line += r[i];
        } else {
          line += fmt::format("{:<{}}  ", r[i], width[i]);
        }
      }
      line += '\n';
      std::fwrite(line.data(), 1, line.size(), out_);
    }
  }

  const StateToolOptions& o_;
  std::FILE* out_;
  std::FILE* err_;
  std::unique_ptr<CheckpointStore> store_;
};

}  // namespace

int RunCommand(const StateToolOptions& options, std::FILE* out, std::FILE* err) {
  return Session(options, out, err).Run();
}

}  // namespace exactly::statetool

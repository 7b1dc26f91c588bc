// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
#include "exactly/testing/checkpointed_engine.h"

#include <fmt/format.h>

namespace exactly::testing {

CheckpointedEngine::CheckpointedEngine(EngineOptions options, DeadLetterSink* dead_letters, CheckpointStore* store)
    : engine_(std::move(options), dead_letters), store_(store) {}

CheckpointedEngine::~CheckpointedEngine() = default;

Result<CheckpointedEngine::Entry*> CheckpointedEngine::Lookup(std::string_view topic, Partition partition) {
  if (cached_map_ == nullptr || cached_topic_ != topic) {
    auto it = partitions_.find(topic);
    if (it == partitions_.end()) it = partitions_.emplace(std::string(topic), PartitionMap()).first;
    cached_map_ = &it->second;  // node-based: stable across rehashing
    cached_topic_.assign(topic);
  }
  auto& slot = (*cached_map_)[partition.value()];
  if (slot) return slot.get();
  auto entry = std::make_unique<Entry>();
  entry->tp = TopicPartition{Topic(std::string(topic)), partition};
  if (store_ != nullptr) {
    // First sight of the partition: resume it from its last checkpoint,
    // as a consumer does on assignment.
    auto loaded = store_->Load(entry->tp);
    if (!loaded.ok()) return loaded.status().WithContext(fmt::format("loading {}", entry->tp.ToString()));
    if (loaded->has_value()) {
      LoadedPartition& lp = **loaded;
      EXACTLY_RETURN_IF_ERROR(engine_.Restore(entry->tp, std::move(lp.state))
                                  .WithContext(fmt::format("restoring {}", entry->tp.ToString())));
      entry->next = lp.next_offset;
    }
  }
  slot = std::move(entry);
  return slot.get();
}

Result<bool> CheckpointedEngine::Admit(const RecordView& record) {
  if (!failed_.ok()) return failed_;
  auto entry = Lookup(record.topic, record.partition);
  if (!entry.ok()) return entry.status();
  Entry* e = *entry;
  if (e->next && record.offset < *e->next) return false;
  last_ = e;
  return true;
}

Outcome CheckpointedEngine::Process(const RecordView& record, Engine::DeliverFn deliver) {
  Entry* e = last_;
  if (e == nullptr || e->tp.partition != record.partition || e->tp.topic.name() != record.topic) {
    // Not the record Admit() just accepted: look it up (no store load can
    // fail here for a partition Admit() has seen).
    auto found = Lookup(record.topic, record.partition);
    e = found.ok() ? *found : nullptr;
  }
  const Outcome outcome = engine_.Process(record, deliver);
  if (e != nullptr) {
    e->next = Offset(record.offset.value() + 1);
    if (!e->dirty) {
      e->dirty = true;
      dirty_.push_back(e);
    }
  }
  return outcome;
}

Status CheckpointedEngine::Checkpoint(AppTransaction* txn) {
  if (!failed_.ok()) return failed_;
  if (dirty_.empty() && (txn == nullptr || txn->empty())) return Status::OK();
  if (store_ == nullptr) {
    for (Entry* e : dirty_) e->dirty = false;
    dirty_.clear();
    ++checkpoints_;
    return Status::OK();
  }
  exactly::Checkpoint cp = store_->BeginCheckpoint();
  Status st;
  for (Entry* e : dirty_) {
    st = cp.AddPartition(e->tp, *e->next, engine_);
    if (!st.ok()) break;
  }
  if (st.ok() && txn != nullptr) st = cp.Stage(std::move(*txn));
  if (st.ok()) st = store_->Commit(std::move(cp));
  if (!st.ok()) {
    failed_ = Status(Code::kFailedPrecondition,
                     fmt::format("a checkpoint failed earlier ({}); reload from the store", st.ToString()), false);
    return st;
  }
  for (Entry* e : dirty_) e->dirty = false;
  dirty_.clear();
  ++checkpoints_;
  return Status::OK();
}

std::optional<Offset> CheckpointedEngine::NextOffset(std::string_view topic, Partition partition) const {
  const auto it = partitions_.find(topic);
  if (it == partitions_.end()) return std::nullopt;
  const auto p = it->second.find(partition.value());
  if (p == it->second.end()) return std::nullopt;
  return p->second->next;
}

}  // namespace exactly::testing

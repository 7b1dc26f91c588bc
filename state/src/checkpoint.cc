// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// Building a checkpoint: what each partition contributes to the batch.
// Nothing here touches the database except reading a partition's stored
// max timestamp once per process.
#include <algorithm>

#include <fmt/format.h>

#include "keys.h"
#include "store_impl.h"

namespace exactly {

using namespace state;  // NOLINT: this file implements the state layer

namespace {

// Turns the engine's change reports into one delta value (watermarks) and
// chunk puts/deletes in the batch, in the order reported.
class BatchVisitor final : public ChangeVisitor {
 public:
  BatchVisitor(const TopicPartition& tp, std::string* delta, std::size_t* ops, TimestampMs* max_timestamp,
               rocksdb::WriteBatch* batch)
      : tp_(tp), delta_(delta), ops_(ops), max_timestamp_(max_timestamp), batch_(batch) {}

  void ProducerChanged(const ProducerState& state) override {
    AppendDeltaSet(delta_, state);
    ++*ops_;
    Observe(state.last_seen);
  }
  void ProducerErased(std::string_view producer) override {
    AppendDeltaErase(delta_, producer);
    ++*ops_;
  }
  void ChunkAdded(const InProgressHeader& message, const ChunkView& chunk) override {
    // The header is repeated with every chunk; write it once per message
    // per checkpoint (it changes only when chunk 0 arrives, and then it is
    // reported again with that chunk).
    if (!have_last_ || last_producer_ != message.producer || last_stamp_ != message.stamp) {
      (void)batch_->Put(ChunkHeaderKey(tp_, message.producer, message.stamp), EncodeInProgressHeader(message));
      last_producer_ = message.producer;
      last_stamp_ = message.stamp;
      have_last_ = true;
    }
    // Straight from the engine's buffer into the batch: a relay's
    // checkpoints carry megabytes of chunks, and an encoded copy of each
    // first cost a fresh allocation and a copy per byte.
    const std::string key = ChunkKey(tp_, message.producer, message.stamp, chunk.index);
    const ChunkEncoding e = EncodeChunkParts(chunk);
    const rocksdb::Slice key_part(key);
    const rocksdb::Slice value_parts[] = {rocksdb::Slice(e.head), rocksdb::Slice(e.value.data(), e.value.size()),
                                          rocksdb::Slice(e.trailer.data(), e.trailer.size())};
    (void)batch_->Put(rocksdb::SliceParts(&key_part, 1), rocksdb::SliceParts(value_parts, 3));
    Observe(chunk.timestamp);
  }
  void InProgressRemoved(std::string_view producer, EpochSeq stamp) override {
    // One range delete covers the header and every chunk, whichever were
    // written, without reading them.
    std::string begin = ChunkMessagePrefix(tp_, producer, stamp);
    std::string end = PrefixEnd(begin);
    (void)batch_->DeleteRange(begin, end);
    have_last_ = false;
  }

 private:
  void Observe(TimestampMs ts) {
    if (ts > *max_timestamp_) *max_timestamp_ = ts;
  }

  const TopicPartition& tp_;
  std::string* delta_;
  std::size_t* ops_;
  TimestampMs* max_timestamp_;
  rocksdb::WriteBatch* batch_;
  bool have_last_ = false;
  std::string last_producer_;
  EpochSeq last_stamp_;
};

}  // namespace

Checkpoint::Checkpoint(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Checkpoint::Checkpoint(Checkpoint&&) noexcept = default;
Checkpoint& Checkpoint::operator=(Checkpoint&&) noexcept = default;
Checkpoint::~Checkpoint() = default;

Status Checkpoint::Impl::CheckNew(const TopicPartition& tp) const {
  if (std::find(tps.begin(), tps.end(), tp) != tps.end()) {
    return Status::FailedPrecondition(fmt::format("checkpoint already covers {}", tp.ToString()));
  }
  return Status::OK();
}

Status Checkpoint::AddPartitionChanges(const TopicPartition& tp, Offset next_offset,
                                       FunctionRef<void(ChangeVisitor&)> collect,
                                       std::optional<TimestampMs> max_timestamp) {
  if (!impl_) return Status::FailedPrecondition("checkpoint was committed or moved from");
  EXACTLY_RETURN_IF_ERROR(impl_->CheckNew(tp));
  auto stored = impl_->store->StoredMaxTimestamp(tp);
  if (!stored.ok()) return stored.status();

  Impl::Part part;
  part.tp = tp;
  part.mode = Impl::Mode::kChanges;
  part.next_offset = next_offset;
  part.max_timestamp = *stored;
  if (max_timestamp && *max_timestamp > part.max_timestamp) part.max_timestamp = *max_timestamp;
  StartDelta(&part.delta);
  BatchVisitor visitor(tp, &part.delta, &part.delta_ops, &part.max_timestamp, &impl_->batch);
  collect(visitor);
  impl_->parts.push_back(std::move(part));
  impl_->tps.push_back(tp);
  return Status::OK();
}

Status Checkpoint::ReplacePartition(const TopicPartition& tp, Offset next_offset, const PartitionState& state) {
  if (!impl_) return Status::FailedPrecondition("checkpoint was committed or moved from");
  EXACTLY_RETURN_IF_ERROR(impl_->CheckNew(tp));
  Impl::Part part;
  part.tp = tp;
  part.mode = Impl::Mode::kReplace;
  part.next_offset = next_offset;
  part.max_timestamp = state.max_timestamp;
  part.replacement = state;
  auto& producers = part.replacement.producers;
  std::sort(producers.begin(), producers.end(),
            [](const ProducerState& a, const ProducerState& b) { return a.producer < b.producer; });
  for (std::size_t i = 1; i < producers.size(); ++i) {
    if (producers[i].producer == producers[i - 1].producer) {
      return Status::InvalidArgument(
          fmt::format("ReplacePartition {}: producer '{}' listed twice", tp.ToString(), Printable(producers[i].producer)));
    }
  }
  impl_->parts.push_back(std::move(part));
  impl_->tps.push_back(tp);
  return Status::OK();
}

Status Checkpoint::RemovePartition(const TopicPartition& tp) {
  if (!impl_) return Status::FailedPrecondition("checkpoint was committed or moved from");
  EXACTLY_RETURN_IF_ERROR(impl_->CheckNew(tp));
  Impl::Part part;
  part.tp = tp;
  part.mode = Impl::Mode::kRemove;
  impl_->parts.push_back(std::move(part));
  impl_->tps.push_back(tp);
  return Status::OK();
}

Status Checkpoint::Stage(AppTransaction&& txn) {
  if (!impl_) return Status::FailedPrecondition("checkpoint was committed or moved from");
  if (txn.store_ != impl_->store->owner) {
    return Status::InvalidArgument(fmt::format("Stage: transaction of app '{}' belongs to another store", txn.app_));
  }
  const std::string prefix = AppPrefix(txn.app_);
  std::string key;
  for (const auto& [k, v] : txn.staged_) {
    key.assign(prefix);
    key.append(k);
    if (v) {
      (void)impl_->batch.Put(key, *v);
    } else {
      (void)impl_->batch.Delete(key);
    }
  }
  txn.staged_.clear();
  return Status::OK();
}

const std::vector<TopicPartition>& Checkpoint::partitions() const noexcept {
  static const std::vector<TopicPartition> kNone;
  return impl_ ? impl_->tps : kNone;
}

std::size_t Checkpoint::ApproximateBytes() const noexcept {
  if (!impl_) return 0;
  std::size_t n = impl_->batch.GetDataSize();
  for (const auto& p : impl_->parts) n += p.delta.size() + p.replacement.producers.size() * 24;
  return n;
}

}  // namespace exactly

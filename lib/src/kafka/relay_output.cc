// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
#include "relay_output.h"

#include <fmt/format.h>

#include <array>
#include <charconv>
#include <string>
#include <utility>

#include "exactly/crc32c.h"
#include "exactly/kafka/relay.h"

namespace exactly::kafka {

namespace {
// Room for the six envelope headers besides the producer id: names, 20-digit
// decimals, `I/N`, 8 hex digits and librdkafka's per-header varints.
constexpr std::size_t kStampRoom = 512;
// Below this, chunking would need absurdly many records: refuse instead.
constexpr std::size_t kMinChunk = 1024;

// A §2 decimal (no sign, no leading zeros) in `buf`, which must outlive the view.
std::string_view Decimal(std::uint64_t v, std::array<char, 20>& buf) {
  const auto r = std::to_chars(buf.data(), buf.data() + buf.size(), v);
  return std::string_view(buf.data(), static_cast<std::size_t>(r.ptr - buf.data()));
}

void AppendStamp(const StampHeaders& stamp, std::vector<HeaderView>& out) {
  out.push_back({header::kProducer, stamp.producer});
  out.push_back({header::kEpoch, stamp.epoch});
  out.push_back({header::kSeq, stamp.seq});
  if (stamp.chunk) out.push_back({header::kChunk, *stamp.chunk});
  if (stamp.size) out.push_back({header::kSize, *stamp.size});
  if (stamp.crc) out.push_back({header::kCrc, *stamp.crc});
}
}  // namespace

std::string RelayProducerId(std::string_view relay_id, std::string_view topic, Partition partition) {
  return fmt::format("{}/{}/{}", relay_id, topic, partition.value());
}

std::string FormatOrigin(std::string_view producer, EpochSeq stamp) {
  return fmt::format("{} {} {}", producer, stamp.epoch.value(), stamp.seq.value());
}

std::size_t HeaderBytes(std::span<const HeaderView> headers) noexcept {
  std::size_t n = 0;
  for (const HeaderView& h : headers) n += h.name.size() + (h.value ? h.value->size() : 0) + 10;
  return n;
}

RelayOutput::RelayOutput(TrackedProducer& producer, RelayOutputSpec spec)
    : producer_(producer), spec_(std::move(spec)), epoch_text_(std::to_string(spec_.epoch.value())) {}

const std::string& RelayOutput::ProducerIdFor(std::string_view topic, Partition partition) {
  if (partition != cached_partition_ || topic != cached_topic_) {
    cached_topic_.assign(topic);
    cached_partition_ = partition;
    cached_id_ = RelayProducerId(spec_.relay_id, topic, partition);
  }
  return cached_id_;
}

Partition RelayOutput::OutputPartition(const Message& m, std::string_view producer_id) const {
  if (m.partition.value() >= 0 && m.partition.value() < spec_.partitions) return m.partition;
  // Deterministic, so a replay lands where the first copy did.
  if (m.key && !m.key->empty()) return PartitionForKey(*m.key, spec_.partitions);
  return PartitionForKey(producer_id, spec_.partitions);
}

Status RelayOutput::Forward(const Message& m) {
  if (m.offset.value() < 0) return Status::Internal(fmt::format("delivered message without an offset in {}", m.topic));
  const std::string& producer_id = ProducerIdFor(m.topic, m.partition);
  StampSpec stamp_spec{producer_id, EpochSeq{spec_.epoch, Sequence(static_cast<std::uint64_t>(m.offset.value()))},
                       std::nullopt, std::nullopt, std::nullopt};

  // Lineage first, then the user's headers without the input's envelope.
  carried_.clear();
  if (m.stamped) {
    // One header, not three: every header costs librdkafka an allocation
    // per record, downstream as well.
    origin_.assign(m.producer);
    origin_ += ' ';
    origin_ += Decimal(m.stamp.epoch.value(), number_buf_);
    origin_ += ' ';
    origin_ += Decimal(m.stamp.seq.value(), number_buf_);
    carried_.push_back({relay_header::kOrigin, origin_});
  }
  for (const HeaderView& h : m.headers) {
    if (!IsEnvelopeHeader(h.name)) carried_.push_back(h);
  }

  const Partition partition = OutputPartition(m, producer_id);
  const std::size_t size = m.value ? m.value->size() : 0;
  const std::size_t limit = producer_.max_message_bytes();
  const std::size_t overhead = (m.key ? m.key->size() : 0) + HeaderBytes(carried_) + producer_id.size() + kStampRoom;

  if (size + overhead <= limit) {
    // The common case, without FormatStamp's allocations: the producer id
    // and epoch texts are cached, the seq is formatted in place.
    headers_.clear();
    headers_.push_back({header::kProducer, producer_id});
    headers_.push_back({header::kEpoch, epoch_text_});
    headers_.push_back({header::kSeq, Decimal(stamp_spec.stamp.seq.value(), number_buf_)});
    headers_.insert(headers_.end(), carried_.begin(), carried_.end());
    EXACTLY_RETURN_IF_ERROR(
        producer_.Produce(OutgoingRecord{spec_.topic, partition, m.key, m.value, headers_}, spec_.produce_timeout));
    ++records_;
    ++forwarded_;
    return Status::OK();
  }

  const std::string where = fmt::format("{}[{}]@{}", m.topic, m.partition.value(), m.offset.value());
  if (overhead + kMinChunk > limit) {
    return Status::InvalidArgument(fmt::format(
        "{}: key and headers ({} bytes) leave no room for data under the output's message.max.bytes={}", where,
        overhead, limit));
  }
  if (size > spec_.limits.max_message_bytes) {
    return Status::InvalidArgument(fmt::format("{}: message of {} bytes exceeds max-message-bytes {}", where, size,
                                               spec_.limits.max_message_bytes));
  }
  const std::size_t chunk = limit - overhead;
  const std::uint64_t count = (size + chunk - 1) / chunk;
  if (count > spec_.limits.max_chunks) {
    return Status::InvalidArgument(fmt::format("{}: message of {} bytes needs {} chunks of {}, over max-chunks {}",
                                               where, size, count, chunk, spec_.limits.max_chunks));
  }
  stamp_spec.size = size;
  stamp_spec.crc = m.crc ? *m.crc : crc32c::Value(*m.value);
  for (std::uint64_t i = 0; i < count; ++i) {
    stamp_spec.chunk = ChunkInfo{static_cast<std::uint32_t>(i), static_cast<std::uint32_t>(count)};
    const StampHeaders stamp = FormatStamp(stamp_spec);
    headers_.clear();
    AppendStamp(stamp, headers_);
    if (i == 0) headers_.insert(headers_.end(), carried_.begin(), carried_.end());
    const std::string_view piece = m.value->substr(i * chunk, chunk);
    // A partial message left by a failure here is sent again whole, with
    // the same stamp and chunking, after the rewind that follows.
    EXACTLY_RETURN_IF_ERROR(
        producer_.Produce(OutgoingRecord{spec_.topic, partition, m.key, piece, headers_}, spec_.produce_timeout)
            .WithContext(fmt::format("{}: chunk {}/{}", where, i, count)));
  }
  records_ += count;
  ++forwarded_;
  ++forwarded_chunked_;
  return Status::OK();
}

}  // namespace exactly::kafka

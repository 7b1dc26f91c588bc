// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
#include "exactly/kafka/stamped_producer.h"

#include <fmt/format.h>

#include <optional>
#include <vector>

#include "exactly/crc32c.h"
#include "exactly/kafka/epoch_dir.h"

namespace exactly::kafka {

namespace {
// Librdkafka's per-record wire overhead is well under this; it is what the
// chunk size must leave free under message.max.bytes besides key and headers.
constexpr std::size_t kMinRoom = 1024;

// Appends the stamp's headers as views into `stamp` (which must outlive them).
void AppendStamp(const StampHeaders& stamp, std::vector<HeaderView>& out) {
  out.push_back({header::kProducer, stamp.producer});
  out.push_back({header::kEpoch, stamp.epoch});
  out.push_back({header::kSeq, stamp.seq});
  if (stamp.chunk) out.push_back({header::kChunk, *stamp.chunk});
  if (stamp.size) out.push_back({header::kSize, *stamp.size});
  if (stamp.crc) out.push_back({header::kCrc, *stamp.crc});
}
}  // namespace

struct StampedProducer::Impl {
  StampedProducerOptions options;
  std::optional<EpochDirectory> epoch_dir;  // holds the directory lock
  Epoch epoch;
  Sequence next_seq;
  std::size_t chunk_bytes = 0;
  std::uint64_t round_robin = 0;
  std::vector<HeaderView> headers;  // scratch, reused per record
  Producer producer;

  explicit Impl(Producer p) : producer(std::move(p)) {}
};

StampedProducer::StampedProducer(std::unique_ptr<Impl> impl) noexcept : impl_(std::move(impl)) {}
StampedProducer::StampedProducer(StampedProducer&&) noexcept = default;
StampedProducer& StampedProducer::operator=(StampedProducer&&) noexcept = default;
StampedProducer::~StampedProducer() = default;

Result<StampedProducer> StampedProducer::Open(const KafkaConfig& config, StampedProducerOptions options) {
  if (!ValidProducerId(options.producer_id.str())) {
    return Status::InvalidArgument(
        fmt::format("invalid producer id '{}': need 1-255 bytes, each 0x21-0x7E", options.producer_id.str()));
  }
  if (options.epoch.has_value() == !options.epoch_dir.empty()) {
    return Status::InvalidArgument("give exactly one of an explicit epoch or an epoch directory");
  }
  KafkaConfig conf = config;
  if (auto idem = conf.Get("enable.idempotence"); idem && *idem != "true") {
    return Status::InvalidArgument(
        fmt::format("enable.idempotence={} is not allowed: stamped producers need ordered, retried delivery", *idem));
  }
  conf.Set("enable.idempotence", "true");
  auto producer = Producer::Create(conf);
  if (!producer.ok()) return producer.status();

  auto impl = std::make_unique<Impl>(std::move(*producer));
  const std::size_t max = impl->producer.max_message_bytes();
  if (options.chunk_bytes == 0) {
    options.chunk_bytes = max > kChunkRoom + kMinRoom ? max - kChunkRoom : max / 2;
  } else if (options.chunk_bytes + kMinRoom > max) {
    return Status::InvalidArgument(fmt::format(
        "chunk size {} leaves no room for headers under message.max.bytes={} (need at least {} bytes spare)",
        options.chunk_bytes, max, kMinRoom));
  }
  impl->chunk_bytes = options.chunk_bytes;
  if (options.epoch) {
    impl->epoch = *options.epoch;
  } else {
    auto dir = EpochDirectory::Open(options.epoch_dir, options.producer_id);
    if (!dir.ok()) return dir.status();
    impl->epoch = dir->epoch();
    impl->epoch_dir.emplace(std::move(*dir));
  }
  impl->next_seq = options.first_seq;
  impl->options = std::move(options);
  return StampedProducer(std::move(impl));
}

Result<SentMessage> StampedProducer::Send(const StampedMessage& msg, std::chrono::milliseconds timeout) {
  Impl& s = *impl_;
  for (const HeaderView& h : msg.headers) {
    if (IsEnvelopeHeader(h.name)) {
      return Status::InvalidArgument(fmt::format("header '{}' is reserved for the envelope", h.name));
    }
  }
  Sequence seq = s.next_seq;
  if (msg.seq) {
    if (*msg.seq < s.next_seq) {
      return Status::InvalidArgument(fmt::format("sequence {} does not exceed the previous one (next is {})",
                                                 msg.seq->value(), s.next_seq.value()));
    }
    seq = *msg.seq;
  }
  const std::size_t size = msg.value ? msg.value->size() : 0;
  if (size > s.options.limits.max_message_bytes) {
    return Status::InvalidArgument(fmt::format("message of {} bytes exceeds max-message-bytes {}", size,
                                               s.options.limits.max_message_bytes));
  }
  const std::uint64_t chunks = size > s.chunk_bytes ? (size + s.chunk_bytes - 1) / s.chunk_bytes : 0;
  if (chunks > s.options.limits.max_chunks) {
    return Status::InvalidArgument(fmt::format("message of {} bytes needs {} chunks of {}, over max-chunks {}", size,
                                               chunks, s.chunk_bytes, s.options.limits.max_chunks));
  }

  // One partition per message, so that every chunk lands together.
  Partition partition;
  if (msg.partition) {
    partition = *msg.partition;
  } else {
    auto count = s.producer.PartitionCount(msg.topic, timeout);
    if (!count.ok()) return count.status();
    partition = msg.key && !msg.key->empty() ? PartitionForKey(*msg.key, *count)
                                              : Partition(static_cast<std::int32_t>(s.round_robin++ % *count));
  }

  StampSpec spec;
  spec.producer = s.options.producer_id.str();
  spec.stamp = EpochSeq{s.epoch, seq};
  SentMessage sent{spec.stamp, partition, static_cast<std::uint32_t>(chunks)};
  if (chunks == 0) {
    const StampHeaders stamp = FormatStamp(spec);
    s.headers.clear();
    AppendStamp(stamp, s.headers);
    s.headers.insert(s.headers.end(), msg.headers.begin(), msg.headers.end());
    EXACTLY_RETURN_IF_ERROR(s.producer.Produce(OutgoingRecord{msg.topic, partition, msg.key, msg.value, s.headers},
                                               timeout));
    s.next_seq = Sequence(seq.value() + 1);
    return sent;
  }

  spec.size = size;
  spec.crc = crc32c::Value(*msg.value);
  for (std::uint64_t i = 0; i < chunks; ++i) {
    spec.chunk = ChunkInfo{static_cast<std::uint32_t>(i), static_cast<std::uint32_t>(chunks)};
    const StampHeaders stamp = FormatStamp(spec);
    s.headers.clear();
    AppendStamp(stamp, s.headers);
    if (i == 0) s.headers.insert(s.headers.end(), msg.headers.begin(), msg.headers.end());
    const std::string_view piece = msg.value->substr(i * s.chunk_bytes, s.chunk_bytes);
    Status st = s.producer.Produce(OutgoingRecord{msg.topic, partition, msg.key, piece, s.headers}, timeout);
    if (!st.ok()) {
      // Chunks already queued used this sequence: never reuse it, or a
      // consumer could splice two different messages together.
      if (i > 0) s.next_seq = Sequence(seq.value() + 1);
      return st.WithContext(fmt::format("chunk {}/{} of seq {}", i, chunks, seq.value()));
    }
  }
  s.next_seq = Sequence(seq.value() + 1);
  return sent;
}

Status StampedProducer::Flush(std::chrono::milliseconds timeout) { return impl_->producer.Flush(timeout); }
Status StampedProducer::Close(std::chrono::milliseconds timeout) {
  Status st = impl_->producer.Close(timeout);
  impl_->epoch_dir.reset();  // release the directory lock only once nothing more can be sent
  return st;
}

const ProducerId& StampedProducer::producer_id() const noexcept { return impl_->options.producer_id; }
Epoch StampedProducer::epoch() const noexcept { return impl_->epoch; }
Sequence StampedProducer::next_seq() const noexcept { return impl_->next_seq; }
std::size_t StampedProducer::chunk_bytes() const noexcept { return impl_->chunk_bytes; }
Producer& StampedProducer::producer() noexcept { return impl_->producer; }

}  // namespace exactly::kafka

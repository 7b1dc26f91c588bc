// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// Relay: wires a DedupConsumer to an idempotent producer (RelayOutput for
// delivered messages, RelayDeadLetters for rejected records), with the
// producer's acknowledgement tracking as the checkpoint hooks.
#include "exactly/kafka/relay.h"

#include <fmt/format.h>

#include <algorithm>
#include <optional>
#include <utility>

#include "exactly/envelope.h"
#include "relay_dead_letters.h"
#include "relay_output.h"
#include "tracked_producer.h"

namespace exactly::kafka {

namespace {

using Clock = std::chrono::steady_clock;

Status CheckOptions(const RelayOptions& o) {
  if (o.inputs.empty()) return Status::InvalidArgument("no input topic");
  if (o.output.empty()) return Status::InvalidArgument("no output topic");
  if (o.group.empty()) return Status::InvalidArgument("no consumer group");
  if (o.relay_id.empty()) return Status::InvalidArgument("no relay id");
  for (const auto& in : o.inputs) {
    if (in.empty()) return Status::InvalidArgument("empty input topic name");
    if (in == o.output) {
      return Status::InvalidArgument(fmt::format("output topic '{}' is also an input: the relay would loop", in));
    }
    if (in == o.dead_letter_topic) {
      return Status::InvalidArgument(fmt::format("dead-letter topic '{}' is also an input", in));
    }
    // The longest output producer id this input can produce must be valid.
    const std::string longest = RelayProducerId(o.relay_id, in, Partition(2147483647));
    if (!ValidProducerId(longest)) {
      return Status::InvalidArgument(fmt::format(
          "relay id '{}' gives output producer ids such as '{}', which are not valid (1-255 bytes, each 0x21-0x7E)",
          o.relay_id, longest));
    }
  }
  if (o.dead_letter_topic == o.output) {
    return Status::InvalidArgument("the dead-letter topic must differ from the output topic");
  }
  if (o.flush_timeout.count() <= 0 || o.metadata_timeout.count() <= 0) {
    return Status::InvalidArgument("flush and metadata timeouts must be positive");
  }
  if (auto idem = o.producer_config.Get("enable.idempotence"); idem && *idem != "true") {
    return Status::InvalidArgument(fmt::format(
        "enable.idempotence={} is not allowed for the relay's producer: retries must not reorder its output", *idem));
  }
  // Each output producer's records must reach the log in sequence order:
  // downstream consumers drop a record whose seq is below one already seen.
  // A delivery that fails while later ones succeed breaks that, and the
  // rewind that follows re-sends the failed record after the later ones,
  // where it is dropped as a duplicate. So deliveries never time out
  // (--flush-timeout-ms bounds the wait instead, and a rewind re-sends
  // copies that queue behind the originals), and a permanent delivery
  // error stops the producer (gapless) rather than leaving a hole.
  if (auto t = o.producer_config.Get("message.timeout.ms"); t && *t != "0") {
    return Status::InvalidArgument(fmt::format(
        "message.timeout.ms={} is not allowed for the relay's producer: a delivery that times out while later "
        "ones succeed would reorder its output (--flush-timeout-ms bounds the wait for acknowledgements)",
        *t));
  }
  if (auto g = o.producer_config.Get("enable.gapless.guarantee"); g && *g != "true") {
    return Status::InvalidArgument(fmt::format(
        "enable.gapless.guarantee={} is not allowed for the relay's producer: a failed batch followed by "
        "delivered ones would reorder its output",
        *g));
  }
  return Status::OK();
}

Result<std::int32_t> CheckTopic(Producer& producer, const std::string& topic, std::string_view role,
                                std::chrono::milliseconds timeout) {
  auto count = producer.PartitionCount(topic, timeout);
  if (!count.ok()) {
    if (count.status().code() == Code::kNotFound) {
      return Status::NotFound(
          fmt::format("{} topic '{}' does not exist on the cluster (create it first)", role, topic));
    }
    return count.status().WithContext(fmt::format("{} topic '{}'", role, topic));
  }
  return count;
}

}  // namespace

struct Relay::Impl {
  RelayOptions options;
  std::unique_ptr<TrackedProducer> producer;
  std::int32_t output_partitions = 0;
  std::optional<RelayOutput> output;
  std::optional<RelayDeadLetters> dead_letters;
  // Last: destroyed first, as it calls into the members above.
  std::unique_ptr<DedupConsumer> consumer;

  Impl(RelayOptions o, std::unique_ptr<TrackedProducer> p) : options(std::move(o)), producer(std::move(p)) {}

  // Synchronous checkpoints: everything produced so far, acknowledged.
  Status PreCheckpoint(std::chrono::milliseconds timeout) {
    Status st = producer->Flush(timeout);
    Status dl = dead_letters->TakeError();
    if (!st.ok()) return st.WithContext("flush of the relay's output");
    return dl;
  }

  // Pipelined checkpoints: everything produced before `mark`.
  Result<bool> OutputsDurable(std::uint64_t mark) {
    if (Status dl = dead_letters->TakeError(); !dl.ok()) return dl;
    return producer->Durable(mark);
  }

  // The rewound range is produced again: its old failures no longer count.
  void OnRewind() {
    producer->ForgetFailures();
    (void)dead_letters->TakeError();
  }
};

Relay::Relay(std::unique_ptr<Impl> impl) noexcept : impl_(std::move(impl)) {}
Relay::~Relay() = default;

Result<std::unique_ptr<Relay>> Relay::Create(CheckpointStore& store, RelayOptions options) {
  EXACTLY_RETURN_IF_ERROR(CheckOptions(options));
  KafkaConfig producer_config = options.producer_config;
  producer_config.Set("enable.idempotence", "true");
  producer_config.Set("message.timeout.ms", "0");  // see CheckOptions
  producer_config.Set("enable.gapless.guarantee", "true");
  auto producer = TrackedProducer::Create(producer_config);
  if (!producer.ok()) return producer.status().WithContext("output producer");

  auto impl = std::make_unique<Impl>(std::move(options), std::move(*producer));
  RelayOptions& o = impl->options;
  {
    // Producers ask brokers to create the topics they look up; a typo in
    // a topic name must be an error, not a new topic.
    KafkaConfig lookup_config = o.producer_config;
    lookup_config.Set("allow.auto.create.topics", "false");
    auto lookup = Producer::Create(lookup_config);
    if (!lookup.ok()) return lookup.status().WithContext("metadata lookup");
    auto partitions = CheckTopic(*lookup, o.output, "output", o.metadata_timeout);
    if (!partitions.ok()) return partitions.status();
    impl->output_partitions = *partitions;
    if (!o.dead_letter_topic.empty()) {
      auto dl = CheckTopic(*lookup, o.dead_letter_topic, "dead-letter", o.metadata_timeout);
      if (!dl.ok()) return dl.status();
    }
    // The consumer would report a missing input too, but only once it ran
    // for a while; say it here, before joining the group.
    for (const auto& in : o.inputs) {
      auto count = CheckTopic(*lookup, in, "input", o.metadata_timeout);
      if (!count.ok()) return count.status();
    }
  }

  RelayOutputSpec spec;
  spec.topic = o.output;
  spec.relay_id = o.relay_id;
  spec.epoch = o.output_epoch;
  spec.partitions = impl->output_partitions;
  spec.limits = o.engine.limits;
  spec.produce_timeout = o.flush_timeout;
  impl->output.emplace(*impl->producer, std::move(spec));
  impl->dead_letters.emplace(*impl->producer, o.dead_letter_topic, o.flush_timeout);

  DedupConsumerOptions copts;
  copts.config = o.consumer_config;
  copts.config.Set("group.id", o.group);
  copts.topics = o.inputs;
  copts.engine = o.engine;
  copts.app = "exactly-relay";
  copts.checkpoint_interval = o.checkpoint_interval;
  copts.checkpoint_records = o.checkpoint_records;
  copts.checkpoint_alignment = o.checkpoint_alignment;
  copts.checkpoint_alignment_bytes = o.checkpoint_alignment_bytes;
  copts.hook_timeout = o.flush_timeout;
  copts.log = o.log;
  copts.on_checkpoint = o.on_checkpoint;

  Impl* self = impl.get();
  DedupConsumerHooks hooks;
  hooks.on_message = [self](const Message& m, AppTransaction&) { return self->output->Forward(m); };
  hooks.pre_checkpoint = [self](std::chrono::milliseconds timeout) { return self->PreCheckpoint(timeout); };
  hooks.mark_outputs = [self] { return self->producer->Mark(); };
  hooks.outputs_durable = [self](std::uint64_t mark) { return self->OutputsDurable(mark); };
  hooks.on_rewind = [self] { self->OnRewind(); };
  hooks.dead_letters = &*impl->dead_letters;
  auto consumer = DedupConsumer::Create(store, std::move(copts), std::move(hooks));
  if (!consumer.ok()) return consumer.status();
  impl->consumer = std::move(*consumer);
  return std::unique_ptr<Relay>(new Relay(std::move(impl)));
}

Status Relay::RunFor(std::chrono::milliseconds duration) { return impl_->consumer->RunFor(duration); }
Status Relay::Run() { return impl_->consumer->Run(); }
void Relay::RequestStop() noexcept { impl_->consumer->RequestStop(); }
Status Relay::Checkpoint() { return impl_->consumer->Checkpoint(); }

Status Relay::Close(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  Status st = impl_->consumer->Close(timeout);
  const auto left = std::max(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()),
                             std::chrono::milliseconds(1));
  // Whatever is still queued (nothing after a successful final
  // checkpoint) gets one last chance; the checkpoint does not cover it.
  Status closed = impl_->producer->Close(left);
  return st.ok() ? closed : st;
}

RelayStats Relay::stats() const {
  RelayStats s;
  s.consumer = impl_->consumer->stats();
  s.forwarded = impl_->output->forwarded();
  s.forwarded_chunked = impl_->output->forwarded_chunked();
  s.output_records = impl_->output->records();
  s.dead_lettered = impl_->dead_letters->sent();
  s.producer = impl_->producer->counters();
  return s;
}

std::vector<PartitionPosition> Relay::Positions() const { return impl_->consumer->Positions(); }
std::int32_t Relay::output_partitions() const noexcept { return impl_->output_partitions; }

}  // namespace exactly::kafka

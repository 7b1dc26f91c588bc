// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
#include "exactly/kafka/producer.h"

#include <fmt/format.h>

#include <atomic>
#include <map>
#include <mutex>
#include <string>

#include "handles.h"

namespace exactly::kafka {

using detail::FromError;
using detail::HandlePtr;
using detail::TimeoutMs;

namespace {
using Clock = std::chrono::steady_clock;
}  // namespace

struct Producer::Impl {
  std::size_t max_message_bytes = 1000000;
  std::atomic<std::uint64_t> produced{0};
  std::atomic<std::uint64_t> delivered{0};
  std::atomic<std::uint64_t> failed{0};
  detail::ReportCadence reports;

  std::mutex mu;  // guards the fields below
  std::uint64_t failures_since_flush = 0;
  std::string first_failure;
  Status fatal;
  std::map<std::string, std::int32_t, std::less<>> partition_counts;

  // Declared last so it is destroyed first: librdkafka may still call the
  // callbacks below, which touch the fields above, while tearing down.
  HandlePtr rk;

  static void OnDelivery(rd_kafka_t* /*rk*/, const rd_kafka_message_t* m, void* opaque) noexcept {
    auto* self = static_cast<Impl*>(opaque);
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      self->delivered.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    self->failed.fetch_add(1, std::memory_order_relaxed);
    try {
      std::lock_guard lock(self->mu);
      if (self->failures_since_flush++ == 0) {
        self->first_failure = fmt::format("{}[{}]: {} ({})", m->rkt ? rd_kafka_topic_name(m->rkt) : "?",
                                          m->partition, rd_kafka_err2str(m->err), rd_kafka_err2name(m->err));
      }
    } catch (...) {
      // Out of memory formatting the reason: the failure is still counted.
    }
  }

  static void OnError(rd_kafka_t* rk, int err, const char* reason, void* opaque) noexcept {
    if (err != RD_KAFKA_RESP_ERR__FATAL) return;  // transient: librdkafka retries by itself
    auto* self = static_cast<Impl*>(opaque);
    try {
      Status st = detail::FatalErrorStatus(rk, "producer", reason);
      std::lock_guard lock(self->mu);
      if (self->fatal.ok()) self->fatal = std::move(st);
    } catch (...) {
    }
  }

  Status Fatal() {
    std::lock_guard lock(mu);
    return fatal;
  }
};

Producer::Producer(std::unique_ptr<Impl> impl) noexcept : impl_(std::move(impl)) {}
Producer::Producer(Producer&&) noexcept = default;
Producer& Producer::operator=(Producer&&) noexcept = default;
Producer::~Producer() = default;

Result<Producer> Producer::Create(const KafkaConfig& config) {
  auto impl = std::make_unique<Impl>();
  auto handle = detail::NewProducer(config, impl.get(), &Impl::OnDelivery, &Impl::OnError);
  if (!handle.ok()) return handle.status();
  impl->max_message_bytes = handle->max_message_bytes;
  impl->rk = std::move(handle->rk);
  return Producer(std::move(impl));
}

Status Producer::Produce(const OutgoingRecord& record, std::chrono::milliseconds timeout) {
  if (!impl_ || !impl_->rk) return Status::FailedPrecondition("producer is closed");
  EXACTLY_RETURN_IF_ERROR(impl_->Fatal());
  const std::string topic(record.topic);
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    // Counted before the call: its delivery report may run before producev
    // returns, and delivered + failed must never exceed produced.
    impl_->produced.fetch_add(1, std::memory_order_relaxed);
    const rd_kafka_resp_err_t err = detail::ProduceCopy(impl_->rk.get(), topic, record, nullptr);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      impl_->reports.Produced(impl_->rk.get(), record.value ? record.value->size() : 0);
      return Status::OK();
    }
    impl_->produced.fetch_sub(1, std::memory_order_relaxed);
    if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (left.count() > 0) {
        rd_kafka_poll(impl_->rk.get(), std::min(TimeoutMs(left), 100));
        continue;
      }
    }
    if (err == RD_KAFKA_RESP_ERR__FATAL) EXACTLY_RETURN_IF_ERROR(impl_->Fatal());
    return FromError(err, fmt::format("produce to {}", topic));
  }
}

int Producer::Poll(std::chrono::milliseconds timeout) {
  if (!impl_ || !impl_->rk) return 0;
  return rd_kafka_poll(impl_->rk.get(), TimeoutMs(timeout));
}

Status Producer::Flush(std::chrono::milliseconds timeout) {
  if (!impl_ || !impl_->rk) return Status::FailedPrecondition("producer is closed");
  const rd_kafka_resp_err_t err = rd_kafka_flush(impl_->rk.get(), TimeoutMs(timeout));
  // Serve reports that arrived right at the end of flush.
  rd_kafka_poll(impl_->rk.get(), 0);
  EXACTLY_RETURN_IF_ERROR(impl_->Fatal());
  {
    std::lock_guard lock(impl_->mu);
    if (impl_->failures_since_flush > 0) {
      Status st = Status::IoError(fmt::format("{} message(s) failed delivery since the last flush; first: {}",
                                              impl_->failures_since_flush, impl_->first_failure));
      impl_->failures_since_flush = 0;
      impl_->first_failure.clear();
      return st;
    }
  }
  if (err == RD_KAFKA_RESP_ERR__TIMED_OUT) {
    return Status::TimedOut(
        fmt::format("flush: {} message(s) still undelivered after {} ms", outstanding(), timeout.count()));
  }
  return FromError(err, "flush");
}

Status Producer::Close(std::chrono::milliseconds timeout) {
  if (!impl_ || !impl_->rk) return Status::OK();
  Status st = Flush(timeout);
  impl_->rk.reset();
  return st;
}

Result<std::int32_t> Producer::PartitionCount(std::string_view topic, std::chrono::milliseconds timeout) {
  if (!impl_ || !impl_->rk) return Status::FailedPrecondition("producer is closed");
  {
    std::lock_guard lock(impl_->mu);
    if (auto it = impl_->partition_counts.find(topic); it != impl_->partition_counts.end()) return it->second;
  }
  const std::string name(topic);
  detail::TopicPtr rkt(rd_kafka_topic_new(impl_->rk.get(), name.c_str(), nullptr));
  if (!rkt) return Status::InvalidArgument(fmt::format("bad topic name '{}'", name));
  const rd_kafka_metadata_t* md = nullptr;
  const rd_kafka_resp_err_t err = rd_kafka_metadata(impl_->rk.get(), 0, rkt.get(), &md, TimeoutMs(timeout));
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return FromError(err, fmt::format("metadata for topic '{}'", name));
  std::int32_t count = 0;
  rd_kafka_resp_err_t topic_err = RD_KAFKA_RESP_ERR_NO_ERROR;
  for (int i = 0; i < md->topic_cnt; ++i) {
    if (name == md->topics[i].topic) {
      count = md->topics[i].partition_cnt;
      topic_err = md->topics[i].err;
    }
  }
  rd_kafka_metadata_destroy(md);
  if (topic_err != RD_KAFKA_RESP_ERR_NO_ERROR) return FromError(topic_err, fmt::format("topic '{}'", name));
  if (count <= 0) return Status::NotFound(fmt::format("topic '{}' has no partitions", name));
  std::lock_guard lock(impl_->mu);
  impl_->partition_counts.emplace(name, count);
  return count;
}

std::size_t Producer::max_message_bytes() const noexcept { return impl_ ? impl_->max_message_bytes : 0; }

std::size_t Producer::outstanding() const noexcept {
  if (!impl_) return 0;
  const auto c = counters();
  return static_cast<std::size_t>(c.produced - c.delivered - c.failed);
}

DeliveryCounters Producer::counters() const noexcept {
  if (!impl_) return {};
  // Read completions before `produced` so the difference never underflows.
  DeliveryCounters c;
  c.delivered = impl_->delivered.load(std::memory_order_relaxed);
  c.failed = impl_->failed.load(std::memory_order_relaxed);
  c.produced = impl_->produced.load(std::memory_order_relaxed);
  return c;
}

Status Producer::fatal_error() const {
  if (!impl_) return Status::OK();
  return impl_->Fatal();
}

Partition PartitionForKey(std::string_view key, std::int32_t partition_count) noexcept {
  if (partition_count <= 0) return Partition(0);
  return Partition(rd_kafka_msg_partitioner_consistent(nullptr, key.data(), key.size(), partition_count, nullptr,
                                                       nullptr));
}

}  // namespace exactly::kafka

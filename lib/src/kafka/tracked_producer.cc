// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
#include "tracked_producer.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "handles.h"

namespace exactly::kafka {

namespace {
using Clock = std::chrono::steady_clock;
}  // namespace

struct TrackedProducer::Impl {
  // The topics produced to (the relay's output and dead-letter topics),
  // each looked up once; bounded, the oldest dropped beyond kMaxTopics.
  static constexpr std::size_t kMaxTopics = 8;
  struct TopicHandle {
    std::string name;
    detail::TopicPtr rkt;
  };

  detail::HandlePtr rk;
  std::vector<TopicHandle> topics;  // after rk: released before the client
  std::size_t last_topic = 0;
  detail::ReportCadence reports;

  Result<rd_kafka_topic_t*> TopicFor(std::string_view name) {
    if (last_topic < topics.size() && topics[last_topic].name == name) return topics[last_topic].rkt.get();
    for (std::size_t i = 0; i < topics.size(); ++i) {
      if (topics[i].name == name) {
        last_topic = i;
        return topics[i].rkt.get();
      }
    }
    std::string owned(name);
    // As rd_kafka_producev does with a topic name: the client's default
    // topic configuration, the handle shared with librdkafka's own.
    detail::TopicPtr rkt(rd_kafka_topic_new(rk.get(), owned.c_str(), nullptr));
    if (!rkt) return detail::FromError(rd_kafka_last_error(), fmt::format("topic {}", owned));
    if (topics.size() == kMaxTopics) topics.erase(topics.begin());
    topics.push_back(TopicHandle{std::move(owned), std::move(rkt)});
    last_topic = topics.size() - 1;
    return topics.back().rkt.get();
  }

  // Topic handles first: librdkafka's client outlives them.
  void Release() {
    topics.clear();
    rk.reset();
  }

  static void OnDeliveryReport(rd_kafka_t* /*rk*/, const rd_kafka_message_t* m, void* opaque) noexcept {
    auto* self = static_cast<TrackedProducer*>(opaque);
    const auto batch = static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(m->_private));
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      self->OnDelivery(batch, true, {});
      return;
    }
    char reason[512];
    std::snprintf(reason, sizeof reason, "%s[%d]: %s (%s)", m->rkt ? rd_kafka_topic_name(m->rkt) : "?",
                  static_cast<int>(m->partition), rd_kafka_err2str(m->err), rd_kafka_err2name(m->err));
    self->OnDelivery(batch, false, reason);
  }

  static void OnError(rd_kafka_t* rk, int err, const char* reason, void* opaque) noexcept {
    if (err != RD_KAFKA_RESP_ERR__FATAL) return;  // transient: librdkafka retries by itself
    auto* self = static_cast<TrackedProducer*>(opaque);
    try {
      Status st = detail::FatalErrorStatus(rk, "producer", reason);
      std::lock_guard lock(self->mu_);
      if (self->fatal_.ok()) self->fatal_ = std::move(st);
    } catch (...) {
    }
  }
};

TrackedProducer::~TrackedProducer() {
  if (impl_) impl_->Release();
}

Result<std::unique_ptr<TrackedProducer>> TrackedProducer::Create(const KafkaConfig& config) {
  KafkaConfig conf_pairs = config;
  if (auto idem = conf_pairs.Get("enable.idempotence"); idem && *idem != "true") {
    return Status::InvalidArgument(fmt::format("enable.idempotence={} is not allowed here", *idem));
  }
  conf_pairs.Set("enable.idempotence", "true");
  std::unique_ptr<TrackedProducer> self(new TrackedProducer());
  auto handle = detail::NewProducer(conf_pairs, self.get(), &Impl::OnDeliveryReport, &Impl::OnError);
  if (!handle.ok()) return handle.status();
  self->max_message_bytes_ = handle->max_message_bytes;
  self->impl_ = std::make_unique<Impl>();
  self->impl_->rk = std::move(handle->rk);
  return self;
}

void TrackedProducer::OnDelivery(std::uint64_t batch, bool ok, std::string_view failure) noexcept {
  std::lock_guard lock(mu_);
  auto it = batches_.find(batch);
  if (it == batches_.end()) return;  // cannot happen: counted at Produce
  Batch& b = it->second;
  if (b.outstanding > 0) --b.outstanding;
  if (ok) {
    ++counters_.delivered;
    return;
  }
  ++counters_.failed;
  if (b.failed++ == 0) {
    try {
      b.first_failure.assign(failure);
    } catch (...) {
    }
  }
}

Status TrackedProducer::Produce(const OutgoingRecord& record, std::chrono::milliseconds timeout) {
  if (!impl_ || !impl_->rk) return Status::FailedPrecondition("producer is closed");
  std::uint64_t batch = 0;
  {
    std::lock_guard lock(mu_);
    EXACTLY_RETURN_IF_ERROR(fatal_);
    batch = current_;
    // Counted before the call: a delivery report must never find its
    // batch without it (and a failed call takes it back below).
    ++batches_[batch].outstanding;
    ++counters_.produced;
  }
  const auto uncount = [&] {
    std::lock_guard lock(mu_);
    --batches_[batch].outstanding;
    --counters_.produced;
  };
  auto rkt = impl_->TopicFor(record.topic);
  if (!rkt.ok()) {
    uncount();
    return rkt.status();
  }
  // Read only once the queue is full: a clock reading per record shows.
  std::optional<Clock::time_point> deadline;
  void* opaque = reinterpret_cast<void*>(static_cast<std::uintptr_t>(batch));
  for (;;) {
    const rd_kafka_resp_err_t err = detail::ProduceCopy(impl_->rk.get(), *rkt, record, opaque);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      impl_->reports.Produced(impl_->rk.get(), record.value ? record.value->size() : 0);
      return Status::OK();
    }
    if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      const auto now = Clock::now();
      if (!deadline) deadline = now + timeout;
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(*deadline - now);
      if (left.count() > 0) {
        rd_kafka_poll(impl_->rk.get(), std::min(detail::TimeoutMs(left), 100));
        continue;  // still counted
      }
    }
    uncount();
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
      std::lock_guard lock(mu_);
      EXACTLY_RETURN_IF_ERROR(fatal_);
    }
    return detail::FromError(err, fmt::format("produce to {}", record.topic));
  }
}

std::uint64_t TrackedProducer::Mark() {
  std::lock_guard lock(mu_);
  return current_++;
}

Status TrackedProducer::FirstFailure(std::uint64_t up_to) {
  std::uint64_t failed = 0;
  const std::string* first = nullptr;
  for (const auto& [id, b] : batches_) {
    if (id > up_to) break;
    if (id < floor_ || b.failed == 0) continue;
    if (first == nullptr) first = &b.first_failure;
    failed += b.failed;
  }
  if (failed == 0) return Status::OK();
  return Status::IoError(fmt::format("{} output message(s) failed delivery; first: {}", failed, *first));
}

Result<bool> TrackedProducer::Durable(std::uint64_t mark) {
  if (!impl_ || !impl_->rk) return Status::FailedPrecondition("producer is closed");
  rd_kafka_poll(impl_->rk.get(), 0);  // serve the reports that arrived
  std::lock_guard lock(mu_);
  EXACTLY_RETURN_IF_ERROR(fatal_);
  EXACTLY_RETURN_IF_ERROR(FirstFailure(mark));
  for (const auto& [id, b] : batches_) {
    if (id > mark) break;
    if (b.outstanding > 0) return false;
  }
  batches_.erase(batches_.begin(), batches_.upper_bound(mark));
  return true;
}

Status TrackedProducer::Flush(std::chrono::milliseconds timeout) {
  if (!impl_ || !impl_->rk) return Status::FailedPrecondition("producer is closed");
  const rd_kafka_resp_err_t err = rd_kafka_flush(impl_->rk.get(), detail::TimeoutMs(timeout));
  rd_kafka_poll(impl_->rk.get(), 0);
  std::lock_guard lock(mu_);
  EXACTLY_RETURN_IF_ERROR(fatal_);
  EXACTLY_RETURN_IF_ERROR(FirstFailure(UINT64_MAX));
  std::uint64_t outstanding = 0;
  for (const auto& [id, b] : batches_) outstanding += b.outstanding;
  if (outstanding > 0 || err == RD_KAFKA_RESP_ERR__TIMED_OUT) {
    return Status::TimedOut(
        fmt::format("flush: {} message(s) still unacknowledged after {} ms", outstanding, timeout.count()));
  }
  batches_.clear();
  return detail::FromError(err, "flush");
}

void TrackedProducer::ForgetFailures() {
  std::lock_guard lock(mu_);
  floor_ = ++current_;
}

Status TrackedProducer::Close(std::chrono::milliseconds timeout) {
  if (!impl_ || !impl_->rk) return Status::OK();
  Status st = Flush(timeout);
  impl_->Release();
  return st;
}

DeliveryCounters TrackedProducer::counters() const {
  std::lock_guard lock(mu_);
  return counters_;
}

}  // namespace exactly::kafka

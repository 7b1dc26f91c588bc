// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
#include "exactly/kafka/consumer.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <atomic>
#include <mutex>
#include <random>
#include <string_view>
#include <utility>
#include <vector>

#include "handles.h"

namespace exactly::kafka {

using detail::FromError;
using detail::TimeoutMs;
using detail::TopicPartitionListPtr;

namespace {
using Clock = std::chrono::steady_clock;

TopicPartitionListPtr ToList(std::span<const TopicPartitionOffset> offsets) {
  TopicPartitionListPtr list(rd_kafka_topic_partition_list_new(static_cast<int>(offsets.size())));
  for (const auto& o : offsets) {
    rd_kafka_topic_partition_list_add(list.get(), o.tp.topic.name().c_str(), o.tp.partition.value())->offset =
        o.offset.value();
  }
  return list;
}

std::vector<TopicPartition> ToPartitions(const rd_kafka_topic_partition_list_t* list) {
  std::vector<TopicPartition> out;
  if (list == nullptr) return out;
  out.reserve(static_cast<std::size_t>(list->cnt));
  for (int i = 0; i < list->cnt; ++i) {
    out.push_back(TopicPartition{Topic(list->elems[i].topic), Partition(list->elems[i].partition)});
  }
  return out;
}

bool Cooperative(rd_kafka_t* rk) {
  const char* protocol = rd_kafka_rebalance_protocol(rk);
  return protocol != nullptr && std::string_view(protocol) == "COOPERATIVE";
}
}  // namespace

struct Consumer::Impl {
  std::mutex mu;
  Status fatal;
  // Set once `fatal` is: Poll() checks it on every call, since librdkafka
  // reports a fatal error through the error callback, not as a message.
  std::atomic<bool> has_fatal{false};
  Status rebalance_error;  // reported by the next Poll()
  std::atomic<bool> has_rebalance_error{false};  // lets Poll() skip the lock
  RebalanceListener* listener = nullptr;
  detail::HandlePtr rk;  // last: destroyed first, while the fields above live

  void SetRebalanceError(Status st) noexcept {
    if (st.ok()) return;
    std::lock_guard lock(mu);
    if (rebalance_error.ok()) rebalance_error = std::move(st);
    has_rebalance_error.store(true, std::memory_order_release);
  }

  // Runs the listener, then applies the change to librdkafka's assignment.
  // librdkafka must be told in every case, or the group stalls; so the
  // assign calls happen even when building the listener's view failed.
  static void OnRebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* partitions,
                          void* opaque) noexcept {
    auto* self = static_cast<Impl*>(opaque);
    const bool cooperative = Cooperative(rk);
    Status st;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
      // A copy, so the offsets chosen here do not leak into librdkafka's list.
      TopicPartitionListPtr assign(rd_kafka_topic_partition_list_copy(partitions));
      try {
        const std::vector<TopicPartition> tps = ToPartitions(assign.get());
        std::vector<Offset> start(tps.size(), kOffsetInvalid);
        if (self->listener != nullptr) self->listener->OnAssigned(tps, start);
        for (int i = 0; i < assign->cnt; ++i) assign->elems[i].offset = start[static_cast<std::size_t>(i)].value();
      } catch (...) {
        self->SetRebalanceError(Status::Internal("out of memory handling a partition assignment"));
      }
      st = cooperative ? detail::FromErrorObject(rd_kafka_incremental_assign(rk, assign.get()), "incremental assign")
                       : FromError(rd_kafka_assign(rk, assign.get()), "assign");
    } else if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
      const bool lost = rd_kafka_assignment_lost(rk) != 0;
      try {
        const std::vector<TopicPartition> tps = ToPartitions(partitions);
        if (self->listener != nullptr) self->listener->OnRevoked(tps, lost);
      } catch (...) {
        self->SetRebalanceError(Status::Internal("out of memory handling a partition revocation"));
      }
      st = cooperative ? detail::FromErrorObject(rd_kafka_incremental_unassign(rk, partitions), "incremental unassign")
                       : FromError(rd_kafka_assign(rk, nullptr), "unassign");
    } else {
      // A failed rebalance: librdkafka asks for the assignment to be
      // cleared. Whatever was assigned is as good as lost.
      try {
        rd_kafka_topic_partition_list_t* raw = nullptr;
        if (rd_kafka_assignment(rk, &raw) == RD_KAFKA_RESP_ERR_NO_ERROR) {
          TopicPartitionListPtr current(raw);
          const std::vector<TopicPartition> tps = ToPartitions(current.get());
          if (self->listener != nullptr && !tps.empty()) self->listener->OnRevoked(tps, true);
        }
      } catch (...) {
        self->SetRebalanceError(Status::Internal("out of memory handling a rebalance error"));
      }
      st = FromError(rd_kafka_assign(rk, nullptr), "unassign after rebalance error");
    }
    self->SetRebalanceError(std::move(st));
  }

  // Served from inside Poll() (the main queue is forwarded to the
  // consumer queue), on the polling thread.
  static void OnError(rd_kafka_t* rk, int err, const char* reason, void* opaque) noexcept {
    auto* self = static_cast<Impl*>(opaque);
    try {
      if (err == RD_KAFKA_RESP_ERR__FATAL) {
        Status st = detail::FatalErrorStatus(rk, "consumer", reason);
        std::lock_guard lock(self->mu);
        if (self->fatal.ok()) self->fatal = std::move(st);
        self->has_fatal.store(true, std::memory_order_release);
        return;
      }
      // Transient (brokers down, connection refused, ...): librdkafka
      // retries by itself; the owner decides whether to log it.
      Status st = FromError(static_cast<rd_kafka_resp_err_t>(err), reason ? reason : "client error");
      if (self->listener != nullptr) {
        self->listener->OnTransientError(st);
      } else {
        std::fprintf(stderr, "exactly: consumer: %s\n", st.ToString().c_str());
      }
    } catch (...) {
    }
  }
  // Served from inside Poll(), like OnError. Only failures are passed on:
  // a commit that went through needs nothing from the listener.
  static void OnOffsetCommit(rd_kafka_t* /*rk*/, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* offsets,
                             void* opaque) noexcept {
    auto* self = static_cast<Impl*>(opaque);
    // _NO_OFFSET: there was nothing to commit.
    if (self->listener == nullptr || offsets == nullptr || err == RD_KAFKA_RESP_ERR__NO_OFFSET) return;
    try {
      std::vector<TopicPartitionOffset> failed;
      rd_kafka_resp_err_t first = err;
      for (int i = 0; i < offsets->cnt; ++i) {
        const auto& e = offsets->elems[i];
        // A request-level error fails every partition in it.
        if (e.err == RD_KAFKA_RESP_ERR_NO_ERROR && err == RD_KAFKA_RESP_ERR_NO_ERROR) continue;
        if (first == RD_KAFKA_RESP_ERR_NO_ERROR) first = e.err;
        failed.push_back({TopicPartition{Topic(e.topic), Partition(e.partition)}, Offset(e.offset)});
      }
      if (failed.empty()) return;
      self->listener->OnCommitFailed(failed, FromError(first, "offset commit"));
    } catch (...) {
    }
  }
  Status Fatal() {
    std::lock_guard lock(mu);
    return fatal;
  }
};

Consumer::Consumer(std::unique_ptr<Impl> impl) noexcept : impl_(std::move(impl)) {}
Consumer::Consumer(Consumer&&) noexcept = default;
Consumer& Consumer::operator=(Consumer&&) noexcept = default;
Consumer::~Consumer() = default;

Result<Consumer> Consumer::Create(const KafkaConfig& config) { return Create(config, nullptr); }

Result<Consumer> Consumer::Create(const KafkaConfig& config, RebalanceListener* listener) {
  KafkaConfig conf_pairs = config;
  if (!conf_pairs.Has("group.id")) {
    std::random_device rd;
    conf_pairs.Set("group.id", fmt::format("exactly-private-{}-{:08x}", ::getpid(), rd()));
  }
  auto conf = detail::BuildConf(conf_pairs);
  if (!conf.ok()) return conf.status();
  auto impl = std::make_unique<Impl>();
  rd_kafka_conf_set_opaque(conf->get(), impl.get());
  rd_kafka_conf_set_error_cb(conf->get(), &Impl::OnError);
  if (listener != nullptr) {
    impl->listener = listener;
    rd_kafka_conf_set_rebalance_cb(conf->get(), &Impl::OnRebalance);
    rd_kafka_conf_set_offset_commit_cb(conf->get(), &Impl::OnOffsetCommit);
  }
  auto rk = detail::NewHandle(RD_KAFKA_CONSUMER, std::move(*conf));
  if (!rk.ok()) return rk.status();
  impl->rk = std::move(*rk);
  // Serve every callback from Poll(): one queue, one thread.
  rd_kafka_poll_set_consumer(impl->rk.get());
  return Consumer(std::move(impl));
}

Status Consumer::Subscribe(const std::vector<std::string>& topics) {
  if (!impl_ || !impl_->rk) return Status::FailedPrecondition("consumer is closed");
  TopicPartitionListPtr list(rd_kafka_topic_partition_list_new(static_cast<int>(topics.size())));
  for (const auto& t : topics) rd_kafka_topic_partition_list_add(list.get(), t.c_str(), RD_KAFKA_PARTITION_UA);
  return FromError(rd_kafka_subscribe(impl_->rk.get(), list.get()), "subscribe");
}

Status Consumer::Assign(std::span<const TopicPartitionOffset> partitions) {
  if (!impl_ || !impl_->rk) return Status::FailedPrecondition("consumer is closed");
  auto list = ToList(partitions);
  return FromError(rd_kafka_assign(impl_->rk.get(), list.get()), "assign");
}

Result<KafkaMessage> Consumer::Poll(std::chrono::milliseconds timeout) {
  if (!impl_ || !impl_->rk) return Status::FailedPrecondition("consumer is closed");
  KafkaMessage msg(rd_kafka_consumer_poll(impl_->rk.get(), TimeoutMs(timeout)));
  if (impl_->has_rebalance_error.load(std::memory_order_acquire)) {
    std::lock_guard lock(impl_->mu);
    impl_->has_rebalance_error.store(false, std::memory_order_relaxed);
    if (!impl_->rebalance_error.ok()) return std::exchange(impl_->rebalance_error, Status::OK());
  }
  if (impl_->has_fatal.load(std::memory_order_acquire)) return impl_->Fatal();
  return msg;
}

Result<Watermarks> Consumer::QueryWatermarks(const TopicPartition& tp, std::chrono::milliseconds timeout) {
  if (!impl_ || !impl_->rk) return Status::FailedPrecondition("consumer is closed");
  int64_t low = -1, high = -1;
  const auto err = rd_kafka_query_watermark_offsets(impl_->rk.get(), tp.topic.name().c_str(), tp.partition.value(),
                                                    &low, &high, TimeoutMs(timeout));
  EXACTLY_RETURN_IF_ERROR(FromError(err, fmt::format("watermarks of {}", tp.ToString())));
  return Watermarks{Offset(low), Offset(high)};
}

std::optional<Offset> Consumer::CachedHighWatermark(const TopicPartition& tp) const {
  if (!impl_ || !impl_->rk) return std::nullopt;
  int64_t low = -1, high = -1;
  const auto err =
      rd_kafka_get_watermark_offsets(impl_->rk.get(), tp.topic.name().c_str(), tp.partition.value(), &low, &high);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR || high < 0) return std::nullopt;
  return Offset(high);
}

Result<std::vector<TopicPartitionOffset>> Consumer::Committed(std::span<const TopicPartition> tps,
                                                              std::chrono::milliseconds timeout) {
  if (!impl_ || !impl_->rk) return Status::FailedPrecondition("consumer is closed");
  TopicPartitionListPtr list(rd_kafka_topic_partition_list_new(static_cast<int>(tps.size())));
  for (const auto& tp : tps) rd_kafka_topic_partition_list_add(list.get(), tp.topic.name().c_str(), tp.partition.value());
  EXACTLY_RETURN_IF_ERROR(FromError(rd_kafka_committed(impl_->rk.get(), list.get(), TimeoutMs(timeout)), "committed"));
  std::vector<TopicPartitionOffset> out;
  for (int i = 0; i < list->cnt; ++i) {
    const auto& e = list->elems[i];
    EXACTLY_RETURN_IF_ERROR(FromError(e.err, fmt::format("committed offset of {}[{}]", e.topic, e.partition)));
    out.push_back({TopicPartition{Topic(e.topic), Partition(e.partition)}, Offset(e.offset)});
  }
  return out;
}

Status Consumer::Commit(std::span<const TopicPartitionOffset> offsets, bool async) {
  if (!impl_ || !impl_->rk) return Status::FailedPrecondition("consumer is closed");
  if (offsets.empty()) return Status::OK();
  auto list = ToList(offsets);
  return FromError(rd_kafka_commit(impl_->rk.get(), list.get(), async ? 1 : 0), "commit");
}

Result<std::vector<TopicPartition>> Consumer::Assignment() {
  if (!impl_ || !impl_->rk) return Status::FailedPrecondition("consumer is closed");
  rd_kafka_topic_partition_list_t* raw = nullptr;
  EXACTLY_RETURN_IF_ERROR(FromError(rd_kafka_assignment(impl_->rk.get(), &raw), "assignment"));
  TopicPartitionListPtr list(raw);
  std::vector<TopicPartition> out;
  for (int i = 0; i < list->cnt; ++i) {
    out.push_back(TopicPartition{Topic(list->elems[i].topic), Partition(list->elems[i].partition)});
  }
  return out;
}

Status Consumer::Seek(std::span<const TopicPartitionOffset> offsets, std::chrono::milliseconds timeout) {
  if (!impl_ || !impl_->rk) return Status::FailedPrecondition("consumer is closed");
  if (offsets.empty()) return Status::OK();
  auto list = ToList(offsets);
  // A zero timeout would make librdkafka seek asynchronously, without the
  // guarantee about records fetched from the old position.
  const int ms = std::max(1, TimeoutMs(timeout));
  EXACTLY_RETURN_IF_ERROR(detail::FromErrorObject(rd_kafka_seek_partitions(impl_->rk.get(), list.get(), ms), "seek"));
  for (int i = 0; i < list->cnt; ++i) {
    const auto& e = list->elems[i];
    EXACTLY_RETURN_IF_ERROR(FromError(e.err, fmt::format("seek {}[{}] to {}", e.topic, e.partition, e.offset)));
  }
  return Status::OK();
}

std::string Consumer::RebalanceProtocol() {
  if (!impl_ || !impl_->rk) return "NONE";
  const char* protocol = rd_kafka_rebalance_protocol(impl_->rk.get());
  return protocol != nullptr ? protocol : "NONE";
}

Status Consumer::Close(std::chrono::milliseconds timeout) {
  if (!impl_ || !impl_->rk) return Status::OK();
  rd_kafka_t* rk = impl_->rk.get();
  // rd_kafka_consumer_close() has no timeout: close through a queue we
  // serve ourselves, and give up at the deadline.
  detail::QueuePtr queue(rd_kafka_queue_new(rk));
  Status st = detail::FromErrorObject(rd_kafka_consumer_close_queue(rk, queue.get()), "close consumer");
  const auto deadline = Clock::now() + timeout;
  while (st.ok() && !rd_kafka_consumer_closed(rk)) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      st = Status::TimedOut(fmt::format("consumer close did not finish within {} ms", timeout.count()));
      break;
    }
    detail::EventPtr ev(rd_kafka_queue_poll(queue.get(), std::min(TimeoutMs(left), 100)));
    if (ev && rd_kafka_event_type(ev.get()) == RD_KAFKA_EVENT_REBALANCE) {
      // Leaving the group revokes everything; acknowledge it.
      if (std::string_view(rd_kafka_rebalance_protocol(rk)) == "COOPERATIVE") {
        (void)detail::FromErrorObject(rd_kafka_incremental_unassign(rk, rd_kafka_event_topic_partition_list(ev.get())),
                                      "unassign");
      } else {
        (void)rd_kafka_assign(rk, nullptr);
      }
    }
  }
  // The queue holds a reference on the handle: release it first, or
  // destroying the handle waits for it.
  queue.reset();
  impl_->rk.reset();
  return st;
}

}  // namespace exactly::kafka

// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
#include "demo_traffic.h"

#include <fmt/format.h>

#include <chrono>
#include <deque>
#include <random>
#include <thread>
#include <utility>

#include "exactly/crc32c.h"
#include "exactly/envelope.h"

namespace exactly::relay_demo {

namespace {

using namespace std::chrono_literals;
constexpr auto kSendTimeout = 30s;

void AppendStamp(const StampHeaders& stamp, std::vector<HeaderView>& out) {
  out.push_back({header::kProducer, stamp.producer});
  out.push_back({header::kEpoch, stamp.epoch});
  out.push_back({header::kSeq, stamp.seq});
  if (stamp.chunk) out.push_back({header::kChunk, *stamp.chunk});
  if (stamp.size) out.push_back({header::kSize, *stamp.size});
  if (stamp.crc) out.push_back({header::kCrc, *stamp.crc});
}

// What a producer instance remembers of its recent messages, to re-send.
struct SentMessage {
  Partition partition;
  EpochSeq stamp;
  std::string key;
  std::string value;
  std::size_t chunk_bytes = 0;
};

struct ProducerInstance {
  std::string id;
  Epoch epoch;
  std::uint64_t next_seq = 0;
  std::deque<SentMessage> recent;
  std::string last_key;
};

class Generator {
 public:
  Generator(kafka::Producer& producer, const TrafficOptions& options, TrafficReport& report,
            std::atomic<std::uint64_t>* progress)
      : producer_(producer), o_(options), report_(report), progress_(progress), rng_(options.seed) {}

  Status Run(const std::atomic<bool>* stop) {
    std::vector<ProducerInstance> producers;
    for (int i = 0; i < o_.producers; ++i) {
      producers.push_back({fmt::format("{}-{}", o_.producer_prefix, i), Epoch(3), 0, {}, {}});
    }
    std::optional<ProducerInstance> zombie;
    const std::uint64_t m = o_.messages;
    const auto started = std::chrono::steady_clock::now();
    for (std::uint64_t j = 0; j < m; ++j) {
      if (stop != nullptr && stop->load()) return Status::Aborted("traffic generator stopped");
      if (o_.records_per_second > 0) {
        // Pace: sleep until the records sent so far are due.
        const auto due = started + std::chrono::microseconds(report_.records * 1'000'000 / o_.records_per_second);
        std::this_thread::sleep_until(due);
      }
      for (int i = 0; i < o_.producers; ++i) {
        ProducerInstance& p = producers[static_cast<std::size_t>(i)];
        if (i == 1 && o_.zombie && j == m / 2) {
          // Restart: the new instance bumps the epoch and may restart its
          // sequence; the old one does not know it is fenced yet.
          zombie = p;
          zombie->id = p.id;
          p.epoch = Epoch(p.epoch.value() + 1);
          p.next_seq = 0;
          p.recent.clear();
        }
        const std::string key = fmt::format("customer-{:02}", rng_() % 64);
        EXACTLY_RETURN_IF_ERROR(SendNew(p, key, OrderText(i, j), 0));
        if (zombie && i == 1 && j <= m / 2 + m / 10) {
          // Same key as the new instance's last message: same partition,
          // after a record of the higher epoch, hence stale.
          const std::uint64_t before = report_.records;
          EXACTLY_RETURN_IF_ERROR(SendNew(*zombie, p.last_key, OrderText(100 + i, j), 0));
          report_.zombie += report_.records - before;
          --report_.messages;
        }
        if (static_cast<int>(rng_() % 100) < o_.retry_percent) EXACTLY_RETURN_IF_ERROR(Resend(p));
        if (i == 0 && (j == m / 3 || j == 2 * m / 3) && !o_.large_messages.empty()) {
          EXACTLY_RETURN_IF_ERROR(SendLarge(p, j == m / 3 ? 0 : 1));
        }
        if (i == 2 % o_.producers && j == m / 4 && o_.corrupt) EXACTLY_RETURN_IF_ERROR(SendCorrupt(p));
      }
      for (int k = 1; k <= o_.malformed; ++k) {
        if (j == static_cast<std::uint64_t>(k) * m / static_cast<std::uint64_t>(o_.malformed + 1)) {
          EXACTLY_RETURN_IF_ERROR(SendMalformed(k));
        }
      }
      for (int k = 1; k <= o_.unstamped; ++k) {
        if (j == static_cast<std::uint64_t>(k) * m / static_cast<std::uint64_t>(o_.unstamped + 1) + 1) {
          EXACTLY_RETURN_IF_ERROR(SendUnstamped(k));
        }
      }
    }
    return producer_.Flush(60s);
  }

 private:
  std::string OrderText(int producer, std::uint64_t n) {
    std::string s = fmt::format("order {:06} from {}-{}: {} item(s), total {}.{:02} EUR | ", n, o_.producer_prefix, producer,
                                1 + rng_() % 9, rng_() % 500, rng_() % 100);
    if (s.size() < o_.value_bytes) s += FillerText(o_.value_bytes - s.size(), n);
    return s;
  }

  Status Count(Result<std::uint32_t> sent) {
    if (!sent.ok()) return sent.status();
    report_.records += *sent;
    if (progress_ != nullptr) progress_->fetch_add(*sent, std::memory_order_relaxed);
    (void)producer_.Poll(0ms);  // serve delivery reports as we go
    return Status::OK();
  }

  Status Send(const SentMessage& m, std::string_view producer_id) {
    StampedSend s;
    s.topic = o_.topic;
    s.partition = m.partition;
    s.producer = producer_id;
    s.stamp = m.stamp;
    s.key = std::string_view(m.key);
    s.value = m.value;
    s.chunk_bytes = m.chunk_bytes;
    return Count(SendStamped(producer_, s));
  }

  Status SendNew(ProducerInstance& p, const std::string& key, std::string value, std::size_t chunk_bytes) {
    SentMessage m{kafka::PartitionForKey(key, o_.partitions), EpochSeq{p.epoch, Sequence(p.next_seq++)}, key,
                  std::move(value), chunk_bytes};
    EXACTLY_RETURN_IF_ERROR(Send(m, p.id));
    ++report_.messages;
    p.last_key = key;
    p.recent.push_back(std::move(m));
    while (p.recent.size() > static_cast<std::size_t>(o_.max_retry_window)) p.recent.pop_front();
    return Status::OK();
  }

  // A producer that timed out waiting for acknowledgements sends its last
  // window again, with the same stamps.
  Status Resend(ProducerInstance& p) {
    const std::size_t w = std::min<std::size_t>(p.recent.size(), 1 + rng_() % o_.max_retry_window);
    for (std::size_t k = p.recent.size() - w; k < p.recent.size(); ++k) {
      const std::uint64_t before = report_.records;
      EXACTLY_RETURN_IF_ERROR(Send(p.recent[k], p.id));
      report_.resent += report_.records - before;
    }
    return Status::OK();
  }

  Status SendLarge(ProducerInstance& p, std::size_t which) {
    if (which >= o_.large_messages.size()) return Status::OK();
    const std::string key = fmt::format("{}-large-{}", o_.producer_prefix, which);
    EXACTLY_RETURN_IF_ERROR(SendNew(p, key, FillerText(o_.large_messages[which], 1000 + which), o_.chunk_bytes));
    ++report_.large;
    // The first one is re-sent whole: every chunk arrives twice.
    if (which == 0) {
      const std::uint64_t before = report_.records;
      EXACTLY_RETURN_IF_ERROR(Send(p.recent.back(), p.id));
      report_.resent += report_.records - before;
    }
    return Status::OK();
  }

  Status SendCorrupt(ProducerInstance& p) {
    const std::string key = o_.producer_prefix + "-corrupt";
    const std::string value = FillerText(150 * 1024, 77);
    StampedSend s;
    s.topic = o_.topic;
    s.partition = kafka::PartitionForKey(key, o_.partitions);
    s.producer = p.id;
    s.stamp = EpochSeq{p.epoch, Sequence(p.next_seq++)};
    s.key = std::string_view(key);
    s.value = value;
    s.chunk_bytes = 64 * 1024;
    s.crc = crc32c::Value(value) ^ 0x5a5a5a5au;
    auto sent = SendStamped(producer_, s);
    if (sent.ok()) report_.corrupt_chunks += *sent;
    return Count(std::move(sent));
  }

  Status SendMalformed(int k) {
    // Each violates DESIGN.md §2 differently.
    std::vector<HeaderView> headers;
    switch (k % 4) {
      case 0:
        headers = {{header::kProducer, "orders-0"}, {header::kEpoch, "3x"}, {header::kSeq, "1"}};
        break;
      case 1:
        headers = {{header::kProducer, "orders 0"}, {header::kEpoch, "3"}, {header::kSeq, "1"}};
        break;
      case 2:
        headers = {{header::kProducer, "orders-0"}, {header::kSeq, "1"}};
        break;
      default:
        headers = {{header::kProducer, "orders-0"}, {header::kEpoch, "3"}, {header::kSeq, "1"}, {header::kSeq, "2"}};
        break;
    }
    const std::string key = fmt::format("malformed-{}", k);
    const std::string value = fmt::format("malformed record #{}", k);
    EXACTLY_RETURN_IF_ERROR(producer_.Produce(
        kafka::OutgoingRecord{o_.topic, kafka::PartitionForKey(key, o_.partitions), key, value, headers},
        kSendTimeout));
    ++report_.malformed;
    return Count(1u);
  }

  Status SendUnstamped(int k) {
    const std::vector<HeaderView> headers = {{"source", "legacy-system"}};
    const std::string key = fmt::format("legacy-{}", k);
    const std::string value = fmt::format("unstamped record #{} from a producer that predates exactly", k);
    EXACTLY_RETURN_IF_ERROR(producer_.Produce(
        kafka::OutgoingRecord{o_.topic, kafka::PartitionForKey(key, o_.partitions), key, value, headers},
        kSendTimeout));
    ++report_.unstamped;
    return Count(1u);
  }

  kafka::Producer& producer_;
  const TrafficOptions& o_;
  TrafficReport& report_;
  std::atomic<std::uint64_t>* progress_;
  std::mt19937_64 rng_;
};

}  // namespace

Status GenerateTraffic(kafka::Producer& producer, const TrafficOptions& options, TrafficReport* report,
                       std::atomic<std::uint64_t>* progress, const std::atomic<bool>* stop) {
  if (options.topic.empty() || options.partitions < 1 || options.producers < 1) {
    return Status::InvalidArgument("traffic needs a topic, partitions and producers");
  }
  TrafficReport local;
  Generator generator(producer, options, report != nullptr ? *report : local, progress);
  return generator.Run(stop);
}

std::string FillerText(std::size_t size, std::uint64_t tag) {
  static constexpr std::string_view kWords[] = {"alpha", "bravo", "charlie", "delta", "echo", "foxtrot",
                                                "golf",  "hotel", "india",   "juliet", "kilo", "lima"};
  std::string s;
  s.reserve(size + 64);
  std::uint64_t n = tag;
  while (s.size() < size) {
    s += kWords[n % 12];
    s += n % 7 == 0 ? '\n' : ' ';
    n = n * 6364136223846793005ull + 1442695040888963407ull;
    n ^= n >> 29;
  }
  s.resize(size);
  return s;
}

Result<std::uint32_t> SendStamped(kafka::Producer& producer, const StampedSend& send) {
  StampSpec spec{send.producer, send.stamp, std::nullopt, std::nullopt, std::nullopt};
  std::vector<HeaderView> headers;
  const std::size_t size = send.value.size();
  if (send.chunk_bytes == 0 || size <= send.chunk_bytes) {
    const StampHeaders stamp = FormatStamp(spec);
    AppendStamp(stamp, headers);
    headers.insert(headers.end(), send.headers.begin(), send.headers.end());
    EXACTLY_RETURN_IF_ERROR(
        producer.Produce(kafka::OutgoingRecord{send.topic, send.partition, send.key, send.value, headers}, kSendTimeout));
    return 1u;
  }
  const std::uint64_t count = (size + send.chunk_bytes - 1) / send.chunk_bytes;
  spec.size = size;
  spec.crc = send.crc.value_or(crc32c::Value(send.value));
  for (std::uint64_t i = 0; i < count; ++i) {
    spec.chunk = ChunkInfo{static_cast<std::uint32_t>(i), static_cast<std::uint32_t>(count)};
    const StampHeaders stamp = FormatStamp(spec);
    headers.clear();
    AppendStamp(stamp, headers);
    if (i == 0) headers.insert(headers.end(), send.headers.begin(), send.headers.end());
    const std::string_view piece = send.value.substr(i * send.chunk_bytes, send.chunk_bytes);
    EXACTLY_RETURN_IF_ERROR(
        producer.Produce(kafka::OutgoingRecord{send.topic, send.partition, send.key, piece, headers}, kSendTimeout));
  }
  return static_cast<std::uint32_t>(count);
}

}  // namespace exactly::relay_demo

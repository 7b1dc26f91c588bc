// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
#include "verify.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <map>
#include <set>

#include "exactly/kafka/consumer.h"

namespace exactly::torture {

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

std::chrono::milliseconds Left(Clock::time_point deadline) {
  return std::max(1ms, std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()));
}

std::string Show(const std::optional<std::string>& s) {
  if (!s) return "null";
  if (s->size() <= 40) return fmt::format("'{}'", *s);
  return fmt::format("'{}...' ({} bytes)", s->substr(0, 40), s->size());
}

std::string Show(const std::vector<OwnedHeader>& hs) {
  std::string out = "[";
  for (const auto& h : hs) out += fmt::format("{}{}={}", out.size() > 1 ? " " : "", h.name, Show(h.value));
  return out + "]";
}

bool ParseInt(const std::string& s, std::int64_t& v) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && p == s.data() + s.size();
}

struct OutMessage {
  std::optional<std::string> key, value;
  std::vector<OwnedHeader> headers;  // non-envelope headers of the (first) record
  std::int64_t where = 0;            // output offset of the completing record
  std::int32_t out_partition = 0;
};

struct Assembly {
  std::uint32_t count = 0;
  std::map<std::uint32_t, OwnedRecord> chunks;
};

}  // namespace

Result<std::vector<OwnedRecord>> ReadWholeTopic(const std::string& bootstraps, const std::string& topic,
                                                std::int32_t partitions, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  auto consumer = kafka::Consumer::Create(kafka::KafkaConfig{{"bootstrap.servers", bootstraps},
                                                             {"log_level", "2"},
                                                             {"fetch.wait.max.ms", "10"},
                                                             {"enable.auto.commit", "false"},
                                                             {"auto.offset.reset", "error"}});
  if (!consumer.ok()) return consumer.status();
  std::vector<std::int64_t> high;
  std::vector<kafka::TopicPartitionOffset> assignment;
  std::uint64_t to_read = 0;
  for (std::int32_t p = 0; p < partitions; ++p) {
    const TopicPartition tp{Topic(topic), Partition(p)};
    auto wm = consumer->QueryWatermarks(tp, Left(deadline));
    if (!wm.ok()) return wm.status().WithContext(tp.ToString());
    if (wm->low.value() != 0) {
      return Status::Corruption(fmt::format("{} starts at offset {}: the broker deleted records (retention)",
                                            tp.ToString(), wm->low.value()));
    }
    high.push_back(wm->high.value());
    to_read += static_cast<std::uint64_t>(wm->high.value());
    assignment.push_back({tp, kafka::kOffsetBeginning});
  }
  EXACTLY_RETURN_IF_ERROR(consumer->Assign(assignment));
  std::vector<std::vector<OwnedRecord>> per(high.size());
  std::uint64_t got = 0;
  while (got < to_read) {
    if (Clock::now() >= deadline) {
      return Status::TimedOut(fmt::format("read {} of {} records of {} in time", got, to_read, topic));
    }
    auto msg = consumer->Poll(100ms);
    if (!msg.ok()) return msg.status();
    if (msg->empty()) continue;
    if (!msg->ok()) {
      if (msg->partition_eof()) continue;
      return msg->status();
    }
    const auto p = static_cast<std::size_t>(msg->partition().value());
    if (msg->offset().value() >= high[p]) continue;
    const auto expected_offset = static_cast<std::int64_t>(per[p].size());
    if (msg->offset().value() != expected_offset) {
      return Status::Corruption(
          fmt::format("{}[{}]: offset {} read where {} was next", topic, p, msg->offset().value(), expected_offset));
    }
    per[p].push_back(OwnedRecord::FromView(msg->view()));
    ++got;
  }
  (void)consumer->Close(5s);
  std::vector<OwnedRecord> all;
  for (auto& v : per) {
    for (auto& r : v) all.push_back(std::move(r));
  }
  return all;
}

Verdict Judge(const ReferenceResult& ref, const std::vector<OwnedRecord>& output,
              const std::vector<OwnedRecord>& dead_letters, const std::string& relay_id, const std::string& input_topic,
              std::uint64_t output_epoch) {
  Verdict v;
  auto example = [&](std::string text) {
    if (v.examples.size() < 12) v.examples.push_back(std::move(text));
  };
  const std::string prefix = relay_id + "/" + input_topic + "/";
  std::map<Place, OutMessage> got;  // (input partition, seq) -> first copy
  std::map<std::tuple<std::int32_t, std::string, std::uint64_t>, Assembly> assembling;
  std::map<std::pair<std::int32_t, std::string>, std::uint64_t> last_seq;  // (out partition, producer)

  auto complete = [&](std::int32_t in_partition, std::uint64_t seq, OutMessage m, const std::string& producer) {
    const Place place{in_partition, static_cast<std::int64_t>(seq)};
    auto [it, inserted] = got.emplace(place, m);
    if (!inserted) {
      ++v.repeats;
      const OutMessage& first = it->second;
      if (first.key != m.key || first.value != m.value || first.headers != m.headers) {
        ++v.differing;
        example(fmt::format("differing copy: output [{}]@{} repeats in[{}]@{} with other bytes than [{}]@{}",
                            m.out_partition, m.where, in_partition, seq, first.out_partition, first.where));
      }
      return;
    }
    ++v.output_messages;
    auto [lit, fresh] = last_seq.emplace(std::pair{m.out_partition, producer}, seq);
    if (!fresh) {
      if (seq <= lit->second) {
        ++v.reordered;
        example(fmt::format("reordered: output [{}]@{} is the first copy of in[{}]@{}, after seq {} of {}",
                            m.out_partition, m.where, in_partition, seq, lit->second, producer));
      } else {
        lit->second = seq;
      }
    }
  };

  for (const OwnedRecord& r : output) {
    ++v.output_records;
    const ParsedEnvelope env = ParseEnvelope(r.headers);
    const std::string where = fmt::format("output [{}]@{}", r.partition.value(), r.offset.value());
    std::int64_t in_partition = -1;
    if (env.kind != ParsedEnvelope::kStamped || !env.producer.starts_with(prefix) ||
        !ParseInt(env.producer.substr(prefix.size()), in_partition) || env.epoch != output_epoch) {
      ++v.invalid;
      example(fmt::format("invalid: {} is not stamped {}<partition> epoch {} ({})", where, prefix, output_epoch,
                          env.kind == ParsedEnvelope::kMalformed ? env.why : env.producer));
      continue;
    }
    std::vector<OwnedHeader> user;
    for (const auto& h : r.headers) {
      if (!IsEnvelopeName(h.name)) user.push_back(h);
    }
    if (!env.chunked || env.count == 1) {
      complete(static_cast<std::int32_t>(in_partition), env.seq,
               OutMessage{r.key, r.value, std::move(user), r.offset.value(), r.partition.value()}, env.producer);
      continue;
    }
    const auto key = std::tuple{r.partition.value(), env.producer, env.seq};
    Assembly& a = assembling[key];
    a.count = env.count;
    a.chunks.emplace(env.index, r);  // first copy of each index
    if (a.chunks.size() < a.count) continue;
    std::string value;
    for (const auto& [i, c] : a.chunks) value += c.value.value_or("");
    if (env.size && *env.size != value.size()) {
      ++v.invalid;
      example(fmt::format("invalid: {} completes an output message whose size is wrong", where));
    } else if (env.crc && *env.crc != SimpleCrc32c(value)) {
      ++v.invalid;
      example(fmt::format("invalid: {} completes an output message whose crc is wrong", where));
    } else {
      const OwnedRecord& c0 = a.chunks.begin()->second;
      std::vector<OwnedHeader> user0;
      for (const auto& h : c0.headers) {
        if (!IsEnvelopeName(h.name)) user0.push_back(h);
      }
      complete(static_cast<std::int32_t>(in_partition), env.seq,
               OutMessage{c0.key, std::move(value), std::move(user0), r.offset.value(), r.partition.value()},
               env.producer);
    }
    assembling.erase(key);
  }

  v.expected = ref.messages.size();
  for (const auto& [place, want] : ref.messages) {
    auto it = got.find(place);
    if (it == got.end()) {
      ++v.missing;
      example(fmt::format("missing: the message completed at in[{}]@{} ({} epoch {} seq {}) is not in the output",
                          place.first, place.second, want.stamped ? want.producer : "unstamped", want.epoch, want.seq));
      continue;
    }
    ++v.delivered;
    std::vector<OwnedHeader> want_headers;
    if (want.stamped) {
      want_headers.push_back({"exactly.origin", fmt::format("{} {} {}", want.producer, want.epoch, want.seq)});
    }
    want_headers.insert(want_headers.end(), want.headers.begin(), want.headers.end());
    // The origin header's place among the user headers is the relay's
    // choice; its presence and value, and the user headers' order, are not.
    std::vector<OwnedHeader> have = it->second.headers;
    std::stable_partition(have.begin(), have.end(), [](const OwnedHeader& h) { return h.name == "exactly.origin"; });
    const OutMessage& m = it->second;
    if (m.key != want.key || m.value.value_or("") != want.value.value_or("") || have != want_headers) {
      ++v.differing;
      example(fmt::format("differing: in[{}]@{} -> output [{}]@{}: key {} vs {}, value {} vs {}, headers {} vs {}",
                          place.first, place.second, m.out_partition, m.where, Show(m.key), Show(want.key),
                          Show(m.value), Show(want.value), Show(have), Show(want_headers)));
    }
  }
  for (const auto& [place, m] : got) {
    if (!ref.messages.contains(place)) {
      ++v.extra;
      example(fmt::format("extra: output [{}]@{} claims in[{}]@{}, which completes no message", m.out_partition,
                          m.where, place.first, place.second));
    }
  }

  std::set<Place> seen;
  for (const OwnedRecord& r : dead_letters) {
    ++v.dead_letter_records;
    std::optional<std::string> topic, partition, offset, reason;
    bool truncated = false;
    for (const auto& h : r.headers) {
      if (h.name == "exactly.dead-letter.reason") reason = h.value;
      if (h.name == "exactly.dead-letter.truncated") truncated = true;
      if (h.name == "exactly.dead-letter.topic") topic = h.value;
      if (h.name == "exactly.dead-letter.partition") partition = h.value;
      if (h.name == "exactly.dead-letter.offset") offset = h.value;
    }
    std::int64_t p = 0, o = 0;
    if (!topic || !partition || !offset || *topic != input_topic || !ParseInt(*partition, p) || !ParseInt(*offset, o)) {
      ++v.invalid;
      example(fmt::format("invalid: dead letter [{}]@{} without its origin headers", r.partition.value(),
                          r.offset.value()));
      continue;
    }
    const Place place{static_cast<std::int32_t>(p), o};
    if (!seen.insert(place).second) continue;  // a repeat after a restart
    if (!ref.rejected.contains(place)) {
      ++v.dead_letter_unexpected;
      example(fmt::format("unexpected dead letter for in[{}]@{}", p, o));
      continue;
    }
    const auto& want = ref.rejected_values.at(place);
    if (!reason || reason->empty() || (!truncated && r.value.value_or("") != want.value_or(""))) {
      ++v.dead_letter_differing;
      example(fmt::format("dead letter [{}]@{} for in[{}]@{}: reason {}, value {} where the input had {}",
                          r.partition.value(), r.offset.value(), p, o, Show(reason), Show(r.value), Show(want)));
    }
  }
  v.dead_lettered = seen.size();
  for (const Place& place : ref.rejected) {
    if (!seen.contains(place)) {
      ++v.dead_letter_missing;
      example(fmt::format("no dead letter for the rejected record in[{}]@{}", place.first, place.second));
    }
  }
  return v;
}

}  // namespace exactly::torture

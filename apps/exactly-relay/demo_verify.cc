// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
#include "demo_verify.h"

#include <fmt/format.h>

#include <charconv>
#include <set>
#include <tuple>
#include <utility>

#include "exactly/crc32c.h"
#include "exactly/envelope.h"
#include "exactly/kafka/consumer.h"
#include "exactly/kafka/producer.h"
#include "exactly/kafka/read_back.h"
#include "exactly/kafka/relay.h"

namespace exactly::relay_demo {

namespace {

std::vector<OwnedHeader> UserHeaders(const std::vector<OwnedHeader>& headers) {
  std::vector<OwnedHeader> out;
  for (const auto& h : headers) {
    if (!IsEnvelopeHeader(h.name)) out.push_back(h);
  }
  return out;
}

std::string Where(const OwnedRecord& r) { return fmt::format("{}[{}]@{}", r.topic, r.partition.value(), r.offset.value()); }
std::string Where(const Source& s) { return fmt::format("{}[{}]@{}", s.topic, s.partition, s.offset); }

// A chunked message being put together.
struct Assembly {
  std::uint32_t count = 0;
  std::uint64_t size = 0;
  std::uint32_t crc = 0;
  std::map<std::uint32_t, std::string> chunks;  // first copy of each index wins
  std::map<std::uint32_t, std::int64_t> offsets;  // of those first copies
  std::optional<std::string> key0;
  std::vector<OwnedHeader> headers0;

  // The whole value once every chunk is present and it checks out.
  std::optional<std::string> Complete(bool* corrupt) const {
    *corrupt = false;
    if (chunks.size() != count) return std::nullopt;
    std::string value;
    for (const auto& [i, piece] : chunks) value += piece;
    if (value.size() != size || crc32c::Value(value) != crc) {
      *corrupt = true;
      return std::nullopt;
    }
    return value;
  }
};

void AddChunk(Assembly& a, const Envelope& env, const OwnedRecord& r) {
  if (a.count == 0) {
    a.count = env.chunk->count;
    a.size = env.size.value_or(0);
    a.crc = env.crc.value_or(0);
  }
  a.chunks.emplace(env.chunk->index, r.value.value_or(""));
  a.offsets.emplace(env.chunk->index, r.offset.value());
  if (env.chunk->index == 0) {
    a.key0 = r.key;
    a.headers0 = UserHeaders(r.headers);
  }
}

}  // namespace

Result<std::vector<OwnedRecord>> ReadTopic(const std::string& bootstraps, const std::string& topic,
                                           std::chrono::milliseconds timeout) {
  return kafka::ReadTopicToEnd(kafka::KafkaConfig{{"bootstrap.servers", bootstraps}}, topic, 0, timeout);
}

Reference ComputeReference(const std::vector<OwnedRecord>& input, UnstampedPolicy unstamped,
                           const EnvelopeLimits& limits) {
  struct Track {
    std::optional<Epoch> max_epoch;
    std::set<EpochSeq> done;
    std::map<EpochSeq, Assembly> pending;
  };
  std::map<std::tuple<std::string, std::int32_t, std::string>, Track> tracks;
  Reference ref;
  for (const OwnedRecord& r : input) {
    ++ref.records;
    const RecordView view = r.view();
    const Envelope env = Classify(view.headers, limits);
    const Source src{r.topic, r.partition.value(), r.offset.value()};
    if (env.kind == EnvelopeKind::kUnstamped) {
      ++ref.unstamped;
      if (unstamped == UnstampedPolicy::kPass) {
        ref.messages[src] = {false, {}, {}, r.key, r.value, r.headers};
      } else {
        ref.rejected.insert(src);
      }
      continue;
    }
    if (env.kind == EnvelopeKind::kMalformed) {
      ++ref.malformed;
      ref.rejected.insert(src);
      continue;
    }
    Track& t = tracks[{r.topic, r.partition.value(), std::string(env.producer)}];
    if (t.max_epoch && env.stamp.epoch < *t.max_epoch) {
      ++ref.stale;
      continue;
    }
    t.max_epoch = t.max_epoch ? std::max(*t.max_epoch, env.stamp.epoch) : env.stamp.epoch;
    if (t.done.contains(env.stamp)) {
      ++ref.duplicates;
      continue;
    }
    if (!env.chunk) {
      t.done.insert(env.stamp);
      ref.messages[src] = {true, std::string(env.producer), env.stamp, r.key, r.value, UserHeaders(r.headers)};
      continue;
    }
    Assembly& a = t.pending[env.stamp];
    if (a.chunks.contains(env.chunk->index)) {
      ++ref.duplicates;
      continue;
    }
    AddChunk(a, env, r);
    bool corrupt = false;
    if (auto value = a.Complete(&corrupt)) {
      t.done.insert(env.stamp);
      ref.messages[src] = {true, std::string(env.producer), env.stamp, a.key0, std::move(*value), a.headers0};
      t.pending.erase(env.stamp);
    } else if (corrupt) {
      ++ref.corrupt_messages;
      for (const auto& [index, offset] : a.offsets) ref.rejected.insert(Source{r.topic, r.partition.value(), offset});
      t.pending.erase(env.stamp);
    }
  }
  for (const auto& [k, t] : tracks) ref.incomplete += t.pending.size();
  return ref;
}

OutputIndex IndexOutput(const std::vector<OwnedRecord>& output, std::string_view relay_id, Epoch epoch) {
  OutputIndex out;
  const std::string prefix = std::string(relay_id) + "/";
  std::map<std::tuple<std::int32_t, std::string, EpochSeq>, Assembly> pending;
  auto complete = [&](const Source& src, OutputMessage m, const OwnedRecord& r) {
    auto [it, inserted] = out.messages.emplace(src, m);
    if (inserted) return;
    ++out.repeats;
    const OutputMessage& first = it->second;
    if (first.key != m.key || first.value != m.value || first.headers != m.headers) {
      out.problems.push_back(fmt::format("{}: a second copy of the output for {} differs", Where(r), Where(src)));
    }
  };
  for (const OwnedRecord& r : output) {
    ++out.records;
    const RecordView view = r.view();
    const Envelope env = Classify(view.headers);
    if (env.kind != EnvelopeKind::kStamped) {
      out.problems.push_back(fmt::format("{}: output record not validly stamped", Where(r)));
      continue;
    }
    const std::string_view producer = env.producer;
    const auto slash = producer.rfind('/');
    std::int32_t partition = -1;
    if (!producer.starts_with(prefix) || slash == std::string_view::npos || slash < prefix.size() ||
        std::from_chars(producer.data() + slash + 1, producer.data() + producer.size(), partition).ec !=
            std::errc()) {
      out.problems.push_back(fmt::format("{}: producer '{}' is not {}<topic>/<partition>", Where(r), producer, prefix));
      continue;
    }
    if (env.stamp.epoch != epoch) {
      out.problems.push_back(fmt::format("{}: epoch {} instead of {}", Where(r), env.stamp.epoch.value(), epoch.value()));
      continue;
    }
    const Source src{std::string(producer.substr(prefix.size(), slash - prefix.size())), partition,
                     static_cast<std::int64_t>(env.stamp.seq.value())};
    if (!env.chunk) {
      complete(src, OutputMessage{r.key, r.value, UserHeaders(r.headers), 0}, r);
      continue;
    }
    Assembly& a = pending[{r.partition.value(), std::string(producer), env.stamp}];
    if (a.chunks.contains(env.chunk->index)) {
      // A replayed chunk of a message being reassembled: the same bytes.
      continue;
    }
    AddChunk(a, env, r);
    bool corrupt = false;
    if (auto value = a.Complete(&corrupt)) {
      complete(src, OutputMessage{a.key0, std::move(*value), a.headers0, a.count}, r);
      pending.erase({r.partition.value(), std::string(producer), env.stamp});
    } else if (corrupt) {
      out.problems.push_back(fmt::format("{}: output message for {} fails eo.size/eo.crc", Where(r), Where(src)));
      pending.erase({r.partition.value(), std::string(producer), env.stamp});
    }
  }
  for (const auto& [k, a] : pending) {
    out.problems.push_back(fmt::format("output message {} seq {} never completed ({} of {} chunks)", std::get<1>(k),
                                       std::get<2>(k).seq.value(), a.chunks.size(), a.count));
  }
  return out;
}

Verdict Compare(const Reference& reference, const OutputIndex& output) {
  Verdict v;
  v.expected = reference.messages.size();
  auto example = [&](std::string text) {
    if (v.examples.size() < 10) v.examples.push_back(std::move(text));
  };
  for (const auto& [src, want] : reference.messages) {
    auto it = output.messages.find(src);
    if (it == output.messages.end()) {
      ++v.lost;
      example(fmt::format("lost: the message completed at {}", Where(src)));
      continue;
    }
    ++v.delivered;
    std::vector<OwnedHeader> headers;
    if (want.stamped) {
      headers.push_back({std::string(kafka::relay_header::kOrigin), kafka::FormatOrigin(want.producer, want.stamp)});
    }
    headers.insert(headers.end(), want.headers.begin(), want.headers.end());
    const OutputMessage& got = it->second;
    if (got.key != want.key || got.value != want.value || got.headers != headers) {
      ++v.mismatched;
      example(fmt::format("mismatch: the output for {} differs in its {}", Where(src),
                          got.key != want.key ? "key" : got.value != want.value ? "value" : "headers"));
    }
  }
  for (const auto& [src, got] : output.messages) {
    if (!reference.messages.contains(src)) {
      ++v.extra;
      example(fmt::format("extra: output for {}, which delivers nothing", Where(src)));
    }
  }
  v.invalid = output.problems.size();
  for (const auto& p : output.problems) example(p);
  return v;
}

}  // namespace exactly::relay_demo

namespace exactly::relay_demo {

DeadLetterVerdict CompareDeadLetters(const Reference& reference, const std::vector<OwnedRecord>& dead_letters) {
  DeadLetterVerdict v;
  v.expected = reference.rejected.size();
  auto example = [&](std::string text) {
    if (v.examples.size() < 10) v.examples.push_back(std::move(text));
  };
  std::set<Source> seen;
  for (const OwnedRecord& r : dead_letters) {
    ++v.records;
    std::optional<std::string> topic, partition, offset, reason;
    for (const auto& h : r.headers) {
      if (h.name == kafka::relay_header::kDeadLetterTopic) topic = h.value;
      if (h.name == kafka::relay_header::kDeadLetterPartition) partition = h.value;
      if (h.name == kafka::relay_header::kDeadLetterOffset) offset = h.value;
      if (h.name == kafka::relay_header::kDeadLetterReason) reason = h.value;
    }
    Source src;
    if (!topic || !partition || !offset || !reason ||
        std::from_chars(partition->data(), partition->data() + partition->size(), src.partition).ec != std::errc() ||
        std::from_chars(offset->data(), offset->data() + offset->size(), src.offset).ec != std::errc()) {
      ++v.invalid;
      example(fmt::format("{}: dead letter without its origin headers", Where(r)));
      continue;
    }
    src.topic = *topic;
    if (!reference.rejected.contains(src)) {
      ++v.unexpected;
      example(fmt::format("unexpected dead letter ({}) for {}", *reason, Where(src)));
    }
    seen.insert(src);
  }
  for (const Source& src : reference.rejected) {
    if (!seen.contains(src)) {
      ++v.missing;
      example(fmt::format("no dead letter for the rejected record {}", Where(src)));
    }
  }
  return v;
}

}  // namespace exactly::relay_demo

// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
#include "keys.h"

namespace exactly::state {

void AppendEscaped(std::string* out, std::string_view s) {
  for (char c : s) {
    out->push_back(c);
    if (c == '\0') out->push_back('\xFF');
  }
  out->push_back('\0');
  out->push_back('\x01');
}

bool ConsumeEscaped(std::string_view* in, std::string* out) {
  out->clear();
  std::size_t i = 0;
  while (i < in->size()) {
    char c = (*in)[i];
    if (c != '\0') {
      out->push_back(c);
      ++i;
      continue;
    }
    if (i + 1 >= in->size()) return false;
    char next = (*in)[i + 1];
    if (next == '\xFF') {
      out->push_back('\0');
      i += 2;
    } else if (next == '\x01') {
      in->remove_prefix(i + 2);
      return true;
    } else {
      return false;
    }
  }
  return false;
}

void AppendBigEndian32(std::string* out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out->push_back(static_cast<char>((v >> shift) & 0xFF));
}

void AppendBigEndian64(std::string* out, std::uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out->push_back(static_cast<char>((v >> shift) & 0xFF));
}

bool ConsumeBigEndian32(std::string_view* in, std::uint32_t* v) {
  if (in->size() < 4) return false;
  std::uint32_t r = 0;
  for (int i = 0; i < 4; ++i) r = (r << 8) | static_cast<unsigned char>((*in)[static_cast<std::size_t>(i)]);
  in->remove_prefix(4);
  *v = r;
  return true;
}

bool ConsumeBigEndian64(std::string_view* in, std::uint64_t* v) {
  if (in->size() < 8) return false;
  std::uint64_t r = 0;
  for (int i = 0; i < 8; ++i) r = (r << 8) | static_cast<unsigned char>((*in)[static_cast<std::size_t>(i)]);
  in->remove_prefix(8);
  *v = r;
  return true;
}

std::string PrefixEnd(std::string prefix) {
  while (!prefix.empty()) {
    auto& last = reinterpret_cast<unsigned char&>(prefix.back());
    if (last != 0xFF) {
      ++last;
      return prefix;
    }
    prefix.pop_back();
  }
  // Every key starts with a kind byte below 0xFF, so this is never reached
  // for our prefixes; an all-0xFF prefix has no finite end.
  return std::string(1, '\xFF');
}

std::string MetaKey(std::string_view name) {
  std::string k(1, kMetaKind);
  k.append(name);
  return k;
}

namespace {
// Flipping the sign bit makes two's-complement order unsigned order.
std::uint32_t OrderedPartition(Partition p) { return static_cast<std::uint32_t>(p.value()) ^ 0x80000000u; }
}  // namespace

std::string PartitionPrefix(char kind, const TopicPartition& tp) {
  std::string k;
  k.reserve(tp.topic.name().size() + 8);
  k.push_back(kind);
  AppendEscaped(&k, tp.topic.name());
  AppendBigEndian32(&k, OrderedPartition(tp.partition));
  return k;
}

bool ParsePartitionPrefix(std::string_view key, char kind, TopicPartition* tp, std::string_view* rest) {
  if (key.empty() || key[0] != kind) return false;
  key.remove_prefix(1);
  std::string topic;
  std::uint32_t p = 0;
  if (!ConsumeEscaped(&key, &topic) || !ConsumeBigEndian32(&key, &p)) return false;
  tp->topic = Topic(std::move(topic));
  tp->partition = Partition(static_cast<std::int32_t>(p ^ 0x80000000u));
  *rest = key;
  return true;
}

std::string DeltaKey(const TopicPartition& tp, std::uint64_t checkpoint) {
  std::string k = PartitionPrefix(kWatermarkKind, tp);
  k.push_back(kDeltaTag);
  AppendBigEndian64(&k, checkpoint);
  return k;
}

std::string SegmentKey(const TopicPartition& tp, std::string_view lower_bound) {
  std::string k = PartitionPrefix(kWatermarkKind, tp);
  k.push_back(kSegmentTag);
  AppendEscaped(&k, lower_bound);
  return k;
}

std::string WatermarkTagPrefix(const TopicPartition& tp, char tag) {
  std::string k = PartitionPrefix(kWatermarkKind, tp);
  k.push_back(tag);
  return k;
}

std::string ProducerKey(const TopicPartition& tp, std::string_view producer) {
  std::string k = WatermarkTagPrefix(tp, kProducerTag);
  AppendEscaped(&k, producer);
  return k;
}

std::string ChunkProducerPrefix(const TopicPartition& tp, std::string_view producer) {
  std::string k = PartitionPrefix(kChunkKind, tp);
  AppendEscaped(&k, producer);
  return k;
}

std::string ChunkMessagePrefix(const TopicPartition& tp, std::string_view producer, EpochSeq stamp) {
  std::string k = ChunkProducerPrefix(tp, producer);
  AppendBigEndian64(&k, stamp.epoch.value());
  AppendBigEndian64(&k, stamp.seq.value());
  return k;
}

std::string ChunkHeaderKey(const TopicPartition& tp, std::string_view producer, EpochSeq stamp) {
  std::string k = ChunkMessagePrefix(tp, producer, stamp);
  k.push_back(kHeaderTag);
  return k;
}

std::string ChunkKey(const TopicPartition& tp, std::string_view producer, EpochSeq stamp, std::uint32_t index) {
  std::string k = ChunkMessagePrefix(tp, producer, stamp);
  k.push_back(kChunkTag);
  AppendBigEndian32(&k, index);
  return k;
}

std::string AppPrefix(std::string_view app) {
  std::string k(1, kAppKind);
  AppendEscaped(&k, app);
  return k;
}

std::string Printable(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  std::size_t n = 0;
  for (char c : bytes) {
    if (++n > 64) {
      out += "...";
      break;
    }
    auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7F && u != '\\') {
      out.push_back(c);
    } else {
      out += "\\x";
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 15]);
    }
  }
  return out;
}

}  // namespace exactly::state

// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
#include "reference.h"

#include <array>

namespace exactly::torture {

namespace {

constexpr std::array<const char*, 6> kNames = {"eo.producer", "eo.epoch", "eo.seq", "eo.chunk", "eo.size", "eo.crc"};
constexpr std::uint64_t kMaxChunks = 65536;
constexpr std::uint64_t kMaxMessageBytes = 64ull << 20;

// 1-20 digits, no sign, no leading zero unless "0", at most 2^64-1.
bool Decimal(const std::string& s, std::uint64_t& out) {
  if (s.empty() || s.size() > 20) return false;
  if (s.size() > 1 && s[0] == '0') return false;
  std::uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    const auto d = static_cast<std::uint64_t>(c - '0');
    if (v > (~std::uint64_t{0} - d) / 10) return false;
    v = v * 10 + d;
  }
  out = v;
  return true;
}

bool Hex8(const std::string& s, std::uint32_t& out) {
  if (s.size() != 8) return false;
  std::uint32_t v = 0;
  for (char c : s) {
    int d = (c >= '0' && c <= '9')   ? c - '0'
            : (c >= 'a' && c <= 'f') ? c - 'a' + 10
            : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                     : -1;
    if (d < 0) return false;
    v = v * 16 + static_cast<std::uint32_t>(d);
  }
  out = v;
  return true;
}

using Stamp = std::pair<std::uint64_t, std::uint64_t>;  // (epoch, seq), compared in that order

struct Held {
  std::optional<std::string> bytes;
  std::int64_t offset;
};

struct Pending {
  std::string producer;
  Stamp stamp;
  std::uint32_t count = 0;
  std::uint64_t size = 0;
  std::uint32_t crc = 0;
  std::int64_t first_offset = 0;
  std::map<std::uint32_t, Held> chunks;
  std::optional<std::string> key0;
  std::vector<OwnedHeader> headers0;
};

struct Track {
  std::optional<Stamp> w;
  std::optional<Pending> p;
};

std::vector<OwnedHeader> UserHeaders(const std::vector<OwnedHeader>& headers) {
  std::vector<OwnedHeader> out;
  for (const auto& h : headers) {
    if (!IsEnvelopeName(h.name)) out.push_back(h);
  }
  return out;
}

}  // namespace

bool IsEnvelopeName(const std::string& name) {
  for (const char* n : kNames) {
    if (name == n) return true;
  }
  return false;
}

std::uint32_t SimpleCrc32c(const std::string& bytes) {
  std::uint32_t crc = 0xFFFFFFFFu;
  for (unsigned char c : bytes) {
    crc ^= c;
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1u)));
  }
  return ~crc;
}

ParsedEnvelope ParseEnvelope(const std::vector<OwnedHeader>& headers) {
  ParsedEnvelope e;
  std::array<int, 6> seen{};
  std::array<const std::optional<std::string>*, 6> value{};
  bool any = false;
  for (const auto& h : headers) {
    for (std::size_t i = 0; i < kNames.size(); ++i) {
      if (h.name == kNames[i]) {
        any = true;
        ++seen[i];
        value[i] = &h.value;
      }
    }
  }
  if (!any) return e;
  auto bad = [&](std::string why) {
    e.kind = ParsedEnvelope::kMalformed;
    e.why = std::move(why);
    return e;
  };
  for (std::size_t i = 0; i < 6; ++i) {
    if (seen[i] > 1) return bad(std::string(kNames[i]) + " repeated");
    if (seen[i] == 1 && !value[i]->has_value()) return bad(std::string(kNames[i]) + " null");
  }
  if (!seen[0] || !seen[1] || !seen[2]) return bad("producer, epoch or seq missing");
  e.producer = **value[0];
  if (e.producer.empty() || e.producer.size() > 255) return bad("producer length");
  for (unsigned char c : e.producer) {
    if (c < 0x21 || c > 0x7E) return bad("producer byte");
  }
  if (!Decimal(**value[1], e.epoch)) return bad("epoch");
  if (!Decimal(**value[2], e.seq)) return bad("seq");
  if (seen[4]) {
    std::uint64_t size = 0;
    if (!Decimal(**value[4], size) || size > kMaxMessageBytes) return bad("size");
    e.size = size;
  }
  if (seen[5]) {
    std::uint32_t crc = 0;
    if (!Hex8(**value[5], crc)) return bad("crc");
    e.crc = crc;
  }
  if (seen[3]) {
    const std::string& c = **value[3];
    const auto slash = c.find('/');
    std::uint64_t i = 0, n = 0;
    if (slash == std::string::npos || !Decimal(c.substr(0, slash), i) || !Decimal(c.substr(slash + 1), n)) {
      return bad("chunk syntax");
    }
    if (n < 1 || n > kMaxChunks || i >= n) return bad("chunk range");
    if (!e.size || !e.crc) return bad("chunk without size and crc");
    e.chunked = true;
    e.index = static_cast<std::uint32_t>(i);
    e.count = static_cast<std::uint32_t>(n);
  }
  e.kind = ParsedEnvelope::kStamped;
  return e;
}

ReferenceResult RunReference(const std::vector<OwnedRecord>& input, std::uint64_t max_chunk_span) {
  ReferenceResult ref;
  std::map<std::int32_t, std::map<std::string, Track>> partitions;
  std::int64_t held_bytes = 0;

  auto reject = [&](const Place& place, const std::optional<std::string>& value) {
    ref.rejected.insert(place);
    ref.rejected_values[place] = value;
  };
  auto abandon = [&](Track& t, std::int32_t partition) {
    for (const auto& [i, h] : t.p->chunks) {
      reject({partition, h.offset}, h.bytes);
      held_bytes -= static_cast<std::int64_t>(h.bytes ? h.bytes->size() : 0);
    }
    ++ref.abandoned;
    t.p.reset();
  };
  // Rule 5: P holds all N indexes.
  auto finish = [&](Track& t, const OwnedRecord& r) {
    Pending& p = *t.p;
    if (p.chunks.size() != p.count) return;
    std::string whole;
    for (const auto& [i, h] : p.chunks) {
      if (h.bytes) whole += *h.bytes;
      held_bytes -= static_cast<std::int64_t>(h.bytes ? h.bytes->size() : 0);
    }
    const std::int32_t part = r.partition.value();
    if (whole.size() == p.size && SimpleCrc32c(whole) == p.crc) {
      ExpectedMessage m{true, p.producer, p.stamp.first, p.stamp.second, p.key0, std::move(whole), p.headers0};
      ref.messages[{part, r.offset.value()}] = std::move(m);
      ++ref.chunked_delivered;
      t.w = p.stamp;
    } else {
      for (const auto& [i, h] : p.chunks) reject({part, h.offset}, h.bytes);
      ++ref.corrupt;
    }
    t.p.reset();
  };

  for (const OwnedRecord& r : input) {
    ++ref.records;
    const std::int32_t part = r.partition.value();
    const std::int64_t off = r.offset.value();
    auto& tracks = partitions[part];
    // Chunk span: before the record is processed.
    for (auto& [id, t] : tracks) {
      if (t.p && t.p->first_offset + static_cast<std::int64_t>(max_chunk_span) < off) abandon(t, part);
    }
    const ParsedEnvelope env = ParseEnvelope(r.headers);
    if (env.kind == ParsedEnvelope::kUnstamped) {
      ++ref.unstamped;
      ref.messages[{part, off}] = ExpectedMessage{false, "", 0, 0, r.key, r.value, r.headers};
      continue;
    }
    if (env.kind == ParsedEnvelope::kMalformed) {
      ++ref.malformed;
      reject({part, off}, r.value);
      continue;
    }
    Track& t = tracks[env.producer];
    const Stamp s{env.epoch, env.seq};
    std::optional<Stamp> m = t.w;
    if (t.p && (!m || t.p->stamp > *m)) m = t.p->stamp;
    if (m && s.first < m->first) {
      ++ref.stale;  // rule 2
      continue;
    }
    if (m && (s < *m || (t.w && s == *t.w))) {
      ++ref.duplicates;  // rule 3
      continue;
    }
    if (t.p && s == t.p->stamp) {  // rule 4
      if (!env.chunked || env.count != t.p->count || env.size != t.p->size || env.crc != t.p->crc) {
        ++ref.malformed;
        reject({part, off}, r.value);
        continue;
      }
      if (t.p->chunks.contains(env.index)) {
        ++ref.duplicate_chunks;
        continue;
      }
      t.p->chunks[env.index] = Held{r.value, off};
      held_bytes += static_cast<std::int64_t>(r.value ? r.value->size() : 0);
      if (env.index == 0) {
        t.p->key0 = r.key;
        t.p->headers0 = UserHeaders(r.headers);
      }
      ref.max_pending_bytes = std::max(ref.max_pending_bytes, held_bytes);
      finish(t, r);
      continue;
    }
    // Rule 6 (and rule 1: nothing to compare).
    if (t.p) abandon(t, part);
    if (t.w && s.first == t.w->first && s.second > t.w->second + 1) ++ref.gaps;
    if (!env.chunked) {
      const std::string v = r.value.value_or("");
      if ((env.size && *env.size != v.size()) || (env.crc && *env.crc != SimpleCrc32c(v))) {
        ++ref.malformed;  // §2: eo.size / eo.crc of an unchunked record are verified
        reject({part, off}, r.value);
        continue;
      }
      ref.messages[{part, off}] =
          ExpectedMessage{true, env.producer, env.epoch, env.seq, r.key, r.value, UserHeaders(r.headers)};
      t.w = s;
      continue;
    }
    Pending p;
    p.producer = env.producer;
    p.stamp = s;
    p.count = env.count;
    p.size = *env.size;
    p.crc = *env.crc;
    p.first_offset = off;
    p.chunks[env.index] = Held{r.value, off};
    held_bytes += static_cast<std::int64_t>(r.value ? r.value->size() : 0);
    if (env.index == 0) {
      p.key0 = r.key;
      p.headers0 = UserHeaders(r.headers);
    }
    t.p = std::move(p);
    ref.max_pending_bytes = std::max(ref.max_pending_bytes, held_bytes);
    finish(t, r);
  }
  for (auto& [part, tracks] : partitions) {
    for (auto& [id, t] : tracks) ref.pending += t.p ? 1 : 0;
  }
  return ref;
}

}  // namespace exactly::torture

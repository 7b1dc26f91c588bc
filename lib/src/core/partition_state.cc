// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// Layout (all integers LEB128 varints unless noted, signed ones zigzag):
//   producer value:  version, flags(bit0 has watermark), epoch, seq, last_seen
//   in-progress hdr: version, producer, epoch, seq, count, size, crc(fixed32),
//                    first_offset, flags(bit0 have chunk0, bit1 key0 not null),
//                    key0, header count, {name, has value, value}...
//   chunk:           version, index, offset, timestamp, has value, value
//   partition:       version, 'P', max_timestamp, producer count,
//                    {id, producer value}..., message count,
//                    {hdr, chunk count, {chunk}...}...
// Every nested item is length-prefixed so a reader can skip or bound it,
// and every encoding (nested ones included) ends in a fixed32 CRC32C of the
// bytes before it.
#include "exactly/partition_state.h"

#include <string>

#include "core/coding.h"
#include "exactly/crc32c.h"

namespace exactly {
namespace {

using coding::PutBytes;
using coding::PutFixed32;
using coding::PutSigned;
using coding::PutVarint;
using coding::Reader;

constexpr char kPartitionTag = 'P';

Status Corrupt(std::string_view what) { return Status::Corruption("invalid " + std::string(what) + " encoding"); }

// Appends the integrity trailer.
std::string Sealed(std::string out) {
  PutFixed32(out, crc32c::Value(out));
  return out;
}

// Checks and strips the trailer.
Status Unseal(std::string_view* bytes, std::string_view what) {
  if (bytes->size() < 5) return Corrupt(what);
  const std::string_view body = bytes->substr(0, bytes->size() - 4);
  Reader trailer(bytes->substr(bytes->size() - 4));
  if (trailer.Fixed32() != crc32c::Value(body)) {
    return Status::Corruption(std::string(what) + " fails its checksum");
  }
  *bytes = body;
  return Status::OK();
}

Status CheckVersion(Reader& r, std::string_view what) {
  const std::uint8_t v = r.Byte();
  if (!r.ok()) return Corrupt(what);
  if (v == 0) return Corrupt(what);
  if (v > kStateFormatVersion) {
    return Status::NotSupported(std::string(what) + " written by a newer format version " + std::to_string(v) +
                                " (this build reads up to " + std::to_string(kStateFormatVersion) + ")");
  }
  return Status::OK();
}

}  // namespace

std::string EncodeProducerValue(const ProducerState& p) {
  std::string out;
  out.push_back(static_cast<char>(kStateFormatVersion));
  out.push_back(p.watermark ? 1 : 0);
  PutVarint(out, p.watermark ? p.watermark->epoch.value() : 0);
  PutVarint(out, p.watermark ? p.watermark->seq.value() : 0);
  PutSigned(out, p.last_seen.value());
  return Sealed(std::move(out));
}

Status DecodeProducerValue(std::string_view bytes, std::string_view producer, ProducerState* out) {
  EXACTLY_RETURN_IF_ERROR(Unseal(&bytes, "producer state"));
  Reader r(bytes);
  EXACTLY_RETURN_IF_ERROR(CheckVersion(r, "producer state"));
  const std::uint8_t flags = r.Byte();
  const std::uint64_t epoch = r.Varint();
  const std::uint64_t seq = r.Varint();
  const std::int64_t last = r.Signed();
  if (!r.ok() || !r.empty() || flags > 1) return Corrupt("producer state");
  out->producer = std::string(producer);
  out->watermark = flags & 1 ? std::optional<EpochSeq>(EpochSeq{Epoch(epoch), Sequence(seq)}) : std::nullopt;
  out->last_seen = TimestampMs(last);
  return Status::OK();
}

std::string EncodeInProgressHeader(const InProgressHeader& h) {
  std::string out;
  out.push_back(static_cast<char>(kStateFormatVersion));
  PutBytes(out, h.producer);
  PutVarint(out, h.stamp.epoch.value());
  PutVarint(out, h.stamp.seq.value());
  PutVarint(out, h.count);
  PutVarint(out, h.size);
  PutFixed32(out, h.crc);
  PutSigned(out, h.first_offset.value());
  out.push_back(static_cast<char>((h.have_chunk0 ? 1 : 0) | (h.key0 ? 2 : 0)));
  PutBytes(out, h.key0 ? std::string_view(*h.key0) : std::string_view());
  PutVarint(out, h.headers0.size());
  for (const OwnedHeader& hd : h.headers0) {
    PutBytes(out, hd.name);
    out.push_back(hd.value ? 1 : 0);
    PutBytes(out, hd.value ? std::string_view(*hd.value) : std::string_view());
  }
  return Sealed(std::move(out));
}

Status DecodeInProgressHeader(std::string_view bytes, InProgressHeader* out) {
  EXACTLY_RETURN_IF_ERROR(Unseal(&bytes, "in-progress message"));
  Reader r(bytes);
  EXACTLY_RETURN_IF_ERROR(CheckVersion(r, "in-progress message"));
  InProgressHeader h;
  h.producer = std::string(r.Bytes());
  const std::uint64_t epoch = r.Varint();
  const std::uint64_t seq = r.Varint();
  h.stamp = EpochSeq{Epoch(epoch), Sequence(seq)};
  const std::uint64_t count = r.Varint();
  h.size = r.Varint();
  h.crc = r.Fixed32();
  h.first_offset = Offset(r.Signed());
  const std::uint8_t flags = r.Byte();
  const std::string_view key = r.Bytes();
  const std::uint64_t nheaders = r.Count(3);
  if (!r.ok() || flags > 3 || count > UINT32_MAX) return Corrupt("in-progress message");
  h.count = static_cast<std::uint32_t>(count);
  h.have_chunk0 = flags & 1;
  if (flags & 2) h.key0 = std::string(key);
  h.headers0.reserve(nheaders);
  for (std::uint64_t i = 0; i < nheaders; ++i) {
    OwnedHeader hd;
    hd.name = std::string(r.Bytes());
    const std::uint8_t has_value = r.Byte();
    const std::string_view value = r.Bytes();
    if (!r.ok() || has_value > 1) return Corrupt("in-progress message");
    if (has_value) hd.value = std::string(value);
    h.headers0.push_back(std::move(hd));
  }
  if (!r.ok() || !r.empty()) return Corrupt("in-progress message");
  *out = std::move(h);
  return Status::OK();
}

ChunkEncoding EncodeChunkParts(const ChunkView& c) {
  ChunkEncoding e;
  e.value = c.value ? *c.value : std::string_view();
  e.head.push_back(static_cast<char>(kStateFormatVersion));
  PutVarint(e.head, c.index);
  PutSigned(e.head, c.offset.value());
  PutSigned(e.head, c.timestamp.value());
  e.head.push_back(c.value ? 1 : 0);
  PutVarint(e.head, e.value.size());  // PutBytes' length prefix
  std::string crc;
  PutFixed32(crc, crc32c::Extend(crc32c::Value(e.head), e.value.data(), e.value.size()));
  std::copy(crc.begin(), crc.end(), e.trailer.begin());
  return e;
}

std::string EncodeChunk(const ChunkState& c) {
  const ChunkEncoding e = EncodeChunkParts(ViewOf(c));
  std::string out;
  out.reserve(e.head.size() + e.value.size() + e.trailer.size());
  out.append(e.head).append(e.value).append(e.trailer.data(), e.trailer.size());
  return out;
}

Status DecodeChunk(std::string_view bytes, ChunkState* out) {
  EXACTLY_RETURN_IF_ERROR(Unseal(&bytes, "chunk"));
  Reader r(bytes);
  EXACTLY_RETURN_IF_ERROR(CheckVersion(r, "chunk"));
  const std::uint64_t index = r.Varint();
  const std::int64_t offset = r.Signed();
  const std::int64_t ts = r.Signed();
  const std::uint8_t has_value = r.Byte();
  const std::string_view value = r.Bytes();
  if (!r.ok() || !r.empty() || has_value > 1 || index > UINT32_MAX) return Corrupt("chunk");
  out->index = static_cast<std::uint32_t>(index);
  out->offset = Offset(offset);
  out->timestamp = TimestampMs(ts);
  out->value = has_value ? std::optional<std::string>(std::string(value)) : std::nullopt;
  return Status::OK();
}

std::string EncodePartitionState(const PartitionState& state) {
  std::string out;
  out.push_back(static_cast<char>(kStateFormatVersion));
  out.push_back(kPartitionTag);
  PutSigned(out, state.max_timestamp.value());
  PutVarint(out, state.producers.size());
  for (const ProducerState& p : state.producers) {
    PutBytes(out, p.producer);
    PutBytes(out, EncodeProducerValue(p));
  }
  PutVarint(out, state.in_progress.size());
  for (const InProgressState& m : state.in_progress) {
    PutBytes(out, EncodeInProgressHeader(m.header));
    PutVarint(out, m.chunks.size());
    for (const ChunkState& c : m.chunks) PutBytes(out, EncodeChunk(c));
  }
  return Sealed(std::move(out));
}

Status DecodePartitionState(std::string_view bytes, PartitionState* out) {
  EXACTLY_RETURN_IF_ERROR(Unseal(&bytes, "partition state"));
  Reader r(bytes);
  EXACTLY_RETURN_IF_ERROR(CheckVersion(r, "partition state"));
  if (r.Byte() != kPartitionTag || !r.ok()) return Corrupt("partition state");
  PartitionState s;
  s.max_timestamp = TimestampMs(r.Signed());
  const std::uint64_t nproducers = r.Count(2);
  if (!r.ok()) return Corrupt("partition state");
  s.producers.reserve(nproducers);
  for (std::uint64_t i = 0; i < nproducers; ++i) {
    const std::string_view id = r.Bytes();
    const std::string_view value = r.Bytes();
    if (!r.ok()) return Corrupt("partition state");
    ProducerState p;
    EXACTLY_RETURN_IF_ERROR(DecodeProducerValue(value, id, &p));
    s.producers.push_back(std::move(p));
  }
  const std::uint64_t nmessages = r.Count(2);
  if (!r.ok()) return Corrupt("partition state");
  s.in_progress.reserve(nmessages);
  for (std::uint64_t i = 0; i < nmessages; ++i) {
    InProgressState m;
    const std::string_view hdr = r.Bytes();
    if (!r.ok()) return Corrupt("partition state");
    EXACTLY_RETURN_IF_ERROR(DecodeInProgressHeader(hdr, &m.header));
    const std::uint64_t nchunks = r.Count(1);
    if (!r.ok()) return Corrupt("partition state");
    m.chunks.reserve(nchunks);
    for (std::uint64_t k = 0; k < nchunks; ++k) {
      const std::string_view chunk = r.Bytes();
      if (!r.ok()) return Corrupt("partition state");
      ChunkState c;
      EXACTLY_RETURN_IF_ERROR(DecodeChunk(chunk, &c));
      m.chunks.push_back(std::move(c));
    }
    s.in_progress.push_back(std::move(m));
  }
  if (!r.ok() || !r.empty()) return Corrupt("partition state");
  *out = std::move(s);
  return Status::OK();
}

}  // namespace exactly

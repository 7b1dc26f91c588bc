// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// Envelope classification of arbitrary headers. Checks, beyond "no crash":
// a stamped result re-formats to headers that classify to the same stamp,
// and ParseDecimal agrees with a slow reference on every header value.
#include <cstdlib>
#include <vector>

#include "exactly/envelope.h"
#include "fuzz_input.h"

namespace {

std::optional<std::uint64_t> SlowDecimal(std::string_view s) {
  if (s.empty() || s.size() > 20 || (s[0] == '0' && s.size() > 1)) return std::nullopt;
  unsigned __int128 v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<unsigned>(c - '0');
  }
  if (v > UINT64_MAX) return std::nullopt;
  return static_cast<std::uint64_t>(v);
}

const char* const kNames[] = {"eo.producer", "eo.epoch", "eo.seq", "eo.chunk", "eo.size", "eo.crc", "eo.other", "x"};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace exactly;
  fuzz::FuzzInput in(data, size);
  std::vector<std::string> values;
  std::vector<int> names;
  std::vector<bool> nulls;
  const unsigned n = in.Below(9);
  for (unsigned i = 0; i < n; ++i) {
    names.push_back(static_cast<int>(in.Below(8)));
    nulls.push_back(in.Below(16) == 0);
    values.push_back(in.Bytes(24));
  }
  std::vector<HeaderView> headers;
  for (unsigned i = 0; i < n; ++i) {
    headers.push_back({kNames[names[i]], nulls[i] ? NullableBytes() : NullableBytes(values[i])});
    if (ParseDecimal(values[i]) != SlowDecimal(values[i])) std::abort();
  }
  EnvelopeLimits limits;
  limits.max_chunks = 1 + in.Below(70000);
  const Envelope e = Classify(headers, limits);
  if (e.kind == EnvelopeKind::kStamped) {
    const StampHeaders f = FormatStamp(StampSpec{e.producer, e.stamp, e.chunk, e.size, e.crc});
    std::vector<OwnedHeader> owned;
    f.AppendTo(owned);
    std::vector<HeaderView> again;
    for (const OwnedHeader& h : owned) again.push_back({h.name, *h.value});
    const Envelope e2 = Classify(again, limits);
    if (e2.kind != EnvelopeKind::kStamped || e2.producer != e.producer || e2.stamp != e.stamp ||
        e2.size != e.size || e2.crc != e.crc || e2.chunk.has_value() != e.chunk.has_value())
      std::abort();
  }
  return 0;
}

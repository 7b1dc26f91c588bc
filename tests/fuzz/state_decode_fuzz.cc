// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// Decoding of persisted state from arbitrary bytes: every decoder must
// fail cleanly or succeed; what decodes must re-encode to bytes that decode
// to the same value, and a decoded partition state must either restore into
// an engine or be refused as inconsistent.
#include <cstdlib>

#include "exactly/engine.h"
#include "exactly/partition_state.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace exactly;
  if (size == 0) return 0;
  const std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 4) {
    case 0: {
      PartitionState s;
      if (!DecodePartitionState(bytes, &s).ok()) return 0;
      PartitionState again;
      if (!DecodePartitionState(EncodePartitionState(s), &again).ok() || !(again == s)) std::abort();
      Engine engine;
      const TopicPartition tp{Topic("t"), Partition(0)};
      if (engine.Restore(tp, s).ok()) {
        // A restored state snapshots back to what was restored (modulo order).
        if (engine.Snapshot(tp).producers.size() != s.producers.size()) std::abort();
      }
      return 0;
    }
    case 1: {
      ProducerState p;
      if (DecodeProducerValue(bytes, "p", &p).ok()) {
        ProducerState again;
        if (!DecodeProducerValue(EncodeProducerValue(p), "p", &again).ok() || !(again == p)) std::abort();
      }
      return 0;
    }
    case 2: {
      InProgressHeader h;
      if (DecodeInProgressHeader(bytes, &h).ok()) {
        InProgressHeader again;
        if (!DecodeInProgressHeader(EncodeInProgressHeader(h), &again).ok() || !(again == h)) std::abort();
      }
      return 0;
    }
    default: {
      ChunkState c;
      if (DecodeChunk(bytes, &c).ok()) {
        ChunkState again;
        if (!DecodeChunk(EncodeChunk(c), &again).ok() || !(again == c)) std::abort();
      }
      return 0;
    }
  }
}

// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// TuneAllocatorForLongRunningProcess: a process-wide setting for programs
// that run a checkpoint store for a long time (exactly-relay calls it
// first thing in main). Optional; the library never calls it itself,
// because malloc settings belong to the program.
//
// What it does (glibc only; elsewhere nothing): fixes malloc's mmap
// threshold at 256 KiB. By default glibc raises that threshold to the size
// of every large block freed, so the store's transient megabyte buffers
// (fold passes, write buffers, filter blocks) move onto the heap, where the
// small long-lived blocks placed between them keep the freed space
// resident. Measured with the default producer budget (the tracked-
// producers benchmark): peak RSS 276 -> 248 MiB at 10 M producers, 206 ->
// 179 MiB at 3 M; free heap at the largest sampled RSS 73-93 -> 3-9 MiB.
// An explicit MALLOC_MMAP_THRESHOLD_ or GLIBC_TUNABLES setting in the
// environment wins: then this does nothing.
//
// TuneAllocatorForLargeMessages: for the same programs once they carry
// chunked (large) messages; exactly-relay calls it when its first chunked
// message arrives. Raises the threshold to 4 MiB, so that the ~1 MB
// buffers every chunk passes through (librdkafka's fetched and produced
// record copies, RocksDB's memtable and table blocks of checkpointed
// chunks) are reused from the heap. At 256 KiB each one is mapped, faulted
// in zeroed page by page and unmapped again, for every record. Measured
// with exactly-relay on 8 MiB messages (broker in another process): 256 KiB
// cost 5,300-6,100 us CPU per MiB relayed, 4 MiB 2,500-2,800. The price is
// what the low threshold saves with many producers and small messages
// (peak RSS at 10 M producers 247 -> 271 MiB with 4 MiB from the start),
// which is why it waits for chunked messages. It also raises malloc's trim
// threshold to kLargeMessageTrimThreshold (unless the environment sets
// that one): at glibc's 128 KiB, freeing a chunk's buffer at the top of
// the heap returned its pages to the kernel, and the next chunk's copy
// faulted them in zeroed again; up to that much free heap is now kept.
// Does nothing where the environment sets the mmap threshold, or where
// the process's malloc is not glibc's (another libc, or a sanitizer's
// allocator, which refuses mallopt); the result says which.
//
// Thread safety: TuneAllocatorForLongRunningProcess once, before other
// threads allocate; TuneAllocatorForLargeMessages from any thread.
#pragma once

#include <cstddef>
#include <cstdint>

namespace exactly {

// Free heap that malloc keeps, rather than returning it to the kernel,
// once the process carries large messages.
inline constexpr std::size_t kLargeMessageTrimThreshold = std::size_t{64} << 20;

enum class AllocatorTuning : std::uint8_t {
  kTuned,             // the thresholds are set
  kSetByEnvironment,  // MALLOC_MMAP_THRESHOLD_ or GLIBC_TUNABLES sets them: left alone
  kUnsupported,       // malloc is not glibc's, or refuses mallopt: nothing set
};

void TuneAllocatorForLongRunningProcess() noexcept;
AllocatorTuning TuneAllocatorForLargeMessages() noexcept;

}  // namespace exactly

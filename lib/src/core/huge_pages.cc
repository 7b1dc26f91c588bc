// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// AdviseHugePages and the 2 MiB blocks of producer_table.h: kept out of the
// header so that <sys/mman.h> stays out of every file that includes the
// table.
//
// Blocks are mapped directly rather than taken from malloc: glibc serves a
// 2 MiB-aligned 2 MiB request by mapping twice that and keeping the whole
// mapping (or, below its dynamic mmap threshold, by carving it out of the
// heap with up to 2 MiB of slack), and counts the lot as in use. Mapping
// 4 MiB and unmapping the unaligned ends leaves exactly the block, which
// MappedBlockBytes() counts.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <new>

#if defined(__linux__)
#include <sys/mman.h>
#endif

#include "core/producer_table.h"
#include "exactly/engine.h"

namespace exactly::detail {

namespace {
std::atomic<std::size_t> mapped_block_bytes{0};
}  // namespace

void AdviseHugePages(void* p, std::size_t bytes) noexcept {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  (void)madvise(p, bytes, MADV_HUGEPAGE);
#else
  (void)p;
  (void)bytes;
#endif
}

void* MapHugeBlock(std::size_t bytes) {
#if defined(__linux__)
  const std::size_t span = bytes + kHugePageBytes;
  void* m = mmap(nullptr, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) throw std::bad_alloc();
  const auto start = reinterpret_cast<std::uintptr_t>(m);
  const std::uintptr_t aligned = (start + kHugePageBytes - 1) & ~(std::uintptr_t{kHugePageBytes} - 1);
  if (aligned > start) (void)munmap(m, aligned - start);
  const std::uintptr_t end = start + span;
  if (end > aligned + bytes) (void)munmap(reinterpret_cast<void*>(aligned + bytes), end - (aligned + bytes));
  void* p = reinterpret_cast<void*>(aligned);
#else
  void* p = std::aligned_alloc(kHugePageBytes, bytes);
  if (p == nullptr) throw std::bad_alloc();
#endif
  AdviseHugePages(p, bytes);
  mapped_block_bytes.fetch_add(bytes, std::memory_order_relaxed);
  return p;
}

void UnmapHugeBlock(void* p, std::size_t bytes) noexcept {
  mapped_block_bytes.fetch_sub(bytes, std::memory_order_relaxed);
#if defined(__linux__)
  (void)munmap(p, bytes);
#else
  std::free(p);
#endif
}

std::size_t MappedBlockBytes() noexcept { return mapped_block_bytes.load(std::memory_order_relaxed); }

}  // namespace exactly::detail

namespace exactly {

std::size_t Engine::MappedBytes() noexcept { return detail::MappedBlockBytes(); }

}  // namespace exactly

// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// What the allocator settings do to a megabyte buffer, the size of one
// chunk record: mapped on its own at the long-running setting, taken from
// the heap once the process carries large messages.
#include "exactly/allocator_tuning.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>

#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "address_sanitizer.h"

namespace exactly {
namespace {

TEST(AllocatorTuning, LargeMessagesKeepMegabyteBuffersOnTheHeap) {
#ifndef __GLIBC__
  GTEST_SKIP() << "glibc only";
#else
  if (test_build::kAddressSanitizer) GTEST_SKIP() << "the sanitizer replaces malloc";
  if (std::getenv("MALLOC_MMAP_THRESHOLD_") != nullptr || std::getenv("GLIBC_TUNABLES") != nullptr) {
    GTEST_SKIP() << "the environment sets malloc's thresholds";
  }
  constexpr std::size_t kChunk = 1'000'000;
  TuneAllocatorForLongRunningProcess();
  const std::size_t mapped = mallinfo2().hblks;
  void* a = std::malloc(kChunk);
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(mallinfo2().hblks, mapped + 1) << "a 1 MB block is mapped on its own at 256 KiB";
  std::free(a);
  EXPECT_EQ(mallinfo2().hblks, mapped);

  ASSERT_EQ(TuneAllocatorForLargeMessages(), AllocatorTuning::kTuned);
  void* b = std::malloc(kChunk);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(mallinfo2().hblks, mapped) << "a 1 MB block comes from the heap at 4 MiB";
  std::free(b);
  void* c = std::malloc(8u << 20);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(mallinfo2().hblks, mapped + 1) << "an 8 MiB block is still mapped on its own";
  std::free(c);
#endif
}

// A chunk's buffer freed at the top of the heap stays with malloc for the
// next one; at glibc's default trim threshold (128 KiB) its pages went back
// to the kernel, to be faulted in zeroed again by the next chunk's copy.
TEST(AllocatorTuning, LargeMessagesKeepFreedBuffersAtTheTopOfTheHeap) {
#ifndef __GLIBC__
  GTEST_SKIP() << "glibc only";
#else
  if (test_build::kAddressSanitizer) GTEST_SKIP() << "the sanitizer replaces malloc";
  if (std::getenv("MALLOC_MMAP_THRESHOLD_") != nullptr || std::getenv("MALLOC_TRIM_THRESHOLD_") != nullptr ||
      std::getenv("GLIBC_TUNABLES") != nullptr) {
    GTEST_SKIP() << "the environment sets malloc's thresholds";
  }
  constexpr std::size_t kChunk = 1'000'000;
  TuneAllocatorForLongRunningProcess();
  ASSERT_EQ(TuneAllocatorForLargeMessages(), AllocatorTuning::kTuned);
  // Blocks allocated in turn come off the top of the heap; freeing them in
  // reverse leaves all of it free at the top.
  constexpr int kBuffers = 8;
  void* blocks[kBuffers];
  for (auto*& b : blocks) {
    b = std::malloc(kChunk);
    ASSERT_NE(b, nullptr);
    std::memset(b, 1, kChunk);
  }
  const std::size_t heap_in_use = mallinfo2().arena;
  for (int i = kBuffers - 1; i >= 0; --i) std::free(blocks[i]);
  EXPECT_EQ(mallinfo2().arena, heap_in_use) << "the heap was trimmed";
  EXPECT_GE(mallinfo2().keepcost, kBuffers * kChunk) << "the freed top of the heap is kept";
  static_assert(kBuffers * kChunk < kLargeMessageTrimThreshold);

  // Beyond the threshold, the heap gives memory back as before.
  void* big[80];
  for (auto*& b : big) {
    b = std::malloc(kChunk);
    ASSERT_NE(b, nullptr);
  }
  const std::size_t grown = mallinfo2().arena;
  for (int i = 79; i >= 0; --i) std::free(big[i]);
  static_assert(80 * kChunk > kLargeMessageTrimThreshold);
  EXPECT_LT(mallinfo2().arena, grown) << "more than the trim threshold free at the top is returned";
#endif
}

// Where it cannot tune, it says why, and sets nothing.
TEST(AllocatorTuning, LargeMessagesLeaveAThresholdTheEnvironmentSets) {
#ifndef __GLIBC__
  GTEST_SKIP() << "glibc only";
#else
  const bool was_set = std::getenv("MALLOC_MMAP_THRESHOLD_") != nullptr;
  if (!was_set) {
    ASSERT_EQ(::setenv("MALLOC_MMAP_THRESHOLD_", "1048576", 0), 0);
  }
  const AllocatorTuning result = TuneAllocatorForLargeMessages();
  if (!was_set) ::unsetenv("MALLOC_MMAP_THRESHOLD_");
  EXPECT_EQ(result, AllocatorTuning::kSetByEnvironment);
#endif
}

TEST(AllocatorTuning, LargeMessagesUnderTheSanitizersAllocatorSetNothing) {
  if (!test_build::kAddressSanitizer) GTEST_SKIP() << "only the sanitizer's allocator refuses mallopt here";
  if (std::getenv("MALLOC_MMAP_THRESHOLD_") != nullptr || std::getenv("GLIBC_TUNABLES") != nullptr) {
    GTEST_SKIP() << "the environment sets malloc's thresholds";
  }
  EXPECT_EQ(TuneAllocatorForLargeMessages(), AllocatorTuning::kUnsupported);
}

}  // namespace
}  // namespace exactly

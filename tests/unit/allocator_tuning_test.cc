// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// What the allocator settings do to a megabyte buffer, the size of one
// chunk record: mapped on its own at the long-running setting, taken from
// the heap once the process carries large messages.
#include "exactly/allocator_tuning.h"

#include <gtest/gtest.h>

#include <cstdlib>

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
  if (unit_test::kAddressSanitizer) GTEST_SKIP() << "the sanitizer replaces malloc";
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

  ASSERT_TRUE(TuneAllocatorForLargeMessages());
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

}  // namespace
}  // namespace exactly

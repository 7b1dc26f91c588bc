// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
#include "exactly/allocator_tuning.h"

#include <cstdlib>
#include <cstring>

#ifdef __GLIBC__
#include <malloc.h>
#endif

namespace exactly {

namespace {

bool EnvironmentSetsThreshold() noexcept {
  if (std::getenv("MALLOC_MMAP_THRESHOLD_") != nullptr) return true;
  const char* t = std::getenv("GLIBC_TUNABLES");
  return t != nullptr && std::strstr(t, "mmap_threshold") != nullptr;
}

}  // namespace

void TuneAllocatorForLongRunningProcess() noexcept {
#ifdef __GLIBC__
  if (EnvironmentSetsThreshold()) return;
  // Setting it also turns off glibc's dynamic adjustment of the threshold.
  (void)::mallopt(M_MMAP_THRESHOLD, 256 * 1024);
#endif
}

bool TuneAllocatorForLargeMessages() noexcept {
#ifdef __GLIBC__
  if (EnvironmentSetsThreshold()) return false;
  return ::mallopt(M_MMAP_THRESHOLD, 4 * 1024 * 1024) == 1;
#else
  return false;
#endif
}

}  // namespace exactly

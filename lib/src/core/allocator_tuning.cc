// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
#include "exactly/allocator_tuning.h"

#include <cstdlib>
#include <cstring>

#ifdef __GLIBC__
#include <malloc.h>
#endif

namespace exactly {

namespace {

bool EnvironmentSets(const char* variable, const char* tunable) noexcept {
  if (std::getenv(variable) != nullptr) return true;
  const char* t = std::getenv("GLIBC_TUNABLES");
  return t != nullptr && std::strstr(t, tunable) != nullptr;
}

bool EnvironmentSetsThreshold() noexcept { return EnvironmentSets("MALLOC_MMAP_THRESHOLD_", "mmap_threshold"); }

}  // namespace

void TuneAllocatorForLongRunningProcess() noexcept {
#ifdef __GLIBC__
  if (EnvironmentSetsThreshold()) return;
  // Setting it also turns off glibc's dynamic adjustment of the threshold.
  (void)::mallopt(M_MMAP_THRESHOLD, 256 * 1024);
#endif
}

AllocatorTuning TuneAllocatorForLargeMessages() noexcept {
#ifdef __GLIBC__
  if (EnvironmentSetsThreshold()) return AllocatorTuning::kSetByEnvironment;
  if (::mallopt(M_MMAP_THRESHOLD, 4 * 1024 * 1024) != 1) return AllocatorTuning::kUnsupported;
  // With the threshold set by hand, glibc no longer raises the trim
  // threshold with it either: it stays at 128 KiB, and freeing a chunk's
  // buffer at the top of the heap gives the pages back, for the next one
  // to fault them in zeroed again.
  if (!EnvironmentSets("MALLOC_TRIM_THRESHOLD_", "trim_threshold")) {
    (void)::mallopt(M_TRIM_THRESHOLD, static_cast<int>(kLargeMessageTrimThreshold));
  }
  return AllocatorTuning::kTuned;
#else
  return AllocatorTuning::kUnsupported;
#endif
}

}  // namespace exactly

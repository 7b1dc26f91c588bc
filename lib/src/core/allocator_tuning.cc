// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
#include "exactly/allocator_tuning.h"

#include <cstdlib>
#include <cstring>

#ifdef __GLIBC__
#include <malloc.h>
#endif

namespace exactly {

void TuneAllocatorForLongRunningProcess() noexcept {
#ifdef __GLIBC__
  if (std::getenv("MALLOC_MMAP_THRESHOLD_") != nullptr) return;
  if (const char* t = std::getenv("GLIBC_TUNABLES"); t != nullptr && std::strstr(t, "mmap_threshold") != nullptr) {
    return;
  }
  // Setting it also turns off glibc's dynamic adjustment of the threshold.
  (void)::mallopt(M_MMAP_THRESHOLD, 256 * 1024);
#endif
}

}  // namespace exactly

// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// AdviseHugePages (producer_table.h): kept out of the header so that
// <sys/mman.h> stays out of every file that includes the table.
#include <cstddef>

#if defined(__linux__)
#include <sys/mman.h>
#endif

#include "core/producer_table.h"

namespace exactly::detail {

void AdviseHugePages(void* p, std::size_t bytes) noexcept {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  (void)madvise(p, bytes, MADV_HUGEPAGE);
#else
  (void)p;
  (void)bytes;
#endif
}

}  // namespace exactly::detail

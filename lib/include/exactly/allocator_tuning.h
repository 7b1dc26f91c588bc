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
// Thread safety: call once, before other threads allocate.
#pragma once

namespace exactly {

void TuneAllocatorForLongRunningProcess() noexcept;

}  // namespace exactly

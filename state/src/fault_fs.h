// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// A RocksDB FileSystem wrapper that fails writes as a StoreFaultInjector
// says (store_fault_injection.h). Only built into a store when
// StoreOptions::fault_injector is set.
//
// Thread safety: as the wrapped FileSystem; the injector is atomic.
#pragma once

#include <memory>

#include <rocksdb/file_system.h>

#include "exactly/store_fault_injection.h"

namespace exactly::state {

std::shared_ptr<rocksdb::FileSystem> NewFaultInjectingFileSystem(std::shared_ptr<rocksdb::FileSystem> base,
                                                                 std::shared_ptr<StoreFaultInjector> injector);

}  // namespace exactly::state

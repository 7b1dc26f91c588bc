// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// The RocksDB info log of a state directory (its LOG file), written by a
// logger that ignores write errors. RocksDB's own file logger aborts the
// process (an assertion in its file writer) on the next message after a
// failed write, so a full disk would crash the program instead of failing
// the checkpoint with a clear error. This logger drops what it cannot write.
//
// The previous LOG is kept as LOG.old (one generation).
//
// Thread safety: Logv may be called from any thread (one write(2) per line).
#pragma once

#include <rocksdb/env.h>

#include <memory>
#include <string>

namespace exactly::state {

// Never fails: if the LOG cannot be opened, messages are dropped. A
// read-only open (inspection, possibly beside a running writer) touches no
// file and drops every message.
std::shared_ptr<rocksdb::Logger> OpenInfoLog(const std::string& dir, bool read_only);

}  // namespace exactly::state

// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// The record-line writer behind AppendRecordLine, for callers that manage
// their own buffer (RecordedLogWriter): reserve RecordLineBound() bytes,
// WriteRecordLine() into them, keep what it returns.
//
// Thread safety: pure functions.
#pragma once

#include <cstddef>
#include <span>

#include "exactly/record.h"

namespace exactly::logfmt {

// Upper bound of the bytes WriteRecordLine writes for this record.
std::size_t RecordLineBound(const RecordView& record, std::span<const HeaderView> extra_headers) noexcept;

// Writes the line (with its '\n') at dst; returns the end of what was written.
char* WriteRecordLine(char* dst, const RecordView& record, std::span<const HeaderView> extra_headers) noexcept;

}  // namespace exactly::logfmt

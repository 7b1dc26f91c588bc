// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// Option values shared by the exactly command-line apps: durations and
// byte counts. Errors are kInvalidArgument quoting the text and showing
// the accepted forms; the caller adds the option's name as context.
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <string_view>

#include "exactly/status.h"

namespace exactly::apps {

// "7d", "12h", "30m", "45s", "500ms", "1h30m" (parts add up), or plain
// milliseconds. No sign, no fractions; at most INT64_MAX milliseconds.
Result<std::int64_t> ParseDurationMs(std::string_view text);

// Plain bytes, or with a suffix k/K/KiB, M/MiB, G/GiB (powers of 1024);
// at most UINT64_MAX bytes.
Result<std::uint64_t> ParseByteCount(std::string_view text);

}  // namespace exactly::apps

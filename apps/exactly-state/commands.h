// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// exactly-state's commands over one state directory. Each writes its
// result to `out`, its errors to `err`, and returns the exit status
// (options.h).
//
// Thread safety: one command at a time per process.
#pragma once

#include <cstdio>

#include "options.h"

namespace exactly::statetool {

int RunCommand(const StateToolOptions& options, std::FILE* out, std::FILE* err);

}  // namespace exactly::statetool

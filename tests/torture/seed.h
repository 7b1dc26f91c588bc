// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// MixSeed: splitmix64's finaliser, deriving independent generator seeds
// (workload, faults, kills) from the one seed of a torture run.
#pragma once

#include <cstdint>

namespace exactly::torture {

inline std::uint64_t MixSeed(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

}  // namespace exactly::torture

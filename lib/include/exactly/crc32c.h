// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// CRC32C (Castagnoli, reflected polynomial 0x82F63B78), as carried in the
// `eo.crc` header. Chosen once at run time: where the CPU has AVX2 and
// VPCLMULQDQ, crc32-instruction streams and a 256-bit carry-less fold run
// side by side in one loop (kHybrid); with SSE4.2 only, the crc32
// instruction in three interleaved streams; otherwise a portable
// table-driven fallback. The other kernels can be selected explicitly.
// All give identical results.
//
// Thread safety: all functions are pure and may be called concurrently.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace exactly::crc32c {

// Extends `crc` (a finished CRC32C of earlier bytes, 0 for none) over
// `data`: Extend(Extend(0, a), b) == Value(a + b).
std::uint32_t Extend(std::uint32_t crc, const void* data, std::size_t n) noexcept;

inline std::uint32_t Value(std::string_view data) noexcept { return Extend(0, data.data(), data.size()); }

// The portable implementation, exposed so tests can compare both paths.
std::uint32_t ExtendPortable(std::uint32_t crc, const void* data, std::size_t n) noexcept;

// Extend() that also copies the `n` bytes at `src` to `dst` (which must not
// overlap), reading them once: for writing a message and checking it in one
// pass. Returns Extend(crc, src, n).
std::uint32_t ExtendCopy(std::uint32_t crc, void* dst, const void* src, std::size_t n) noexcept;

// True when Extend() uses a CPU instruction on this CPU.
bool HardwareAccelerated() noexcept;

// The implementations, for tests and benchmarks to compare.
enum class Implementation : std::uint8_t { kPortable, kSse42, kClmul, kVclmul, kHybrid };
Implementation ActiveImplementation() noexcept;
bool Supported(Implementation impl) noexcept;
std::string_view ImplementationName(Implementation impl) noexcept;
// Extend() with a given implementation (the portable one if unsupported).
std::uint32_t ExtendWith(Implementation impl, std::uint32_t crc, const void* data, std::size_t n) noexcept;
// ExtendCopy() with a given implementation (memcpy then the portable one
// if unsupported); kSse42, kVclmul and kHybrid copy in the same pass.
std::uint32_t ExtendCopyWith(Implementation impl, std::uint32_t crc, void* dst, const void* src,
                             std::size_t n) noexcept;

}  // namespace exactly::crc32c

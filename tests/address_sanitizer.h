// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// Whether this test binary runs under AddressSanitizer, whose allocator
// replaces malloc (redzones, quarantine): tests of memory use or of
// malloc's own behaviour skip those checks under it. Shared by every kind
// of test; the apps they run are built with the same sanitizers.
#pragma once

namespace exactly::test_build {

#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool kAddressSanitizer = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
inline constexpr bool kAddressSanitizer = true;
#else
inline constexpr bool kAddressSanitizer = false;
#endif
#else
inline constexpr bool kAddressSanitizer = false;
#endif

}  // namespace exactly::test_build

// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// ProducerTable: the per-partition map from producer id to its state,
// looked up once per stamped record.
//
// Layout: entries live in pages owned by the table and never move (the
// engine keeps pointers to them: in-progress owners, the dirty list); an
// open-addressing index (linear probing, power-of-two size, at most 3/4
// full) maps a hash to an entry number. An index slot is 8 bytes: the entry
// number and 32 bits of the hash, so a probe compares ids only on a 32-bit
// match. Where an entry keeps its id is the entry's business (id()).
//
// Pages double from 16 entries up to half a 2 MiB block, then are 2 MiB
// blocks, 2 MiB-aligned and advised for transparent huge pages, mapped
// outside malloc (Engine::MappedBytes counts them). With millions of
// producers a lookup is a random read of the index and of an entry: on
// 4 KiB pages each is a TLB miss and a page walk besides the cache miss.
// Erased entries are destroyed in place and their numbers reused (a free
// list), so churn does not grow the pages.
//
// The entry number is the seam for a bounded-memory cache: an evicted
// producer's entry is erased and its room reused by the next one fetched.
//
// Erasing shifts later slots of the same probe run back (no tombstones),
// so lookups never slow down with churn. Iteration order (ForEachSlot)
// follows the index and affects nothing but the order of purge inspection.
//
// Thread safety: none; owned by one partition of one Engine.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace exactly::detail {

inline constexpr std::size_t kHugePageBytes = std::size_t{2} << 20;

// madvise(MADV_HUGEPAGE) where the platform has it; a hint, failures ignored.
void AdviseHugePages(void* p, std::size_t bytes) noexcept;
// `bytes` (a multiple of kHugePageBytes) of zeroed memory at a 2 MiB-aligned
// address, advised for huge pages and counted in MappedBlockBytes() until
// unmapped. Throws std::bad_alloc, as operator new does.
void* MapHugeBlock(std::size_t bytes);
void UnmapHugeBlock(void* p, std::size_t bytes) noexcept;
// Bytes of blocks mapped now, by every table of the process.
std::size_t MappedBlockBytes() noexcept;
inline std::size_t RoundUpToHugePages(std::size_t bytes) noexcept {
  return (bytes + kHugePageBytes - 1) / kHugePageBytes * kHugePageBytes;
}

// Producer ids are hashed once per record, so the hash is built for short
// strings: 8-byte words, overlapping loads for the tail, multiply-xorshift
// mixing. Unseeded: placement affects speed and purge order only, never a
// decision.
inline std::uint64_t Load64(const char* p) noexcept {
  std::uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}
inline std::uint32_t Load32(const char* p) noexcept {
  std::uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
inline std::uint64_t Mix(std::uint64_t h) noexcept {
  h ^= h >> 32;
  h *= 0xd6e8feb86659fd93ull;
  h ^= h >> 32;
  return h;
}
inline std::uint64_t HashBytes(std::string_view s) noexcept {
  const char* p = s.data();
  std::size_t n = s.size();
  std::uint64_t h = 0x9E3779B97F4A7C15ull * (n + 1);
  if (n >= 8) {
    const char* end = p + n;
    while (n > 8) {
      h = (h ^ Load64(p)) * 0xbf58476d1ce4e5b9ull;
      h ^= h >> 29;
      p += 8;
      n -= 8;
    }
    h ^= Load64(end - 8);  // the last word, overlapping when n % 8 != 0
  } else if (n >= 4) {
    h ^= Load32(p) | (static_cast<std::uint64_t>(Load32(p + n - 4)) << 32);
  } else if (n > 0) {
    h ^= static_cast<unsigned char>(p[0]) | (static_cast<std::uint64_t>(static_cast<unsigned char>(p[n / 2])) << 8) |
         (static_cast<std::uint64_t>(static_cast<unsigned char>(p[n - 1])) << 16);
  }
  return Mix(h * 0x94d049bb133111ebull);
}

// A prefetch hint that survives optimisation: GCC 12 finds a function whose
// only effect is __builtin_prefetch "pure" and deletes calls to it.
inline void PrefetchLine(const void* p) noexcept {
#if defined(__x86_64__)
  asm volatile("prefetcht0 %0" : : "m"(*static_cast<const char*>(p)));
#else
  __builtin_prefetch(p);
  asm volatile("" : : "r"(p) : "memory");
#endif
}

// a == b, inline for short strings (ids, topics) instead of a memcmp call.
inline bool EqualBytes(std::string_view a, std::string_view b) noexcept {
  const std::size_t n = a.size();
  if (n != b.size()) return false;
  const char* p = a.data();
  const char* q = b.data();
  if (n >= 8) {
    for (std::size_t i = 0; i + 8 < n; i += 8)
      if (Load64(p + i) != Load64(q + i)) return false;
    return Load64(p + n - 8) == Load64(q + n - 8);  // the tail, overlapping
  }
  if (n >= 4) return Load32(p) == Load32(q) && Load32(p + n - 4) == Load32(q + n - 4);
  for (std::size_t i = 0; i < n; ++i)
    if (p[i] != q[i]) return false;
  return true;
}

// An allocator for arrays that may be large and are read at random: from
// 2 MiB up, arrays are 2 MiB blocks (MapHugeBlock). With 4 KiB pages a
// random read of a big table is a TLB miss and a page walk (nested under
// virtualisation) on top of the cache miss, which prefetching hides badly;
// measured on a VM, ~2x the time of the cache miss alone. Where THP is off,
// the advice is ignored.
template <class T>
struct LargeArrayAllocator {
  using value_type = T;
  LargeArrayAllocator() = default;
  template <class U>
  LargeArrayAllocator(const LargeArrayAllocator<U>&) noexcept {}
  T* allocate(std::size_t n) {
    const std::size_t bytes = n * sizeof(T);
    if (bytes < kHugePageBytes) return std::allocator<T>().allocate(n);
    return static_cast<T*>(MapHugeBlock(RoundUpToHugePages(bytes)));
  }
  void deallocate(T* p, std::size_t n) noexcept {
    const std::size_t bytes = n * sizeof(T);
    if (bytes < kHugePageBytes) return std::allocator<T>().deallocate(p, n);
    UnmapHugeBlock(p, RoundUpToHugePages(bytes));
  }
  friend bool operator==(const LargeArrayAllocator&, const LargeArrayAllocator&) noexcept { return true; }
};

// Entry: constructible from its id (std::string_view), with
// `std::string_view id() const`; the table builds it in place and never
// copies or moves it.
template <class Entry>
class ProducerTable {
 public:
  ProducerTable() = default;
  ProducerTable(const ProducerTable&) = delete;
  ProducerTable& operator=(const ProducerTable&) = delete;
  ~ProducerTable() {
    for (const Slot& s : slots_)
      if (s.number != 0) At(s.number - 1).~Entry();
    for (std::size_t p = 0; p < pages_.size(); ++p) FreePage(p, pages_[p]);
  }

  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }

  Entry* Find(std::string_view id) noexcept {
    if (slots_.empty()) return nullptr;
    const std::uint64_t h = HashBytes(id);
    const auto tag = static_cast<std::uint32_t>(h >> 32);
    for (std::size_t i = h & mask_;; i = (i + 1) & mask_) {
      const Slot s = slots_[i];
      if (s.number == 0) return nullptr;
      if (s.tag == tag) {
        Entry& e = At(s.number - 1);
        if (EqualBytes(e.id(), id)) return &e;
      }
    }
  }

  // The entry for `id`, inserted (built from the id) if new.
  std::pair<Entry*, bool> FindOrInsert(std::string_view id) {
    if ((size_ + 1) * 4 > slots_.size() * 3) Grow(slots_.empty() ? 16 : slots_.size() * 2);
    const std::uint64_t h = HashBytes(id);
    const auto tag = static_cast<std::uint32_t>(h >> 32);
    std::size_t i = h & mask_;
    for (;; i = (i + 1) & mask_) {
      const Slot s = slots_[i];
      if (s.number == 0) break;
      if (s.tag == tag) {
        Entry& e = At(s.number - 1);
        if (EqualBytes(e.id(), id)) return {&e, false};
      }
    }
    const std::uint32_t number = Allocate();
    Entry* e;
    try {
      e = ::new (static_cast<void*>(&At(number))) Entry(id);
    } catch (...) {
      free_.push_back(number);
      throw;
    }
    slots_[i] = Slot{number + 1, tag};
    ++size_;
    return {e, true};
  }

  // Forgets and destroys `e` (a pointer this table returned). Other entries
  // stay put.
  void Erase(Entry* e) {
    const std::uint64_t h = HashBytes(e->id());
    const auto tag = static_cast<std::uint32_t>(h >> 32);
    std::size_t i = h & mask_;
    // e's slot comes before the end of its probe run.
    while (slots_[i].tag != tag || &At(slots_[i].number - 1) != e) i = (i + 1) & mask_;
    const std::uint32_t number = slots_[i].number - 1;
    // Backward-shift deletion: move later members of the run into the hole
    // when their home position allows it.
    for (std::size_t j = (i + 1) & mask_;; j = (j + 1) & mask_) {
      const Slot s = slots_[j];
      if (s.number == 0) break;
      const std::size_t home = HashBytes(At(s.number - 1).id()) & mask_;
      // s may move to i if i lies cyclically in [home, j).
      if (((j - home) & mask_) >= ((j - i) & mask_)) {
        slots_[i] = s;
        i = j;
      }
    }
    slots_[i] = Slot{};
    e->~Entry();
    free_.push_back(number);
    --size_;
  }

  void Reserve(std::size_t n) {
    std::size_t want = 16;
    while (n * 4 > want * 3) want *= 2;
    if (want > slots_.size()) Grow(want);
  }

  // Index positions, for incremental sweeps: SlotCount() may change when
  // entries are inserted, never by erasing.
  std::size_t SlotCount() const noexcept { return slots_.size(); }
  // The slot a sweep that evicts visits at step `hand`: every slot once
  // per SlotCount() steps, in a scattered order. A sweep in index order
  // empties the slots behind it while inserts keep landing ahead of it, so
  // the region just ahead fills up and its probe runs grow until each
  // erase (which shifts the rest of its run back) scans thousands of
  // slots: measured at 1 M producers with 100k evicted per checkpoint, one
  // eviction pass took 50 s instead of 0.2 s. Scattered, the evictions
  // keep the index's load even.
  std::size_t SweepSlot(std::uint64_t hand) const noexcept {
    return static_cast<std::size_t>(hand * 0x9E3779B97F4A7C15ull) & mask_;  // odd multiplier: a permutation
  }
  // The longest probe run (consecutive occupied slots): what a miss or an
  // erase may scan. For tests.
  std::size_t LongestRun() const noexcept {
    std::size_t longest = 0, run = 0;
    for (std::size_t k = 0; k < 2 * slots_.size(); ++k) {  // twice: runs wrap around
      run = slots_[k & mask_].number != 0 ? run + 1 : 0;
      longest = std::max(longest, run);
    }
    return std::min(longest, slots_.size());
  }
  Entry* AtSlot(std::size_t i) noexcept {
    const Slot s = slots_[i];
    return s.number == 0 ? nullptr : &At(s.number - 1);
  }

  template <class Fn>
  void ForEach(Fn&& fn) const {
    for (const Slot& s : slots_)
      if (s.number != 0) fn(static_cast<const Entry&>(At(s.number - 1)));
  }

  // Software pipelining for a caller that knows its next lookups (a batch
  // of records): it hashes an id ahead, prefetches its index slot, and a
  // few records later, when that slot is in cache, the entry it names.
  // Hints only: they read the index (never an id) and change nothing, so a
  // stale or wrong hint costs a wasted load, never a wrong answer.
  static std::uint64_t Hash(std::string_view id) noexcept { return HashBytes(id); }
  void PrefetchSlot(std::uint64_t hash) const noexcept {
    if (!slots_.empty()) PrefetchLine(&slots_[hash & mask_]);
  }
  // The entry of the first slot in the probe run whose tag matches (the
  // one Find would most likely return): both cache lines it may span
  // (one, for entries whose size divides a line: pages are line-aligned).
  void PrefetchEntry(std::uint64_t hash) const noexcept {
    if (slots_.empty()) return;
    // The home slot or the next one: at most 3/4 full, most runs are
    // short.
    const auto tag = static_cast<std::uint32_t>(hash >> 32);
    const std::size_t i = hash & mask_;
    Slot s = slots_[i];
    if (s.number != 0 && s.tag != tag) s = slots_[(i + 1) & mask_];
    if (s.number == 0 || s.tag != tag) return;
    const char* e = reinterpret_cast<const char*>(&At(s.number - 1));
    PrefetchLine(e);
    if constexpr (64 % sizeof(Entry) != 0) PrefetchLine(e + sizeof(Entry) - 1);
  }

 private:
  // Pages double from 16 entries to the largest power of two of them under
  // half a block, then are blocks (as many entries as fit): little slack
  // for a partition with few producers, none wasted on huge pages for it,
  // bounded slack for millions.
  static constexpr std::uint32_t kFirstPage = 16;
  static constexpr std::uint32_t kBigPage = [] {
    std::uint32_t n = kFirstPage;
    while (std::size_t{n} * 2 * sizeof(Entry) <= kHugePageBytes) n *= 2;
    return n;
  }();
  static constexpr std::uint32_t kGrowingPages = [] {
    std::uint32_t k = 0;
    while ((kFirstPage << k) < kBigPage) ++k;
    return k;
  }();  // 16 .. kBigPage / 2 entries
  static constexpr std::uint32_t kGrowingEntries = kFirstPage * ((1u << kGrowingPages) - 1);
  static constexpr std::size_t kPageAlign = alignof(Entry) > 64 ? alignof(Entry) : 64;

  struct Slot {
    std::uint32_t number = 0;  // entry number + 1; 0: empty
    std::uint32_t tag = 0;     // the hash's upper half
  };

  static std::uint32_t PageSize(std::size_t page) noexcept {
    return page < kGrowingPages ? kFirstPage << page : kBigPage;
  }
  static std::size_t PageBytes(std::size_t page) noexcept {
    const std::size_t bytes = std::size_t{PageSize(page)} * sizeof(Entry);
    return page < kGrowingPages ? bytes : RoundUpToHugePages(bytes);
  }
  static Entry* NewPage(std::size_t page) {
    if (page >= kGrowingPages) return static_cast<Entry*>(MapHugeBlock(PageBytes(page)));
    return static_cast<Entry*>(::operator new(PageBytes(page), std::align_val_t{kPageAlign}));
  }
  static void FreePage(std::size_t page, Entry* p) noexcept {
    if (page >= kGrowingPages) return UnmapHugeBlock(p, PageBytes(page));
    ::operator delete(static_cast<void*>(p), std::align_val_t{kPageAlign});
  }

  // Entries are reached through the pages' pointers, so a const table
  // still yields them mutable; ForEach hands out const references. The
  // storage of an entry number not in the index holds no object.
  Entry& At(std::uint32_t number) const noexcept {
    if (number < kGrowingEntries) {
      const std::uint32_t m = number + kFirstPage;
      const int page = 31 - __builtin_clz(m) - 4;  // log2(kFirstPage) == 4
      return pages_[static_cast<std::size_t>(page)][m - (kFirstPage << page)];
    }
    const std::uint32_t k = number - kGrowingEntries;
    return pages_[kGrowingPages + k / kBigPage][k % kBigPage];
  }

  std::uint32_t Allocate() {
    if (!free_.empty()) {
      const std::uint32_t n = free_.back();
      free_.pop_back();
      return n;
    }
    if (next_ == capacity_) {
      pages_.reserve(pages_.size() + 1);
      pages_.push_back(NewPage(pages_.size()));
      capacity_ += PageSize(pages_.size() - 1);
    }
    return next_++;
  }

  void Grow(std::size_t slots) {
    std::vector<Slot, LargeArrayAllocator<Slot>> old = std::move(slots_);
    slots_.assign(slots, Slot{});
    mask_ = slots - 1;
    for (const Slot& s : old) {
      if (s.number == 0) continue;
      std::size_t i = HashBytes(At(s.number - 1).id()) & mask_;
      while (slots_[i].number != 0) i = (i + 1) & mask_;
      slots_[i] = s;
    }
  }

  std::vector<Slot, LargeArrayAllocator<Slot>> slots_;
  std::size_t mask_ = 0;
  std::size_t size_ = 0;
  std::vector<Entry*> pages_;
  std::uint32_t next_ = 0;      // entries ever handed out from the pages
  std::uint32_t capacity_ = 0;  // entries in the pages
  std::vector<std::uint32_t> free_;  // erased entry numbers, reused first
};

}  // namespace exactly::detail

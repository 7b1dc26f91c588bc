// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// StoreFaultInjector: makes the checkpoint store's file writes fail, to
// test what a disk-full or I/O error does to a checkpoint. Pass one in
// StoreOptions::fault_injector; it sits below RocksDB, on every file the
// store's database writes.
//
// Once armed, the next `after_bytes` bytes written to matching files
// succeed; then the write that crosses the limit writes only the bytes up
// to it (a torn write) and fails, and so does every later append, flush or
// sync of a matching file, until Disarm(). A failed sync also discards the
// file's bytes written since its last successful sync, as an OS may do
// after a failed fsync.
//
// Thread safety: all methods may be called from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace exactly {

class StoreFaultInjector {
 public:
  enum class Error : std::uint8_t { kNoSpace, kIoError };
  enum class Files : std::uint8_t { kWriteAheadLog, kAll };

  void Arm(Error error, Files files = Files::kWriteAheadLog, std::uint64_t after_bytes = 0) noexcept {
    error_.store(error);
    files_.store(files);
    budget_.store(after_bytes);
    armed_.store(true);
  }
  // Like Arm, but only syncs fail (appends succeed).
  void ArmSyncFailure(Error error, Files files = Files::kWriteAheadLog) noexcept {
    error_.store(error);
    files_.store(files);
    sync_only_.store(true);
    armed_.store(true);
  }
  void Disarm() noexcept {
    armed_.store(false);
    sync_only_.store(false);
  }

  // A slow disk: every sync of the write-ahead log takes at least `delay`
  // longer (armed or not), which holds a synced Commit's write open while
  // other threads run. Zero (the default) turns it off.
  void SetWalSyncDelay(std::chrono::microseconds delay) noexcept { wal_sync_delay_us_.store(delay.count()); }
  std::chrono::microseconds wal_sync_delay() const noexcept {
    return std::chrono::microseconds(wal_sync_delay_us_.load());
  }
  // Write-ahead log syncs inside that delay now: lets a test act while a
  // Commit is certainly in the middle of its write.
  int wal_syncs_delayed() const noexcept { return wal_syncs_delayed_.load(); }
  void CountDelayedSync(int d) noexcept { wal_syncs_delayed_.fetch_add(d); }

  bool armed() const noexcept { return armed_.load(); }
  // Failures injected so far.
  std::uint64_t injected() const noexcept { return injected_.load(); }

  // --- used by the store's file system wrapper -------------------------
  bool sync_only() const noexcept { return sync_only_.load(); }
  Error error() const noexcept { return error_.load(); }
  Files files() const noexcept { return files_.load(); }
  // How many of `n` bytes about to be appended may be written; n means no
  // failure. Consumes budget.
  std::uint64_t Admit(std::uint64_t n) noexcept {
    std::uint64_t have = budget_.load();
    while (true) {
      std::uint64_t take = have < n ? have : n;
      if (budget_.compare_exchange_weak(have, have - take)) return take;
    }
  }
  bool exhausted() const noexcept { return budget_.load() == 0; }
  void CountInjected() noexcept { injected_.fetch_add(1); }

 private:
  std::atomic<bool> armed_{false};
  std::atomic<bool> sync_only_{false};
  std::atomic<Error> error_{Error::kIoError};
  std::atomic<Files> files_{Files::kWriteAheadLog};
  std::atomic<std::uint64_t> budget_{0};
  std::atomic<std::uint64_t> injected_{0};
  std::atomic<std::int64_t> wal_sync_delay_us_{0};
  std::atomic<int> wal_syncs_delayed_{0};
};

}  // namespace exactly

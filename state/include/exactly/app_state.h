// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// AppTransaction: an application's own key-value state, checkpointed in
// the same atomic write as the offsets and watermarks it was derived from.
//
// A stream processor that keeps, say, a running aggregate puts it here from
// its message handler; the aggregate then advances exactly once per input
// message, whatever crashes happen, with no other machinery: a crash
// rewinds offsets, watermarks and the aggregate to the same checkpoint, and
// replayed input recomputes the same values.
//
// Contract
// - Keys are namespaced per application name (CheckpointStore::BeginApp):
//   two applications never see each other's keys. Keys and values are
//   arbitrary bytes (empty allowed).
// - Put/Delete are staged in memory; nothing is written until the
//   transaction is staged into a Checkpoint (Checkpoint::Stage) and that
//   checkpoint commits. Get sees this transaction's staged writes first,
//   then the last committed value.
// - If the checkpoint carrying the transaction fails or is dropped, the
//   staged writes are gone: rebuild from the store as for the partitions.
//
// Thread safety: one thread at a time per transaction. Get reads the
// store, which may be used concurrently. The store must outlive the
// transaction.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "exactly/status.h"

namespace exactly {

class CheckpointStore;
class Checkpoint;

class AppTransaction {
 public:
  AppTransaction(AppTransaction&&) noexcept = default;
  AppTransaction& operator=(AppTransaction&&) noexcept = default;
  AppTransaction(const AppTransaction&) = delete;
  AppTransaction& operator=(const AppTransaction&) = delete;
  ~AppTransaction() = default;

  const std::string& app() const noexcept { return app_; }

  void Put(std::string_view key, std::string_view value);
  void Delete(std::string_view key);
  // The staged value if this transaction wrote `key`, else the committed
  // one; nullopt if deleted or absent.
  Result<std::optional<std::string>> Get(std::string_view key) const;

  // Number of keys with a staged write.
  std::size_t size() const noexcept { return staged_.size(); }
  bool empty() const noexcept { return staged_.empty(); }
  // Forgets every staged write.
  void Clear() noexcept { staged_.clear(); }

 private:
  friend class CheckpointStore;
  friend class Checkpoint;
  AppTransaction(const CheckpointStore* store, std::string app) : store_(store), app_(std::move(app)) {}

  const CheckpointStore* store_ = nullptr;
  std::string app_;
  // key -> value, or nullopt for a staged delete.
  std::map<std::string, std::optional<std::string>, std::less<>> staged_;
};

}  // namespace exactly

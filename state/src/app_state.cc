// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// Application state: staged transactions and committed reads.
#include "exactly/app_state.h"

#include <fmt/format.h>

#include "keys.h"
#include "store_impl.h"

namespace exactly {

using namespace state;  // NOLINT: this file implements the state layer

void AppTransaction::Put(std::string_view key, std::string_view value) {
  auto it = staged_.find(key);
  if (it == staged_.end()) {
    staged_.emplace(std::string(key), std::string(value));
  } else {
    it->second = std::string(value);
  }
}

void AppTransaction::Delete(std::string_view key) {
  auto it = staged_.find(key);
  if (it == staged_.end()) {
    staged_.emplace(std::string(key), std::nullopt);
  } else {
    it->second.reset();
  }
}

Result<std::optional<std::string>> AppTransaction::Get(std::string_view key) const {
  auto it = staged_.find(key);
  if (it != staged_.end()) return it->second;
  if (store_ == nullptr) return Status::FailedPrecondition("AppTransaction: moved from");
  return store_->GetApp(app_, key);
}

namespace {
Status CheckApp(std::string_view app) {
  if (app.empty() || app.size() > 255) return Status::InvalidArgument("application name: 1-255 bytes");
  return Status::OK();
}
}  // namespace

Result<AppTransaction> CheckpointStore::BeginApp(std::string_view app) const {
  EXACTLY_RETURN_IF_ERROR(CheckApp(app));
  return AppTransaction(this, std::string(app));
}

Result<std::optional<std::string>> CheckpointStore::GetApp(std::string_view app, std::string_view key) const {
  EXACTLY_RETURN_IF_ERROR(CheckApp(app));
  std::string v;
  rocksdb::Status s = impl_->db->Get(rocksdb::ReadOptions(), AppKey(app, key), &v);
  if (s.IsNotFound()) return std::optional<std::string>();
  if (!s.ok()) return FromRocks(s, fmt::format("reading app '{}' key '{}'", Printable(app), Printable(key)));
  return std::optional<std::string>(std::move(v));
}

Status CheckpointStore::ScanApp(std::string_view app, std::string_view prefix,
                                FunctionRef<bool(std::string_view, std::string_view)> fn) const {
  EXACTLY_RETURN_IF_ERROR(CheckApp(app));
  const std::string base = AppPrefix(app);
  const std::string start = base + std::string(prefix);
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(rocksdb::ReadOptions()));
  for (it->Seek(start); it->Valid(); it->Next()) {
    const std::string_view key(it->key().data(), it->key().size());
    if (key.substr(0, start.size()) != start) break;
    if (!fn(key.substr(base.size()), std::string_view(it->value().data(), it->value().size()))) break;
  }
  return FromRocks(it->status(), fmt::format("scanning app '{}'", Printable(app)));
}

}  // namespace exactly

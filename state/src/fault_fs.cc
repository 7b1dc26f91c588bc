// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
#include "fault_fs.h"

#include <string>
#include <thread>
#include <utility>

namespace exactly::state {

namespace {

rocksdb::IOStatus Injected(StoreFaultInjector& injector) {
  injector.CountInjected();
  if (injector.error() == StoreFaultInjector::Error::kNoSpace) {
    return rocksdb::IOStatus::NoSpace("injected: no space left on device");
  }
  return rocksdb::IOStatus::IOError("injected: input/output error");
}

class FaultWritableFile : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  FaultWritableFile(std::unique_ptr<rocksdb::FSWritableFile> target, std::shared_ptr<StoreFaultInjector> injector,
                    bool is_wal)
      : FSWritableFileOwnerWrapper(std::move(target)), injector_(std::move(injector)), is_wal_(is_wal) {}

  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                           rocksdb::IODebugContext* dbg) override {
    if (AppendsFail()) {
      std::uint64_t take = injector_->Admit(data.size());
      if (take < data.size()) {
        // A torn write: the bytes up to the limit reach the file.
        if (take > 0) {
          auto st = target()->Append(rocksdb::Slice(data.data(), take), options, dbg);
          if (st.ok()) size_ += take;
        }
        return Injected(*injector_);
      }
    }
    auto st = target()->Append(data, options, dbg);
    if (st.ok()) size_ += data.size();
    return st;
  }
  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                           const rocksdb::DataVerificationInfo& /*info*/, rocksdb::IODebugContext* dbg) override {
    return Append(data, options, dbg);
  }
  rocksdb::IOStatus PositionedAppend(const rocksdb::Slice& data, std::uint64_t offset,
                                     const rocksdb::IOOptions& options, rocksdb::IODebugContext* dbg) override {
    if (AppendsFail() && injector_->Admit(data.size()) < data.size()) return Injected(*injector_);
    return target()->PositionedAppend(data, offset, options, dbg);
  }
  rocksdb::IOStatus PositionedAppend(const rocksdb::Slice& data, std::uint64_t offset,
                                     const rocksdb::IOOptions& options,
                                     const rocksdb::DataVerificationInfo& /*info*/,
                                     rocksdb::IODebugContext* dbg) override {
    return PositionedAppend(data, offset, options, dbg);
  }
  rocksdb::IOStatus Flush(const rocksdb::IOOptions& options, rocksdb::IODebugContext* dbg) override {
    if (AppendsFail() && injector_->exhausted()) return Injected(*injector_);
    return target()->Flush(options, dbg);
  }
  rocksdb::IOStatus Sync(const rocksdb::IOOptions& options, rocksdb::IODebugContext* dbg) override {
    return DoSync([&] { return target()->Sync(options, dbg); }, options, dbg);
  }
  rocksdb::IOStatus Fsync(const rocksdb::IOOptions& options, rocksdb::IODebugContext* dbg) override {
    return DoSync([&] { return target()->Fsync(options, dbg); }, options, dbg);
  }
  rocksdb::IOStatus RangeSync(std::uint64_t offset, std::uint64_t nbytes, const rocksdb::IOOptions& options,
                              rocksdb::IODebugContext* dbg) override {
    if (Matches() && (injector_->sync_only() || injector_->exhausted())) return Injected(*injector_);
    return target()->RangeSync(offset, nbytes, options, dbg);
  }

 private:
  bool Matches() const {
    return injector_->armed() && (is_wal_ || injector_->files() == StoreFaultInjector::Files::kAll);
  }
  bool AppendsFail() const { return Matches() && !injector_->sync_only(); }

  template <class F>
  rocksdb::IOStatus DoSync(F&& sync, const rocksdb::IOOptions& options, rocksdb::IODebugContext* dbg) {
    if (is_wal_) {
      if (const auto delay = injector_->wal_sync_delay(); delay.count() > 0) {
        injector_->CountDelayedSync(1);
        std::this_thread::sleep_for(delay);
        injector_->CountDelayedSync(-1);
      }
    }
    if (Matches()) {
      if (injector_->sync_only()) {
        // The OS may drop dirty pages after a failed fsync: model the worst
        // case by discarding what was written since the last good sync.
        (void)target()->Truncate(synced_, options, dbg);
        size_ = synced_;
        return Injected(*injector_);
      }
      if (injector_->exhausted()) return Injected(*injector_);
    }
    auto st = sync();
    if (st.ok()) synced_ = size_;
    return st;
  }

  std::shared_ptr<StoreFaultInjector> injector_;
  bool is_wal_;
  std::uint64_t size_ = 0;
  std::uint64_t synced_ = 0;
};

bool IsWal(const std::string& fname) { return fname.size() >= 4 && fname.compare(fname.size() - 4, 4, ".log") == 0; }

class FaultFileSystem : public rocksdb::FileSystemWrapper {
 public:
  FaultFileSystem(std::shared_ptr<rocksdb::FileSystem> base, std::shared_ptr<StoreFaultInjector> injector)
      : FileSystemWrapper(base), injector_(std::move(injector)) {}

  static const char* kClassName() { return "ExactlyFaultFileSystem"; }
  const char* Name() const override { return kClassName(); }

  rocksdb::IOStatus NewWritableFile(const std::string& f, const rocksdb::FileOptions& opts,
                                    std::unique_ptr<rocksdb::FSWritableFile>* r,
                                    rocksdb::IODebugContext* dbg) override {
    return Wrap(f, target()->NewWritableFile(f, opts, r, dbg), r);
  }
  rocksdb::IOStatus ReopenWritableFile(const std::string& f, const rocksdb::FileOptions& opts,
                                       std::unique_ptr<rocksdb::FSWritableFile>* r,
                                       rocksdb::IODebugContext* dbg) override {
    return Wrap(f, target()->ReopenWritableFile(f, opts, r, dbg), r);
  }
  rocksdb::IOStatus ReuseWritableFile(const std::string& f, const std::string& old, const rocksdb::FileOptions& opts,
                                      std::unique_ptr<rocksdb::FSWritableFile>* r,
                                      rocksdb::IODebugContext* dbg) override {
    return Wrap(f, target()->ReuseWritableFile(f, old, opts, r, dbg), r);
  }

 private:
  rocksdb::IOStatus Wrap(const std::string& f, rocksdb::IOStatus st, std::unique_ptr<rocksdb::FSWritableFile>* r) {
    if (st.ok()) *r = std::make_unique<FaultWritableFile>(std::move(*r), injector_, IsWal(f));
    return st;
  }

  std::shared_ptr<StoreFaultInjector> injector_;
};

}  // namespace

std::shared_ptr<rocksdb::FileSystem> NewFaultInjectingFileSystem(std::shared_ptr<rocksdb::FileSystem> base,
                                                                 std::shared_ptr<StoreFaultInjector> injector) {
  return std::make_shared<FaultFileSystem>(std::move(base), std::move(injector));
}

}  // namespace exactly::state

// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// CheckpointStore: opening a state directory, its metadata, and commits.
// Reads are in load.cc, folding in fold.cc, checkpoint building in
// checkpoint.cc, application state in app_state.cc.
#include <sys/stat.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <random>
#include <system_error>

#include <fmt/format.h>
#include <rocksdb/cache.h>
#include <rocksdb/file_system.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>

#include "fault_fs.h"
#include "info_log.h"
#include "keys.h"
#include "store_impl.h"

#ifndef EXACTLY_VERSION
#define EXACTLY_VERSION "unknown"
#endif

namespace exactly {

using namespace state;  // NOLINT: this file implements the state layer

namespace state {

Status FromRocks(const rocksdb::Status& s, std::string_view context) {
  if (s.ok()) return Status::OK();
  std::string msg = fmt::format("{}: {}", context, s.ToString());
  if (s.IsCorruption()) return Status::Corruption(std::move(msg));
  if (s.IsNotFound()) return Status::NotFound(std::move(msg));
  if (s.IsNotSupported()) return Status::NotSupported(std::move(msg));
  if (s.IsInvalidArgument()) return Status::InvalidArgument(std::move(msg));
  if (s.IsBusy() || s.IsTryAgain()) return Status::Busy(std::move(msg));
  if (s.IsTimedOut()) return Status::TimedOut(std::move(msg));
  if (s.IsAborted() || s.IsShutdownInProgress()) return Status::Aborted(std::move(msg));
  return Status::IoError(std::move(msg));  // IOError, NoSpace and the rest
}

}  // namespace state

namespace {

constexpr std::string_view kVersion = EXACTLY_VERSION;
constexpr std::string_view kRecoverHint =
    "see 'Recovering a corrupt state directory' in the README: restore the directory from a backup, "
    "or move it aside and rebuild the state by replaying the input";

std::string RandomId() {
  std::random_device rd;
  std::uint64_t hi = (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
  std::uint64_t lo = (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
  return fmt::format("{:016x}{:016x}", hi, lo);
}

bool ParseUint(std::string_view s, std::uint64_t* v) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *v);
  return ec == std::errc() && p == s.data() + s.size();
}

// The name of a RocksDB file in `dir` (a manifest, table, log or the
// identity file), or "" if none or the directory cannot be read.
std::string DatabaseFileIn(const std::string& dir) {
  std::error_code ec;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    // Data lives in RocksDB's write-ahead logs and tables (000123.log,
    // 000123.sst), which it creates only after CURRENT. IDENTITY and a
    // MANIFEST alone are a creation killed before CURRENT was written: no
    // checkpoint can have been committed, so that directory is new.
    const std::string stem = it->path().stem().string();
    const bool numbered = !stem.empty() && std::all_of(stem.begin(), stem.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (numbered && (name.ends_with(".sst") || name.ends_with(".log"))) return name;
  }
  return "";
}

rocksdb::Options RocksOptions(const StoreOptions& options, std::shared_ptr<rocksdb::Cache> block_cache) {
  rocksdb::Options o;
  o.create_if_missing = true;  // whether we may create was decided before
  o.paranoid_checks = true;
  // After a crash the database is the state after some prefix of the
  // acknowledged writes: a checkpoint is either wholly there or absent.
  o.wal_recovery_mode = rocksdb::WALRecoveryMode::kPointInTimeRecovery;
  o.max_background_jobs = 2;
  // Room to keep accepting checkpoints while a memtable flushes (fold
  // results fill memtables in bursts).
  o.max_write_buffer_number = 4;
  o.write_buffer_size = options.write_buffer_bytes;
  // Flushes and compactions sync as they go instead of one large fsync at
  // the end, which would stall the checkpoints' WAL syncs behind it.
  o.bytes_per_sync = 1 << 20;
  o.keep_log_file_num = 4;
  o.level_compaction_dynamic_level_bytes = true;
  // FetchProducer is a point read of one producer key: a whole-key bloom
  // filter skips the files that do not hold it (a miss costs no data
  // block read), and index and filter blocks live in the bounded block
  // cache rather than in table readers that grow with the data (pinned for
  // level 0, which every read consults).
  rocksdb::BlockBasedTableOptions t;
  t.block_cache = std::move(block_cache);
  t.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  t.whole_key_filtering = true;
  t.cache_index_and_filter_blocks = true;
  t.cache_index_and_filter_blocks_with_high_priority = true;
  t.pin_l0_filter_and_index_blocks_in_cache = true;
  t.format_version = 5;
  o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(t));
  return o;
}

}  // namespace

// --- lifetime ----------------------------------------------------------------

CheckpointStore::CheckpointStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) { impl_->owner = this; }

CheckpointStore::~CheckpointStore() = default;

CheckpointStore::Impl::~Impl() {
  {
    std::lock_guard lk(book_mu);
    stop.store(true);
  }
  fold_cv.notify_all();
  if (fold_thread.joinable()) fold_thread.join();
  if (db) {
    // Close flushes fold results that were written without the WAL;
    // errors here leave the last checkpoints intact in the WAL.
    (void)db->Close();
    db.reset();
  }
}

Result<std::unique_ptr<CheckpointStore>> CheckpointStore::Open(const std::string& dir, const StoreOptions& options) {
  namespace fs = std::filesystem;
  if (dir.empty()) return Status::InvalidArgument("state directory: empty path");
  if (options.fold_step_bytes == 0 || options.block_cache_bytes == 0 || options.write_buffer_bytes < (64 << 10)) {
    return Status::InvalidArgument(
        "state directory options: fold_step_bytes > 0, block_cache_bytes > 0, write_buffer_bytes >= 64 KiB");
  }
  auto impl = std::make_unique<Impl>();
  impl->dir = dir;
  impl->options = options;

  std::error_code ec;
  const bool have_db = fs::exists(fs::path(dir) / "CURRENT", ec);
  if (!have_db) {
    // Database files without CURRENT: a damaged directory, not a new one.
    // Creating a database here would silently start from empty state (and
    // RocksDB, refusing only when it finds a write-ahead log, would still
    // leave a fresh CURRENT behind for the next start to open).
    if (const std::string found = DatabaseFileIn(dir); !found.empty()) {
      return Status::Corruption(fmt::format("state directory {} is damaged (CURRENT is missing but {} is there); {}",
                                            dir, found, kRecoverHint));
    }
    if (options.read_only || !options.create_if_missing) {
      return Status::NotFound(fmt::format("no state directory at {}", dir));
    }
    fs::create_directories(dir, ec);
    if (ec) return Status::IoError(fmt::format("cannot create state directory {}: {}", dir, ec.message()));
  }
  if (!options.read_only) {
    auto lock = LockFile::Acquire((fs::path(dir) / "exactly.lock").string());
    if (!lock.ok()) return lock.status().WithContext(dir);
    impl->lock = std::move(lock).value();
  }

  // Few shards: a full filter block is one cache entry of ~1.2 bytes per
  // key (megabytes for a big table), and an entry larger than its shard's
  // share is not kept, so with the default 64 shards every point read
  // re-read and re-checksummed the whole filter (measured: ~80% of the time
  // of fetching evicted producers, a few hundred µs each).
  impl->block_cache = rocksdb::NewLRUCache(options.block_cache_bytes, /*num_shard_bits=*/1);
  rocksdb::Options ro = RocksOptions(options, impl->block_cache);
  // Not RocksDB's own LOG writer: it aborts the process after a failed
  // write (disk full).
  ro.info_log = OpenInfoLog(dir, options.read_only);
  if (options.fault_injector) {
    impl->env = rocksdb::NewCompositeEnv(
        NewFaultInjectingFileSystem(rocksdb::FileSystem::Default(), options.fault_injector));
    ro.env = impl->env.get();
  }
  // Read before RocksDB opens (and may create) anything.
  const std::optional<CheckpointMark> mark = ReadCheckpointMark(dir);
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = options.read_only ? rocksdb::DB::OpenForReadOnly(ro, dir, &raw)
                                        : rocksdb::DB::Open(ro, dir, &raw);
  if (!s.ok()) {
    if (s.IsCorruption()) {
      return Status::Corruption(fmt::format("state directory {} is damaged ({}); {}", dir, s.ToString(), kRecoverHint));
    }
    if (s.IsIOError() && s.ToString().find("lock") != std::string::npos) {
      return Status::Busy(fmt::format("state directory {} is locked by another process ({})", dir, s.ToString()));
    }
    return FromRocks(s, fmt::format("cannot open state directory {}", dir));
  }
  impl->db.reset(raw);
  EXACTLY_RETURN_IF_ERROR(impl->InitMeta(mark));
  // Only synced checkpoints are marked: an unsynced one may be lost by a
  // power cut while its mark survives, which would read as damage.
  if (!options.read_only && options.sync) {
    auto writer = CheckpointMarkWriter::Open(dir);
    if (!writer.ok()) return writer.status().WithContext(fmt::format("state directory {}", dir));
    impl->mark_writer = std::move(writer).value();
  }
  if (!options.read_only && options.background_fold) {
    impl->fold_thread = std::thread([p = impl.get()] { p->FoldLoop(); });
  }
  return std::unique_ptr<CheckpointStore>(new CheckpointStore(std::move(impl)));
}

Status CheckpointStore::Impl::LostCheckpoints(const CheckpointMark& mark, std::uint64_t recovered) const {
  return Status::Corruption(fmt::format(
      "state directory {} is damaged: checkpoint {} was committed, but the database recovers only to {} (its "
      "write-ahead log is damaged, and opening it would deliver again what was delivered since); {}. If the "
      "directory was restored from an older copy on purpose, remove {} from it to open it as it is",
      dir, mark.checkpoint, recovered == 0 ? std::string("nothing") : fmt::format("checkpoint {}", recovered),
      kRecoverHint, CheckpointMarkPath(dir)));
}

Status CheckpointStore::Impl::InitMeta(const std::optional<CheckpointMark>& mark) {
  const rocksdb::ReadOptions ro;
  auto get = [&](std::string_view name, std::string* v) -> Result<bool> {
    rocksdb::Status s = db->Get(ro, MetaKey(name), v);
    if (s.IsNotFound()) return false;
    if (!s.ok()) return FromRocks(s, fmt::format("state directory {}: reading metadata '{}'", dir, name));
    return true;
  };

  std::string version;
  auto have = get(kMetaFormatVersion, &version);
  if (!have.ok()) return have.status();
  if (!*have) {
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(ro));
    it->SeekToFirst();
    if (it->Valid()) {
      return Status::Corruption(fmt::format(
          "state directory {} holds data but no format version: it is not an exactly state directory, or its "
          "metadata was lost; {}",
          dir, kRecoverHint));
    }
    EXACTLY_RETURN_IF_ERROR(FromRocks(it->status(), dir));
    if (mark && mark->checkpoint > 0) return LostCheckpoints(*mark, 0);
    if (options.read_only) return Status::NotFound(fmt::format("state directory {} was never initialized", dir));
    info.format_version = kStoreFormatVersion;
    info.store_id = RandomId();
    info.created_by = std::string(kVersion);
    info.written_by = std::string(kVersion);
    info.last_checkpoint = 0;
    rocksdb::WriteBatch b;
    (void)b.Put(MetaKey(kMetaFormatVersion), std::to_string(info.format_version));
    (void)b.Put(MetaKey(kMetaStoreId), info.store_id);
    (void)b.Put(MetaKey(kMetaCreatedBy), info.created_by);
    (void)b.Put(MetaKey(kMetaWrittenBy), info.written_by);
    (void)b.Put(MetaKey(kMetaCheckpoint), "0");
    rocksdb::WriteOptions wo;
    wo.sync = true;
    return FromRocks(db->Write(wo, &b), fmt::format("state directory {}: writing metadata", dir));
  }

  std::uint64_t fv = 0;
  if (!ParseUint(version, &fv)) {
    return Status::Corruption(
        fmt::format("state directory {}: metadata 'format_version' is not a number ('{}'); {}", dir,
                    Printable(version), kRecoverHint));
  }
  std::string written_by;
  (void)get(kMetaWrittenBy, &written_by);
  if (fv > kStoreFormatVersion) {
    return Status::NotSupported(fmt::format(
        "state directory {} has format version {} (written by exactly {}); this build ({}) reads versions up to {}. "
        "Use a newer exactly",
        dir, fv, written_by.empty() ? "?" : Printable(written_by), kVersion, kStoreFormatVersion));
  }
  if (fv == 0) return Status::Corruption(fmt::format("state directory {}: format version 0; {}", dir, kRecoverHint));
  info.format_version = static_cast<std::uint32_t>(fv);
  info.written_by = written_by;
  for (auto [name, field] : {std::pair{kMetaStoreId, &info.store_id}, std::pair{kMetaCreatedBy, &info.created_by}}) {
    auto r = get(name, field);
    if (!r.ok()) return r.status();
    if (!*r) {
      return Status::Corruption(fmt::format("state directory {}: metadata '{}' is missing; {}", dir, name, kRecoverHint));
    }
  }
  std::string ck;
  auto r = get(kMetaCheckpoint, &ck);
  if (!r.ok()) return r.status();
  if (!*r || !ParseUint(ck, &info.last_checkpoint)) {
    return Status::Corruption(
        fmt::format("state directory {}: metadata 'checkpoint' is missing or bad; {}", dir, kRecoverHint));
  }
  if (mark && mark->store_id == info.store_id && mark->checkpoint > info.last_checkpoint) {
    return LostCheckpoints(*mark, info.last_checkpoint);
  }
  std::string ck_time;
  r = get(kMetaCheckpointTime, &ck_time);
  if (!r.ok()) return r.status();
  std::uint64_t ck_ms = 0;
  if (*r && ParseUint(ck_time, &ck_ms) && ck_ms <= static_cast<std::uint64_t>(INT64_MAX)) {
    info.last_checkpoint_unix_ms = static_cast<std::int64_t>(ck_ms);
  }  // absent (older writer) or unreadable: unknown; it is informational only
  if (!options.read_only && info.written_by != kVersion) {
    info.written_by = std::string(kVersion);
    rocksdb::WriteOptions wo;
    wo.sync = true;
    EXACTLY_RETURN_IF_ERROR(FromRocks(db->Put(wo, MetaKey(kMetaWrittenBy), info.written_by),
                                      fmt::format("state directory {}: writing metadata", dir)));
  }
  if (!options.read_only && info.format_version < kStoreFormatVersion) EXACTLY_RETURN_IF_ERROR(UpgradeFromFormat1());
  return Status::OK();
}

const std::string& CheckpointStore::dir() const noexcept { return impl_->dir; }

StoreInfo CheckpointStore::Info() const {
  std::lock_guard lk(impl_->write_mu);
  return impl_->info;
}

// --- commit ------------------------------------------------------------------

Checkpoint CheckpointStore::BeginCheckpoint() {
  auto cp = std::make_unique<Checkpoint::Impl>();
  cp->store = impl_.get();
  std::lock_guard lk(impl_->spare_batch_mu);
  if (impl_->spare_batch) {
    cp->batch = std::move(*impl_->spare_batch);
    impl_->spare_batch.reset();
  }
  return Checkpoint(std::move(cp));
}

void CheckpointStore::Impl::RecycleBatch(rocksdb::WriteBatch&& batch) {
  batch.Clear();
  if (batch.Data().capacity() > kMaxSpareBatchBytes) return;
  std::lock_guard lk(spare_batch_mu);
  spare_batch.emplace(std::move(batch));
}

Status CheckpointStore::Commit(Checkpoint&& checkpoint) {
  std::unique_ptr<Checkpoint::Impl> cp = std::move(checkpoint.impl_);
  if (!cp) return Status::FailedPrecondition("Commit: checkpoint was already committed or moved from");
  if (cp->store != impl_.get()) return Status::InvalidArgument("Commit: checkpoint belongs to another store");
  if (impl_->options.read_only) return Status::FailedPrecondition("Commit: store opened read-only");
  Status st = impl_->Commit(*cp);
  impl_->RecycleBatch(std::move(cp->batch));
  if (!st.ok()) return st;
  auto backlogged = [&] {
    std::lock_guard lk(impl_->book_mu);
    for (const TopicPartition& tp : cp->tps) {
      auto it = impl_->books.find(tp);
      if (it != impl_->books.end() && impl_->FoldBacklogged(it->second)) return true;
    }
    return false;
  };
  if (impl_->options.background_fold) impl_->WakeFolder();
  if (!impl_->options.background_fold) {
    // The inline mode's folding: one bounded step after the checkpoint is
    // durable. Its failure does not undo the commit.
    (void)impl_->FoldStep(impl_->options.fold_step_bytes);
  }
  // Backpressure: commits outran the fold. Fold here until this
  // checkpoint's partitions are back under the backlog bound, so pending
  // deltas (and the pending-change index, ~3x their bytes) stay bounded
  // by the bound plus one checkpoint's changes however far the folder
  // lags. One step per commit, as before, let a checkpoint of 100k new
  // producers (4 MB of delta) outrun it: 69 MiB of index at 3 M producers.
  for (int steps = 0; steps < 100'000 && backlogged(); ++steps) {
    auto r = impl_->FoldStep(impl_->options.fold_step_bytes);
    if (!r.ok() || !*r) break;
  }
  return st;
}

Status CheckpointStore::Impl::Commit(Checkpoint::Impl& cp) {
  using Mode = Checkpoint::Impl::Mode;
  std::lock_guard wl(write_mu);
  if (!failed.ok()) {
    return Status::FailedPrecondition(
        fmt::format("state directory {}: an earlier checkpoint failed ({}); reopen the store and reload the "
                    "partitions from it",
                    dir, failed.ToString()));
  }
  const std::uint64_t seq = info.last_checkpoint + 1;
  rocksdb::WriteBatch& b = cp.batch;
  std::vector<std::pair<std::size_t, std::size_t>> delta_sizes;  // part index, bytes
  for (std::size_t i = 0; i < cp.parts.size(); ++i) {
    auto& part = cp.parts[i];
    const std::string wprefix = PartitionPrefix(kWatermarkKind, part.tp);
    const std::string cprefix = PartitionPrefix(kChunkKind, part.tp);
    switch (part.mode) {
      case Mode::kChanges:
        if (part.delta_ops > 0) {
          (void)b.Put(DeltaKey(part.tp, seq), part.delta);
          delta_sizes.emplace_back(i, part.delta.size());
        }
        break;
      case Mode::kReplace: {
        (void)b.DeleteRange(wprefix, PrefixEnd(wprefix));
        (void)b.DeleteRange(cprefix, PrefixEnd(cprefix));
        for (const ProducerState& p : part.replacement.producers) {
          (void)b.Put(ProducerKey(part.tp, p.producer), EncodeProducerValue(p));
        }
        for (const InProgressState& m : part.replacement.in_progress) {
          (void)b.Put(ChunkHeaderKey(part.tp, m.header.producer, m.header.stamp), EncodeInProgressHeader(m.header));
          for (const ChunkState& c : m.chunks) {
            (void)b.Put(ChunkKey(part.tp, m.header.producer, m.header.stamp, c.index), EncodeChunk(c));
          }
        }
        break;
      }
      case Mode::kRemove:
        (void)b.Delete(OffsetKey(part.tp));
        (void)b.DeleteRange(wprefix, PrefixEnd(wprefix));
        (void)b.DeleteRange(cprefix, PrefixEnd(cprefix));
        break;
    }
    if (part.mode != Mode::kRemove) {
      (void)b.Put(OffsetKey(part.tp), EncodeOffsetRecord(OffsetRecord{part.next_offset, seq, part.max_timestamp}));
    }
  }
  (void)b.Put(MetaKey(kMetaCheckpoint), std::to_string(seq));
  const std::int64_t now_ms = std::max<std::int64_t>(
      0, std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
             .count());
  (void)b.Put(MetaKey(kMetaCheckpointTime), std::to_string(now_ms));

  rocksdb::WriteOptions wo;
  wo.sync = options.sync;
  rocksdb::Status s = db->Write(wo, &b);
  {
    // A Replace/Remove invalidates every fold pass that may have read the
    // deltas it deleted. Bumped after the write, still under write_mu: a
    // pass reads the generation before its data (fold.cc), so a pass that
    // saw the new generation reads what this write left, and any other
    // finds a newer generation at its next write (fold steps check under
    // write_mu). Bumping before the write left a window: a pass starting
    // during a slow (synced) write saw the new generation and the old
    // deltas, then wrote the replaced producers back.
    std::lock_guard bl(book_mu);
    for (const auto& part : cp.parts) {
      if (part.mode != Mode::kChanges) ++books[part.tp].generation;
    }
  }
  if (!s.ok()) {
    failed = FromRocks(s, fmt::format("state directory {}: writing checkpoint {}", dir, seq));
    return failed;
  }
  info.last_checkpoint = seq;
  info.last_checkpoint_unix_ms = now_ms;
  mark_writer.Write(CheckpointMark{info.store_id, seq});

  // Mirror the commit into the overlays of partitions being fetched from
  // (still under write_mu, see overlay.cc).
  for (auto [i, bytes] : delta_sizes) {
    // The checkpoint is durable whatever happens here; a failure only
    // drops the overlay, which the next fetch rebuilds.
    (void)ApplyCommittedDelta(cp.parts[i].tp, seq, cp.parts[i].delta);
  }
  {
    std::lock_guard ol(overlay_mu);
    for (const auto& part : cp.parts) {
      // Replace/Remove deleted every delta: nothing is pending any more.
      if (part.mode == Mode::kChanges) continue;
      if (auto o = overlays.find(part.tp); o != overlays.end()) o->second = std::make_unique<Overlay>();
    }
  }

  std::lock_guard bl(book_mu);
  for (auto [i, bytes] : delta_sizes) {
    PartitionBook& book = books[cp.parts[i].tp];
    book.delta_bytes += bytes;
    book.delta_count += 1;
  }
  for (const auto& part : cp.parts) {
    PartitionBook& book = books[part.tp];
    switch (part.mode) {
      case Mode::kChanges:
        book.max_timestamp = part.max_timestamp;
        if (part.producer_ttl_ms > 0) {
          // The first sweep one interval after the first checkpoint: not
          // at every start of a process.
          if (book.producer_ttl_ms == 0) book.next_sweep = std::chrono::steady_clock::now() + options.purge_sweep_interval;
          book.producer_ttl_ms = part.producer_ttl_ms;
        }
        break;
      case Mode::kReplace:
        book.max_timestamp = part.max_timestamp;
        book.delta_bytes = book.delta_count = 0;
        break;
      case Mode::kRemove:
        book = PartitionBook{0, 0, book.generation, std::nullopt};
        break;
    }
  }
  return Status::OK();
}

StoreMemory CheckpointStore::MemoryUsage() const {
  StoreMemory m;
  std::uint64_t v = 0;
  if (impl_->db->GetIntProperty(rocksdb::DB::Properties::kSizeAllMemTables, &v)) m.memtables = v;
  if (impl_->db->GetIntProperty(rocksdb::DB::Properties::kEstimateTableReadersMem, &v)) m.table_readers = v;
  m.block_cache = impl_->block_cache->GetUsage();
  m.fold_pass = impl_->pass_bytes.load(std::memory_order_relaxed);
  {
    std::lock_guard bl(impl_->spare_batch_mu);
    if (impl_->spare_batch) m.kept_batch = impl_->spare_batch->Data().capacity();
  }
  std::lock_guard ol(impl_->overlay_mu);
  for (const auto& [tp, o] : impl_->overlays) m.pending_index += o->bytes;
  return m;
}

Status CheckpointStore::Fold(std::size_t max_bytes) {
  if (impl_->options.read_only) return Status::FailedPrecondition("Fold: store opened read-only");
  // An explicit fold covers every partition, including those this process
  // has not touched, so learn what is pending first (deltas only: the
  // producer keys need not be read).
  auto parts = ListPartitions();
  if (!parts.ok()) return parts.status();
  for (const TopicPartition& tp : *parts) {
    const std::string dprefix = WatermarkTagPrefix(tp, kDeltaTag);
    const std::string dend = PrefixEnd(dprefix);
    rocksdb::ReadOptions ro;
    rocksdb::Slice upper(dend);
    ro.iterate_upper_bound = &upper;
    std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(ro));
    std::uint64_t bytes = 0;
    std::uint64_t count = 0;
    for (it->Seek(dprefix); it->Valid(); it->Next()) {
      bytes += it->value().size();
      ++count;
    }
    EXACTLY_RETURN_IF_ERROR(FromRocks(it->status(), fmt::format("fold of {}", tp.ToString())));
    std::lock_guard lk(impl_->book_mu);
    PartitionBook& book = impl_->books[tp];
    book.delta_bytes = bytes;
    book.delta_count = count;
  }
  std::size_t done = 0;
  while (done < max_bytes) {
    const std::size_t step = std::min(impl_->options.fold_step_bytes, max_bytes - done);
    auto r = impl_->FoldStep(step, /*all=*/true);
    if (!r.ok()) return r.status();
    if (!*r) break;
    done += step;
  }
  return Status::OK();
}

}  // namespace exactly

// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
#include "replay.h"

#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>

#include "exactly/checkpoint_store.h"
#include "exactly/recorded_log.h"
#include "exactly/testing/checkpointed_engine.h"
#include "progress.h"

namespace exactly::replay {
namespace {

volatile std::sig_atomic_t g_interrupted = 0;
extern "C" void OnInterrupt(int) { g_interrupted = 1; }

constexpr std::string_view kReasonHeader = "exactly.dead-letter.reason";
constexpr std::string_view kDetailHeader = "exactly.dead-letter.detail";
constexpr std::uint64_t kInvalidLinesShown = 100;

// Rejected records go to the --dead-letters file, tagged with why.
class DeadLetterFile final : public DeadLetterSink {
 public:
  explicit DeadLetterFile(RecordedLogWriter* writer) : writer_(writer) {}
  void OnRejected(const Rejected& rejected) noexcept override {
    const HeaderView extra[] = {{kReasonHeader, RejectReasonName(rejected.reason)}, {kDetailHeader, rejected.detail}};
    writer_->Append(rejected.record, extra);
  }

 private:
  RecordedLogWriter* writer_;
};

Status WriteStats(const std::string& path, const std::string& json) {
  const bool to_stdout = path == "-";
  FILE* f = to_stdout ? stdout : std::fopen(path.c_str(), "wb");
  bool ok = f != nullptr && std::fwrite(json.data(), 1, json.size(), f) == json.size();
  if (f != nullptr) ok = (to_stdout ? std::fflush(f) : std::fclose(f)) == 0 && ok;
  return ok ? Status::OK() : Status::IoError(fmt::format("{}: cannot write the stats file", path));
}

void Warn(std::string_view text) { std::fprintf(stderr, "exactly-replay: %.*s\n", static_cast<int>(text.size()), text.data()); }

}  // namespace

void InstallInterruptHandlers() {
  struct sigaction sa {};
  sa.sa_handler = &OnInterrupt;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESETHAND | SA_RESTART;  // the second signal takes the default action
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  std::signal(SIGPIPE, SIG_IGN);  // a closed stdout is a write error to report
}

struct Replayer::Impl {
  ReplayOptions opt;
  RunStats stats;
  std::unique_ptr<CheckpointStore> store;
  std::unique_ptr<RecordedLogWriter> output;
  std::unique_ptr<RecordedLogWriter> dead_writer;
  std::unique_ptr<DeadLetterFile> dead_sink;
  std::unique_ptr<testing::CheckpointedEngine> engine;
  OffsetOrderCheck order;
  std::uint64_t bytes_before_file = 0;  // input bytes of the files already read

  explicit Impl(ReplayOptions o) : opt(std::move(o)) {}

  // §4: outputs durable first, then the checkpoint that covers their inputs.
  Status Checkpoint() {
    EXACTLY_RETURN_IF_ERROR(output->Sync());
    if (dead_writer) EXACTLY_RETURN_IF_ERROR(dead_writer->Sync());
    const std::uint64_t before = engine->checkpoints();
    EXACTLY_RETURN_IF_ERROR(engine->Checkpoint());
    stats.checkpoints += engine->checkpoints() - before;
    return Status::OK();
  }

  Status Open() {
    const auto mode = opt.state_dir.empty() ? RecordedLogWriter::Mode::kTruncate : RecordedLogWriter::Mode::kAppend;
    if (!opt.state_dir.empty()) {
      auto s = CheckpointStore::Open(opt.state_dir);
      if (!s.ok()) return s.status();  // it names the directory
      store = std::move(*s);
    }
    auto out = RecordedLogWriter::Open(opt.output, mode);
    if (!out.ok()) return out.status();
    output = std::move(*out);
    if (output->repaired_bytes() > 0) {
      Warn(fmt::format("{}: cut {} bytes of a torn last line left by an earlier crash", output->path(),
                       output->repaired_bytes()));
    }
    if (!opt.dead_letters.empty()) {
      auto dl = RecordedLogWriter::Open(opt.dead_letters, mode);
      if (!dl.ok()) return dl.status();
      dead_writer = std::move(*dl);
      if (dead_writer->repaired_bytes() > 0) {
        Warn(fmt::format("{}: cut {} bytes of a torn last line left by an earlier crash", dead_writer->path(),
                         dead_writer->repaired_bytes()));
      }
      dead_sink = std::make_unique<DeadLetterFile>(dead_writer.get());
    }
    engine = std::make_unique<testing::CheckpointedEngine>(opt.engine, dead_sink.get(), store.get());
    return Status::OK();
  }

  std::optional<std::uint64_t> TotalInputBytes() const {
    std::uint64_t total = 0;
    for (const auto& f : opt.files) {
      struct stat st {};
      if (f == "-" || ::stat(f.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
      total += static_cast<std::uint64_t>(st.st_size);
    }
    return total;
  }

  // A line-level input error: counted and skipped with --skip-invalid,
  // else the end of the run.
  bool SkipInvalid(const Status& st) {
    if (!opt.skip_invalid) return false;
    ++stats.invalid_lines;
    if (stats.invalid_lines <= kInvalidLinesShown) Warn(fmt::format("skipped invalid line: {}", st.message()));
    if (stats.invalid_lines == kInvalidLinesShown) Warn("further invalid lines are counted in --stats, not shown");
    return true;
  }

  enum class Step { kContinue, kStop, kInvalid, kFailed };

  // Processes one file; sets *error when the result is kInvalid/kFailed.
  Step ReadFile(const std::string& path, Progress& progress, Status* error) {
    auto opened = RecordedLogReader::Open(path, opt.log);
    if (!opened.ok()) {
      *error = opened.status();
      return Step::kFailed;
    }
    ++stats.files;
    RecordedLogReader& reader = **opened;
    auto deliver = [&](const Message& m) {
      RecordView v;
      v.topic = m.topic;
      v.partition = m.partition;
      v.offset = m.offset;
      v.timestamp = m.timestamp;
      v.key = m.key;
      v.value = m.value;
      v.headers = m.headers;
      output->Append(v);
      ++stats.output_records;
    };
    Step result = Step::kContinue;
    for (;;) {
      if (g_interrupted) {
        stats.interrupted = true;
        result = Step::kStop;
        break;
      }
      RecordView record;
      auto next = reader.Next(&record);
      if (!next.ok()) {
        if (next.status().code() == Code::kIoError) {
          *error = next.status();
          result = Step::kFailed;
          break;
        }
        if (SkipInvalid(next.status())) continue;
        *error = next.status();
        result = Step::kInvalid;
        break;
      }
      if (!*next) break;
      if (Status st = order.Check(record, reader.name(), reader.line()); !st.ok()) {
        if (SkipInvalid(st)) {
          ++stats.offsets_not_increasing;
          continue;
        }
        *error = st;
        result = Step::kInvalid;
        break;
      }
      ++stats.input_records;
      auto admitted = engine->Admit(record);
      if (!admitted.ok()) {
        *error = admitted.status();
        result = Step::kFailed;
        break;
      }
      if (!*admitted) {
        ++stats.records_skipped;
        continue;
      }
      engine->Process(record, deliver);
      const std::uint64_t n = ++stats.records_processed;
      if (opt.crash_after != 0 && n == opt.crash_after) {
        // As SIGKILL would: nothing buffered is written, no checkpoint, no
        // destructors, no stats.
        std::fflush(stderr);
        ::_exit(kExitCrashed);
      }
      if (opt.checkpoint_every != 0 && n % opt.checkpoint_every == 0) {
        if (Status st = Checkpoint(); !st.ok()) {
          *error = st;
          result = Step::kFailed;
          break;
        }
      }
      if (opt.max_records != 0 && n == opt.max_records) {
        stats.max_records_reached = true;
        result = Step::kStop;
        break;
      }
      progress.Tick(n, bytes_before_file + reader.bytes_consumed());
    }
    bytes_before_file += reader.bytes_consumed();
    return result;
  }

  int RunInner() {
    if (Status st = Open(); !st.ok()) {
      stats.error = st.ToString();
      return kExitFailure;
    }
    Progress progress(opt.progress, TotalInputBytes());
    int code = kExitOk;
    for (const std::string& path : opt.files) {
      Status error;
      const Step step = ReadFile(path, progress, &error);
      if (step == Step::kContinue) continue;
      if (step == Step::kInvalid) {
        stats.error = error.ToString();
        code = kExitInvalidInput;
      } else if (step == Step::kFailed) {
        stats.error = error.ToString();
        code = kExitFailure;
      } else if (stats.interrupted) {
        code = kExitInterrupted;
      }
      break;
    }
    progress.Finish(stats.records_processed, bytes_before_file);
    stats.input_bytes = bytes_before_file;
    if (code == kExitFailure) {
      // After a store or I/O failure nothing more is written: a restart
      // resumes from the last good checkpoint.
      return code;
    }
    // Done, stopped, or stopped at an invalid line: checkpoint what was
    // processed. The bad record itself never reached the engine.
    if (Status st = Checkpoint(); !st.ok()) {
      if (stats.error.empty()) stats.error = st.ToString();
      return kExitFailure;
    }
    const Engine& e = engine->engine();
    stats.in_progress_messages = e.InProgressCount();
    stats.buffered_bytes = e.BufferedBytes();
    stats.producers = e.TotalProducerCount();
    return code;
  }
};

Replayer::Replayer(ReplayOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
Replayer::~Replayer() = default;

int Replayer::Run() {
  const auto start = std::chrono::steady_clock::now();
  int code = impl_->RunInner();
  RunStats& stats = impl_->stats;
  if (impl_->engine) stats.engine = impl_->engine->engine().counters();
  if (impl_->dead_writer) stats.dead_letter_records = impl_->dead_writer->records_appended();
  stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  stats.exit_status = code;
  if (!stats.error.empty()) Warn(stats.error);
  if (stats.in_progress_messages > 0) {
    Warn(fmt::format("{} chunked message(s) still incomplete at the end of the input ({} bytes){}",
                     stats.in_progress_messages, stats.buffered_bytes,
                     impl_->store ? "; kept in the checkpoint" : "; not delivered (use --state-dir to keep them)"));
  }
  if (stats.invalid_lines > 0) Warn(fmt::format("{} invalid line(s) skipped", stats.invalid_lines));
  if (!impl_->opt.stats.empty()) {
    if (Status st = WriteStats(impl_->opt.stats, StatsJson(stats)); !st.ok()) {
      Warn(st.ToString());
      if (code == kExitOk) code = kExitFailure;
    }
  }
  return code;
}

}  // namespace exactly::replay

// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// exactly-replay's pipeline on recorded logs: 100-byte single-record
// stamped messages in the kcat -J layout. Read every figure as a ratio to
// BM_ParseOnly, the floor (reading and parsing the same file, nothing
// else), measured in the same run:
//   BM_ParseOnly       read + parse every line into a RecordView
//   BM_ParseAndDecide  ... + the engine's decision for every record
//   BM_Replay          ... + every delivery written as a JSON line through
//                      RecordedLogWriter (the tool's write path) to /dev/null
//   BM_WriteOnly       writing the same records as JSON lines, alone
// Target: BM_Replay >= 1 M records/s on one core.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "exactly/engine.h"
#include "exactly/record.h"
#include "exactly/recorded_log.h"

namespace exactly {
namespace {

constexpr std::size_t kRecords = 200'000;
constexpr std::size_t kProducers = 16;

// The recorded log, written once to a temporary file (read through the
// page cache, as a replay of a recent capture would be).
class LogFile {
 public:
  LogFile() {
    path_ = (std::filesystem::temp_directory_path() / ("exactly-replay-bench-" + std::to_string(::getpid()) + ".jsonl"))
                .string();
    std::string text;
    OwnedRecord r;
    r.topic = "orders";
    r.partition = Partition(0);
    r.timestamp = TimestampMs(1'700'000'000'000);
    for (std::size_t i = 0; i < kRecords; ++i) {
      r.offset = Offset(static_cast<std::int64_t>(i));
      r.key = "customer-" + std::to_string(i % 1000);
      std::string payload = "{\"order\":" + std::to_string(i) + ",\"sku\":\"ABC-123\",\"qty\":1,\"note\":\"";
      payload.resize(99, 'x');
      payload += '}';  // 100 bytes of JSON-ish text, escaped as a string
      r.value = std::move(payload);
      r.headers = {{"eo.producer", "producer-" + std::to_string(i % kProducers)},
                   {"eo.epoch", "0"},
                   {"eo.seq", std::to_string(i / kProducers)}};
      AppendRecordLine(text, r.view());
      records_.push_back(r);
    }
    bytes_ = text.size();
    std::ofstream(path_, std::ios::binary) << text;
  }
  ~LogFile() { std::filesystem::remove(path_); }
  const std::string& path() const { return path_; }
  std::size_t bytes() const { return bytes_; }
  const std::vector<OwnedRecord>& records() const { return records_; }

 private:
  std::string path_;
  std::size_t bytes_ = 0;
  std::vector<OwnedRecord> records_;
};

const LogFile& Log() {
  static const LogFile log;
  return log;
}

template <class Fn>
void ForEachRecord(benchmark::State& state, Fn&& fn) {
  auto reader = RecordedLogReader::Open(Log().path());
  if (!reader.ok()) {
    state.SkipWithError(reader.status().ToString().c_str());
    return;
  }
  RecordView v;
  for (;;) {
    auto next = (*reader)->Next(&v);
    if (!next.ok()) {
      state.SkipWithError(next.status().ToString().c_str());
      return;
    }
    if (!*next) return;
    fn(v);
  }
}

// Builds the log before any timing starts.
[[maybe_unused]] const bool kLogReady = (Log(), true);

void Finish(benchmark::State& state) {
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kRecords));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * Log().bytes()));
}

void BM_ParseOnly(benchmark::State& state) {
  for (auto _ : state) {
    std::size_t n = 0;
    ForEachRecord(state, [&](const RecordView& v) { n += v.value ? v.value->size() : 0; });
    benchmark::DoNotOptimize(n);
  }
  Finish(state);
}
BENCHMARK(BM_ParseOnly)->Unit(benchmark::kMillisecond);

void BM_ParseAndDecide(benchmark::State& state) {
  for (auto _ : state) {
    Engine engine;  // fresh state: every pass is new traffic
    std::size_t delivered = 0;
    ForEachRecord(state, [&](const RecordView& v) { engine.Process(v, [&](const Message&) { ++delivered; }); });
    if (delivered != kRecords) state.SkipWithError("not every record was delivered");
  }
  Finish(state);
}
BENCHMARK(BM_ParseAndDecide)->Unit(benchmark::kMillisecond);

void BM_Replay(benchmark::State& state) {
  // The tool's write path: RecordedLogWriter, written out per 1 MiB to
  // /dev/null (no disk in the figure; fsync is per checkpoint, not per record).
  auto writer = RecordedLogWriter::Open("/dev/null", RecordedLogWriter::Mode::kTruncate);
  if (!writer.ok()) {
    state.SkipWithError(writer.status().ToString().c_str());
    return;
  }
  for (auto _ : state) {
    Engine engine;
    std::size_t delivered = 0;
    ForEachRecord(state, [&](const RecordView& v) {
      engine.Process(v, [&](const Message& m) {
        RecordView o;
        o.topic = m.topic;
        o.partition = m.partition;
        o.offset = m.offset;
        o.timestamp = m.timestamp;
        o.key = m.key;
        o.value = m.value;
        o.headers = m.headers;
        (*writer)->Append(o);
        ++delivered;
      });
    });
    if (!(*writer)->Flush().ok()) state.SkipWithError("write failed");
    if (delivered != kRecords) state.SkipWithError("not every record was delivered");
  }
  Finish(state);
}
BENCHMARK(BM_Replay)->Unit(benchmark::kMillisecond);

void BM_WriteOnly(benchmark::State& state) {
  auto writer = RecordedLogWriter::Open("/dev/null", RecordedLogWriter::Mode::kTruncate);
  if (!writer.ok()) {
    state.SkipWithError(writer.status().ToString().c_str());
    return;
  }
  std::vector<RecordView> views;
  for (const OwnedRecord& r : Log().records()) views.push_back(r.view());
  for (auto _ : state) {
    for (const RecordView& v : views) (*writer)->Append(v);
    if (!(*writer)->Flush().ok()) state.SkipWithError("write failed");
  }
  Finish(state);
}
BENCHMARK(BM_WriteOnly)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace exactly

BENCHMARK_MAIN();

// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// Helpers for the replay tests: running the real exactly-replay binary as
// a subprocess, scratch directories, and a seeded generator of recorded
// logs whose expected output is known by construction.
//
// The generator models producers that follow the envelope protocol (each
// producer's messages in (epoch, seq) order, chunks of a message in one
// partition) and a faulty world around them: retried records, re-sent
// windows, zombie records of fenced epochs, epoch restarts, sequence gaps,
// shuffled / interleaved / duplicated chunks, abandoned messages (and
// their chunks arriving late), corrupt messages re-sent correctly,
// malformed stamps and unstamped records, over several topics and
// partitions. For every record it knows what DESIGN.md §3 prescribes, so
// `expected` is derived from the protocol, not from the engine.
//
// Thread safety: none needed (tests are single-threaded).
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "exactly/record.h"

namespace exactly::replaytest {

// Path of the exactly-replay binary under test (set by CMake).
std::string ReplayBinary();

struct ProcessResult {
  int status = -1;  // exit status, or 128 + signal
  std::string out;  // stdout
  std::string err;  // stderr
};

// Runs `binary` with `args` and waits for it; stdin from `stdin_path`
// (empty: /dev/null), stdout and stderr captured.
ProcessResult RunProcess(const std::string& binary, const std::vector<std::string>& args,
                         const std::string& stdin_path = "");
// RunProcess of the exactly-replay binary.
ProcessResult RunReplay(const std::vector<std::string>& args, const std::string& stdin_path = "");

// A fresh directory under the system temp dir, removed on destruction.
class ScratchDir {
 public:
  explicit ScratchDir(const std::string& tag);
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  std::string Path(const std::string& name) const { return (dir_ / name).string(); }
  const std::filesystem::path& dir() const { return dir_; }

 private:
  std::filesystem::path dir_;
};

std::string ReadFile(const std::string& path);
void WriteFile(const std::string& path, const std::string& contents);
// Lines of a file, without their newlines.
std::vector<std::string> ReadLines(const std::string& path);

// --- generated logs ---------------------------------------------------------

struct GeneratorOptions {
  std::uint64_t seed = 1;
  std::size_t records = 1000;  // stops at the first event boundary at or past this
  int topics = 2;
  int partitions = 2;           // per topic
  int producers = 4;            // per partition (ids shared across partitions)
  // Per-event probabilities of the faults (the rest are clean messages).
  double chunked = 0.35;        // a message split in 1..5 chunks
  double retry = 0.08;          // a record repeated right after itself
  double resend_window = 0.03;  // the last 1..3 messages re-sent whole
  double zombie = 0.03;         // a record of a fenced (older) epoch
  double epoch_restart = 0.02;  // epoch + 1, sequence restarts low
  double gap = 0.05;            // sequence jumps by 2..5
  double corrupt = 0.02;        // bad eo.crc / eo.size, then re-sent correctly
  double abandon = 0.02;        // some chunks only; the rest arrive late
  double malformed = 0.02;      // a broken stamp
  double unstamped = 0.02;      // no envelope headers at all
  double chunk_duplicate = 0.1; // per chunked message: one chunk sent twice
  double binary = 0.2;          // payloads with bytes that are not UTF-8
};

struct GeneratedLog {
  std::vector<OwnedRecord> records;   // the recorded log, in file order
  std::vector<OwnedRecord> expected;  // what exactly-replay must deliver, in order
  std::map<std::string, std::uint64_t> counts;  // events generated, by kind
};

GeneratedLog GenerateLog(const GeneratorOptions& options);

// The records as JSON lines (recorded_log.h layout).
std::string ToJsonLines(const std::vector<OwnedRecord>& records);

// Identity of a delivered message for at-least-once comparisons:
// topic, partition and stamp (producer, epoch, seq) from its headers; for
// an unstamped record, its offset.
std::string DeliveryKey(const OwnedRecord& r);

// Parses JSON lines; fails the current test on a bad line.
std::vector<OwnedRecord> ParseLines(const std::vector<std::string>& lines);

}  // namespace exactly::replaytest

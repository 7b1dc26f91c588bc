// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// exactly-replay against hostile input and a damaged state directory:
// - a 10 MB line of binary garbage in the log: a clear error naming
//   FILE:LINE (or, with --skip-invalid, a counted invalid line), with the
//   process's peak memory bounded by the line limit, measured against a
//   run of the same log without the garbage line;
// - a state directory with garbage in a RocksDB file or without its
//   CURRENT file: a clear error naming the directory (exit status 3),
//   never a crash, and the directory left as it was found;
// - a state directory on a full file system: a clear error, not an abort.
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/resource.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <random>

#include "address_sanitizer.h"
#include "exactly/recorded_log.h"
#include "replay_test_support.h"

namespace exactly::replaytest {
namespace {

namespace fs = std::filesystem;
constexpr std::uint64_t kMiB = 1 << 20;

std::string Good(int offset) {
  OwnedRecord r;
  r.topic = "t";
  r.partition = Partition(0);
  r.offset = Offset(offset);
  r.timestamp = TimestampMs(1'700'000'000'000 + offset);
  r.value = "v" + std::to_string(offset);
  r.headers = {{"eo.producer", "p1"}, {"eo.epoch", "0"}, {"eo.seq", std::to_string(offset)}};
  std::string s;
  AppendRecordLine(s, r.view());
  return s;
}

// Records 0..n-1 as JSON lines.
std::string GoodLog(int n) {
  std::string log;
  for (int i = 0; i < n; ++i) log += Good(i);
  return log;
}

// The memory bounds hold for malloc, not for AddressSanitizer's
// allocator, which keeps freed blocks in quarantine (so the read buffer's
// doublings add up) and pads every block; under it they are not checked.
void ExpectPeakWithin(std::uint64_t peak, std::uint64_t baseline, std::uint64_t growth) {
  if (test_build::kAddressSanitizer) {
    std::printf("peak %llu MiB, baseline %llu MiB: not checked under AddressSanitizer\n",
                static_cast<unsigned long long>(peak / kMiB), static_cast<unsigned long long>(baseline / kMiB));
    return;
  }
  EXPECT_LE(peak, baseline + growth) << "peak " << peak / kMiB << " MiB, baseline " << baseline / kMiB << " MiB";
}

// Peak resident set of the largest child waited for so far.
std::uint64_t ChildrenPeakRss() {
  rusage u{};
  getrusage(RUSAGE_CHILDREN, &u);
  return static_cast<std::uint64_t>(u.ru_maxrss) * 1024;
}

// Binary garbage without newlines, fixed seed.
std::string Garbage(std::size_t n) {
  std::mt19937_64 rng(20261121);
  std::string g(n, ' ');
  for (char& c : g) {
    c = static_cast<char>(rng() & 0xFF);
    if (c == '\n') c = '{';
  }
  return g;
}

class GarbageLine : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string clean = GoodLog(100);
    // The same records with a garbage line after the first.
    const std::string hostile = Good(0) + Garbage(10'000'000) + "\n" + clean.substr(Good(0).size());
    WriteFile(dir_.Path("clean.jsonl"), clean);
    WriteFile(dir_.Path("hostile.jsonl"), hostile);
  }
  // The control run: the same log without the garbage line. Must come
  // first, since the children's peak only grows.
  std::uint64_t Baseline() {
    const ProcessResult r = RunReplay({"-o", dir_.Path("clean.out"), dir_.Path("clean.jsonl")});
    EXPECT_EQ(r.status, 0) << r.err;
    return ChildrenPeakRss();
  }
  ScratchDir dir_{"hostile"};
};

TEST_F(GarbageLine, TenMegabyteBinaryLineIsAClearErrorWithBoundedMemory) {
  const std::uint64_t baseline = Baseline();
  const std::string in = dir_.Path("hostile.jsonl");
  const ProcessResult r = RunReplay({"-o", dir_.Path("out"), in});
  const std::uint64_t peak = ChildrenPeakRss();
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_NE(r.err.find(in + ":2: invalid JSON"), std::string::npos) << r.err.substr(0, 500);
  EXPECT_LT(r.err.size(), 4096u) << "the error quotes the garbage";
  EXPECT_EQ(ReadLines(dir_.Path("out")).size(), 1u);
  // The line is held whole (it is within the 64 MiB default limit): the
  // read buffer doubles up to it, old and new buffer live during the copy.
  ExpectPeakWithin(peak, baseline, 3 * 10'000'000 + 8 * kMiB);
  std::printf("garbage line: baseline %llu MiB, peak %llu MiB\n", static_cast<unsigned long long>(baseline / kMiB),
              static_cast<unsigned long long>(peak / kMiB));
}

TEST_F(GarbageLine, SkipInvalidCountsItAndGoesOn) {
  const std::uint64_t baseline = Baseline();
  const ProcessResult r =
      RunReplay({"--skip-invalid", "-o", dir_.Path("out"), "--stats", dir_.Path("stats"), dir_.Path("hostile.jsonl")});
  const std::uint64_t peak = ChildrenPeakRss();
  ASSERT_EQ(r.status, 0) << r.err.substr(0, 500);
  EXPECT_EQ(ReadLines(dir_.Path("out")).size(), 100u);
  EXPECT_NE(ReadFile(dir_.Path("stats")).find("\"invalid_lines\":1,"), std::string::npos) << ReadFile(dir_.Path("stats"));
  ExpectPeakWithin(peak, baseline, 3 * 10'000'000 + 8 * kMiB);
}

// Over --max-line-bytes the line is skipped as it streams past: memory
// stays near the limit, not the line.
TEST_F(GarbageLine, OverTheLineLimitItIsNeverHeld) {
  const std::uint64_t baseline = Baseline();
  const std::string in = dir_.Path("hostile.jsonl");
  const ProcessResult r = RunReplay({"--skip-invalid", "--max-line-bytes", "1048576", "-o", dir_.Path("out"), "--stats",
                                     dir_.Path("stats"), in});
  const std::uint64_t peak = ChildrenPeakRss();
  ASSERT_EQ(r.status, 0) << r.err.substr(0, 500);
  EXPECT_NE(r.err.find(in + ":2: line longer than the limit"), std::string::npos) << r.err.substr(0, 500);
  EXPECT_EQ(ReadLines(dir_.Path("out")).size(), 100u);
  ExpectPeakWithin(peak, baseline, 4 * kMiB + 4 * kMiB);
}

// --- a damaged state directory ------------------------------------------------

struct Damage {
  const char* name;
  // Applied to a state directory holding a checkpoint.
  void (*apply)(const fs::path& dir);
};
void PrintTo(const Damage& d, std::ostream* os) { *os << d.name; }

fs::path FileStartingWith(const fs::path& dir, const std::string& prefix, const std::string& suffix = "") {
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string n = e.path().filename().string();
    if (n.starts_with(prefix) && n.ends_with(suffix)) return e.path();
  }
  ADD_FAILURE() << "no " << prefix << "*" << suffix << " in " << dir;
  return dir / "absent";
}

void Scribble(const fs::path& file) { WriteFile(file.string(), Garbage(300)); }

// Writes in.jsonl (50 good records) into `dir` and replays it into
// dir/state, checkpointing every 10 records: a state directory with a
// checkpoint, ready to be damaged. Returns its path.
std::string CheckpointedStateDir(const ScratchDir& dir) {
  WriteFile(dir.Path("in.jsonl"), GoodLog(50));
  const std::string state = dir.Path("state");
  const ProcessResult r =
      RunReplay({"--state-dir", state, "--checkpoint-every", "10", "-o", dir.Path("first.out"), dir.Path("in.jsonl")});
  EXPECT_EQ(r.status, 0) << r.err;
  return state;
}

std::vector<Damage> Damages() {
  return {
      {"MissingCurrent", [](const fs::path& d) { fs::remove(d / "CURRENT"); }},
      {"GarbageCurrent", [](const fs::path& d) { Scribble(d / "CURRENT"); }},
      {"GarbageManifest", [](const fs::path& d) { Scribble(FileStartingWith(d, "MANIFEST-")); }},
      {"EmptyManifest", [](const fs::path& d) { WriteFile(FileStartingWith(d, "MANIFEST-").string(), ""); }},
      {"CurrentNamesAMissingManifest", [](const fs::path& d) { WriteFile((d / "CURRENT").string(), "MANIFEST-999999\n"); }},
  };
}

class DamagedStateDir : public ::testing::TestWithParam<Damage> {};

TEST_P(DamagedStateDir, ReplayRefusesToStartNamingTheDirectory) {
  ScratchDir dir("damaged");
  const std::string state = CheckpointedStateDir(dir);
  ASSERT_FALSE(::testing::Test::HasFailure());
  GetParam().apply(state);
  // Twice: the failed start must not leave the directory openable as an
  // empty state (which would deliver everything again).
  for (int attempt = 0; attempt < 2; ++attempt) {
    const ProcessResult r = RunReplay({"--state-dir", state, "-o", dir.Path("out2"), dir.Path("in.jsonl")});
    EXPECT_EQ(r.status, 3) << "attempt " << attempt << ": " << r.err;
    EXPECT_NE(r.err.find("state directory " + state), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("damaged"), std::string::npos) << r.err;
    EXPECT_TRUE(!fs::exists(dir.Path("out2")) || ReadLines(dir.Path("out2")).empty())
        << "records were delivered from a damaged state";
  }
}

INSTANTIATE_TEST_SUITE_P(Kinds, DamagedStateDir, ::testing::ValuesIn(Damages()),
                         [](const ::testing::TestParamInfo<Damage>& p) { return std::string(p.param.name); });

// Files RocksDB can do without (its options file, its identity) may be
// damaged too: either a clean start or a clear error, never a crash.
TEST(DamagedStateDir, GarbageInAuxiliaryFilesNeverCrashes) {
  for (const char* victim : {"OPTIONS-", "IDENTITY"}) {
    ScratchDir dir("aux");
    const std::string state = CheckpointedStateDir(dir);
    ASSERT_FALSE(::testing::Test::HasFailure());
    Scribble(FileStartingWith(state, victim));
    const ProcessResult r = RunReplay({"--state-dir", state, "-o", dir.Path("o2"), dir.Path("in.jsonl")});
    EXPECT_TRUE(r.status == 0 || r.status == 3) << victim << ": status " << r.status << " " << r.err;
    if (r.status == 0) {
      EXPECT_TRUE(ReadLines(dir.Path("o2")).empty()) << victim << ": did not resume from the checkpoint";
    } else {
      EXPECT_NE(r.err.find(state), std::string::npos) << r.err;
    }
  }
}


// The store recovers its write-ahead log to a point in time, which reads
// garbage as a torn tail and would open at the state before it (here:
// empty), delivering everything again. The checkpoint mark beside the
// database (state/src/checkpoint_mark.h) says a synced checkpoint was
// committed past that point: damage, reported as such.
TEST(DamagedStateDir, GarbageWriteAheadLogIsDamageNotAnOlderState) {
  ScratchDir dir("wal");
  const std::string state = CheckpointedStateDir(dir);
  ASSERT_FALSE(::testing::Test::HasFailure());
  Scribble(FileStartingWith(state, "", ".log"));
  const ProcessResult r = RunReplay({"--state-dir", state, "-o", dir.Path("o2"), dir.Path("in.jsonl")});
  EXPECT_EQ(r.status, 3) << "status " << r.status << ", " << ReadLines(dir.Path("o2")).size()
                         << " records delivered again; " << r.err;
  EXPECT_NE(r.err.find("state directory " + state + " is damaged"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("write-ahead log"), std::string::npos) << r.err;
  EXPECT_TRUE(!fs::exists(dir.Path("o2")) || ReadLines(dir.Path("o2")).empty());
}

// --- a full file system ----------------------------------------------------------

TEST(FullStateDisk, ReplayStartingOnAFullFileSystemFailsClearly) {
  ScratchDir dir("full");
  const std::string mnt = dir.Path("mnt");
  fs::create_directories(mnt);
  if (::mount("exactly-test", mnt.c_str(), "tmpfs", 0, "size=1m") != 0) {
    GTEST_SKIP() << "cannot mount a tmpfs at " << mnt << " (" << std::strerror(errno) << "; needs CAP_SYS_ADMIN)";
  }
  struct Unmount {
    std::string at;
    ~Unmount() { ::umount2(at.c_str(), MNT_DETACH); }
  } unmount{mnt};
  WriteFile(dir.Path("in.jsonl"), GoodLog(50));
  // Fill it up.
  {
    std::FILE* f = std::fopen((mnt + "/filler").c_str(), "wb");
    ASSERT_NE(f, nullptr);
    std::setvbuf(f, nullptr, _IONBF, 0);
    const std::string block(64 << 10, 'f');
    while (std::fwrite(block.data(), 1, block.size(), f) == block.size()) {
    }
    std::fclose(f);
  }
  const ProcessResult r = RunReplay({"--state-dir", mnt + "/state", "-o", dir.Path("out"), dir.Path("in.jsonl")});
  EXPECT_EQ(r.status, 3) << r.err;  // not 134 (SIGABRT)
  EXPECT_NE(r.err.find(mnt + "/state"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("No space left on device"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace exactly::replaytest

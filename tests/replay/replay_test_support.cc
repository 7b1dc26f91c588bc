// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
#include "replay_test_support.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <deque>
#include <fstream>
#include <optional>
#include <random>
#include <set>
#include <sstream>

#include "exactly/crc32c.h"
#include "exactly/envelope.h"
#include "exactly/recorded_log.h"

namespace exactly::replaytest {

std::string ReplayBinary() { return EXACTLY_REPLAY_BIN; }

ScratchDir::ScratchDir(const std::string& tag) {
  std::string tmpl = (std::filesystem::temp_directory_path() / ("exactly-replay-" + tag + "-XXXXXX")).string();
  if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed for " + tmpl);
  dir_ = tmpl;
}

ScratchDir::~ScratchDir() {
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteFile(const std::string& path, const std::string& contents) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << contents;
}

std::vector<std::string> ReadLines(const std::string& path) {
  std::vector<std::string> lines;
  std::istringstream in(ReadFile(path));
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

ProcessResult RunProcess(const std::string& binary, const std::vector<std::string>& args,
                         const std::string& stdin_path) {
  ScratchDir io("proc");
  const std::string out_path = io.Path("stdout");
  const std::string err_path = io.Path("stderr");
  std::vector<std::string> argv_store;
  argv_store.push_back(binary);
  argv_store.insert(argv_store.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_store) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int in = ::open(stdin_path.empty() ? "/dev/null" : stdin_path.c_str(), O_RDONLY);
    if (out < 0 || err < 0 || in < 0) ::_exit(126);
    ::dup2(in, 0);
    ::dup2(out, 1);
    ::dup2(err, 2);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ProcessResult result;
  int status = 0;
  if (pid < 0 || ::waitpid(pid, &status, 0) != pid) return result;
  result.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  result.out = ReadFile(out_path);
  result.err = ReadFile(err_path);
  return result;
}

ProcessResult RunReplay(const std::vector<std::string>& args, const std::string& stdin_path) {
  return RunProcess(ReplayBinary(), args, stdin_path);
}

std::string ToJsonLines(const std::vector<OwnedRecord>& records) {
  std::string s;
  for (const OwnedRecord& r : records) AppendRecordLine(s, r.view());
  return s;
}

std::string DeliveryKey(const OwnedRecord& r) {
  std::string producer, epoch, seq;
  for (const OwnedHeader& h : r.headers) {
    if (!h.value) continue;
    if (h.name == header::kProducer) producer = *h.value;
    if (h.name == header::kEpoch) epoch = *h.value;
    if (h.name == header::kSeq) seq = *h.value;
  }
  const std::string where = r.topic + "[" + std::to_string(r.partition.value()) + "]";
  if (producer.empty()) return where + " unstamped@" + std::to_string(r.offset.value());
  return where + " " + producer + " " + epoch + "/" + seq;
}

std::vector<OwnedRecord> ParseLines(const std::vector<std::string>& lines) {
  std::vector<OwnedRecord> out;
  std::uint64_t n = 0;
  for (const std::string& l : lines) {
    auto r = ParseRecordLine(l, "<output>", ++n);
    if (!r.ok()) {
      ADD_FAILURE() << r.status().ToString();
      continue;
    }
    out.push_back(std::move(*r));
  }
  return out;
}

// --- the generator -------------------------------------------------------------

namespace {

constexpr std::int64_t kBaseTs = 1'700'000'000'000;

struct Pending {
  OwnedRecord record;
  // The delivery this record completes, offset and timestamp still to be
  // set from the record itself when it is placed in the log.
  std::optional<OwnedRecord> delivers;
};

struct Producer {
  std::string id;
  std::uint64_t epoch = 0;
  std::uint64_t next_seq = 0;
  std::optional<EpochSeq> w;                       // last delivered stamp
  std::deque<std::vector<OwnedRecord>> history;    // last messages delivered, as sent
  std::vector<OwnedRecord> late;                   // chunks of an abandoned message
  bool force_new = false;                          // the next event must be a new message
  std::deque<Pending> queue;                       // records still to send
};

struct PartitionGen {
  std::string topic;
  std::int32_t partition = 0;
  std::int64_t next_offset = 0;
  std::vector<Producer> producers;
};

class Generator {
 public:
  explicit Generator(const GeneratorOptions& o) : o_(o), rng_(o.seed) {
    for (int t = 0; t < o.topics; ++t) {
      for (int p = 0; p < o.partitions; ++p) {
        PartitionGen pg;
        pg.topic = "topic-" + std::string(1, static_cast<char>('a' + t));
        pg.partition = p;
        pg.next_offset = static_cast<std::int64_t>(Uniform(0, 50));  // logs rarely start at 0
        for (int i = 0; i < o.producers; ++i) {
          Producer pr;
          pr.id = "producer-" + std::to_string(i);
          pr.epoch = Uniform(0, 2);
          pr.next_seq = Uniform(0, 1000);
          pg.producers.push_back(std::move(pr));
        }
        parts_.push_back(std::move(pg));
      }
    }
  }

  GeneratedLog Run() {
    while (log_.records.size() < o_.records) {
      PartitionGen& pg = parts_[Uniform(0, parts_.size() - 1)];
      Producer& pr = pg.producers[Uniform(0, pg.producers.size() - 1)];
      if (pr.queue.empty()) NewEvent(pr);
      Pending next = std::move(pr.queue.front());
      pr.queue.pop_front();
      Place(pg, std::move(next));
    }
    return std::move(log_);
  }

 private:
  std::uint64_t Uniform(std::uint64_t lo, std::uint64_t hi) {
    return std::uniform_int_distribution<std::uint64_t>(lo, hi)(rng_);
  }
  bool Chance(double p) { return std::uniform_real_distribution<double>(0, 1)(rng_) < p; }

  void Place(PartitionGen& pg, Pending p) {
    p.record.topic = pg.topic;
    p.record.partition = Partition(pg.partition);
    p.record.offset = Offset(pg.next_offset);
    p.record.timestamp = TimestampMs(kBaseTs + static_cast<std::int64_t>(log_.records.size()));
    pg.next_offset += Chance(0.03) ? 2 : 1;  // a transaction marker or a compacted record
    if (p.delivers) {
      OwnedRecord d = std::move(*p.delivers);
      d.topic = p.record.topic;
      d.partition = p.record.partition;
      d.offset = p.record.offset;
      d.timestamp = p.record.timestamp;
      log_.expected.push_back(std::move(d));
    }
    log_.records.push_back(std::move(p.record));
  }

  std::string Bytes(std::size_t max_len) {
    std::string s(Uniform(0, max_len), '\0');
    if (Chance(o_.binary)) {
      for (char& c : s) c = static_cast<char>(Uniform(0, 255));
    } else {
      static const std::string kText = "abcdefghijklmnopqrstuvwxyz ABC {}[]\":,\\/0123456789\t\n";
      for (char& c : s) c = kText[Uniform(0, kText.size() - 1)];
      if (!s.empty() && Chance(0.2)) s += "\xc3\xa9\xe2\x82\xac";  // some non-ASCII UTF-8
    }
    return s;
  }

  static std::vector<OwnedHeader> Stamp(const std::string& id, std::uint64_t epoch, std::uint64_t seq) {
    return {{std::string(header::kProducer), id},
            {std::string(header::kEpoch), std::to_string(epoch)},
            {std::string(header::kSeq), std::to_string(seq)}};
  }

  std::string Crc(std::uint32_t crc) {
    std::string s = FormatCrc(crc);
    if (Chance(0.3)) std::transform(s.begin(), s.end(), s.begin(), [](char c) { return static_cast<char>(std::toupper(c)); });
    return s;
  }

  // A message of `pr` at (epoch, seq): its records in sending order, and
  // the index of the record that completes it, with the delivery.
  struct Built {
    std::vector<Pending> records;
  };

  Built BuildMessage(Producer& pr, std::uint64_t seq, bool chunked, bool bad_crc, std::uint32_t min_chunks = 1,
                     bool allow_duplicate = true) {
    Built b;
    const std::uint64_t epoch = pr.epoch;
    if (!chunked) {
      OwnedRecord r;
      r.key = Chance(0.3) ? std::nullopt : std::optional<std::string>("k-" + std::to_string(seq));
      r.value = Chance(0.05) ? std::nullopt : std::optional<std::string>(Bytes(64));
      r.headers = Stamp(pr.id, epoch, seq);
      if (Chance(0.3)) r.headers.push_back({"trace", Bytes(8)});
      if (bad_crc || Chance(0.1)) {
        // eo.size/eo.crc on a single record are verified (§2).
        const std::string v = r.value.value_or("");
        r.headers.push_back({std::string(header::kSize), std::to_string(v.size())});
        r.headers.push_back({std::string(header::kCrc), Crc(crc32c::Value(v) ^ (bad_crc ? 1u : 0u))});
      }
      Pending p{r, std::nullopt};
      if (!bad_crc) p.delivers = r;
      b.records.push_back(std::move(p));
      return b;
    }
    const std::string whole = Bytes(160);
    const std::uint32_t n = static_cast<std::uint32_t>(Uniform(min_chunks, 5));
    std::vector<std::size_t> cuts;
    for (std::uint32_t i = 1; i < n; ++i) cuts.push_back(Uniform(0, whole.size()));
    std::sort(cuts.begin(), cuts.end());
    cuts.insert(cuts.begin(), 0);
    cuts.push_back(whole.size());
    const std::string crc = Crc(crc32c::Value(whole) ^ (bad_crc ? 0x10u : 0u));
    std::vector<OwnedRecord> chunks;
    for (std::uint32_t i = 0; i < n; ++i) {
      OwnedRecord r;
      r.headers = Stamp(pr.id, epoch, seq);
      r.headers.push_back({std::string(header::kChunk), std::to_string(i) + "/" + std::to_string(n)});
      r.headers.push_back({std::string(header::kSize), std::to_string(whole.size())});
      r.headers.push_back({std::string(header::kCrc), crc});
      r.headers.push_back({"part", std::to_string(i)});
      const std::string piece = whole.substr(cuts[i], cuts[i + 1] - cuts[i]);
      r.value = piece.empty() && Chance(0.5) ? std::nullopt : std::optional<std::string>(piece);
      r.key = i == 0 ? std::optional<std::string>("m-" + std::to_string(seq)) : std::nullopt;
      chunks.push_back(std::move(r));
    }
    std::vector<std::size_t> order(n);
    for (std::uint32_t i = 0; i < n; ++i) order[i] = i;
    if (Chance(0.3)) std::shuffle(order.begin(), order.end(), rng_);
    for (std::size_t i : order) b.records.push_back(Pending{chunks[i], std::nullopt});
    // Rule 5: delivered by the last chunk to arrive, with chunk 0's key and
    // headers minus eo.chunk/eo.size/eo.crc, and the whole value.
    if (!bad_crc) {
      OwnedRecord d;
      d.key = chunks[0].key;
      d.value = whole;
      for (const OwnedHeader& h : chunks[0].headers) {
        if (h.name != header::kChunk && h.name != header::kSize && h.name != header::kCrc) d.headers.push_back(h);
      }
      b.records.back().delivers = std::move(d);
    }
    if (!bad_crc && allow_duplicate && Chance(o_.chunk_duplicate)) {
      // A chunk sent twice, maybe with other bytes: only ever after its
      // first copy, so the first copy wins (rule 4) or W drops it (rule 3).
      const std::size_t pos = Uniform(0, b.records.size() - 1);
      OwnedRecord dup = b.records[pos].record;
      if (Chance(0.5)) dup.value = "garbage";
      b.records.insert(b.records.begin() + static_cast<std::ptrdiff_t>(Uniform(pos + 1, b.records.size())),
                       Pending{std::move(dup), std::nullopt});
      ++log_.counts["chunk_duplicate"];
    }
    return b;
  }

  std::vector<OwnedRecord> Plain(const Built& b) {
    std::vector<OwnedRecord> v;
    for (const Pending& p : b.records) v.push_back(p.record);
    return v;
  }

  void Remember(Producer& pr, const Built& b, std::uint64_t seq) {
    pr.w = EpochSeq{Epoch(pr.epoch), Sequence(seq)};
    pr.history.push_back(Plain(b));
    if (pr.history.size() > 3) pr.history.pop_front();
  }

  // A new message (the usual event), possibly chunked, with a gap, a retry.
  void NewMessage(Producer& pr) {
    std::uint64_t seq = pr.next_seq;
    if (Chance(o_.gap)) {
      seq += Uniform(1, 4);
      ++log_.counts["gap"];
    }
    const bool chunked = Chance(o_.chunked);
    Built b = BuildMessage(pr, seq, chunked, false);
    if (Chance(o_.retry)) {
      // The producer retried a record it had no acknowledgement for.
      const std::size_t i = Uniform(0, b.records.size() - 1);
      OwnedRecord again = b.records[i].record;
      b.records.insert(b.records.begin() + static_cast<std::ptrdiff_t>(i + 1), Pending{std::move(again), std::nullopt});
      ++log_.counts["retry"];
    }
    Remember(pr, b, seq);
    pr.next_seq = seq + 1;
    for (auto& p : b.records) pr.queue.push_back(std::move(p));
    if (!pr.late.empty()) {
      // Chunks of the message abandoned before this one arrive late: after
      // this message's first record, whose stamp is above theirs (rule 3).
      for (OwnedRecord& r : pr.late) {
        const auto at = static_cast<std::ptrdiff_t>(Uniform(1, pr.queue.size()));
        pr.queue.insert(pr.queue.begin() + at, Pending{std::move(r), std::nullopt});
      }
      pr.late.clear();
    }
    pr.force_new = false;
    ++log_.counts[chunked ? "chunked_message" : "single_message"];
  }

  void NewEvent(Producer& pr) {
    if (pr.force_new) return NewMessage(pr);
    double x = std::uniform_real_distribution<double>(0, 1)(rng_);
    auto take = [&](double p) {
      x -= p;
      return x < 0;
    };
    if (take(o_.resend_window)) {
      if (pr.history.empty()) return NewMessage(pr);
      const std::size_t k = Uniform(1, pr.history.size());
      for (std::size_t i = pr.history.size() - k; i < pr.history.size(); ++i) {
        for (const OwnedRecord& r : pr.history[i]) pr.queue.push_back(Pending{r, std::nullopt});  // rule 3
      }
      ++log_.counts["resend_window"];
      return;
    }
    if (take(o_.zombie)) {
      if (!pr.w || pr.w->epoch.value() == 0) return NewMessage(pr);
      // A fenced producer instance: epoch below M.epoch (rule 2).
      OwnedRecord r;
      r.headers = Stamp(pr.id, Uniform(0, pr.w->epoch.value() - 1), Uniform(0, 5000));
      r.value = Bytes(16);
      pr.queue.push_back(Pending{std::move(r), std::nullopt});
      ++log_.counts["zombie"];
      return;
    }
    if (take(o_.epoch_restart)) {
      ++pr.epoch;
      pr.next_seq = Uniform(0, 10);  // rule 6: a new epoch may restart anywhere
      ++log_.counts["epoch_restart"];
      return NewMessage(pr);
    }
    if (take(o_.corrupt)) {
      // Sent with a bad checksum (rule 5: corrupt, W unchanged), then again
      // correctly with the same stamp: delivered once.
      const std::uint64_t seq = pr.next_seq;
      const bool chunked = Chance(0.7);
      Built bad = BuildMessage(pr, seq, chunked, true);
      Built good = BuildMessage(pr, seq, chunked, false);
      for (auto& p : bad.records) pr.queue.push_back(std::move(p));
      Remember(pr, good, seq);
      for (auto& p : good.records) pr.queue.push_back(std::move(p));
      pr.next_seq = seq + 1;
      ++log_.counts["corrupt"];
      return;
    }
    if (take(o_.abandon)) {
      // Some chunks only: the next message abandons it (rule 6); the rest
      // arrive late and are dropped as older than M (rule 3).
      const std::uint64_t seq = pr.next_seq;
      const Built b = BuildMessage(pr, seq, true, false, /*min_chunks=*/2, /*allow_duplicate=*/false);
      // Send a strict subset of the chunks (no duplicates here, so the
      // message cannot complete); keep the rest for later.
      const std::size_t keep = Uniform(1, b.records.size() - 1);
      for (std::size_t i = 0; i < b.records.size(); ++i) {
        if (i < keep) {
          pr.queue.push_back(Pending{b.records[i].record, std::nullopt});
        } else {
          pr.late.push_back(b.records[i].record);
        }
      }
      pr.next_seq = seq + 1;
      pr.force_new = true;
      ++log_.counts["abandon"];
      return;
    }
    if (take(o_.malformed)) {
      OwnedRecord r;
      r.value = Bytes(16);
      switch (Uniform(0, 4)) {
        case 0: r.headers = {{std::string(header::kProducer), pr.id}, {std::string(header::kEpoch), "0"}}; break;
        case 1: r.headers = Stamp(pr.id, pr.epoch, pr.next_seq); r.headers[1].value = "01"; break;
        case 2: r.headers = Stamp("bad id", pr.epoch, pr.next_seq); break;
        case 3: r.headers = Stamp(pr.id, pr.epoch, pr.next_seq); r.headers.push_back(r.headers[2]); break;
        default:
          r.headers = Stamp(pr.id, pr.epoch, pr.next_seq);
          r.headers.push_back({std::string(header::kChunk), "3/2"});
          r.headers.push_back({std::string(header::kSize), "1"});
          r.headers.push_back({std::string(header::kCrc), "00000000"});
          break;
      }
      pr.queue.push_back(Pending{std::move(r), std::nullopt});  // §2: never delivered
      ++log_.counts["malformed"];
      return;
    }
    if (take(o_.unstamped)) {
      OwnedRecord r;
      r.value = Bytes(32);
      if (Chance(0.5)) r.headers.push_back({"content-type", "text/plain"});
      Pending p{r, r};  // passed unchanged (default policy)
      pr.queue.push_back(std::move(p));
      ++log_.counts["unstamped"];
      return;
    }
    NewMessage(pr);
  }

  GeneratorOptions o_;
  std::mt19937_64 rng_;
  std::vector<PartitionGen> parts_;
  GeneratedLog log_;
};

}  // namespace

GeneratedLog GenerateLog(const GeneratorOptions& options) { return Generator(options).Run(); }

}  // namespace exactly::replaytest

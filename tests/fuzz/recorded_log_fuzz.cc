// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// The recorded-log reader fed arbitrary bytes, twice: from a string, and
// from a file descriptor with a small line limit (so the over-long-line
// skipping and the buffer refills run). Invariants checked, beyond "no
// crash" and the memory limit libFuzzer enforces (-rss_limit_mb):
// - every non-blank line yields exactly one outcome, a record or an error,
//   and line() names that line; blank lines yield none;
// - an error is kCorruption or kResourceExhausted (never I/O, never
//   internal), its message starts with "NAME:LINE: ", and the reader goes
//   on with the next line;
// - the reader never reports more than its input: bytes_consumed() ends
//   equal to the input size;
// - the descriptor reader gives the same records as the string reader for
//   every line within its limit, and a resource error for every longer one;
// - ParseRecordLine agrees with the streaming reader on each line;
// - what is accepted round-trips through the writer: parse(write(r)) == r,
//   and write(parse(write(r))) == write(r) byte for byte.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "exactly/recorded_log.h"

namespace {

using namespace exactly;

bool IsBlank(std::string_view s) {
  for (char c : s)
    if (c != ' ' && c != '\t' && c != '\r') return false;
  return true;
}

struct Outcome {
  std::uint64_t line = 0;
  bool ok = false;
  Code code = Code::kOk;
  OwnedRecord record;
};

// Reads everything; aborts on any broken reader invariant.
std::vector<Outcome> ReadAll(RecordedLogReader& reader, std::size_t input_size) {
  std::vector<Outcome> out;
  const std::string prefix = reader.name() + ":";
  for (int guard = 0;; ++guard) {
    if (guard > 1'000'000) std::abort();  // no progress
    RecordView view;
    Result<bool> r = reader.Next(&view);
    Outcome o;
    o.line = reader.line();
    if (!out.empty() && o.line <= out.back().line && (!r.ok() || *r)) std::abort();  // lines go forward
    if (!r.ok()) {
      const Status& st = r.status();
      if (st.code() != Code::kCorruption && st.code() != Code::kResourceExhausted) std::abort();
      const std::string want = prefix + std::to_string(o.line) + ": ";
      if (st.message().substr(0, want.size()) != want) std::abort();
      o.code = st.code();
      out.push_back(std::move(o));
      continue;
    }
    if (!*r) break;
    o.ok = true;
    o.record = OwnedRecord::FromView(view);
    out.push_back(std::move(o));
  }
  if (reader.bytes_consumed() != input_size) std::abort();
  // End of input is sticky.
  RecordView view;
  Result<bool> again = reader.Next(&view);
  if (!again.ok() || *again) std::abort();
  return out;
}

void CheckRoundTrip(const OwnedRecord& rec) {
  std::string line;
  AppendRecordLine(line, rec.view());
  if (line.empty() || line.back() != '\n') std::abort();
  line.pop_back();
  if (line.find('\n') != std::string::npos) std::abort();  // one record, one line
  Result<OwnedRecord> back = ParseRecordLine(line);
  if (!back.ok() || !(*back == rec)) std::abort();
  std::string again;
  AppendRecordLine(again, back->view());
  again.pop_back();
  if (again != line) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  // First byte: the descriptor reader's line limit.
  const std::size_t limit = 1 + data[0] * 8u;
  const std::string contents(reinterpret_cast<const char*>(data) + 1, size - 1);

  // Lines as the format defines them; the last one may lack its newline.
  std::vector<std::string_view> lines;
  for (std::size_t at = 0; at < contents.size();) {
    const std::size_t nl = contents.find('\n', at);
    const std::size_t end = nl == std::string::npos ? contents.size() : nl;
    lines.push_back(std::string_view(contents).substr(at, end - at));
    at = end + 1;
  }

  auto from_string = RecordedLogReader::FromString("fuzz.jsonl", contents);
  const std::vector<Outcome> a = ReadAll(*from_string, contents.size());
  std::size_t ai = 0;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (IsBlank(lines[i])) continue;
    if (ai >= a.size() || a[ai].line != i + 1) std::abort();  // one outcome per non-blank line
    const Result<OwnedRecord> single = ParseRecordLine(lines[i], "fuzz.jsonl", i + 1);
    if (single.ok() != a[ai].ok) {
      // Only the unterminated last line may differ: it is reported as truncated.
      if (!(i + 1 == lines.size() && !a[ai].ok && single.ok())) std::abort();
    } else if (single.ok()) {
      if (!(*single == a[ai].record)) std::abort();
      CheckRoundTrip(a[ai].record);
    }
    ++ai;
  }
  if (ai != a.size()) std::abort();

  // The same bytes through a file descriptor, with a small line limit.
  const int fd = ::memfd_create("fuzz", MFD_CLOEXEC);
  if (fd < 0) return 0;
  std::size_t done = 0;
  while (done < contents.size()) {
    const ssize_t n = ::write(fd, contents.data() + done, contents.size() - done);
    if (n <= 0) std::abort();
    done += static_cast<std::size_t>(n);
  }
  RecordedLogOptions opts;
  opts.max_line_bytes = limit;
  opts.read_block_bytes = 1;  // raised to the minimum block by the reader
  auto opened = RecordedLogReader::Open("/proc/self/fd/" + std::to_string(fd), opts);
  ::close(fd);
  if (!opened.ok()) std::abort();
  const std::vector<Outcome> b = ReadAll(**opened, contents.size());
  std::size_t bi = 0;
  ai = 0;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const bool too_long = lines[i].size() > limit;
    if (!too_long && IsBlank(lines[i])) continue;
    if (bi >= b.size() || b[bi].line != i + 1) std::abort();
    if (too_long) {
      if (b[bi].ok || b[bi].code != Code::kResourceExhausted) std::abort();
    } else {
      while (a[ai].line != i + 1) ++ai;
      if (b[bi].ok != a[ai].ok || (b[bi].ok && !(b[bi].record == a[ai].record))) std::abort();
    }
    ++bi;
  }
  if (bi != b.size()) std::abort();
  return 0;
}

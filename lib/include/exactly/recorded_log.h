// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// Recorded logs: Kafka records as JSON lines, in the layout `kcat -C -J`
// prints (DESIGN.md §6), one record per line:
//
//   {"topic":"t","partition":0,"offset":42,"ts":1700000000000,
//    "headers":["eo.producer","p1","eo.epoch","0","eo.seq","7"],
//    "key":"k","payload":"v"}
//
// Fields (any order; unknown fields such as kcat's `tstype` and `broker`
// are accepted and ignored; a field given twice is an error):
//   topic      string, required
//   partition  integer 0..2^31-1, required
//   offset     integer 0..2^63-1, required
//   ts         integer (ms since the Unix epoch). Optional: kcat leaves it
//              out for records without a timestamp; absent reads as -1,
//              which is what librdkafka reports for such records.
//   key        string or null, required
//   payload    string or null, required
//   headers    flat array [name, value, name, value, ...]: names are
//              strings, values strings or null. Optional: kcat leaves it
//              out when a record has no headers; absent reads as none.
//
// Bytes that are not UTF-8 (DESIGN.md: keys, payloads and header values
// are arbitrary bytes). JSON strings hold Unicode text, so a byte string
// is written as follows, and read back exactly:
//   - valid UTF-8 sequences are written as they are, with the same escapes
//     kcat 1.7.1 uses: \" \\ \b \f \n \r \t, \u00XX (upper-case hex) for
//     the other bytes below 0x20; 0x7F and '/' unescaped. For any byte
//     string that is valid UTF-8 the line is byte-identical to kcat's.
//   - every byte that is not part of a valid UTF-8 sequence (an isolated
//     0x80-0xFF, an overlong form, an encoded surrogate, ...) is written as
//     the lone low-surrogate escape \uDC80-\uDCFF, i.e. 0xDC00 + byte (the
//     "surrogateescape" convention). Valid UTF-8 can never produce a lone
//     surrogate, so reading maps each lone \uDC80-\uDCFF back to its byte
//     with no ambiguity: the round trip is exact for every byte string.
//   kcat itself writes such bytes raw, so its lines are then not valid
//   UTF-8 and strict JSON parsers reject them. The reader accepts those
//   lines too: raw invalid bytes are taken verbatim (the line is re-read
//   through the same escape convention), so kcat captures of binary topics
//   replay unchanged.
// When reading, other escapes follow RFC 8259: a surrogate pair is one
// code point; a lone high surrogate or a lone \uDC00-\uDC7F is an error.
//
// Reading is streaming with bounded memory: a block buffer that grows to
// at most `max_line_bytes` plus one read block. A longer line is an error
// (the reader then skips to the next newline without holding it). Every
// error message starts with "FILE:LINE: ". Blank lines are ignored. A last
// line without a newline is accepted if it is a complete record, else it
// is reported as truncated.
//
// Error convention: Status/Result (exactly/status.h). Invalid lines are
// kCorruption, over-long lines kResourceExhausted, OS failures kIoError.
//
// Thread safety: none of these objects is thread-safe; use one per thread.
// The free functions are pure and may be called concurrently.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>

#include "exactly/record.h"
#include "exactly/status.h"
#include "exactly/types.h"

namespace exactly {

inline constexpr std::size_t kDefaultMaxLineBytes = std::size_t{64} << 20;

struct RecordedLogOptions {
  // Longest accepted line, newline excluded. A 64 MiB message that is not
  // UTF-8 can take up to six times that once escaped; raise it for those.
  std::size_t max_line_bytes = kDefaultMaxLineBytes;
  // Size of each read(2).
  std::size_t read_block_bytes = std::size_t{1} << 20;
};

// --- writing ---------------------------------------------------------------

// Appends `bytes` to `out` as a JSON string literal, quotes included, with
// the escapes described above.
void AppendJsonString(std::string& out, std::string_view bytes);

// Appends one record as a JSON line (terminated by '\n') to `out`:
// topic, partition, offset, ts, headers (left out when there are none, as
// kcat does), key, payload. `extra_headers` are written after the record's
// own headers (dead-letter reasons, for instance).
void AppendRecordLine(std::string& out, const RecordView& record,
                      std::span<const HeaderView> extra_headers = {});

// --- reading -----------------------------------------------------------------

// Parses one line (without its newline) into an owning record; the error
// message starts with "<name>:<line_number>: ". Convenient for tests and
// small inputs; RecordedLogReader is the fast path.
Result<OwnedRecord> ParseRecordLine(std::string_view line, std::string_view name = "<line>",
                                    std::uint64_t line_number = 1);

// Streams records from one file, a file descriptor or a string.
class RecordedLogReader {
 public:
  // Opens `path` for reading; "-" is standard input (not closed at the end).
  static Result<std::unique_ptr<RecordedLogReader>> Open(const std::string& path,
                                                         const RecordedLogOptions& options = {});
  // Reads from `contents` (tests, embedded logs). `name` is used in errors.
  static std::unique_ptr<RecordedLogReader> FromString(std::string name, std::string contents,
                                                       const RecordedLogOptions& options = {});

  ~RecordedLogReader();
  RecordedLogReader(const RecordedLogReader&) = delete;
  RecordedLogReader& operator=(const RecordedLogReader&) = delete;

  // Reads the next record into *out. true: a record (its views stay valid
  // until the next call or the reader's destruction); false: end of input.
  // On an error about one line (kCorruption, kResourceExhausted) the reader
  // has moved past that line and Next() may be called again to continue;
  // after kIoError every further call fails.
  Result<bool> Next(RecordView* out);

  const std::string& name() const noexcept;
  // Line number (1-based) of the record or error last returned.
  std::uint64_t line() const noexcept;
  // Input bytes consumed so far (lines returned or skipped, newlines too).
  std::uint64_t bytes_consumed() const noexcept;
  // Total input size when known in advance (regular files, strings).
  std::optional<std::uint64_t> size_bytes() const noexcept;

 private:
  struct Impl;
  explicit RecordedLogReader(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Enforces Kafka's order within a partition across any number of files:
// each record's offset must be above the previous one of its (topic,
// partition). The engine requires this order, and an offset that repeats
// or goes back means the log was concatenated or edited wrongly.
class OffsetOrderCheck {
 public:
  // OK, or kCorruption "FILE:LINE: offset N of topic[p] is not above the
  // previous offset M"; a rejected record does not update the check.
  Status Check(const RecordView& record, std::string_view file, std::uint64_t line);
  // The last accepted offset of a partition, if any.
  std::optional<Offset> Last(std::string_view topic, Partition partition) const;

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>()(s); }
  };
  std::unordered_map<std::string, std::unordered_map<std::int32_t, std::int64_t>, Hash, std::equal_to<>> last_;
  // One-entry cache: logs usually hold long runs of one topic.
  std::unordered_map<std::int32_t, std::int64_t>* cached_ = nullptr;
  std::string cached_topic_;
};

// Buffered output of JSON lines to a file or standard output, with
// explicit durability points: Append() only fills memory; Flush() writes
// what is buffered; Sync() also makes it durable (fsync). A process that
// dies between Sync() calls loses at most what was appended since the
// last Flush(): callers that checkpoint progress Sync() first (DESIGN.md
// §4). Append() flushes by itself when the buffer exceeds
// `flush_threshold_bytes`, which bounds memory; flushed-but-unsynced lines
// may survive a crash, and may be emitted again after a resume.
// Destruction does not flush: what was never flushed is lost, exactly as
// in a crash, so durability points stay explicit.
class RecordedLogWriter {
 public:
  enum class Mode : std::uint8_t {
    kTruncate,  // start the file empty
    kAppend,    // keep what is there; a torn last line (no newline) is cut
  };
  // "-" is standard output (never truncated or closed).
  static Result<std::unique_ptr<RecordedLogWriter>> Open(const std::string& path, Mode mode,
                                                         std::size_t flush_threshold_bytes = std::size_t{1} << 20);
  ~RecordedLogWriter();
  RecordedLogWriter(const RecordedLogWriter&) = delete;
  RecordedLogWriter& operator=(const RecordedLogWriter&) = delete;

  // Appends one line (see AppendRecordLine). A write error while flushing
  // is remembered and returned by the next Flush()/Sync().
  void Append(const RecordView& record, std::span<const HeaderView> extra_headers = {});
  Status Flush();
  // Flush, then fsync. Pipes, terminals and sockets are durable once
  // written, so their fsync "not supported" answers are not errors.
  Status Sync();

  const std::string& path() const noexcept;
  std::uint64_t records_appended() const noexcept;
  std::size_t buffered_bytes() const noexcept;
  // Bytes of a torn last line cut by Open() in kAppend mode (0 if none).
  std::uint64_t repaired_bytes() const noexcept;

 private:
  RecordedLogWriter() = default;
  Status WriteOut();
  std::string path_;
  int fd_ = -1;
  bool owns_fd_ = false;
  std::unique_ptr<char[]> buffer_;
  std::size_t size_ = 0;
  std::size_t capacity_ = 0;
  std::size_t flush_threshold_ = 0;
  std::uint64_t records_ = 0;
  std::uint64_t repaired_ = 0;
  Status deferred_error_;
};

}  // namespace exactly

// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
#include "options.h"

#include <fmt/format.h>

#include <boost/program_options.hpp>

#include "command_line.h"
#include "parse.h"

namespace exactly::replay {
namespace {

namespace po = boost::program_options;

constexpr const char* kUsage = "Usage: exactly-replay [options] FILE...\n";

constexpr const char* kDescription = R"(
Feeds recorded logs through the exactly dedup engine, without Kafka, and
writes the delivered messages as JSON lines in the same layout (so the
output can be replayed again). FILE is a recorded log in the layout
`kcat -C -J` prints, one record per line; '-' reads standard input.
Records are processed in file order; offsets must increase within each
(topic, partition).

Resuming (--state-dir): partitions resume from the checkpoint in DIR;
records below their partition's checkpointed next offset are skipped
(they do not count towards --max-records or --crash-after). Before every
checkpoint the output and dead-letter files are flushed and fsynced, so a
checkpoint never covers a record whose output is not durable. Output
written after the last checkpoint may be written again on resume, with
the same stamps (at-least-once; any exactly consumer drops the repeats).
With --state-dir, -o and --dead-letters files are appended to, never
truncated; a torn last line left by a crash is cut first.

Exit status: 0 done (or --max-records reached); 1 invalid input (the
message names FILE:LINE; records before it are checkpointed, the bad one
is not); 2 bad command line; 3 I/O or state-store failure; 130 interrupted
(SIGINT/SIGTERM, after a final checkpoint); 137 --crash-after reached.
)";

}  // namespace

Result<ReplayOptions> ParseCommandLine(int argc, const char* const* argv, std::string* help_text) {
  ReplayOptions o;
  std::string unstamped = "pass";
  std::string checkpoint_every, max_records, crash_after, max_chunk_span, max_chunks;
  std::string max_buffer_bytes, max_message_bytes, producer_ttl, max_line_bytes;

  po::options_description visible("Options");
  // clang-format off
  visible.add_options()
    ("help,h", "show this help and exit")
    ("output,o", po::value(&o.output)->value_name("FILE"),
     "delivered messages as JSON lines (default: stdout)")
    ("state-dir", po::value(&o.state_dir)->value_name("DIR"),
     "resume from the checkpoint in DIR and checkpoint into it")
    ("checkpoint-every", po::value(&checkpoint_every)->value_name("N"),
     "checkpoint after every N processed input records (and at the end; 0: "
     "only at the end)")
    ("max-records", po::value(&max_records)->value_name("N"),
     "process at most N input records, checkpoint, exit 0 (0: no limit)")
    ("crash-after", po::value(&crash_after)->value_name("N"),
     "after N input records exit at once, as SIGKILL would: no final "
     "checkpoint, unflushed output lost (exit status 137)")
    ("stats", po::value(&o.stats)->value_name("FILE"),
     "write the counters as one JSON object to FILE at exit")
    ("dead-letters", po::value(&o.dead_letters)->value_name("FILE"),
     "rejected records (malformed, corrupt, abandoned, dropped unstamped) as "
     "JSON lines, with headers exactly.dead-letter.reason and .detail")
    ("skip-invalid", po::bool_switch(&o.skip_invalid),
     "count and skip invalid input lines (bad JSON, missing or mistyped "
     "fields, offsets not increasing) instead of stopping")
    ("unstamped", po::value(&unstamped)->value_name("pass|drop"),
     "records without envelope headers: deliver unchanged (pass, default) or drop")
    ("max-chunk-span", po::value(&max_chunk_span)->value_name("N"),
     "abandon a chunked message whose first chunk is more than N offsets "
     "behind (default 100000)")
    ("max-buffer-bytes", po::value(&max_buffer_bytes)->value_name("N"),
     "bytes of incomplete chunked messages held per partition (default 256MiB)")
    ("max-message-bytes", po::value(&max_message_bytes)->value_name("N"),
     "largest eo.size accepted (default 64MiB)")
    ("max-chunks", po::value(&max_chunks)->value_name("N"),
     "largest chunk count N in eo.chunk accepted (default 65536)")
    ("producer-ttl", po::value(&producer_ttl)->value_name("DURATION"),
     "forget a producer idle this long, by record timestamps: 7d, 12h, 30m, "
     "45s, 500ms, 1h30m or plain milliseconds (default 7d)")
    ("max-line-bytes", po::value(&max_line_bytes)->value_name("N"),
     "longest input line accepted (default 64MiB)")
    ("no-progress", "never show the progress line (shown on stderr only when it is a terminal)");
  // clang-format on
  po::options_description hidden;
  hidden.add_options()("file", po::value(&o.files)->composing());
  po::positional_options_description positional;
  positional.add("file", -1);

  po::variables_map vm;
  auto help = apps::ParseCommandLine(
      argc, argv, {.usage = kUsage, .description = kDescription, .visible = &visible, .hidden = &hidden,
                   .positional = &positional},
      vm, help_text);
  if (!help.ok()) return help.status();
  if (*help) {
    o.help = true;
    return o;
  }
  if (o.files.empty()) return Status::InvalidArgument("no input FILE given ('-' reads standard input)");
  o.progress = vm.count("no-progress") == 0;

  // An option given with an empty value is an error, not "unset".
  const auto given = [&](std::string_view name) { return vm.count(std::string(name.substr(2))) > 0; };
  auto set_u64 = [&](const std::string& text, std::string_view name, std::uint64_t* out) -> Status {
    if (!given(name)) return Status::OK();
    auto v = apps::ParseInteger<std::uint64_t>(text);
    if (!v.ok()) return v.status().WithContext(name);
    *out = *v;
    return Status::OK();
  };
  auto set_bytes = [&](const std::string& text, std::string_view name, std::uint64_t* out) -> Status {
    if (!given(name)) return Status::OK();
    auto v = apps::ParseByteCount(text);
    if (!v.ok()) return v.status().WithContext(name);
    *out = *v;
    return Status::OK();
  };
  EXACTLY_RETURN_IF_ERROR(set_u64(checkpoint_every, "--checkpoint-every", &o.checkpoint_every));
  EXACTLY_RETURN_IF_ERROR(set_u64(max_records, "--max-records", &o.max_records));
  EXACTLY_RETURN_IF_ERROR(set_u64(crash_after, "--crash-after", &o.crash_after));
  EXACTLY_RETURN_IF_ERROR(set_u64(max_chunk_span, "--max-chunk-span", &o.engine.max_chunk_span));
  EXACTLY_RETURN_IF_ERROR(set_bytes(max_buffer_bytes, "--max-buffer-bytes", &o.engine.max_buffer_bytes));
  EXACTLY_RETURN_IF_ERROR(set_bytes(max_message_bytes, "--max-message-bytes", &o.engine.limits.max_message_bytes));
  if (given("--max-chunks")) {
    auto v = apps::ParseInteger<std::uint32_t>(max_chunks);
    if (!v.ok()) return v.status().WithContext("--max-chunks");
    o.engine.limits.max_chunks = *v;
  }
  if (given("--max-line-bytes")) {
    std::uint64_t v = 0;
    EXACTLY_RETURN_IF_ERROR(set_bytes(max_line_bytes, "--max-line-bytes", &v));
    if (v == 0) return Status::InvalidArgument("--max-line-bytes must be at least 1");
    o.log.max_line_bytes = static_cast<std::size_t>(v);
  }
  if (given("--producer-ttl")) {
    auto v = apps::ParseDurationMs(producer_ttl);
    if (!v.ok()) return v.status().WithContext("--producer-ttl");
    o.engine.producer_ttl_ms = *v;
  }
  if (unstamped == "pass") {
    o.engine.unstamped = UnstampedPolicy::kPass;
  } else if (unstamped == "drop") {
    o.engine.unstamped = UnstampedPolicy::kDrop;
  } else {
    return Status::InvalidArgument(fmt::format("--unstamped: '{}' is neither 'pass' nor 'drop'", unstamped));
  }
  if (Status st = o.engine.Validate(); !st.ok()) return Status::InvalidArgument(std::string(st.message()));
  int stdin_count = 0;
  for (const auto& f : o.files) stdin_count += f == "-";
  if (stdin_count > 1) return Status::InvalidArgument("'-' (standard input) given more than once");
  return o;
}

}  // namespace exactly::replay

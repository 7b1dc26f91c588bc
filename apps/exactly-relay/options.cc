// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
#include "options.h"

#include <fmt/format.h>

#include <boost/program_options.hpp>
#include <limits>

#include "command_line.h"
#include "parse.h"

namespace exactly::relay_app {
namespace {

namespace po = boost::program_options;

constexpr const char* kUsage =
    "Usage: exactly-relay --brokers ADDR --input TOPIC... --output TOPIC --state-dir DIR [options]\n"
    "       exactly-relay --demo\n";

constexpr const char* kDescription = R"(
Consumes the input topics in a consumer group, drops duplicate and stale
records (DESIGN.md §3), reassembles chunked messages, and forwards every
delivered message to the output topic re-stamped (DESIGN.md §5): producer
<relay-id>/<input-topic>/<input-partition>, epoch --output-epoch, seq = the
input offset that completed the message, the original stamp kept in the
exactly.origin header. Outputs are a pure function of the input, so a
restarted or duplicated relay emits identical records that any exactly
consumer drops. Messages larger than the output's message.max.bytes are
re-chunked. Output partition: the input partition when the output topic has
more partitions than that number, else by key hash (by producer id without
a key).

Rejected input (malformed, corrupt, abandoned, dropped unstamped) goes to
--dlq with headers exactly.dead-letter.reason/.detail/.topic/.partition/
.offset. Checkpoints go to the RocksDB state in --state-dir; none records
input offsets as consumed before every output they caused is acknowledged
by the brokers (the relay keeps relaying while it waits). A failed
delivery fails the checkpoint and the relay rewinds to the previous one.
Offsets are also committed to the group so lag tools see progress; the
state directory stays the source of truth.

--demo (without --brokers) runs everything in-process: librdkafka's mock
cluster, a traffic generator (retried windows, a zombie producer, a
restarted producer, chunked messages over 1 MB, malformed records), the
relay, and a verification against the input read back. Exit status 3 if
anything was lost or extra.

Options may also come from --config FILE, one `name = value` per line
(names as the long options without dashes; `X = key=value` for -X).

Exit status: 0 stopped cleanly (SIGINT/SIGTERM, after a final checkpoint);
1 run-time failure; 2 bad options; 3 demo verification failed.
)";

}  // namespace

Result<kafka::KafkaConfig> BuildClientConfig(const kafka::KafkaConfig& base, const std::vector<std::string>& common,
                                             const std::vector<std::string>& specific, std::string_view role) {
  kafka::KafkaConfig config = base;
  for (const auto* list : {&common, &specific}) {
    for (const auto& pair : *list) EXACTLY_RETURN_IF_ERROR(config.SetPair(pair));
  }
  if (Status st = config.Validate(); !st.ok()) return st.WithContext(fmt::format("{} property", role));
  return config;
}

Result<AppOptions> Parse(int argc, const char* const* argv, std::string* help_text) {
  AppOptions o;
  kafka::RelayOptions& r = o.relay;
  std::string config_file, unstamped = "pass", max_buffer_bytes, max_message_bytes, producer_ttl;
  std::uint64_t output_epoch = 0, checkpoint_interval_ms = 1000, flush_timeout_ms = 30000;
  std::uint64_t checkpoint_alignment_ms = 100;
  std::uint64_t max_chunk_span = 0, max_chunks = 0, metrics_port = 0, producer_cache = 0;
  std::string log_format = "text", log_level = "info";

  po::options_description main("Relay");
  // clang-format off
  main.add_options()
    ("help,h", "show this help and exit")
    ("config", po::value(&config_file)->value_name("FILE"), "read options from FILE (`name = value` lines)")
    ("brokers,b", po::value(&o.brokers)->value_name("ADDR"), "bootstrap servers, host:port[,host:port...]")
    ("group,g", po::value(&r.group)->value_name("NAME")->default_value("exactly-relay"), "consumer group")
    ("input,i", po::value(&r.inputs)->composing()->value_name("TOPIC"), "input topic (repeatable)")
    ("output,o", po::value(&r.output)->value_name("TOPIC"), "output topic (must exist)")
    ("dlq", po::value(&r.dead_letter_topic)->value_name("TOPIC"),
     "dead-letter topic (must exist; default: rejected records are only counted)")
    ("state-dir", po::value(&o.state_dir)->value_name("DIR"), "RocksDB checkpoint directory (one relay process per directory)")
    ("relay-id", po::value(&o.relay_id)->value_name("ID"),
     "stable id of this relay in its output stamps (default: the group name); keep it across restarts")
    ("output-epoch", po::value(&output_epoch)->value_name("N"),
     "epoch of the output stamps (default 0); bump it to fence an older relay's output")
    ("checkpoint-interval-ms", po::value(&checkpoint_interval_ms)->value_name("MS"),
     "time between checkpoints (default 1000)")
    ("checkpoint-records", po::value(&r.checkpoint_records)->value_name("N"),
     "also checkpoint after every N input records (default 0: by time only)")
    ("checkpoint-alignment-ms", po::value(&checkpoint_alignment_ms)->value_name("MS"),
     "a checkpoint due while chunked messages are half-way waits up to MS for them to complete, so it need "
     "not write their chunks; meanwhile partitions with nothing in progress pause (default 100; 0: never wait)")
    ("flush-timeout-ms", po::value(&flush_timeout_ms)->value_name("MS"),
     "bound on the wait for a checkpoint's output acknowledgements; past it the checkpoint fails and the "
     "relay rewinds (default 30000). Deliveries themselves never time out, so the output stays in order")
    ("no-sync", "do not fsync checkpoints (a machine crash may lose the latest ones; a process crash cannot)")
    ("status-interval-ms", po::value(&o.status_interval_ms)->value_name("MS"),
     "status line to stderr every MS milliseconds (default 5000; 0: never)")
    ("close-timeout-ms", po::value(&o.close_timeout_ms)->value_name("MS"),
     "bound on the final checkpoint and group leave at shutdown (default 60000)")
    ("metrics-port", po::value(&metrics_port)->value_name("PORT"),
     "serve Prometheus metrics at http://ADDR:PORT/metrics (default: off; 0: any free port, logged)")
    ("metrics-address", po::value(&o.metrics_address)->value_name("ADDR"),
     "address the metrics server binds (default 127.0.0.1; 0.0.0.0 for a Prometheus on another host)")
    ("log-format", po::value(&log_format)->value_name("text|json"),
     "log lines as text (default) or one JSON object per line (ts, level, msg, fields)")
    ("log-level", po::value(&log_level)->value_name("LEVEL"),
     "error, warn, info (default) or debug; applies to librdkafka's lines too");
  po::options_description engine("Dedup engine");
  engine.add_options()
    ("unstamped", po::value(&unstamped)->value_name("pass|drop"),
     "records without envelope headers: forward (pass, default) or drop to the dead-letter topic")
    ("max-chunk-span", po::value(&max_chunk_span)->value_name("N"),
     "abandon a chunked message whose first chunk is more than N offsets behind (default 100000)")
    ("max-buffer-bytes", po::value(&max_buffer_bytes)->value_name("N"),
     "bytes of incomplete chunked messages held per partition (default 256MiB)")
    ("max-message-bytes", po::value(&max_message_bytes)->value_name("N"),
     "largest eo.size accepted (default 64MiB)")
    ("max-chunks", po::value(&max_chunks)->value_name("N"), "largest chunk count accepted (default 65536)")
    ("producer-ttl", po::value(&producer_ttl)->value_name("DURATION"),
     "forget a producer idle this long, by record timestamps: 7d, 12h, 30m, 45s, 500ms (default 7d)")
    ("producer-cache", po::value(&producer_cache)->value_name("N"),
     "producers kept in memory (about 100 bytes each); the rest stay in the state directory and are "
     "read back when they send again; 0 keeps all (default 1000000)");
  po::options_description clients("librdkafka");
  clients.add_options()
    ("X,X", po::value(&o.properties)->composing()->value_name("KEY=VALUE"),
     "librdkafka property for both the consumer and the producer (repeatable)")
    ("consumer-X", po::value(&o.consumer_properties)->composing()->value_name("KEY=VALUE"),
     "librdkafka property for the consumer only (repeatable)")
    ("producer-X", po::value(&o.producer_properties)->composing()->value_name("KEY=VALUE"),
     "librdkafka property for the producer only (repeatable)");
  po::options_description demo("Demo");
  demo.add_options()
    ("demo", "run the embedded demo: mock cluster, traffic generator, relay, verification")
    ("demo-messages", po::value(&o.demo_messages)->value_name("N"),
     "messages per generator producer in the demo (default 4000)");
  // clang-format on
  po::options_description all;
  all.add(main).add(engine).add(clients).add(demo);

  po::variables_map vm;
  auto help = apps::ParseCommandLine(
      argc, argv, {.usage = kUsage, .description = kDescription, .visible = &all, .config_option = "config"}, vm,
      help_text);
  if (!help.ok()) return help.status();
  if (*help) {
    o.help = true;
    return o;
  }
  o.demo = vm.count("demo") > 0;
  if (vm.count("metrics-port")) {
    if (metrics_port > 65535) return Status::InvalidArgument(fmt::format("--metrics-port: {} is not a port", metrics_port));
    o.metrics_port = static_cast<std::uint16_t>(metrics_port);
  }
  auto format = apps::ParseLogFormat(log_format);
  if (!format.ok()) return format.status();
  o.log_format = *format;
  auto level = apps::ParseLogLevel(log_level);
  if (!level.ok()) return level.status();
  o.log_level = *level;
  o.sync = vm.count("no-sync") == 0;
  r.output_epoch = Epoch(output_epoch);
  r.checkpoint_interval = std::chrono::milliseconds(checkpoint_interval_ms);
  if (checkpoint_alignment_ms > 3'600'000) {
    return Status::InvalidArgument(
        fmt::format("--checkpoint-alignment-ms: {} is over an hour; give at most 3600000", checkpoint_alignment_ms));
  }
  r.checkpoint_alignment = std::chrono::milliseconds(checkpoint_alignment_ms);
  r.flush_timeout = std::chrono::milliseconds(flush_timeout_ms);
  if (flush_timeout_ms == 0) return Status::InvalidArgument("--flush-timeout-ms must be positive");
  if (checkpoint_interval_ms == 0 && r.checkpoint_records == 0) {
    return Status::InvalidArgument("--checkpoint-interval-ms 0 needs --checkpoint-records N");
  }
  if (o.relay_id.empty()) o.relay_id = r.group;
  r.relay_id = o.relay_id;

  if (unstamped == "pass") {
    r.engine.unstamped = UnstampedPolicy::kPass;
  } else if (unstamped == "drop") {
    r.engine.unstamped = UnstampedPolicy::kDrop;
  } else {
    return Status::InvalidArgument(fmt::format("--unstamped: '{}' is neither pass nor drop", unstamped));
  }
  if (vm.count("max-chunk-span")) r.engine.max_chunk_span = max_chunk_span;
  if (vm.count("producer-cache")) r.engine.max_resident_producers = static_cast<std::size_t>(producer_cache);
  if (vm.count("max-chunks")) {
    if (max_chunks > std::numeric_limits<std::uint32_t>::max()) {
      return Status::InvalidArgument(fmt::format("--max-chunks: {} is out of range", max_chunks));
    }
    r.engine.limits.max_chunks = static_cast<std::uint32_t>(max_chunks);
  }
  if (vm.count("max-buffer-bytes")) {
    auto v = apps::ParseByteCount(max_buffer_bytes);
    if (!v.ok()) return v.status().WithContext("--max-buffer-bytes");
    r.engine.max_buffer_bytes = *v;
  }
  if (vm.count("max-message-bytes")) {
    auto v = apps::ParseByteCount(max_message_bytes);
    if (!v.ok()) return v.status().WithContext("--max-message-bytes");
    r.engine.limits.max_message_bytes = *v;
  }
  if (vm.count("producer-ttl")) {
    auto v = apps::ParseDurationMs(producer_ttl);
    if (!v.ok()) return v.status().WithContext("--producer-ttl");
    r.engine.producer_ttl_ms = *v;
  }
  if (Status st = r.engine.Validate(); !st.ok()) return Status::InvalidArgument(std::string(st.message()));

  if (o.demo) {
    if (!o.brokers.empty()) {
      return Status::InvalidArgument(
          "--demo runs its own embedded Kafka cluster and creates its own topics; drop --brokers");
    }
    if (o.demo_messages == 0) return Status::InvalidArgument("--demo-messages must be positive");
    return o;
  }
  if (o.brokers.empty()) {
    return Status::InvalidArgument("--brokers is required (or try `exactly-relay --demo`, which needs no Kafka)");
  }
  if (r.inputs.empty()) return Status::InvalidArgument("--input is required (repeat it for several topics)");
  if (r.output.empty()) return Status::InvalidArgument("--output is required");
  if (o.state_dir.empty()) return Status::InvalidArgument("--state-dir is required: it holds the checkpoints");

  kafka::KafkaConfig base;
  base.Set("bootstrap.servers", o.brokers);
  // A relay that dies without leaving the group keeps its partitions until
  // its session expires: with librdkafka's 45 s default the output stalls
  // that long. -X / --consumer-X session.timeout.ms=... still wins.
  kafka::KafkaConfig consumer_base = base;
  consumer_base.Set("session.timeout.ms", std::string(kDefaultSessionTimeoutMs));
  auto consumer = BuildClientConfig(consumer_base, o.properties, o.consumer_properties, "consumer");
  if (!consumer.ok()) return consumer.status();
  auto producer = BuildClientConfig(base, o.properties, o.producer_properties, "producer");
  if (!producer.ok()) return producer.status();
  r.consumer_config = std::move(*consumer);
  r.producer_config = std::move(*producer);
  return o;
}

}  // namespace exactly::relay_app

// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// relay_chunked_bench: large messages through the dedup relay against the
// bare consume -> produce pipe carrying the same chunk records, side by
// side in one process on the embedded (mock) broker.
//
// Input: --messages messages of --message-bytes (8 MiB) each, sent by the
// library's StampedProducer (one producer id, explicit partition k mod
// --partitions, lz4), which splits each into chunks of its default
// chunk_bytes(): message.max.bytes (1,000,000) minus kChunkRoom, i.e.
// 983,616 bytes, 9 chunk records per 8 MiB message. The value is a 256-byte
// random block repeated (its first 8 bytes the message number): lz4 keeps
// the input under the mock's ~5 MiB per partition, and the CRC and copies
// still run over every byte. The pipe forwards the chunk records as they
// are; the relay reassembles and checks each message (eo.size, eo.crc),
// re-stamps it and splits it again at its output producer's
// message.max.bytes (the same 1,000,000). Outputs are not compressed.
// Time runs from the first consumed record to the output acknowledged (the
// relay: its final checkpoint written); checkpoints every --interval-ms
// (100 ms), synced.
// Runs alternate pipe, relay, for each consumer queue setting in turn.
// Each run also prints its CPU by thread role (thread_cpu.h): the loop
// thread is where the relay's own work (reassembly, checkpoints) shows
// beside the pipe's, apart from librdkafka's and the broker's threads;
// and the process's page faults per MiB over each side's window, and how
// many buffers the relay's engine allocated or grew to reassemble (a
// steady stream reuses finished messages' buffers, so this stays near
// the first round's: about 5 per partition).
// The process tunes malloc as exactly-relay does once it carries chunked
// messages (allocator_tuning.h), for both sides.
//
// Consumer queue: librdkafka before 2.2 stops fetching a partition for a
// fixed second whenever its queue of fetched records is over
// queued.max.messages.kbytes (64 MiB by default; 2.2 made the pause
// configurable as fetch.queue.backoff.ms). One fetch of compressed 1 MB
// chunks overshoots that at once, and a consumer that empties the queue
// in less than a second then sits idle: both sides do, at moments that
// depend on timing, so at the default the figures swing between runs
// (pipe and relay alike, 100-800 MB/s) and say little about the relay.
// So each setting in --queue-kbytes (default "262144,0": 256 MiB, then
// librdkafka's default) is measured, the same for the pipe and the relay.
//
//   relay_chunked_bench [--messages M] [--message-bytes B] [--partitions N]
//                       [--runs R] [--interval-ms MS] [--queue-kbytes K,...]
//                       [--json] [--only pipe|relay]
//                       [--producer-queue-messages Q] [--alignment-ms MS]
//
// --producer-queue-messages Q: the relay's output producer's
// queue.buffering.max.messages (0, the default: librdkafka's 100,000),
// which bounds how many output records may await acknowledgement, and so
// how far the relay's consumption runs ahead of its output. The pipe's
// producer keeps librdkafka's default.
// --alignment-ms MS: the relay's checkpoint_alignment (default: the
// library's, 100 ms; 0: checkpoints never wait for messages in progress,
// so they carry those messages' chunks so far).
// --only pipe|relay: run one side only (for a profiler: perf record this
// process), as relay_bench does; the other side's figures are zero.
//
// --json: one JSON object on stdout per queue setting, one line each:
//   bench          "relay_chunked_vs_pipe"
//   consumer_queue "256 MiB" or "librdkafka default (64 MiB)"; queue_kbytes
//                  (0: the default)
//   message_bytes, messages, partitions, chunk_records (input records),
//   chunk_bytes (value bytes per full chunk), runs, interval_ms, sync
//   baseline       "pipe"; baseline_bps / subject_bps: median value bytes/s
//                  of the pipe / the relay (the same bytes: the input's)
//   ratio          subject_bps / baseline_bps; paired_ratio, paired_min,
//                  paired_max: the per-run ratios
//   baseline_cpu_us, subject_cpu_us: median process CPU us per MiB
//   baseline_cpu_us_<role>, subject_cpu_us_<role>: the same by thread
//                  role (thread_cpu.h): loop, librdkafka, mock_broker,
//                  rocksdb, exited (threads gone by the end of the run,
//                  e.g. the relay's checkpoint commits)
//   baseline_faults_per_mib, subject_faults_per_mib: median page faults of
//                  the process per MiB over each side's window
//   subject_reassembly_allocations: median count per run (above)
//   subject_disk_ratio: median bytes the relay's process wrote to storage
//                  (/proc/self/io write_bytes: the checkpoint store) per
//                  input value byte; in-progress chunks are part of the
//                  checkpoint (DESIGN.md §4), so a message spanning a
//                  checkpoint has its chunks so far written to RocksDB,
//                  unless the checkpoint waited for it (aligned
//                  checkpoints, dedup_consumer.h)
//   alignment_ms   only with --alignment-ms: the relay's setting
//   target         0.8
//   load1, cpus, unix_time
#include <fmt/format.h>

#include <cstdio>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "bench_support.h"
#include "exactly/allocator_tuning.h"
#include "exactly/kafka/consumer.h"
#include "exactly/kafka/stamped_producer.h"

namespace {

using namespace exactly;
using namespace exactly::bench;
using namespace std::chrono_literals;

// The value repeats a random block this long. librdkafka's lz4 frames use
// independent 64 KiB blocks, so each block stores the pattern once: 4 KiB
// would leave ~61 KB per 1 MB chunk, over the mock's 5 MiB per partition
// at 12 messages per partition; 256 bytes leaves ~5 KB.
constexpr std::size_t kBlock = 256;

Input ProduceChunkedInput(kafka::MockCluster& cluster, std::uint64_t messages, std::size_t message_bytes,
                          int partitions, std::size_t* chunk_bytes) {
  Input in;
  in.spec.topic = "in-chunked";
  in.spec.partitions = partitions;
  in.spec.records = messages;
  in.spec.value_bytes = message_bytes;
  in.spec.producers = 1;
  Check(cluster.CreateTopic(in.spec.topic, partitions), "input topic");
  auto conf = ProducerConfig(cluster.bootstraps());
  conf.Set("compression.type", "lz4");
  kafka::StampedProducerOptions so;
  so.producer_id = ProducerId("big");
  so.epoch = Epoch(1);
  auto producer = Check(kafka::StampedProducer::Open(conf, std::move(so)), "stamped producer");
  *chunk_bytes = producer.chunk_bytes();
  std::string value(message_bytes, '\0');
  std::mt19937_64 rng(7);
  for (std::size_t i = 0; i < std::min<std::size_t>(kBlock, value.size()); i += 8) {
    const std::uint64_t x = rng();
    std::memcpy(value.data() + i, &x, std::min<std::size_t>(8, value.size() - i));
  }
  for (std::size_t i = kBlock; i < value.size(); i += kBlock) {
    std::memcpy(value.data() + i, value.data(), std::min<std::size_t>(kBlock, value.size() - i));
  }
  for (std::uint64_t k = 0; k < messages; ++k) {
    std::memcpy(value.data(), &k, std::min<std::size_t>(8, value.size()));
    const std::string key = fmt::format("big-{}", k);
    kafka::StampedMessage m{in.spec.topic, Partition(static_cast<std::int32_t>(k % static_cast<std::uint64_t>(partitions))),
                            std::string_view(key), std::string_view(value), {}, std::nullopt};
    const auto sent = Check(producer.Send(m, 60s), "send");
    in.records += std::max<std::uint32_t>(1, sent.chunks);
    in.value_bytes += value.size();
  }
  Check(producer.Flush(300s), "flush input");
  auto consumer = Check(kafka::Consumer::Create(kafka::KafkaConfig{{"bootstrap.servers", cluster.bootstraps()}}),
                        "watermarks");
  std::uint64_t total = 0;
  for (int p = 0; p < partitions; ++p) {
    auto wm = Check(consumer.QueryWatermarks(TopicPartition{Topic(in.spec.topic), Partition(p)}, 10s), "watermarks");
    if (wm.low.value() != 0) Die(Status::Corruption("the mock dropped input (retention)"), "input");
    total += static_cast<std::uint64_t>(wm.high.value());
  }
  if (total != in.records) Die(Status::Corruption(fmt::format("{} records, {} expected", total, in.records)), "input");
  return in;
}

std::string QueueLabel(std::uint64_t kbytes) {
  return kbytes == 0 ? std::string("librdkafka default (64 MiB)") : fmt::format("{} MiB", kbytes / 1024);
}

// The run's CPU by thread role, in us per MiB of input, as text; also
// appended to `series` (a role missing from a run counts 0 there).
std::string ByRole(const Measurement& m, std::uint64_t value_bytes, std::map<std::string, std::vector<double>>& series) {
  if (m.secs == 0) return "-";
  const double mib = static_cast<double>(value_bytes) / (1 << 20);
  std::string text;
  for (const std::string_view role : kThreadRoles) {
    const auto it = m.cpu_s_by_role.find(role);
    const double us = it == m.cpu_s_by_role.end() ? 0.0 : it->second * 1e6 / mib;
    series[std::string(role)].push_back(us);
    if (us > 0) text += fmt::format("{}{} {:.0f}", text.empty() ? "" : ", ", role, us);
  }
  return text;
}

std::string JsonKey(std::string role) {
  for (char& c : role)
    if (c == ' ') c = '_';
  return role;
}

}  // namespace

int main(int argc, char** argv) {
  // As exactly-relay does: its main calls the first, and its loop the
  // second once chunked messages arrive. malloc's settings decide what
  // every ~1 MB buffer of a large-message pipeline costs, so the figures
  // are the binary's only with the binary's settings. They apply to the
  // pipe and the in-process broker alike.
  TuneAllocatorForLongRunningProcess();
  (void)TuneAllocatorForLargeMessages();
  const Flags f(argc, argv, {"messages", "message-bytes", "partitions", "runs", "interval-ms", "queue-kbytes", "only",
                                 "producer-queue-messages", "alignment-ms"},
                {"json"});
  const std::string only = f.Str("only", "");
  if (!only.empty() && only != "pipe" && only != "relay") {
    Die(Status::InvalidArgument(fmt::format("--only: '{}' is neither pipe nor relay", only)), "flags");
  }
  const bool json = f.Has("json");
  // 9 by default: single runs swing by 2x on both sides (BENCHMARKS.md),
  // so the figure is a median of many pairs.
  const int runs = static_cast<int>(f.U64("runs", 9));
  const std::uint64_t messages = f.U64("messages", 96);
  const std::size_t message_bytes = f.U64("message-bytes", 8u << 20);
  const int partitions = static_cast<int>(f.U64("partitions", 4));
  const auto interval = std::chrono::milliseconds(f.U64("interval-ms", 100));
  const std::vector<std::uint64_t> queues = f.U64List("queue-kbytes", "262144,0");
  std::FILE* human = json ? stderr : stdout;
  auto cluster = Check(kafka::MockCluster::Create(1), "mock cluster");
  std::size_t chunk_bytes = 0;
  const Input in = ProduceChunkedInput(cluster, messages, message_bytes, partitions, &chunk_bytes);
  std::fprintf(human, "relay_chunked_bench: %llu messages of %zu B = %llu chunk records of <= %zu B, %d partitions\n",
               static_cast<unsigned long long>(messages), message_bytes, static_cast<unsigned long long>(in.records),
               chunk_bytes, partitions);
  const double mib_per_record = static_cast<double>(in.value_bytes) / static_cast<double>(in.records) / (1 << 20);
  int run_number = 0;
  for (const std::uint64_t queue_kbytes : queues) {
    // The same consumer settings on both sides.
    RelayRun relay_run;
    relay_run.interval = interval;
    relay_run.queue_messages = f.U64("producer-queue-messages", 0);
    if (f.Has("alignment-ms")) relay_run.alignment = std::chrono::milliseconds(f.U64("alignment-ms", 0));
    if (queue_kbytes != 0) {
      relay_run.consumer_extra.Set("queued.max.messages.kbytes", std::to_string(queue_kbytes));
    }
    std::fprintf(human, " consumers' queued.max.messages.kbytes: %s\n", QueueLabel(queue_kbytes).c_str());
    std::vector<double> pipe, relay, pipe_cpu, relay_cpu, relay_disk, pipe_faults, relay_faults, relay_allocations;
    std::map<std::string, std::vector<double>> pipe_roles, relay_roles;  // us CPU per MiB
    for (int r = 0; r < runs; ++r, ++run_number) {
      Measurement p, q;
      if (only != "relay") {
        p = RunPipe(cluster, in, fmt::format("pipe-{}", run_number), fmt::format("pipe-out-{}", run_number),
                    relay_run.consumer_extra);
      }
      if (only != "pipe") {
        q = RunRelay(cluster, in, fmt::format("relay-{}", run_number), fmt::format("relay-out-{}", run_number),
                     relay_run);
        if (q.output_records != in.records) {
          Die(Status::Internal(fmt::format("relay wrote {} records, {} expected", q.output_records, in.records)),
              "relay");
        }
      }
      pipe.push_back(p.bytes_per_s);
      relay.push_back(q.bytes_per_s);
      pipe_cpu.push_back(p.cpu_us / mib_per_record);
      relay_cpu.push_back(q.cpu_us / mib_per_record);
      relay_disk.push_back(static_cast<double>(q.disk_write_bytes) / static_cast<double>(in.value_bytes));
      std::fprintf(human,
                   "  run %d: pipe %7.1f MB/s %6.0f us CPU/MiB   relay %7.1f MB/s %6.0f us CPU/MiB (%llu checkpoints, "
                   "%llu waited for messages in progress, %.1f ms on average, %llu of them in vain; %.2f bytes "
                   "written to the store per input byte)   ratio %.2f\n",
                   r, p.bytes_per_s / 1e6, pipe_cpu.back(), q.bytes_per_s / 1e6, relay_cpu.back(),
                   static_cast<unsigned long long>(q.checkpoints), static_cast<unsigned long long>(q.alignments),
                   q.alignment_wait_ms, static_cast<unsigned long long>(q.alignments_expired), relay_disk.back(),
                   p.bytes_per_s > 0 ? q.bytes_per_s / p.bytes_per_s : 0.0);
      std::fprintf(human, "    us CPU/MiB by thread: pipe %s | relay %s\n",
                   ByRole(p, in.value_bytes, pipe_roles).c_str(), ByRole(q, in.value_bytes, relay_roles).c_str());
      const double mib = static_cast<double>(in.value_bytes) / (1 << 20);
      pipe_faults.push_back(static_cast<double>(p.minor_faults) / mib);
      relay_faults.push_back(static_cast<double>(q.minor_faults) / mib);
      relay_allocations.push_back(static_cast<double>(q.reassembly_allocations));
      std::fprintf(human, "    page faults per MiB: pipe %.0f | relay %.0f; reassembly buffers allocated: %llu\n",
                   pipe_faults.back(), relay_faults.back(),
                   static_cast<unsigned long long>(q.reassembly_allocations));
      std::fflush(human);
    }
    const Paired s = Summarize(pipe, relay);
    std::fprintf(human, "  median: pipe %.1f MB/s, relay %.1f MB/s, relay/pipe = %.2f (paired %.2f, %.2f-%.2f)\n",
                 s.baseline / 1e6, s.subject / 1e6, s.ratio, s.paired, s.paired_min, s.paired_max);
    if (!json) continue;
    JsonLine j;
    j.Str("bench", "relay_chunked_vs_pipe").Str("consumer_queue", QueueLabel(queue_kbytes));
    j.Int("message_bytes", message_bytes).Int("messages", messages);
    j.Int("partitions", static_cast<std::uint64_t>(partitions)).Int("chunk_records", in.records);
    j.Int("chunk_bytes", chunk_bytes).Int("runs", static_cast<std::uint64_t>(runs));
    j.Int("interval_ms", static_cast<std::uint64_t>(interval.count())).Int("queue_kbytes", queue_kbytes);
    if (relay_run.alignment) j.Int("alignment_ms", static_cast<std::uint64_t>(relay_run.alignment->count()));
    j.Bool("sync", true).Str("baseline", "pipe").Num("baseline_bps", s.baseline).Num("subject_bps", s.subject);
    j.Num("ratio", s.ratio).Num("paired_ratio", s.paired).Num("paired_min", s.paired_min);
    j.Num("paired_max", s.paired_max).Num("baseline_cpu_us", Median(pipe_cpu)).Num("subject_cpu_us", Median(relay_cpu));
    j.Num("subject_disk_ratio", Median(relay_disk)).Num("target", 0.8);
    j.Num("baseline_faults_per_mib", Median(pipe_faults)).Num("subject_faults_per_mib", Median(relay_faults));
    j.Num("subject_reassembly_allocations", Median(relay_allocations));
    for (const auto& [role, v] : pipe_roles) j.Num("baseline_cpu_us_" + JsonKey(role), Median(v));
    for (const auto& [role, v] : relay_roles) j.Num("subject_cpu_us_" + JsonKey(role), Median(v));
    j.Machine().Print();
  }
  return 0;
}

// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// The relay against a real cluster: open the state directory, relay until
// SIGINT/SIGTERM or a fatal error, then close with a final checkpoint.
#include "run.h"

#include <fmt/format.h>

#include <cstdio>
#include <string>

#include "cli.h"
#include "exactly/allocator_tuning.h"
#include "exactly/checkpoint_store.h"
#include "exactly/kafka/relay.h"
#include "fetch_stall.h"
#include "log.h"
#include "metrics_endpoint.h"
#include "status_line.h"

namespace exactly::relay_app {

using namespace std::chrono_literals;

void Say(std::string_view text) { apps::LogInfo(text); }

void SayError(std::string_view text) { apps::Logger::Get().Log(apps::LogLevel::kError, text); }

void SayReport(const StatusReport& r) { apps::LogInfo(r.message, r.fields); }

void TuneForLargeMessagesOnce(const kafka::Relay& relay, const kafka::KafkaConfig& consumer_config, bool* done) {
  if (*done) return;
  const kafka::DedupConsumerStats s = relay.stats().consumer;
  if (s.engine.delivered_chunked == 0 && s.in_progress_messages == 0) return;
  *done = true;
  // Before the malloc line, so that a reader of the log who sees that line
  // has seen this one if it came.
  if (!consumer_config.Has("queued.max.messages.kbytes") && !consumer_config.Has("fetch.queue.backoff.ms")) {
    apps::Logger::Get().Log(
        apps::LogLevel::kWarn,
        "chunked messages with the consumer's default queued.max.messages.kbytes (64 MiB): librdkafka stops "
        "fetching a partition for a second each time that queue is full, which holds back a relay slower than "
        "its input; for large messages at full speed set --consumer-X queued.max.messages.kbytes to about a "
        "second of input, e.g. 262144 (docs/OPERATIONS.md, \"Large messages\")");
  }
  switch (TuneAllocatorForLargeMessages()) {
    case AllocatorTuning::kTuned:
      Say(fmt::format("chunked messages: malloc's mmap threshold raised to 4 MiB, and its trim threshold to {} MiB "
                      "unless MALLOC_TRIM_THRESHOLD_ is set, so their ~1 MB buffers are reused",
                      kLargeMessageTrimThreshold >> 20));
      break;
    case AllocatorTuning::kSetByEnvironment:
      Say("chunked messages: malloc's thresholds left as the environment sets them (MALLOC_MMAP_THRESHOLD_ or "
          "GLIBC_TUNABLES)");
      break;
    case AllocatorTuning::kUnsupported:
      Say("chunked messages: malloc's thresholds not tuned: this process's allocator does not take mallopt (not "
          "glibc's, or a sanitizer's); each ~1 MB buffer may be mapped and unmapped per record");
      break;
  }
}

int RunRelay(const AppOptions& o) {
  StoreOptions store_options;
  store_options.sync = o.sync;
  auto store = CheckpointStore::Open(o.state_dir, store_options);
  if (!store.ok()) {
    SayError(fmt::format("cannot open --state-dir {}: {}", o.state_dir, store.status().ToString()));
    return kExitFailure;
  }
  kafka::RelayOptions relay_options = o.relay;
  relay_options.log = [](std::string_view line) { apps::Logger::Get().Log(apps::LogLevel::kWarn, line); };
  std::unique_ptr<MetricsEndpoint> metrics;
  if (o.metrics_port) {
    auto m = MetricsEndpoint::Create();
    if (!m.ok()) {
      SayError(m.status().ToString());
      return kExitFailure;
    }
    metrics = std::move(*m);
    if (Status st = metrics->Start(o.metrics_address, *o.metrics_port); !st.ok()) {
      SayError(st.ToString());
      return kExitFailure;
    }
    relay_options.on_checkpoint = metrics->CheckpointObserver();
  }
  auto relay = kafka::Relay::Create(**store, relay_options);
  if (!relay.ok()) {
    SayError(relay.status().ToString());
    return relay.status().code() == Code::kInvalidArgument ? kExitUsage : kExitFailure;
  }
  std::string inputs;
  for (const auto& t : o.relay.inputs) inputs += (inputs.empty() ? "" : ",") + t;
  Say(fmt::format("relaying {} -> {} (group {}, relay id {}, output epoch {}, {} output partitions{}), state in {}",
                  inputs, o.relay.output, o.relay.group, o.relay.relay_id, o.relay.output_epoch.value(),
                  (*relay)->output_partitions(),
                  o.relay.dead_letter_topic.empty() ? "" : ", dead letters to " + o.relay.dead_letter_topic,
                  o.state_dir));

  StatusLine status;
  const auto interval = std::chrono::milliseconds(o.status_interval_ms);
  auto next_status = StatusLine::Clock::now() + interval;
  Status st;
  bool large_messages_seen = false;
  FetchStallDetector stalls;
  bool stall_warned = false;
  while (!apps::ShutdownRequested()) {
    // The slice bounds how stale the metrics are and how late a signal is
    // seen (scripts/bench_relay_binary.py times the relay by its metrics).
    st = (*relay)->RunFor(50ms);
    if (metrics) metrics->Update(**relay);
    if (!st.ok()) break;
    TuneForLargeMessagesOnce(**relay, relay_options.consumer_config, &large_messages_seen);
    if (!stall_warned) {
      const auto waiting = TotalLag((*relay)->Positions());
      if (stalls.Observe(FetchStallDetector::Clock::now(), (*relay)->stats().consumer.polled, waiting)) {
        apps::Logger::Get().Log(apps::LogLevel::kWarn,
                                FetchStallWarning(stalls, waiting.value_or(0), relay_options.consumer_config));
        stall_warned = true;
      }
    }
    if (interval.count() > 0 && StatusLine::Clock::now() >= next_status) {
      SayReport(status.Format((*relay)->stats(), (*relay)->Positions()));
      next_status += interval;
    }
  }
  if (apps::ShutdownRequested()) Say(fmt::format("signal {}: final checkpoint, leaving the group", apps::ShutdownSignal()));
  const Status closed = (*relay)->Close(std::chrono::milliseconds(o.close_timeout_ms));
  if (metrics) metrics->Update(**relay);
  SayReport(status.Summary((*relay)->stats()));
  if (!st.ok()) {
    SayError(fmt::format("stopped: {}", st.ToString()));
    return kExitFailure;
  }
  if (!closed.ok()) {
    SayError(fmt::format("close: {}", closed.ToString()));
    return kExitFailure;
  }
  return kExitOk;
}

}  // namespace exactly::relay_app

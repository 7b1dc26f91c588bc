// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// Where librdkafka's own log lines go. By default librdkafka prints them to
// stderr in its own format; an application that formats its logs (e.g.
// JSON lines for a log shipper) installs a KafkaLogSink instead.
//
// Contract
// - SetKafkaLogSink is process-wide and applies to every client of this
//   library, whenever created. A line logged while no sink is set goes to
//   stderr in librdkafka's format (without its timestamp).
// - `level` is librdkafka's syslog level (0 emerg ... 7 debug); which
//   lines are produced at all is still librdkafka's `log_level` / `debug`
//   properties.
// - librdkafka's warning that enable.gapless.guarantee is experimental,
//   logged at the creation of every client that sets it (the relay sets
//   it on each output producer), is passed on once per process.
// - The sink must outlive every client that may log while it is set (or
//   be replaced before it dies, while no client is logging), and never
//   throw.
//
// Thread safety: Log is called from librdkafka's internal threads,
// concurrently; SetKafkaLogSink from any thread.
#pragma once

#include <string_view>

namespace exactly::kafka {

class KafkaLogSink {
 public:
  virtual ~KafkaLogSink() = default;
  virtual void Log(int level, std::string_view facility, std::string_view client, std::string_view message) noexcept = 0;
};

void SetKafkaLogSink(KafkaLogSink* sink) noexcept;

}  // namespace exactly::kafka

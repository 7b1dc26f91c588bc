// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// exactly-produce: produces stamped messages (DESIGN.md §2), one per line
// of stdin or one per file, splitting large messages into chunks.
// Exit status: 0 all delivered, 1 a produce or delivery failed,
// 2 bad usage, 128+signal when interrupted (after flushing what was sent).

#include <boost/program_options.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "cli.h"
#include "exactly/kafka/stamped_producer.h"

namespace po = boost::program_options;
using exactly::Status;
namespace kafka = exactly::kafka;

namespace {

constexpr const char* kUsage =
    "Usage: exactly-produce [options] --brokers ADDR -t TOPIC --producer-id ID\n"
    "                       (--epoch N | --epoch-dir DIR) [--file-per-message FILE...]\n"
    "\n"
    "Produces one stamped message per line of stdin (without the newline), or one\n"
    "per FILE with --file-per-message. Each message carries eo.producer, eo.epoch and\n"
    "eo.seq; messages larger than the chunk size are split into chunks carrying\n"
    "eo.chunk, eo.size and eo.crc, all sent to one partition. With --epoch-dir the\n"
    "epoch is bumped and synced on every run, fencing earlier runs.\n"
    "Exit status: 0 delivered, 1 failed, 2 bad usage, 128+N on signal N.\n";

struct Options {
  std::string brokers, topic, producer_id, epoch_dir, key;
  std::optional<std::int32_t> partition;
  std::optional<std::uint64_t> epoch;
  std::uint64_t first_seq = 0;
  std::size_t chunk_bytes = 0;
  std::int64_t timeout_ms = 30000;
  std::vector<std::string> headers, props, files;
};

Status ParseHeaders(const std::vector<std::string>& in, std::vector<exactly::OwnedHeader>& out) {
  for (const auto& h : in) {
    const auto eq = h.find('=');
    if (eq == std::string::npos || eq == 0) {
      return Status::InvalidArgument(fmt::format("-H '{}': expected name=value", h));
    }
    out.push_back({h.substr(0, eq), h.substr(eq + 1)});
  }
  return Status::OK();
}

Status ReadFile(const std::string& path, std::string& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::IoError(fmt::format("cannot open {}", path));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return Status::IoError(fmt::format("cannot read {}", path));
  out = std::move(ss).str();
  return Status::OK();
}

int Fail(const Status& st) {
  std::cerr << "exactly-produce: " << st.message() << "\n";
  return st.code() == exactly::Code::kInvalidArgument ? 2 : 1;
}

int Run(int argc, char** argv) {
  Options o;
  po::options_description desc("Options");
  desc.add_options()("help,h", "show this help")("brokers,b", po::value(&o.brokers), "bootstrap servers")(
      "topic,t", po::value(&o.topic), "topic to produce to")(
      "partition,p", po::value<std::int32_t>(), "partition (default: by key hash, round-robin without a key)")(
      "producer-id", po::value(&o.producer_id), "stable producer id: 1-255 bytes 0x21-0x7E")(
      "epoch", po::value<std::uint64_t>(), "epoch to stamp with")(
      "epoch-dir", po::value(&o.epoch_dir), "directory managing the epoch (bumped on every run, locked)")(
      "first-seq", po::value(&o.first_seq)->default_value(0), "sequence of the first message")(
      "chunk-bytes", po::value(&o.chunk_bytes)->default_value(0),
      "bytes per chunk (default: message.max.bytes minus 16 KiB)")(
      "key,k", po::value(&o.key), "message key")(
      "header,H", po::value(&o.headers)->composing(), "name=value, extra header on every message (repeatable)")(
      "property,X", po::value(&o.props)->composing(), "key=value, librdkafka property (repeatable)")(
      "file-per-message", po::value(&o.files)->multitoken(), "send each FILE as one message instead of stdin lines")(
      "timeout-ms", po::value(&o.timeout_ms)->default_value(30000), "bound on each send and the final flush");
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(argc, argv).options(desc).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    std::cerr << "exactly-produce: " << e.what() << "\n(see --help)\n";
    return 2;
  }
  if (vm.count("help")) {
    std::cout << kUsage << "\n" << desc;
    return 0;
  }
  if (vm.count("partition")) o.partition = vm["partition"].as<std::int32_t>();
  if (vm.count("epoch")) o.epoch = vm["epoch"].as<std::uint64_t>();
  for (const char* required : {"brokers", "topic", "producer-id"}) {
    if (!vm.count(required)) return Fail(Status::InvalidArgument(fmt::format("--{} is required", required)));
  }
  if (o.epoch.has_value() == !o.epoch_dir.empty()) {
    return Fail(Status::InvalidArgument("give exactly one of --epoch N or --epoch-dir DIR"));
  }
  exactly::apps::InstallShutdownHandlers();

  kafka::KafkaConfig config;
  config.Set("bootstrap.servers", o.brokers);
  if (Status st = exactly::apps::ApplyProperties(o.props, config); !st.ok()) return Fail(st);
  std::vector<exactly::OwnedHeader> owned_headers;
  if (Status st = ParseHeaders(o.headers, owned_headers); !st.ok()) return Fail(st);
  std::vector<exactly::HeaderView> headers;
  for (const auto& h : owned_headers) headers.push_back({h.name, h.value});

  kafka::StampedProducerOptions opts;
  opts.producer_id = exactly::ProducerId(o.producer_id);
  if (o.epoch) opts.epoch = exactly::Epoch(*o.epoch);
  opts.epoch_dir = o.epoch_dir;
  opts.first_seq = exactly::Sequence(o.first_seq);
  opts.chunk_bytes = o.chunk_bytes;
  auto producer = kafka::StampedProducer::Open(config, opts);
  if (!producer.ok()) return Fail(producer.status());
  const auto timeout = std::chrono::milliseconds(o.timeout_ms);

  std::uint64_t messages = 0, records = 0;
  std::optional<exactly::Sequence> first_seq;
  Status failure;
  auto send = [&](std::string_view value) {
    kafka::StampedMessage m;
    m.topic = o.topic;
    if (o.partition) m.partition = exactly::Partition(*o.partition);
    if (vm.count("key")) m.key = std::string_view(o.key);
    m.value = value;
    m.headers = headers;
    auto sent = producer->Send(m, timeout);
    if (!sent.ok()) {
      failure = sent.status();
      return false;
    }
    if (!first_seq) first_seq = sent->stamp.seq;
    ++messages;
    records += sent->chunks == 0 ? 1 : sent->chunks;
    producer->producer().Poll(std::chrono::milliseconds(0));
    return true;
  };

  if (!o.files.empty()) {
    std::string data;
    for (const auto& f : o.files) {
      if (exactly::apps::ShutdownRequested()) break;
      if (failure = ReadFile(f, data); !failure.ok()) break;
      if (!send(data)) break;
    }
  } else {
    std::string line;
    while (!exactly::apps::ShutdownRequested() && std::getline(std::cin, line)) {
      if (!send(line)) break;
    }
  }
  // Whatever happened, deliver what was sent.
  Status closed = producer->Close(timeout);
  if (failure.ok()) failure = closed;
  std::cerr << fmt::format("exactly-produce: producer {} epoch {}: {} message(s) in {} record(s)",
                           o.producer_id, producer->epoch().value(), messages, records);
  if (first_seq) std::cerr << fmt::format(", seq {}..{}", first_seq->value(), producer->next_seq().value() - 1);
  std::cerr << (failure.ok() ? "\n" : ", with errors\n");
  if (!failure.ok()) return Fail(failure);
  if (exactly::apps::ShutdownRequested()) return 128 + exactly::apps::ShutdownSignal();
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return exactly::apps::RunMain("exactly-produce", &Run, argc, argv); }

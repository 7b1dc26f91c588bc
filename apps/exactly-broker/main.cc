// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// exactly-broker: runs librdkafka's mock Kafka cluster until SIGINT or
// SIGTERM. The first line on stdout is the bootstrap server list; then each
// fault-injection command read from stdin (see commands.h) is answered on
// stdout. End of stdin stops the commands, not the broker.

#include <poll.h>
#include <unistd.h>

#include <boost/program_options.hpp>
#include <cerrno>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "cli.h"
#include "commands.h"
#include "exactly/kafka/mock_cluster.h"

namespace po = boost::program_options;
using exactly::Status;

namespace {

constexpr const char* kUsage =
    "Usage: exactly-broker [options]\n"
    "\n"
    "Runs an in-memory Kafka cluster (librdkafka's mock cluster) until SIGINT or\n"
    "SIGTERM. Prints the bootstrap servers as the first line of stdout, then reads\n"
    "fault-injection commands from stdin, one per line, answering each with `ok`\n"
    "or `error: ...`. The mock keeps only about 5 MiB per partition and does not\n"
    "implement Kafka transactions faithfully.\n"
    "\n"
    "Commands:\n";

void Answer(const std::string& text) {
  if (text.empty()) return;
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
}

Status CreateTopic(exactly::kafka::MockCluster& cluster, const std::string& spec) {
  const auto colon = spec.rfind(':');
  int partitions = 1;
  std::string name = spec;
  if (colon != std::string::npos) {
    name = spec.substr(0, colon);
    try {
      std::size_t used = 0;
      partitions = std::stoi(spec.substr(colon + 1), &used);
      if (used != spec.size() - colon - 1) throw std::invalid_argument(spec);
    } catch (const std::exception&) {
      return Status::InvalidArgument(fmt::format("--topic '{}': expected NAME:PARTITIONS", spec));
    }
  }
  return cluster.CreateTopic(name, partitions).WithContext(fmt::format("--topic '{}'", spec));
}

int Run(int argc, char** argv) {
  int brokers = 1;
  std::vector<std::string> topics, props;
  po::options_description opts("Options");
  opts.add_options()("help,h", "show this help")(
      "brokers", po::value<int>(&brokers)->default_value(1), "number of brokers (ids 1..N)")(
      "topic", po::value<std::vector<std::string>>(&topics)->composing(),
      "NAME:PARTITIONS, create a topic up front (repeatable; PARTITIONS defaults to 1)")(
      "property,X", po::value<std::vector<std::string>>(&props)->composing(),
      "key=value, librdkafka property of the cluster's owning handle (repeatable)");
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(argc, argv).options(opts).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    std::cerr << "exactly-broker: " << e.what() << "\n(see --help)\n";
    return 2;
  }
  if (vm.count("help")) {
    std::cout << kUsage << exactly::apps::kBrokerCommandHelp << "\n" << opts;
    return 0;
  }
  exactly::apps::InstallShutdownHandlers();

  exactly::kafka::KafkaConfig config;
  if (Status st = exactly::apps::ApplyProperties(props, config); !st.ok()) {
    std::cerr << "exactly-broker: " << st.message() << "\n";
    return 2;
  }
  auto cluster = exactly::kafka::MockCluster::Create(brokers, config);
  if (!cluster.ok()) {
    std::cerr << "exactly-broker: " << cluster.status().message() << "\n";
    return 2;
  }
  for (const auto& spec : topics) {
    if (Status st = CreateTopic(*cluster, spec); !st.ok()) {
      std::cerr << "exactly-broker: " << st.message() << "\n";
      return 2;
    }
  }
  Answer(cluster->bootstraps());

  // Commands are read with poll()+read() rather than iostreams so that a
  // signal is noticed within one poll interval whatever stdin does.
  bool stdin_open = true;
  std::string pending;
  char buf[4096];
  while (!exactly::apps::ShutdownRequested()) {
    pollfd pfd{STDIN_FILENO, POLLIN, 0};
    const int ready = ::poll(stdin_open ? &pfd : nullptr, stdin_open ? 1 : 0, 200);
    if (ready <= 0 || !stdin_open) continue;  // timeout, EINTR, or only waiting for a signal
    const ssize_t n = ::read(STDIN_FILENO, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      stdin_open = false;
      continue;
    }
    if (n == 0) {
      stdin_open = false;
      if (!pending.empty()) Answer(exactly::apps::RunBrokerCommand(*cluster, pending));
      pending.clear();
      continue;
    }
    pending.append(buf, static_cast<std::size_t>(n));
    std::size_t nl;
    while ((nl = pending.find('\n')) != std::string::npos) {
      Answer(exactly::apps::RunBrokerCommand(*cluster, std::string_view(pending).substr(0, nl)));
      pending.erase(0, nl + 1);
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return exactly::apps::RunMain("exactly-broker", &Run, argc, argv); }

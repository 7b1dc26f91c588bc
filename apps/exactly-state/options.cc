// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
#include "options.h"

#include <fmt/format.h>

#include <boost/program_options.hpp>
#include <string_view>
#include <vector>

#include "command_line.h"
#include "parse.h"

namespace exactly::statetool {
namespace {

namespace po = boost::program_options;

constexpr const char* kUsage =
    "Usage: exactly-state --state-dir DIR COMMAND [options]\n"
    "\n"
    "Commands:\n"
    "  ls                      partitions with their checkpointed next offset, checkpoint\n"
    "                          number, producers tracked, in-progress chunked messages\n"
    "                          (count and bytes); and the time and age of the last checkpoint\n"
    "  show --producer ID      the producer's watermark (epoch/seq), last-seen time and\n"
    "                          in-progress messages, per partition\n"
    "  dump [--json]           everything, as JSON lines: one \"store\" object, then one\n"
    "                          \"partition\" object per partition (docs/OPERATIONS.md)\n"
    "  verify                  read and decode every stored item; names the first bad one\n"
    "  forget --producer ID    remove the producer's watermark and in-progress messages from\n"
    "                          every partition, in one atomic checkpoint\n"
    "  set-offset --topic T --partition P --offset O [--create]\n"
    "                          set the partition's next offset (its watermarks and in-progress\n"
    "                          messages are kept), in one atomic checkpoint\n";

constexpr const char* kDescription = R"(
For operators of an exactly relay or consumer: inspects and repairs its
state directory (the checkpoint store, --state-dir of exactly-relay and
exactly-replay).

Reading commands (ls, show, dump, verify) open the directory read-only and
take no lock, so they work while a relay runs; they see the state as of
the moment they open it. Writing commands (forget, set-offset) take the
directory's lock and refuse to run while another process (a running
relay) holds it: stop the relay first. Their change is one checkpoint,
applied whole or not at all; the relay resumes from it at its next start.

Producer IDs and topics are shown in text output with bytes that are not
printable ASCII written as \xNN (and '\' as \\); in dump output as JSON
strings, with bytes that are not UTF-8 as \uDC80-\uDCFF (the convention of
recorded logs, docs/RECORDED-LOGS.md).

Exit status: 0 success; 1 the producer or partition is not in the state;
2 bad command line; 3 the directory is missing or cannot be read or
written; 4 the state is damaged (verify, or opening); 5 a writing command
while another process holds the directory.
)";

struct CommandSpec {
  std::string_view name;
  Command command;
  std::vector<std::string_view> required;
  std::vector<std::string_view> allowed;  // besides required, state-dir and help
};

const std::vector<CommandSpec>& Specs() {
  static const std::vector<CommandSpec> specs = {
      {"ls", Command::kLs, {}, {}},
      {"show", Command::kShow, {"producer"}, {}},
      {"dump", Command::kDump, {}, {"json"}},
      {"verify", Command::kVerify, {}, {}},
      {"forget", Command::kForget, {"producer"}, {}},
      {"set-offset", Command::kSetOffset, {"topic", "partition", "offset"}, {"create"}},
  };
  return specs;
}

}  // namespace

Result<StateToolOptions> ParseCommandLine(int argc, const char* const* argv, std::string* help_text) {
  StateToolOptions o;
  std::string command, partition, offset;
  std::vector<std::string> extra;

  po::options_description visible("Options");
  // clang-format off
  visible.add_options()
    ("help,h", "show this help and exit")
    ("state-dir", po::value(&o.state_dir)->value_name("DIR"), "the state directory (required)")
    ("producer", po::value(&o.producer)->value_name("ID"), "show, forget: the producer id (eo.producer)")
    ("topic", po::value(&o.topic)->value_name("T"), "set-offset: the topic")
    ("partition", po::value(&partition)->value_name("P"), "set-offset: the partition")
    ("offset", po::value(&offset)->value_name("O"), "set-offset: the next offset to consume (>= 0)")
    ("create", po::bool_switch(&o.create),
     "set-offset: also for a partition that has no checkpoint yet (it starts with no producers)")
    ("json", "dump: JSON lines (the only format; accepted for clarity)");
  // clang-format on
  po::options_description hidden;
  hidden.add_options()("command", po::value(&command))("extra", po::value(&extra)->composing());
  po::positional_options_description positional;
  positional.add("command", 1).add("extra", -1);

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
  if (command.empty()) return Status::InvalidArgument("no command given (ls, show, dump, verify, forget, set-offset)");
  if (!extra.empty()) return Status::InvalidArgument(fmt::format("unexpected argument '{}'", extra.front()));
  const CommandSpec* spec = nullptr;
  for (const CommandSpec& s : Specs()) {
    if (s.name == command) spec = &s;
  }
  if (spec == nullptr) {
    return Status::InvalidArgument(
        fmt::format("unknown command '{}' (ls, show, dump, verify, forget, set-offset)", command));
  }
  o.command = spec->command;
  if (!vm.count("state-dir") || o.state_dir.empty()) return Status::InvalidArgument("--state-dir DIR is required");
  for (std::string_view name : spec->required) {
    if (!vm.count(std::string(name))) {
      return Status::InvalidArgument(fmt::format("{} needs --{}", spec->name, name));
    }
  }
  for (const auto& option : vm) {
    const std::string& name = option.first;  // (clang 14 cannot capture a structured binding)
    if (name == "command" || name == "extra" || name == "state-dir" || name == "help") continue;
    if (name == "create" && !o.create) continue;  // a bool_switch is always stored
    const auto listed = [&](const std::vector<std::string_view>& v) {
      for (std::string_view n : v) {
        if (n == name) return true;
      }
      return false;
    };
    if (!listed(spec->required) && !listed(spec->allowed)) {
      return Status::InvalidArgument(fmt::format("--{} does not apply to {}", name, spec->name));
    }
  }
  if (vm.count("producer") && o.producer.empty()) return Status::InvalidArgument("--producer: empty id");
  if (vm.count("topic") && o.topic.empty()) return Status::InvalidArgument("--topic: empty name");
  if (vm.count("partition")) {
    auto p = apps::ParseInteger<std::int32_t>(partition);
    if (!p.ok()) return p.status().WithContext("--partition");
    if (*p < 0) return Status::InvalidArgument(fmt::format("--partition: {} is negative", *p));
    o.partition = *p;
  }
  if (vm.count("offset")) {
    auto v = apps::ParseInteger<std::int64_t>(offset);
    if (!v.ok()) return v.status().WithContext("--offset");
    if (*v < 0) return Status::InvalidArgument(fmt::format("--offset: {} is negative", *v));
    o.offset = *v;
  }
  return o;
}

}  // namespace exactly::statetool

// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
#include "command_line.h"

#include <fmt/format.h>

#include <fstream>
#include <sstream>

namespace exactly::apps {

namespace po = boost::program_options;

Result<bool> ParseCommandLine(int argc, const char* const* argv, const CommandLineSpec& spec, po::variables_map& vm,
                              std::string* help_text) {
  if (spec.visible == nullptr) return Status::InvalidArgument("ParseCommandLine: no visible options");
  if (help_text != nullptr) {
    std::ostringstream help;
    help << spec.usage << spec.description << "\n" << *spec.visible;
    *help_text = help.str();
  }
  po::options_description all;
  all.add(*spec.visible);
  if (spec.hidden != nullptr) all.add(*spec.hidden);
  try {
    po::command_line_parser parser(argc, argv);
    parser.options(all);
    if (spec.positional != nullptr) parser.positional(*spec.positional);
    po::store(parser.run(), vm);
    if (!spec.config_option.empty()) {
      const std::string name(spec.config_option);
      if (vm.count(name)) {
        const std::string path = vm[name].as<std::string>();
        std::ifstream in(path);
        if (!in) return Status::InvalidArgument(fmt::format("--{}: cannot open '{}'", name, path));
        po::store(po::parse_config_file(in, all), vm);
      }
    }
    po::notify(vm);
  } catch (const po::error& e) {
    return Status::InvalidArgument(e.what());
  }
  return vm.count("help") > 0;
}

}  // namespace exactly::apps

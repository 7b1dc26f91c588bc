// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// The Boost.Program_options steps every app with options takes the same
// way: build the --help text, parse argv (and optionally a `name = value`
// config file), turn Boost's exceptions into a Status, report --help.
// What the options mean stays with each app.
//
// Thread safety: no state of its own; the options' notifiers write the
// caller's variables.
#pragma once

#include <boost/program_options.hpp>
#include <string>
#include <string_view>

#include "exactly/status.h"

namespace exactly::apps {

struct CommandLineSpec {
  std::string_view usage = {};        // first lines of --help
  std::string_view description = {};  // after the usage, before the options
  // Listed in --help; must include "help".
  const boost::program_options::options_description* visible = nullptr;
  // Parsed but not listed (e.g. the targets of positional arguments); may be null.
  const boost::program_options::options_description* hidden = nullptr;
  const boost::program_options::positional_options_description* positional = nullptr;
  // An option (long name) whose value names a config file, read after
  // argv: argv wins for single-valued options, repeatable ones merge.
  // Empty: no config file.
  std::string_view config_option = {};
};

// Parses argv (argv[0] is the program) and the config file into `vm`, then
// runs the options' notifiers. `help_text` (may be null) receives usage,
// description and the visible options, whatever the outcome. Returns true
// when --help/-h was given. Errors are kInvalidArgument with Boost's
// message (unknown option, missing or bad value...) or naming a config
// file that cannot be opened.
Result<bool> ParseCommandLine(int argc, const char* const* argv, const CommandLineSpec& spec,
                              boost::program_options::variables_map& vm, std::string* help_text);

}  // namespace exactly::apps

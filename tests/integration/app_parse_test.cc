// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// What the apps share for their command lines (apps/common): the
// option-value parsers (integers, durations, byte counts: forms, bounds,
// errors), the Boost.Program_options step (help text, positional
// arguments, config file, errors) and the main() wrapper. No broker.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "cli.h"
#include "command_line.h"
#include "parse.h"

namespace exactly::apps {
namespace {

TEST(AppParse, Durations) {
  EXPECT_EQ(*ParseDurationMs("0"), 0);
  EXPECT_EQ(*ParseDurationMs("1500"), 1500);
  EXPECT_EQ(*ParseDurationMs("500ms"), 500);
  EXPECT_EQ(*ParseDurationMs("45s"), 45'000);
  EXPECT_EQ(*ParseDurationMs("30m"), 1'800'000);
  EXPECT_EQ(*ParseDurationMs("12h"), 43'200'000);
  EXPECT_EQ(*ParseDurationMs("7d"), 604'800'000);
  EXPECT_EQ(*ParseDurationMs("1h30m"), 5'400'000);
  EXPECT_EQ(*ParseDurationMs("1d12h5s20ms"), 129'605'020);
  EXPECT_EQ(*ParseDurationMs("9223372036854775807"), std::numeric_limits<std::int64_t>::max());
  for (const char* bad : {"", "h", "7x", "-5", "+5", "1.5h", "5 s", "5S", "ms", "1h30", "9223372036854775808",
                          "106751991167301d", "99999999999999999999ms"}) {
    const auto r = ParseDurationMs(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
    EXPECT_NE(r.status().message().find(std::string("'") + bad + "'"), std::string_view::npos) << r.status().ToString();
  }
}

TEST(AppParse, ByteCounts) {
  EXPECT_EQ(*ParseByteCount("0"), 0u);
  EXPECT_EQ(*ParseByteCount("1048576"), 1048576u);
  EXPECT_EQ(*ParseByteCount("1k"), 1024u);
  EXPECT_EQ(*ParseByteCount("512KiB"), 512u << 10);
  EXPECT_EQ(*ParseByteCount("64M"), 64u << 20);
  EXPECT_EQ(*ParseByteCount("64MiB"), 64u << 20);
  EXPECT_EQ(*ParseByteCount("2GiB"), std::uint64_t{2} << 30);
  EXPECT_EQ(*ParseByteCount("18446744073709551615"), std::numeric_limits<std::uint64_t>::max());
  for (const char* bad : {"", "k", "-1", "1.5M", "1MB", "1 MiB", "1m", "18446744073709551616", "17179869184G"}) {
    const auto r = ParseByteCount(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  }
}

TEST(AppParse, Integers) {
  EXPECT_EQ(*ParseInteger<std::uint64_t>("0"), 0u);
  EXPECT_EQ(*ParseInteger<std::uint64_t>("18446744073709551615"), std::numeric_limits<std::uint64_t>::max());
  EXPECT_EQ(*ParseInteger<std::uint32_t>("4294967295"), std::numeric_limits<std::uint32_t>::max());
  EXPECT_EQ(*ParseInteger<std::int32_t>("-2147483648"), std::numeric_limits<std::int32_t>::min());
  EXPECT_EQ(*ParseInteger<std::int64_t>("42"), 42);
  for (const char* bad : {"", "-1", "+1", " 1", "1 ", "1k", "0x10", "1.0", "18446744073709551616"}) {
    const auto r = ParseInteger<std::uint64_t>(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
    EXPECT_EQ(r.status().message(), std::string("'") + bad + "' is not a non-negative integer in range");
  }
  const auto over = ParseInteger<std::uint32_t>("4294967296");
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.status().WithContext("--max-chunks").message(),
            "--max-chunks: '4294967296' is not a non-negative integer in range");
  for (const char* bad : {"", "+1", "--1", "2147483648", "-2147483649", "1e3"}) {
    const auto r = ParseInteger<std::int32_t>(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().message(), std::string("'") + bad + "' is not an integer in range");
  }
}

namespace po = boost::program_options;

// argv for ParseCommandLine, program name first.
class Argv {
 public:
  explicit Argv(std::vector<std::string> args) : args_(std::move(args)) {
    args_.insert(args_.begin(), "app");
    for (const auto& a : args_) ptrs_.push_back(a.c_str());
  }
  int argc() const { return static_cast<int>(ptrs_.size()); }
  const char* const* argv() const { return ptrs_.data(); }

 private:
  std::vector<std::string> args_;
  std::vector<const char*> ptrs_;
};

struct TestOptions {
  std::string name;
  std::vector<std::string> tags, files;
  po::options_description visible{"Options"};
  po::options_description hidden;
  po::positional_options_description positional;
  TestOptions() {
    visible.add_options()("help,h", "show this help")("name", po::value(&name), "a name")(
        "tag", po::value(&tags)->composing(), "a tag (repeatable)")("config", po::value<std::string>(), "FILE");
    hidden.add_options()("file", po::value(&files)->composing());
    positional.add("file", -1);
  }
  CommandLineSpec Spec(std::string_view config_option = {}) const {
    return {.usage = "Usage: app [options] FILE...\n",
            .description = "\nDoes things.\n",
            .visible = &visible,
            .hidden = &hidden,
            .positional = &positional,
            .config_option = config_option};
  }
};

TEST(AppCommandLine, ParsesOptionsAndPositionalsAndWritesHelp) {
  TestOptions t;
  po::variables_map vm;
  std::string help;
  const Argv a({"--name", "x", "f1", "--tag", "a", "f2", "--tag", "b"});
  auto r = ParseCommandLine(a.argc(), a.argv(), t.Spec(), vm, &help);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(*r);
  EXPECT_EQ(t.name, "x");
  EXPECT_EQ(t.tags, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(t.files, (std::vector<std::string>{"f1", "f2"}));
  EXPECT_TRUE(help.starts_with("Usage: app [options] FILE...\n\nDoes things.\n\nOptions:\n")) << help;
  EXPECT_NE(help.find("--name"), std::string::npos) << help;
  EXPECT_EQ(help.find("--file"), std::string::npos) << "hidden options are not listed: " << help;
}

TEST(AppCommandLine, HelpIsReported) {
  for (const char* flag : {"--help", "-h"}) {
    TestOptions t;
    po::variables_map vm;
    const Argv a({"f1", flag});
    auto r = ParseCommandLine(a.argc(), a.argv(), t.Spec(), vm, nullptr);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_TRUE(*r) << flag;
  }
}

TEST(AppCommandLine, BoostErrorsBecomeInvalidArgument) {
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"--nope"}, {"--name"}, {"--name", "a", "--name", "b"}}) {
    TestOptions t;
    po::variables_map vm;
    const Argv a(args);
    auto r = ParseCommandLine(a.argc(), a.argv(), t.Spec(), vm, nullptr);
    ASSERT_FALSE(r.ok()) << args.front();
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
    EXPECT_FALSE(r.status().message().empty());
  }
}

TEST(AppCommandLine, ConfigFileComesAfterTheCommandLine) {
  const std::string path = ::testing::TempDir() + "app_parse_test_" + std::to_string(::getpid()) + ".conf";
  {
    std::ofstream out(path);
    out << "name = from-file\ntag = file-tag\n";
  }
  {
    TestOptions t;
    po::variables_map vm;
    const Argv a({"--config", path, "--name", "from-argv", "--tag", "argv-tag"});
    auto r = ParseCommandLine(a.argc(), a.argv(), t.Spec("config"), vm, nullptr);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(t.name, "from-argv");  // single-valued: the command line wins
    EXPECT_EQ(t.tags, (std::vector<std::string>{"argv-tag", "file-tag"}));  // repeatable: merged
  }
  {
    TestOptions t;
    po::variables_map vm;
    const Argv a({"--config", path});
    auto r = ParseCommandLine(a.argc(), a.argv(), t.Spec(), vm, nullptr);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_TRUE(t.name.empty()) << "without a config option the file is not read";
  }
  std::filesystem::remove(path);
  TestOptions t;
  po::variables_map vm;
  const Argv a({"--config", path});
  auto r = ParseCommandLine(a.argc(), a.argv(), t.Spec("config"), vm, nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "--config: cannot open '" + path + "'");
}

int Throws(int, char**) { throw std::runtime_error("out of luck"); }
int Returns(int argc, char**) { return argc + 40; }

TEST(AppMain, ReturnsTheRunStatus) {
  char* argv[] = {nullptr};
  EXPECT_EQ(RunMain("app", &Returns, 2, argv), 42);
}

TEST(AppMain, AnEscapingExceptionIsReportedAndFails) {
  char* argv[] = {nullptr};
  ::testing::internal::CaptureStderr();
  const int status = RunMain("app", &Throws, 0, argv, 7);
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(status, 7);
  EXPECT_EQ(err, "app: out of luck\n");
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(RunMain("app", &Throws, 0, argv), 1);
  ::testing::internal::GetCapturedStderr();
}

}  // namespace
}  // namespace exactly::apps

// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// librdkafka's log lines through a KafkaLogSink: every line reaches the
// sink, except that the warning about enable.gapless.guarantee (which the
// relay sets on each of its output producers) is passed on once per
// process, not once per producer.
#include <gtest/gtest.h>

#include <mutex>
#include <string>
#include <vector>

#include "exactly/kafka/log.h"
#include "exactly/kafka/producer.h"

namespace exactly::testing {
namespace {

struct Line {
  int level;
  std::string facility, client, message;
};

class RecordingSink final : public kafka::KafkaLogSink {
 public:
  void Log(int level, std::string_view facility, std::string_view client, std::string_view message) noexcept override {
    std::lock_guard lock(mu_);
    lines_.push_back({level, std::string(facility), std::string(client), std::string(message)});
  }
  std::vector<Line> lines() {
    std::lock_guard lock(mu_);
    return lines_;
  }

 private:
  std::mutex mu_;
  std::vector<Line> lines_;
};

std::size_t Count(const std::vector<Line>& lines, std::string_view facility, std::string_view text) {
  std::size_t n = 0;
  for (const auto& l : lines) {
    if (l.facility == facility && l.message.find(text) != std::string::npos) ++n;
  }
  return n;
}

// One test: the warning is once per process, and ctest runs each test in
// a process of its own.
TEST(KafkaLog, GaplessWarningOncePerProcessOtherWarningsEveryTime) {
  // No broker is needed: both warnings are logged while the client is
  // created. Port 1 refuses connections, and the producers are closed
  // at once.
  const auto create_three = [] {
    for (int i = 0; i < 3; ++i) {
      auto producer = kafka::Producer::Create(kafka::KafkaConfig{{"bootstrap.servers", "127.0.0.1:1"},
                                                                 {"enable.idempotence", "true"},
                                                                 {"enable.gapless.guarantee", "true"},
                                                                 // A property the consumer uses:
                                                                 // librdkafka warns about it in a
                                                                 // producer on every creation.
                                                                 {"auto.offset.reset", "earliest"}});
      ASSERT_TRUE(producer.ok()) << producer.status().ToString();
      (void)producer->Close(std::chrono::milliseconds(100));
    }
  };
  RecordingSink sink;
  kafka::SetKafkaLogSink(&sink);
  ASSERT_NO_FATAL_FAILURE(create_three());
  kafka::SetKafkaLogSink(nullptr);
  const auto lines = sink.lines();
  EXPECT_EQ(Count(lines, "CONFWARN", "enable.gapless.guarantee is experimental"), 1u);
  EXPECT_EQ(Count(lines, "CONFWARN", "auto.offset.reset"), 3u) << "other warnings must not be filtered";

  // Without a sink the lines go to stderr, filtered the same way (the
  // warning was already given once in this process).
  ::testing::internal::CaptureStderr();
  create_three();
  const std::string err = ::testing::internal::GetCapturedStderr();
  std::size_t offset_warnings = 0;
  for (std::size_t at = 0; (at = err.find("auto.offset.reset", at)) != std::string::npos; ++at) ++offset_warnings;
  EXPECT_EQ(offset_warnings, 3u) << err;
  EXPECT_EQ(err.find("enable.gapless.guarantee is experimental"), std::string::npos) << err;
}

}  // namespace
}  // namespace exactly::testing

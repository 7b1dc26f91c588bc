// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
#include "kafka_support.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <set>
#include <thread>
#include <utility>

#include <fmt/format.h>

#include "demo_traffic.h"
#include "exactly/crc32c.h"
#include "exactly/envelope.h"
#include "exactly/kafka/consumer.h"
#include "exactly/kafka/producer.h"
#include "exactly/kafka/read_back.h"
#include "relay_test_util.h"

namespace exactly::testing {

namespace {
using Clock = std::chrono::steady_clock;

std::chrono::milliseconds Left(Clock::time_point deadline) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
}
}  // namespace

kafka::KafkaConfig ConsumerConfig(const std::string& bootstraps) {
  return kafka::KafkaConfig{{"bootstrap.servers", bootstraps},
                            {"fetch.wait.max.ms", "10"},
                            {"enable.auto.commit", "false"},
                            {"enable.auto.offset.store", "false"},
                            // Never silently skip data the mock dropped.
                            {"auto.offset.reset", "error"},
                            {"reconnect.backoff.max.ms", "500"}};
}

kafka::KafkaConfig ProducerConfig(const std::string& bootstraps) {
  return kafka::KafkaConfig{{"bootstrap.servers", bootstraps}, {"reconnect.backoff.max.ms", "500"},
                            {"linger.ms", "5"}};
}

Result<std::vector<OwnedRecord>> ReadAll(const std::string& bootstraps, const std::string& topic, int partitions,
                                         std::chrono::milliseconds timeout) {
  auto conf = ConsumerConfig(bootstraps);
  // EXACTLY_TEST_DEBUG=broker,protocol,... turns on librdkafka debug logs when diagnosing a test.
  if (const char* dbg = std::getenv("EXACTLY_TEST_DEBUG")) conf.Set("debug", dbg);
  return kafka::ReadTopicToEnd(conf, topic, partitions, timeout);
}

Result<std::vector<Reassembled>> ReassembleByHand(const std::vector<OwnedRecord>& records) {
  std::vector<Reassembled> out;
  std::optional<Reassembled> open;
  std::uint32_t next_index = 0;
  std::uint64_t size = 0;
  std::uint32_t crc = 0;
  for (const OwnedRecord& r : records) {
    const RecordView v = r.view();
    const Envelope env = Classify(v.headers);
    const std::string where = fmt::format("{}[{}]@{}", r.topic, r.partition.value(), r.offset.value());
    if (env.kind != EnvelopeKind::kStamped) {
      return Status::Corruption(fmt::format("{}: not validly stamped ({})", where, MalformedReasonName(env.reason)));
    }
    std::vector<OwnedHeader> user;
    for (const auto& h : r.headers) {
      if (!IsEnvelopeHeader(h.name)) user.push_back(h);
    }
    if (open) {
      if (!env.chunk || env.chunk->index == 0) {
        return Status::Corruption(fmt::format("{}: message seq {} ended after {} chunks", where,
                                              open->stamp.seq.value(), next_index));
      }
      if (env.producer != open->producer || env.stamp != open->stamp || r.partition != open->partition ||
          env.chunk->index != next_index || env.chunk->count != open->chunks || env.size != size || env.crc != crc) {
        return Status::Corruption(fmt::format("{}: chunk {} does not continue its message", where, env.chunk->index));
      }
      if (!user.empty()) return Status::Corruption(fmt::format("{}: user headers on a chunk > 0", where));
      open->value += r.value.value_or("");
    } else {
      if (env.chunk && env.chunk->index != 0) {
        return Status::Corruption(fmt::format("{}: chunk {} without chunk 0", where, env.chunk->index));
      }
      open = Reassembled{r.partition, std::string(env.producer), env.stamp, env.chunk ? env.chunk->count : 0,
                         r.key, r.value.value_or(""), user};
      next_index = 0;
      size = env.size.value_or(0);
      crc = env.crc.value_or(0);
    }
    if (!env.chunk || ++next_index == env.chunk->count) {
      if (env.chunk && (open->value.size() != size || crc32c::Value(open->value) != crc)) {
        return Status::Corruption(fmt::format("{}: reassembled message fails eo.size/eo.crc", where));
      }
      out.push_back(std::move(*open));
      open.reset();
    }
  }
  if (open) return Status::Corruption(fmt::format("message seq {} incomplete at the end", open->stamp.seq.value()));
  return out;
}

// --- Subprocess -------------------------------------------------------------

Result<Subprocess> Subprocess::Spawn(const std::vector<std::string>& argv) {
  int in[2], out[2];
  if (::pipe2(in, O_CLOEXEC) != 0) return Status::IoError("pipe");
  if (::pipe2(out, O_CLOEXEC) != 0) {
    ::close(in[0]);
    ::close(in[1]);
    return Status::IoError("pipe");
  }
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) return Status::IoError(fmt::format("fork: {}", std::strerror(errno)));
  if (pid == 0) {
    ::dup2(in[0], STDIN_FILENO);
    ::dup2(out[1], STDOUT_FILENO);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  ::close(in[0]);
  ::close(out[1]);
  return Subprocess(pid, in[1], out[0]);
}

Subprocess::Subprocess(Subprocess&& o) noexcept
    : pid_(std::exchange(o.pid_, -1)),
      in_(std::exchange(o.in_, -1)),
      out_(std::exchange(o.out_, -1)),
      buffered_(std::move(o.buffered_)),
      reaped_(std::exchange(o.reaped_, true)) {}

Subprocess::~Subprocess() {
  if (in_ >= 0) ::close(in_);
  if (out_ >= 0) ::close(out_);
  if (pid_ > 0 && !reaped_) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
}

Result<std::string> Subprocess::ReadLine(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    if (auto nl = buffered_.find('\n'); nl != std::string::npos) {
      std::string line = buffered_.substr(0, nl);
      buffered_.erase(0, nl + 1);
      return line;
    }
    const auto left = Left(deadline);
    if (left.count() <= 0) return Status::TimedOut(fmt::format("no line within {} ms", timeout.count()));
    pollfd pfd{out_, POLLIN, 0};
    const int ready = ::poll(&pfd, 1, static_cast<int>(left.count()));
    if (ready <= 0) continue;
    char buf[4096];
    const ssize_t n = ::read(out_, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Status::NotFound("end of output");
    buffered_.append(buf, static_cast<std::size_t>(n));
  }
}

Status Subprocess::Write(const std::string& text) {
  std::string_view rest = text;
  while (!rest.empty()) {
    const ssize_t n = ::write(in_, rest.data(), rest.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::IoError(fmt::format("write to child: {}", std::strerror(errno)));
    }
    rest.remove_prefix(static_cast<std::size_t>(n));
  }
  return Status::OK();
}

void Subprocess::CloseStdin() {
  if (in_ >= 0) ::close(std::exchange(in_, -1));
}

void Subprocess::Signal(int sig) {
  if (pid_ > 0 && !reaped_) ::kill(pid_, sig);
}

Result<int> Subprocess::Wait(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    int status = 0;
    const pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      reaped_ = true;
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    if (Left(deadline).count() <= 0) return Status::TimedOut("child still running");
    std::this_thread::sleep_for(20ms);
  }
}

void GenerateRelayInput(const std::string& bootstraps, const std::string& topic, int partitions,
                        const std::string& prefix, std::uint64_t messages,
                        const std::vector<std::size_t>& large_messages) {
  auto pconf = RelayProducerConfig(bootstraps);
  pconf.Set("enable.idempotence", "true");
  auto producer = kafka::Producer::Create(pconf);
  ASSERT_TRUE(producer.ok()) << producer.status().ToString();
  relay_demo::TrafficOptions traffic;
  traffic.topic = topic;
  traffic.partitions = partitions;
  traffic.producers = 2;
  traffic.producer_prefix = prefix;
  traffic.messages = messages;
  traffic.retry_percent = 5;
  traffic.large_messages = large_messages;
  relay_demo::TrafficReport report;
  const Status st = relay_demo::GenerateTraffic(*producer, traffic, &report);
  ASSERT_TRUE(st.ok()) << st.ToString();
}

void ExpectOutputMatchesReference(const std::string& bootstraps, const std::string& input_topic,
                                  const std::string& output_topic, const std::string& relay_id, RelayRun* run) {
  auto input = relay_demo::ReadTopic(bootstraps, input_topic, 30s);
  auto output = relay_demo::ReadTopic(bootstraps, output_topic, 30s);
  ASSERT_TRUE(input.ok()) << input.status().ToString();
  ASSERT_TRUE(output.ok()) << output.status().ToString();
  RelayRun read;
  read.reference = relay_demo::ComputeReference(*input);
  read.index = relay_demo::IndexOutput(*output, relay_id, Epoch(0));
  const auto v = relay_demo::Compare(read.reference, read.index);
  for (const auto& e : v.examples) ADD_FAILURE() << e;
  EXPECT_TRUE(v.ok()) << "lost " << v.lost << ", extra " << v.extra << ", mismatched " << v.mismatched
                      << ", invalid " << v.invalid;
  if (run != nullptr) {
    read.input = std::move(*input);
    read.output = std::move(*output);
    *run = std::move(read);
  }
}

void ExpectOutputInStampOrder(const std::vector<OwnedRecord>& output) {
  std::map<std::string, std::uint64_t> highest;
  std::set<std::pair<std::string, std::uint64_t>> seen;
  std::uint64_t reordered = 0;
  for (const auto& r : output) {
    const Envelope env = Classify(r.view().headers);
    if (env.kind != EnvelopeKind::kStamped || (env.chunk && env.chunk->index + 1 != env.chunk->count)) continue;
    const std::string producer(env.producer);
    const std::uint64_t seq = env.stamp.seq.value();
    if (!seen.emplace(producer, seq).second) continue;  // a repeat: dropped downstream, harmless
    auto [it, first] = highest.emplace(producer, seq);
    if (!first && seq < it->second) {
      if (++reordered <= 5) {
        ADD_FAILURE() << "out[" << r.partition.value() << "]@" << r.offset.value() << ": " << producer << " seq "
                      << seq << " first appears after seq " << it->second;
      }
    }
    if (seq > it->second) it->second = seq;
  }
  EXPECT_EQ(reordered, 0u) << "output messages a downstream consumer would drop as late";
}

}  // namespace exactly::testing

// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
#include "kafka_support.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <utility>

#include <fmt/format.h>

#include "exactly/crc32c.h"
#include "exactly/envelope.h"
#include "exactly/kafka/consumer.h"
#include "exactly/kafka/read_back.h"

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

}  // namespace exactly::testing

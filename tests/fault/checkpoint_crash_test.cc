// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// Crash test of the checkpoint store: a child process checkpoints the
// synthetic engine of checkpoint_crash_model.h in a loop and is killed
// with SIGKILL at random instants. After each kill the store must hold
// exactly the state of one checkpoint (offsets, watermarks, chunks and
// application state all from the same round, never a mix), and at least
// the last round the child reported as committed.
//
// Seeded: a fixed seed by default, EXACTLY_CRASH_SEED=<n> to choose
// another (to explore, or to replay the kill instants of a run); the seed
// is printed with every failure. The kills land where the OS schedules the
// child, so a seed reproduces the instants, not the interleaving.
// EXACTLY_CRASH_KILLS=<n> changes the number of kills.
#include <fcntl.h>
#include <poll.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "checkpoint_crash_model.h"
#include "unit/temp_dir.h"

extern char** environ;

namespace exactly {
namespace {

using unit_test::TempDir;

std::uint64_t EnvOr(const char* name, std::uint64_t fallback) {
  const char* v = std::getenv(name);
  return v ? std::strtoull(v, nullptr, 10) : fallback;
}

// Spawns the child and kills it: `run_for` after it reported its first
// committed round or, when `early`, `run_for` after it started (while it
// opens or recovers the store). Returns the rounds it reported.
std::vector<std::uint64_t> RunAndKill(const std::string& dir, bool early, std::chrono::microseconds run_for,
                                      int* exit_info) {
  int fds[2];
  EXPECT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 3);  // dup2 clears CLOEXEC
  std::string exe = EXACTLY_CRASH_CHILD;
  std::string fd_arg = "3";
  char* argv[] = {exe.data(), const_cast<char*>(dir.c_str()), fd_arg.data(), nullptr};
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, exe.c_str(), &actions, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(fds[1]);
  EXPECT_EQ(rc, 0) << "spawning " << exe;
  if (rc != 0) {
    ::close(fds[0]);
    return {};
  }
  std::vector<std::uint64_t> rounds;
  std::uint64_t r = 0;
  if (!early) {
    // Bounded: a child that never commits fails the test below, not hangs it.
    pollfd pfd{fds[0], POLLIN, 0};
    if (::poll(&pfd, 1, 10000) == 1 && ::read(fds[0], &r, sizeof(r)) == static_cast<ssize_t>(sizeof(r))) {
      rounds.push_back(r);
    }
  }
  std::this_thread::sleep_for(run_for);
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  *exit_info = status;
  while (::read(fds[0], &r, sizeof(r)) == static_cast<ssize_t>(sizeof(r))) rounds.push_back(r);
  ::close(fds[0]);
  return rounds;
}

TEST(CheckpointCrash, EveryKillLeavesExactlyOneWholeCheckpoint) {
  const std::uint64_t seed = EnvOr("EXACTLY_CRASH_SEED", 20261122);
  const std::uint64_t kills = EnvOr("EXACTLY_CRASH_KILLS", 60);
  SCOPED_TRACE("EXACTLY_CRASH_SEED=" + std::to_string(seed));
  std::mt19937_64 rng(seed);
  TempDir tmp;
  crash_model::Model model;
  std::uint64_t acknowledged = 0;  // highest round reported as committed
  std::uint64_t killed_mid_run = 0;

  for (std::uint64_t kill = 1; kill <= kills; ++kill) {
    SCOPED_TRACE("kill " + std::to_string(kill));
    // Mostly while checkpointing; one kill in eight while the child opens
    // or recovers the store.
    const bool early = rng() % 8 == 0;
    const auto run_for = std::chrono::microseconds(early ? rng() % 40000 : rng() % 50000);
    int status = 0;
    const std::vector<std::uint64_t> reported = RunAndKill(tmp.path, early, run_for, &status);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
        << "the child exited on its own (status " << status << "); see its stderr above";
    for (std::uint64_t r : reported) {
      ASSERT_EQ(r, acknowledged + 1) << "rounds are reported in order, each once";
      acknowledged = r;
    }
    if (!reported.empty()) ++killed_mid_run;

    auto opened = crash_model::ChurnyOptions();
    auto store = CheckpointStore::Open(tmp.path, opened);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    auto l0 = (*store)->Load(crash_model::Tp(0));
    auto l1 = (*store)->Load(crash_model::Tp(1));
    ASSERT_TRUE(l0.ok()) << l0.status().ToString();
    ASSERT_TRUE(l1.ok()) << l1.status().ToString();
    ASSERT_EQ(l0->has_value(), l1->has_value()) << "one partition checkpointed without the other";
    const std::uint64_t round = l0->has_value() ? crash_model::RoundOf((*l0)->next_offset) : 0;
    if (l1->has_value()) {
      ASSERT_EQ((*l1)->next_offset, crash_model::NextOffset(round, 1)) << "partitions from different checkpoints";
    }
    ASSERT_GE(round, acknowledged) << "a checkpoint reported as committed was lost";
    ASSERT_LE(round, acknowledged + 1) << "more rounds than the child ever ran";
    EXPECT_EQ((*store)->Info().last_checkpoint, round);
    acknowledged = round;  // the in-flight round may have made it
    model.AdvanceTo(round);
    if (round > 0) {
      for (int p = 0; p < crash_model::kPartitions; ++p) {
        const auto& loaded = p == 0 ? **l0 : **l1;
        EXPECT_EQ(loaded.checkpoint, round);
        PartitionState want = model.State(p);
        ASSERT_EQ(loaded.state.producers, want.producers) << "partition " << p << " at round " << round;
        ASSERT_EQ(loaded.state.in_progress, want.in_progress) << "partition " << p << " at round " << round;
        ASSERT_EQ(loaded.state.max_timestamp, want.max_timestamp) << "partition " << p << " at round " << round;
      }
    }
    std::map<std::string, std::string> app;
    ASSERT_TRUE((*store)
                    ->ScanApp("crash", "",
                              [&](std::string_view k, std::string_view v) {
                                app.emplace(k, v);
                                return true;
                              })
                    .ok());
    ASSERT_EQ(app, model.app()) << "application state from another checkpoint, at round " << round;
    if (kill % 10 == 0) {
      ASSERT_TRUE((*store)->Verify().ok());
    }
  }
  // The test is only worth something if kills landed among commits.
  EXPECT_GT(killed_mid_run, kills * 3 / 4);
  EXPECT_GT(acknowledged, kills);
  std::printf("checkpoint crash test: seed %llu, %llu kills, %llu rounds committed\n",
              static_cast<unsigned long long>(seed), static_cast<unsigned long long>(kills),
              static_cast<unsigned long long>(acknowledged));
}

}  // namespace
}  // namespace exactly

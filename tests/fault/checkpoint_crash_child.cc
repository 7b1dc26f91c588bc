// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// Child of the checkpoint crash test: resumes the synthetic engine of
// checkpoint_crash_model.h from the store in DIR and checkpoints one round
// after another, forever, writing each round number to file descriptor FD
// (8 bytes, native order) once its Commit returned OK. The parent kills it
// with SIGKILL at a random instant.
//
// usage: checkpoint_crash_child DIR FD
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "checkpoint_crash_model.h"

using namespace exactly;  // NOLINT: a test program

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s DIR FD\n", argv[0]);
    return 2;
  }
  const int fd = std::atoi(argv[2]);
  auto opened = CheckpointStore::Open(argv[1], crash_model::ChurnyOptions());
  if (!opened.ok()) {
    std::fprintf(stderr, "crash child: open: %s\n", opened.status().ToString().c_str());
    return 3;
  }
  auto store = std::move(opened).value();
  auto loaded = store->Load(crash_model::Tp(0));
  if (!loaded.ok()) {
    std::fprintf(stderr, "crash child: load: %s\n", loaded.status().ToString().c_str());
    return 3;
  }
  std::uint64_t r = *loaded ? crash_model::RoundOf((*loaded)->next_offset) : 0;
  for (;;) {
    ++r;
    Checkpoint cp = store->BeginCheckpoint();
    for (int p = 0; p < crash_model::kPartitions; ++p) {
      Status st = cp.AddPartitionChanges(crash_model::Tp(p), crash_model::NextOffset(r, p),
                                         [&](ChangeVisitor& v) { crash_model::EmitRound(r, p, v); });
      if (!st.ok()) {
        std::fprintf(stderr, "crash child: round %llu: %s\n", static_cast<unsigned long long>(r), st.ToString().c_str());
        return 4;
      }
    }
    AppTransaction txn = store->BeginApp("crash").value();
    crash_model::StageApp(r, txn);
    (void)cp.Stage(std::move(txn));
    Status st = store->Commit(std::move(cp));
    if (!st.ok()) {
      std::fprintf(stderr, "crash child: commit %llu: %s\n", static_cast<unsigned long long>(r), st.ToString().c_str());
      return 4;
    }
    if (::write(fd, &r, sizeof(r)) != static_cast<ssize_t>(sizeof(r))) return 5;
  }
}

// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// The "idempotent consumer" recipe the relay is compared against, written
// as it is commonly written with librdkafka and RocksDB:
//
//   loop:
//     poll a batch (up to max_batch records: the first poll waits up to
//       100 ms, the rest take what is already fetched; Java's
//       max.poll.records defaults to 500)
//     for each record:
//       id = eo.producer + " " + eo.epoch + " " + eo.seq (header values)
//       if id was seen in this batch or db.Get(id) finds it: skip
//       else produce it to the output (same partition, key, value, headers)
//            and stage Put(id) in the batch's WriteBatch
//     producer.flush()      // outputs durable before their ids are
//     db.Write(batch, sync) // one synced write per poll batch
//     consumer.commitSync(the batch's next offsets)
//
// The order (flush, then ids, then offsets) is the one that loses nothing
// on a crash: a crash before the id write re-reads the batch and produces
// its records again (duplicates downstream, as with the relay's replay).
// `per_record` is the other common form: a synced Put per record right
// after its produce (flush and commit still per batch).
//
// The DB is a plain rocksdb::DB in a fresh directory (default options,
// create_if_missing), sync writes unless `sync` is false.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "bench_support.h"

namespace exactly::bench {

struct RecipeOptions {
  std::size_t max_batch = 500;
  bool sync = true;
  bool per_record = false;
  // linger.ms of the recipe's producer (-1: the shared setting, 5 ms). Its
  // flush() per batch waits for the linger: 0 suits the recipe better.
  int linger_ms = -1;
};

struct RecipeResult {
  Measurement m;
  std::uint64_t produced = 0;  // records forwarded (not found in the DB)
  std::uint64_t skipped = 0;   // records whose id was already there
  std::uint64_t batches = 0;
  // Wall seconds in each step, over the timed window.
  double poll_s = 0, process_s = 0, flush_s = 0, write_s = 0, commit_s = 0;
};

RecipeResult RunIdempotentRecipe(kafka::MockCluster& cluster, const Input& input, const std::string& group,
                                 const std::string& output, const RecipeOptions& options);

}  // namespace exactly::bench

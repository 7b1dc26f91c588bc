// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// The fault-injection command language of exactly-broker: one command per
// line, words separated by blanks; blank lines and lines starting with '#'
// are ignored. Each command is answered with one line, `ok` or
// `error: <why>`.
//
//   down BROKER                      take broker BROKER (1..N) down
//   up BROKER                        bring broker BROKER back up
//   leader TOPIC PARTITION BROKER    make BROKER the partition's leader (-1: none)
//   rtt BROKER MS                    delay broker BROKER's responses by MS ms (0: none)
//   errors API COUNT ERROR           fail the next COUNT requests of API (e.g. Produce,
//                                    Fetch, OffsetCommit, or a number) with ERROR (a Kafka
//                                    error name such as NOT_LEADER_FOR_PARTITION, or a number)
//   clear API                        forget injected errors not yet used for API
//   topic NAME PARTITIONS            create a topic
//   help                             this list (several lines, then `ok`)
#pragma once

#include <string>
#include <string_view>

#include "exactly/kafka/mock_cluster.h"
#include "exactly/status.h"

namespace exactly::apps {

inline constexpr std::string_view kBrokerCommandHelp =
    "down BROKER                      take broker BROKER (1..N) down\n"
    "up BROKER                        bring broker BROKER back up\n"
    "leader TOPIC PARTITION BROKER    make BROKER the partition's leader (-1: none)\n"
    "rtt BROKER MS                    delay broker BROKER's responses by MS ms (0: none)\n"
    "errors API COUNT ERROR           fail the next COUNT requests of API (Produce, Fetch,\n"
    "                                 OffsetCommit, ... or a number) with ERROR (a Kafka\n"
    "                                 error name such as NOT_LEADER_FOR_PARTITION, or a number)\n"
    "clear API                        forget injected errors not yet used for API\n"
    "topic NAME PARTITIONS            create a topic\n"
    "help                             this list\n";

// Executes one line. Returns the answer line without the newline, or an
// empty string for a line that needs no answer (blank or comment).
std::string RunBrokerCommand(kafka::MockCluster& cluster, std::string_view line);

}  // namespace exactly::apps

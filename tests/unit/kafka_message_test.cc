// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// KafkaMessage's reading of librdkafka's errors carried as messages: a
// topic the cluster does not have (the consumer loop stops, naming it) is
// told apart from a partition the client's metadata lacks for now (the
// loop logs it and goes on), though both are kNotFound.
#include "exactly/kafka/message.h"

#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>

#include "exactly/status.h"

namespace exactly::kafka {
namespace {

struct Case {
  rd_kafka_resp_err_t err;
  bool topic_unknown;
  Code code;
};

TEST(KafkaMessageErrors, TopicUnknownOnlyForTopicLevelErrors) {
  for (const Case& c : {Case{RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART, true, Code::kNotFound},
                        Case{RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC, true, Code::kNotFound},
                        Case{RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION, false, Code::kNotFound},
                        Case{RD_KAFKA_RESP_ERR__TRANSPORT, false, Code::kUnavailable},
                        Case{RD_KAFKA_RESP_ERR_NO_ERROR, false, Code::kOk}}) {
    rd_kafka_message_t raw{};
    raw.err = c.err;
    raw.partition = 0;
    KafkaMessage m(&raw);
    EXPECT_EQ(m.topic_unknown(), c.topic_unknown) << rd_kafka_err2name(c.err);
    EXPECT_EQ(m.status().code(), c.code) << rd_kafka_err2name(c.err) << ": " << m.status().ToString();
    (void)m.release();  // not librdkafka's to destroy
  }
  EXPECT_FALSE(KafkaMessage().topic_unknown());
}

}  // namespace
}  // namespace exactly::kafka

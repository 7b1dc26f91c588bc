// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
#include "handles.h"

#include <fmt/format.h>

#include <atomic>
#include <charconv>
#include <cstdio>
#include <string>

#include "exactly/kafka/log.h"

namespace exactly::kafka::detail {

Status SetProperty(rd_kafka_conf_t* conf, std::string_view key, std::string_view value) {
  char errstr[512] = {0};
  const std::string k(key);
  const std::string v(value);
  if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
    return Status::InvalidArgument(fmt::format("bad librdkafka property '{}={}': {}", k, v, errstr));
  }
  return Status::OK();
}

Result<ConfPtr> BuildConf(const KafkaConfig& config) {
  ConfPtr conf(rd_kafka_conf_new());
  if (!conf) return Status::Internal("rd_kafka_conf_new failed");
  for (const auto& [k, v] : config.pairs()) {
    EXACTLY_RETURN_IF_ERROR(SetProperty(conf.get(), k, v));
  }
  return conf;
}

namespace {

std::atomic<KafkaLogSink*> g_log_sink{nullptr};
std::atomic<bool> g_gapless_warned{false};

// librdkafka warns at every client's creation that
// enable.gapless.guarantee is experimental. The relay sets it on purpose
// on every output producer (one per input producer), so the warning would
// repeat for as many producers as the input has: once says it.
bool RepeatedGaplessWarning(const char* fac, const char* buf) {
  if (fac == nullptr || buf == nullptr || std::string_view(fac) != "CONFWARN") return false;
  if (std::string_view(buf).find("enable.gapless.guarantee is experimental") == std::string_view::npos) return false;
  return g_gapless_warned.exchange(true, std::memory_order_relaxed);
}

void RouteLog(const rd_kafka_t* rk, int level, const char* fac, const char* buf) {
  if (RepeatedGaplessWarning(fac, buf)) return;
  KafkaLogSink* sink = g_log_sink.load(std::memory_order_acquire);
  const char* name = rk != nullptr ? rd_kafka_name(rk) : "";
  if (sink != nullptr) {
    sink->Log(level, fac != nullptr ? fac : "", name, buf != nullptr ? buf : "");
  } else {
    std::fprintf(stderr, "%%%d|%s|%s| %s\n", level, fac != nullptr ? fac : "", name, buf != nullptr ? buf : "");
  }
}

}  // namespace

Result<HandlePtr> NewHandle(rd_kafka_type_t type, ConfPtr conf) {
  // Always ours, also without a sink (RouteLog then prints as librdkafka
  // would), so the repeated warning above is dropped everywhere.
  rd_kafka_conf_set_log_cb(conf.get(), &RouteLog);
  char errstr[512] = {0};
  // rd_kafka_new takes ownership of conf only on success.
  rd_kafka_t* rk = rd_kafka_new(type, conf.get(), errstr, sizeof errstr);
  if (rk == nullptr) {
    return Status::InvalidArgument(
        fmt::format("cannot create librdkafka {}: {}", type == RD_KAFKA_PRODUCER ? "producer" : "consumer", errstr));
  }
  (void)conf.release();
  return HandlePtr(rk);
}

Result<std::size_t> ParseSizeProperty(std::string_view key, std::string_view text) {
  std::size_t v = 0;
  const auto r = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || r.ec != std::errc() || r.ptr != text.data() + text.size()) {
    return Status::InvalidArgument(fmt::format("librdkafka property '{}={}' is not a byte count", key, text));
  }
  return v;
}

Result<ProducerHandle> NewProducer(const KafkaConfig& config, void* opaque, DeliveryCallback on_delivery,
                                   ErrorCallback on_error) {
  auto conf = BuildConf(config);
  if (!conf.ok()) return conf.status();
  ProducerHandle out;
  char buf[64] = {0};
  size_t size = sizeof buf;
  if (rd_kafka_conf_get(conf->get(), "message.max.bytes", buf, &size) != RD_KAFKA_CONF_OK) {
    return Status::Internal("librdkafka has no message.max.bytes property");
  }
  auto max_bytes = ParseSizeProperty("message.max.bytes", buf);
  if (!max_bytes.ok()) return max_bytes.status();
  out.max_message_bytes = *max_bytes;
  rd_kafka_conf_set_opaque(conf->get(), opaque);
  rd_kafka_conf_set_dr_msg_cb(conf->get(), on_delivery);
  rd_kafka_conf_set_error_cb(conf->get(), on_error);
  auto rk = NewHandle(RD_KAFKA_PRODUCER, std::move(*conf));
  if (!rk.ok()) return rk.status();
  out.rk = std::move(*rk);
  return out;
}

Status FatalErrorStatus(rd_kafka_t* rk, std::string_view client, const char* reason) {
  char buf[512] = {0};
  const rd_kafka_resp_err_t orig = rd_kafka_fatal_error(rk, buf, sizeof buf);
  return Status::Aborted(
      fmt::format("fatal {} error: {} ({}); {}", client, buf, rd_kafka_err2name(orig), reason ? reason : ""));
}

namespace {
// librdkafka copies a zero-length value only by pointer; give it one that
// outlives every message.
constexpr char kEmpty[1] = {0};
}  // namespace

namespace {
// One of `topic` (a name) and `rkt` (a handle) is set.
rd_kafka_resp_err_t ProduceCopyTo(rd_kafka_t* rk, const char* topic, rd_kafka_topic_t* rkt,
                                  const OutgoingRecord& record, void* opaque) {
  HeadersPtr hdrs(rd_kafka_headers_new(record.headers.size()));
  for (const HeaderView& h : record.headers) {
    rd_kafka_header_add(hdrs.get(), h.name.data(), static_cast<ssize_t>(h.name.size()),
                        h.value ? (h.value->empty() ? kEmpty : h.value->data()) : nullptr,
                        h.value ? static_cast<ssize_t>(h.value->size()) : 0);
  }
  const void* key = record.key ? (record.key->empty() ? kEmpty : record.key->data()) : nullptr;
  void* value = const_cast<char*>(record.value ? (record.value->empty() ? kEmpty : record.value->data()) : nullptr);
  // librdkafka's RD_KAFKA_V_* macros do not parenthesise their arguments,
  // and type-check them in statement expressions (a GNU extension, which
  // clang's -Wpedantic reports even from a system header's macros).
  const std::int32_t partition = record.partition ? record.partition->value() : RD_KAFKA_PARTITION_UA;
  const std::size_t key_len = record.key ? record.key->size() : 0;
  const std::size_t value_len = record.value ? record.value->size() : 0;
#if defined(__clang__)
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wgnu-statement-expression"
#endif
  const rd_kafka_resp_err_t err =
      rkt != nullptr
          ? rd_kafka_producev(rk, RD_KAFKA_V_RKT(rkt), RD_KAFKA_V_PARTITION(partition),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_KEY(key, key_len),
                              RD_KAFKA_V_VALUE(value, value_len), RD_KAFKA_V_HEADERS(hdrs.get()),
                              RD_KAFKA_V_OPAQUE(opaque), RD_KAFKA_V_END)
          : rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(partition),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_KEY(key, key_len),
                              RD_KAFKA_V_VALUE(value, value_len), RD_KAFKA_V_HEADERS(hdrs.get()),
                              RD_KAFKA_V_OPAQUE(opaque), RD_KAFKA_V_END);
#if defined(__clang__)
#pragma clang diagnostic pop
#endif
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) (void)hdrs.release();  // now owned by the queued message
  return err;
}
}  // namespace

rd_kafka_resp_err_t ProduceCopy(rd_kafka_t* rk, const std::string& topic, const OutgoingRecord& record,
                                void* opaque) {
  return ProduceCopyTo(rk, topic.c_str(), nullptr, record, opaque);
}

rd_kafka_resp_err_t ProduceCopy(rd_kafka_t* rk, rd_kafka_topic_t* topic, const OutgoingRecord& record, void* opaque) {
  return ProduceCopyTo(rk, nullptr, topic, record, opaque);
}

void ReportCadence::Produced(rd_kafka_t* rk, std::uint64_t value_bytes) noexcept {
  const std::uint64_t records = records_.fetch_add(1, std::memory_order_relaxed) + 1;
  const std::uint64_t bytes = bytes_.fetch_add(value_bytes, std::memory_order_relaxed) + value_bytes;
  if (records < Producer::kServeReportsEveryRecords && bytes < Producer::kServeReportsEveryBytes) return;
  records_.store(0, std::memory_order_relaxed);
  bytes_.store(0, std::memory_order_relaxed);
  rd_kafka_poll(rk, 0);
}

namespace {
bool Retryable(rd_kafka_resp_err_t err) {
  switch (err) {
    case RD_KAFKA_RESP_ERR__TRANSPORT:
    case RD_KAFKA_RESP_ERR__TIMED_OUT:
    case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
    case RD_KAFKA_RESP_ERR__MSG_TIMED_OUT:
    case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN:
    case RD_KAFKA_RESP_ERR__QUEUE_FULL:
    case RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION:
    case RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_NOT_COORDINATOR:
    case RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS:
    case RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS:
    case RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND:
    case RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS:
    case RD_KAFKA_RESP_ERR_NETWORK_EXCEPTION:
      return true;
    default:
      return false;
  }
}

Code CodeFor(rd_kafka_resp_err_t err) {
  switch (err) {
    case RD_KAFKA_RESP_ERR__TIMED_OUT:
    case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
    case RD_KAFKA_RESP_ERR__MSG_TIMED_OUT:
      return Code::kTimedOut;
    case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
    case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
      return Code::kNotFound;
    case RD_KAFKA_RESP_ERR__INVALID_ARG:
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_INVALID_CONFIG:
      return Code::kInvalidArgument;
    case RD_KAFKA_RESP_ERR__QUEUE_FULL:
      return Code::kResourceExhausted;
    case RD_KAFKA_RESP_ERR__FATAL:
    case RD_KAFKA_RESP_ERR__FENCED:
    case RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER:
    case RD_KAFKA_RESP_ERR_PRODUCER_FENCED:
      return Code::kAborted;
    default:
      return Retryable(err) ? Code::kUnavailable : Code::kIoError;
  }
}
}  // namespace

Status FromError(rd_kafka_resp_err_t err, std::string_view what) {
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return Status::OK();
  return Status(CodeFor(err), fmt::format("{}: {} ({})", what, rd_kafka_err2str(err), rd_kafka_err2name(err)),
                Retryable(err));
}

Status FromErrorObject(rd_kafka_error_t* error, std::string_view what) {
  if (error == nullptr) return Status::OK();
  ErrorPtr owned(error);
  const bool fatal = rd_kafka_error_is_fatal(error) != 0;
  const bool retriable = !fatal && rd_kafka_error_is_retriable(error) != 0;
  return Status(fatal ? Code::kAborted : CodeFor(rd_kafka_error_code(error)),
                fmt::format("{}: {}{} ({})", what, fatal ? "fatal: " : "", rd_kafka_error_string(error),
                            rd_kafka_error_name(error)),
                retriable);
}

}  // namespace exactly::kafka::detail

namespace exactly::kafka {

void SetKafkaLogSink(KafkaLogSink* sink) noexcept { detail::g_log_sink.store(sink, std::memory_order_release); }

}  // namespace exactly::kafka

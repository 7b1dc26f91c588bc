// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// Status and Result<T>: the one error convention of the exactly library.
//
// Contract
// - Every fallible call returns a Status or a Result<T>; both are
//   [[nodiscard]]. The library never throws across its API (std::bad_alloc
//   excepted) and never lets an exception cross a librdkafka callback.
// - An OK Status is a single null pointer: copying or returning it costs no
//   allocation. Only errors carry a heap-allocated message.
// - retryable() separates conditions worth retrying as they are (a broker
//   that is down, a timeout, a lock held by another process) from fatal
//   ones (bad input, corruption, a bug). Callers decide the retry policy.
//
// Thread safety: a Status is a value. Distinct objects may be used from
// distinct threads; one object must not be mutated concurrently.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace exactly {

enum class Code : std::uint8_t {
  kOk = 0,
  kInvalidArgument,     // the caller's input is wrong (bad option, bad header)
  kNotFound,            // a looked-up thing does not exist
  kCorruption,          // stored or received data fails validation
  kIoError,             // the OS refused a read, write or sync
  kBusy,                // a resource is held by someone else (state-dir lock)
  kTimedOut,            // a blocking call reached its timeout
  kUnavailable,         // a transient outside failure (broker down)
  kAborted,             // stopped on purpose (shutdown, hook failure)
  kNotSupported,        // e.g. a newer on-disk format version
  kFailedPrecondition,  // called in the wrong state
  kResourceExhausted,   // a configured bound was hit
  kInternal,            // a broken invariant: a bug
};

// Human-readable name of a code, e.g. "Corruption".
std::string_view CodeName(Code code) noexcept;

class [[nodiscard]] Status {
 public:
  Status() noexcept = default;  // OK
  Status(const Status& other) : rep_(other.rep_ ? std::make_unique<Rep>(*other.rep_) : nullptr) {}
  Status& operator=(const Status& other) {
    if (this != &other) rep_ = other.rep_ ? std::make_unique<Rep>(*other.rep_) : nullptr;
    return *this;
  }
  Status(Status&&) noexcept = default;
  Status& operator=(Status&&) noexcept = default;
  ~Status() = default;

  static Status OK() noexcept { return Status(); }
  static Status InvalidArgument(std::string msg) { return Status(Code::kInvalidArgument, std::move(msg)); }
  static Status NotFound(std::string msg) { return Status(Code::kNotFound, std::move(msg)); }
  static Status Corruption(std::string msg) { return Status(Code::kCorruption, std::move(msg)); }
  static Status IoError(std::string msg) { return Status(Code::kIoError, std::move(msg)); }
  static Status Busy(std::string msg) { return Status(Code::kBusy, std::move(msg)); }
  static Status TimedOut(std::string msg) { return Status(Code::kTimedOut, std::move(msg)); }
  static Status Unavailable(std::string msg) { return Status(Code::kUnavailable, std::move(msg)); }
  static Status Aborted(std::string msg) { return Status(Code::kAborted, std::move(msg)); }
  static Status NotSupported(std::string msg) { return Status(Code::kNotSupported, std::move(msg)); }
  static Status FailedPrecondition(std::string msg) {
    return Status(Code::kFailedPrecondition, std::move(msg));
  }
  static Status ResourceExhausted(std::string msg) {
    return Status(Code::kResourceExhausted, std::move(msg));
  }
  static Status Internal(std::string msg) { return Status(Code::kInternal, std::move(msg)); }

  // An error with an explicit retryable flag, overriding the code's default.
  Status(Code code, std::string msg, bool retryable);
  Status(Code code, std::string msg) : Status(code, std::move(msg), DefaultRetryable(code)) {}

  bool ok() const noexcept { return rep_ == nullptr; }
  Code code() const noexcept { return rep_ ? rep_->code : Code::kOk; }
  bool retryable() const noexcept { return rep_ && rep_->retryable; }
  // The message alone; empty for OK.
  std::string_view message() const noexcept { return rep_ ? std::string_view(rep_->msg) : std::string_view(); }
  // "OK" or "<CodeName>: <message>".
  std::string ToString() const;

  // Returns a copy whose message is "<context>: <message>"; OK stays OK.
  Status WithContext(std::string_view context) const;

  static constexpr bool DefaultRetryable(Code code) noexcept {
    return code == Code::kTimedOut || code == Code::kUnavailable || code == Code::kBusy;
  }

 private:
  struct Rep {
    Code code;
    bool retryable;
    std::string msg;
  };
  std::unique_ptr<Rep> rep_;
};

// A value or an error Status. Accessing value() of an error is a bug
// (asserted in debug builds).
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : v_(std::in_place_index<1>, std::move(status)) {}  // NOLINT

  bool ok() const noexcept { return v_.index() == 0; }
  const Status& status() const noexcept {
    static const Status kOk;
    return ok() ? kOk : std::get<1>(v_);
  }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace exactly

// Propagates a non-OK Status to the caller.
#define EXACTLY_RETURN_IF_ERROR(expr)            \
  do {                                           \
    ::exactly::Status _exactly_st = (expr);      \
    if (!_exactly_st.ok()) return _exactly_st;   \
  } while (0)

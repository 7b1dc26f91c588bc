// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
#include "exactly/status.h"

#include <gtest/gtest.h>

#include <memory>
#include <set>
#include <iterator>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace exactly {
namespace {

constexpr Code kAllErrorCodes[] = {
    Code::kInvalidArgument, Code::kNotFound,    Code::kCorruption,    Code::kIoError,
    Code::kBusy,            Code::kTimedOut,    Code::kUnavailable,   Code::kAborted,
    Code::kNotSupported,    Code::kFailedPrecondition, Code::kResourceExhausted, Code::kInternal,
};

TEST(Status, DefaultIsOkAndCheap) {
  const Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.code(), Code::kOk);
  EXPECT_FALSE(s.retryable());
  EXPECT_TRUE(s.message().empty());
  EXPECT_EQ(s.ToString(), "OK");
  EXPECT_TRUE(Status::OK().ok());
  // An OK status is a single null pointer.
  EXPECT_EQ(sizeof(Status), sizeof(void*));
  static_assert(std::is_nothrow_move_constructible_v<Status>);
  static_assert(std::is_nothrow_default_constructible_v<Status>);
}

TEST(Status, FactoriesSetCodeAndMessage) {
  struct Case {
    Status status;
    Code code;
  };
  std::vector<Case> cases;
  cases.push_back({Status::InvalidArgument("m"), Code::kInvalidArgument});
  cases.push_back({Status::NotFound("m"), Code::kNotFound});
  cases.push_back({Status::Corruption("m"), Code::kCorruption});
  cases.push_back({Status::IoError("m"), Code::kIoError});
  cases.push_back({Status::Busy("m"), Code::kBusy});
  cases.push_back({Status::TimedOut("m"), Code::kTimedOut});
  cases.push_back({Status::Unavailable("m"), Code::kUnavailable});
  cases.push_back({Status::Aborted("m"), Code::kAborted});
  cases.push_back({Status::NotSupported("m"), Code::kNotSupported});
  cases.push_back({Status::FailedPrecondition("m"), Code::kFailedPrecondition});
  cases.push_back({Status::ResourceExhausted("m"), Code::kResourceExhausted});
  cases.push_back({Status::Internal("m"), Code::kInternal});
  ASSERT_EQ(cases.size(), std::size(kAllErrorCodes));
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(CodeName(c.code)));
    EXPECT_FALSE(c.status.ok());
    EXPECT_EQ(c.status.code(), c.code);
    EXPECT_EQ(c.status.message(), "m");
    EXPECT_EQ(c.status.ToString(), std::string(CodeName(c.code)) + ": m");
  }
}

TEST(Status, CodeNamesAreDistinctAndReadable) {
  std::set<std::string_view> names;
  EXPECT_EQ(CodeName(Code::kOk), "OK");
  EXPECT_EQ(CodeName(Code::kCorruption), "Corruption");
  EXPECT_EQ(CodeName(Code::kTimedOut), "TimedOut");
  names.insert(CodeName(Code::kOk));
  for (Code c : kAllErrorCodes) {
    EXPECT_FALSE(CodeName(c).empty());
    names.insert(CodeName(c));
  }
  EXPECT_EQ(names.size(), std::size(kAllErrorCodes) + 1);
}

TEST(Status, RetryableDefaultsOnlyForTransientCodes) {
  for (Code c : kAllErrorCodes) {
    SCOPED_TRACE(std::string(CodeName(c)));
    const bool transient = c == Code::kTimedOut || c == Code::kUnavailable || c == Code::kBusy;
    EXPECT_EQ(Status(c, "x").retryable(), transient);
    EXPECT_EQ(Status::DefaultRetryable(c), transient);
  }
  EXPECT_TRUE(Status::TimedOut("t").retryable());
  EXPECT_TRUE(Status::Unavailable("u").retryable());
  EXPECT_TRUE(Status::Busy("b").retryable());
  EXPECT_FALSE(Status::Corruption("c").retryable());
  EXPECT_FALSE(Status::Internal("i").retryable());
  EXPECT_FALSE(Status::DefaultRetryable(Code::kOk));
}

TEST(Status, ExplicitRetryableOverridesDefault) {
  const Status io(Code::kIoError, "disk", true);
  EXPECT_TRUE(io.retryable());
  EXPECT_EQ(io.code(), Code::kIoError);
  const Status timeout(Code::kTimedOut, "t", false);
  EXPECT_FALSE(timeout.retryable());
}

TEST(Status, WithContextPrefixesMessageAndKeepsCodeAndRetryable) {
  const Status s = Status::Unavailable("broker down");
  const Status w = s.WithContext("fetching t[0]");
  EXPECT_EQ(w.code(), Code::kUnavailable);
  EXPECT_TRUE(w.retryable());
  EXPECT_EQ(w.message(), "fetching t[0]: broker down");
  EXPECT_EQ(w.ToString(), "Unavailable: fetching t[0]: broker down");
  EXPECT_EQ(s.message(), "broker down") << "the original is unchanged";
  const Status overridden = Status(Code::kIoError, "x", true).WithContext("c");
  EXPECT_TRUE(overridden.retryable());
  const Status nested = w.WithContext("relay");
  EXPECT_EQ(nested.message(), "relay: fetching t[0]: broker down");
}

TEST(Status, WithContextOnOkStaysOk) {
  const Status w = Status::OK().WithContext("anything");
  EXPECT_TRUE(w.ok());
  EXPECT_TRUE(w.message().empty());
}

TEST(Status, CopiesAreDeepAndIndependent) {
  Status a = Status::Corruption("bad");
  Status b = a;
  EXPECT_EQ(b.code(), Code::kCorruption);
  EXPECT_EQ(b.message(), "bad");
  a = Status::OK();
  EXPECT_TRUE(a.ok());
  EXPECT_EQ(b.message(), "bad");
  Status c;
  c = b;
  b = Status::NotFound("gone");
  EXPECT_EQ(c.code(), Code::kCorruption);
  EXPECT_EQ(c.message(), "bad");
  const Status& self = c;
  c = self;
  EXPECT_EQ(c.message(), "bad");
  Status moved = std::move(c);
  EXPECT_EQ(moved.message(), "bad");
}

Status Fails() { return Status::Aborted("stop"); }
Status Succeeds() { return Status::OK(); }

Status Chain(bool fail, int* reached) {
  EXACTLY_RETURN_IF_ERROR(Succeeds());
  *reached = 1;
  if (fail) EXACTLY_RETURN_IF_ERROR(Fails());
  *reached = 2;
  return Status::OK();
}

TEST(Status, ReturnIfErrorPropagatesErrorsOnly) {
  int reached = 0;
  const Status s = Chain(true, &reached);
  EXPECT_EQ(s.code(), Code::kAborted);
  EXPECT_EQ(reached, 1);
  EXPECT_TRUE(Chain(false, &reached).ok());
  EXPECT_EQ(reached, 2);
}

TEST(Result, HoldsValue) {
  Result<std::string> r(std::string("hello"));
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r.status().ok());
  EXPECT_EQ(r.value(), "hello");
  EXPECT_EQ(*r, "hello");
  EXPECT_EQ(r->size(), 5u);
  r.value() += "!";
  EXPECT_EQ(*r, "hello!");
  const Result<std::string>& cr = r;
  EXPECT_EQ(cr.value(), "hello!");
  EXPECT_EQ(cr->size(), 6u);
}

TEST(Result, HoldsError) {
  Result<int> r(Status::NotFound("no such partition"));
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kNotFound);
  EXPECT_EQ(r.status().message(), "no such partition");
}

Result<int> Parse(bool ok) {
  if (!ok) return Status::InvalidArgument("bad");
  return 42;
}

TEST(Result, ImplicitConversionsFromValueAndStatus) {
  EXPECT_EQ(*Parse(true), 42);
  EXPECT_EQ(Parse(false).status().code(), Code::kInvalidArgument);
}

TEST(Result, MoveOnlyValueCanBeMovedOut) {
  Result<std::unique_ptr<int>> r(std::make_unique<int>(7));
  ASSERT_TRUE(r.ok());
  std::unique_ptr<int> p = std::move(r).value();
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(*p, 7);
}

}  // namespace
}  // namespace exactly

// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
#include "exactly/status.h"

namespace exactly {

std::string_view CodeName(Code code) noexcept {
  switch (code) {
    case Code::kOk: return "OK";
    case Code::kInvalidArgument: return "InvalidArgument";
    case Code::kNotFound: return "NotFound";
    case Code::kCorruption: return "Corruption";
    case Code::kIoError: return "IoError";
    case Code::kBusy: return "Busy";
    case Code::kTimedOut: return "TimedOut";
    case Code::kUnavailable: return "Unavailable";
    case Code::kAborted: return "Aborted";
    case Code::kNotSupported: return "NotSupported";
    case Code::kFailedPrecondition: return "FailedPrecondition";
    case Code::kResourceExhausted: return "ResourceExhausted";
    case Code::kInternal: return "Internal";
  }
  return "Unknown";
}

Status::Status(Code code, std::string msg, bool retryable) {
  if (code != Code::kOk) rep_ = std::make_unique<Rep>(Rep{code, retryable, std::move(msg)});
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  std::string s(CodeName(rep_->code));
  if (!rep_->msg.empty()) {
    s += ": ";
    s += rep_->msg;
  }
  return s;
}

Status Status::WithContext(std::string_view context) const {
  if (ok()) return Status();
  std::string msg(context);
  msg += ": ";
  msg += rep_->msg;
  return Status(rep_->code, std::move(msg), rep_->retryable);
}

}  // namespace exactly

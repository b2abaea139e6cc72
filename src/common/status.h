#pragma once

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace studio {

// The closed set of error codes. Names follow MLflow's (reference/registry_serving.md §1.2)
// so the MLflow adapter and the native API share one mapping to HTTP (common/error_mapping.h).
enum class ErrorCode {
  kOk = 0,
  kInvalidParameterValue,   // 400
  kBadRequest,              // 400
  kResourceAlreadyExists,   // 400 (MLflow's status for a duplicate)
  kUnauthenticated,         // 401
  kPermissionDenied,        // 403
  kResourceDoesNotExist,    // 404
  kEndpointNotFound,        // 404
  kAlreadyExists,           // 409 (native API's duplicate)
  kResourceConflict,        // 409
  kPayloadTooLarge,         // 413
  kUnsupportedMediaType,    // 415
  kRequestLimitExceeded,    // 429
  kInternalError,           // 500
  kNotImplemented,          // 501
  kTemporarilyUnavailable,  // 503
};

std::string_view ErrorCodeName(ErrorCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == ErrorCode::kOk; }
  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // Field path → problem, for validation errors.
  const std::map<std::string, std::string>& details() const { return details_; }
  Status& WithDetail(std::string field, std::string problem) {
    details_[std::move(field)] = std::move(problem);
    return *this;
  }
  std::string ToString() const;

 private:
  ErrorCode code_ = ErrorCode::kOk;
  std::string message_;
  std::map<std::string, std::string> details_;
};

inline Status InvalidArgument(std::string msg) {
  return Status(ErrorCode::kInvalidParameterValue, std::move(msg));
}
inline Status NotFound(std::string msg) {
  return Status(ErrorCode::kResourceDoesNotExist, std::move(msg));
}
inline Status Internal(std::string msg) {
  return Status(ErrorCode::kInternalError, std::move(msg));
}

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}         // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {}  // NOLINT

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace studio

#define STUDIO_CONCAT_INNER(a, b) a##b
#define STUDIO_CONCAT(a, b) STUDIO_CONCAT_INNER(a, b)

#define RETURN_IF_ERROR(expr)      \
  do {                             \
    ::studio::Status _st = (expr); \
    if (!_st.ok()) return _st;     \
  } while (0)

#define ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                          \
  if (!tmp.ok()) return tmp.status();         \
  lhs = std::move(tmp).value()

#define ASSIGN_OR_RETURN(lhs, expr) ASSIGN_OR_RETURN_IMPL(STUDIO_CONCAT(_res_, __LINE__), lhs, expr)

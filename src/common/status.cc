#include "common/status.h"

namespace studio {

std::string_view ErrorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kOk:
      return "OK";
    case ErrorCode::kInvalidParameterValue:
      return "INVALID_PARAMETER_VALUE";
    case ErrorCode::kBadRequest:
      return "BAD_REQUEST";
    case ErrorCode::kResourceAlreadyExists:
      return "RESOURCE_ALREADY_EXISTS";
    case ErrorCode::kUnauthenticated:
      return "UNAUTHENTICATED";
    case ErrorCode::kPermissionDenied:
      return "PERMISSION_DENIED";
    case ErrorCode::kResourceDoesNotExist:
      return "RESOURCE_DOES_NOT_EXIST";
    case ErrorCode::kEndpointNotFound:
      return "ENDPOINT_NOT_FOUND";
    case ErrorCode::kAlreadyExists:
      return "ALREADY_EXISTS";
    case ErrorCode::kResourceConflict:
      return "RESOURCE_CONFLICT";
    case ErrorCode::kPayloadTooLarge:
      return "PAYLOAD_TOO_LARGE";
    case ErrorCode::kUnsupportedMediaType:
      return "UNSUPPORTED_MEDIA_TYPE";
    case ErrorCode::kRequestLimitExceeded:
      return "REQUEST_LIMIT_EXCEEDED";
    case ErrorCode::kInternalError:
      return "INTERNAL_ERROR";
    case ErrorCode::kNotImplemented:
      return "NOT_IMPLEMENTED";
    case ErrorCode::kTemporarilyUnavailable:
      return "TEMPORARILY_UNAVAILABLE";
  }
  return "INTERNAL_ERROR";
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  std::string out(ErrorCodeName(code_));
  out += ": ";
  out += message_;
  for (const auto& [field, problem] : details_) out += "; " + field + ": " + problem;
  return out;
}

}  // namespace studio

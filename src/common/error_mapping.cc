#include "common/error_mapping.h"

#include "common/strings.h"

namespace studio {

int HttpStatusFor(ErrorCode code) {
  switch (code) {
    case ErrorCode::kOk:
      return 200;
    case ErrorCode::kInvalidParameterValue:
    case ErrorCode::kBadRequest:
    case ErrorCode::kResourceAlreadyExists:
      return 400;
    case ErrorCode::kUnauthenticated:
      return 401;
    case ErrorCode::kPermissionDenied:
      return 403;
    case ErrorCode::kResourceDoesNotExist:
    case ErrorCode::kEndpointNotFound:
      return 404;
    case ErrorCode::kAlreadyExists:
    case ErrorCode::kResourceConflict:
      return 409;
    case ErrorCode::kPayloadTooLarge:
      return 413;
    case ErrorCode::kUnsupportedMediaType:
      return 415;
    case ErrorCode::kRequestLimitExceeded:
      return 429;
    case ErrorCode::kInternalError:
      return 500;
    case ErrorCode::kNotImplemented:
      return 501;
    case ErrorCode::kTemporarilyUnavailable:
      return 503;
  }
  return 500;
}

ErrorCode ErrorCodeForHttpStatus(int s) {
  switch (s) {
    case 400:
      return ErrorCode::kBadRequest;
    case 401:
      return ErrorCode::kUnauthenticated;
    case 403:
      return ErrorCode::kPermissionDenied;
    case 404:
    case 405:
      return ErrorCode::kEndpointNotFound;
    case 409:
      return ErrorCode::kResourceConflict;
    case 413:
      return ErrorCode::kPayloadTooLarge;
    case 415:
      return ErrorCode::kUnsupportedMediaType;
    case 429:
      return ErrorCode::kRequestLimitExceeded;
    case 501:
      return ErrorCode::kNotImplemented;
    case 503:
      return ErrorCode::kTemporarilyUnavailable;
    default:
      return s >= 500 ? ErrorCode::kInternalError : ErrorCode::kBadRequest;
  }
}

std::string ErrorBody(const Status& status) {
  std::string out = "{\"error_code\":";
  AppendJsonString(out, ErrorCodeName(status.code()));
  out += ",\"message\":";
  AppendJsonString(out, status.message());
  if (!status.details().empty()) {
    out += ",\"details\":{";
    bool first = true;
    for (const auto& [field, problem] : status.details()) {
      if (!first) out.push_back(',');
      first = false;
      AppendJsonString(out, field);
      out.push_back(':');
      AppendJsonString(out, problem);
    }
    out += "}";
  }
  out += "}";
  return out;
}

}  // namespace studio

#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"
#include "deploy/aws/aws_apis.h"
#include "integrations/aws/aws_client.h"

// Shared by the API clients of this module only.
namespace studio::deploy::aws {

// A SigV4 client for one API: `endpoint`, or https://HOST_PREFIX.REGION.amazonaws.com.
Result<std::unique_ptr<studio::aws::Client>> MakeAwsClient(const ApiOptions& options,
                                                           std::string_view signing_name,
                                                           const std::string& endpoint,
                                                           std::string_view host_prefix);
// Renames aws::Client's "POST /: HTTP 400 X: m" into "<api> <action>: HTTP 400 X: m".
Status PrefixedAwsError(const Status& status, std::string_view api, std::string_view action);
// A query-protocol call: POST / with Action, Version and the flattened `input` form-encoded;
// the XML body, or the error as PrefixedAwsError(api, action).
Result<std::string> QueryCall(studio::aws::Client& client, std::string_view version,
                              std::string_view api, std::string_view action, const ojson& input);

}  // namespace studio::deploy::aws

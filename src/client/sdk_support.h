// What the Python and Node.js bindings share beyond client.h, so that both raise the same
// error classes and build the same requests.
#ifndef CRYPTA_CLIENT_SDK_SUPPORT_H_
#define CRYPTA_CLIENT_SDK_SUPPORT_H_

#include <string>
#include <utility>
#include <vector>

#include "common/bytes.h"
#include "common/status.h"
#include "crypto/bhttp.h"
#include "infer/model_runner.h"

namespace crypta::client {

// What a failing SDK call was doing: verifying a service, calling a verified one, talking to
// the control plane, or obtaining keys inside a TEE.
enum class SdkPhase { kVerify, kCall, kPlatform, kTee };

// The SDK error class (role) for an error: "verification", "unavailable", "response" (a
// response that did not authenticate), "server", "invalid_argument", "permission_denied",
// "unauthenticated", "not_found", "already_exists", "failed_precondition",
// "resource_exhausted" or "error". python/crypta/errors.py and js/index.js map roles to classes.
const char* SdkErrorRole(ErrorCode code, SdkPhase phase);

// A request to the verified runtime (https://crypta-runtime/<path>), for Encrypt and Send:
// `content_type` as a content-type field when not empty, then `headers` (names lowercased).
BhttpRequest ServiceRequest(std::string method, std::string path, const std::string& content_type,
                            std::vector<std::pair<std::string, std::string>> headers,
                            Bytes content);

// The NumPy / typed-array name of a tensor datatype: "float32", "float64", "int64", "int32",
// "uint8", "bool".
const char* DtypeName(infer::DataType type);

}  // namespace crypta::client

#endif  // CRYPTA_CLIENT_SDK_SUPPORT_H_

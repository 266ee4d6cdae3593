// Error and Result<T>: the one error idiom of crypta (STYLE.md habit 2).
//
// Every fallible function returns Result<T> (or Status for no value). Errors carry a
// canonical code and a message that names the field and, where useful, the got/want
// values. Messages never contain secrets.
#ifndef CRYPTA_COMMON_STATUS_H_
#define CRYPTA_COMMON_STATUS_H_

#include <string>
#include <string_view>
#include <tl/expected.hpp>
#include <utility>

namespace crypta {

// Canonical codes, as in absl::StatusCode / gRPC. Callers branch on the code (coarse),
// never on the message text.
enum class ErrorCode {
  kInvalidArgument,     // malformed or out-of-range input
  kFailedPrecondition,  // input well-formed but not acceptable in this state
  kPermissionDenied,    // authenticated but not allowed (policy denial)
  kUnauthenticated,     // missing or bad credentials, signatures, tags
  kNotFound,
  kAlreadyExists,
  kDataLoss,  // stored or received data is corrupt or truncated
  kOutOfRange,
  kResourceExhausted,  // a size cap or rate limit was hit
  kUnavailable,        // a dependency (file, server) could not be reached
  kUnimplemented,
  kInternal,  // a library call failed unexpectedly
};

std::string_view ErrorCodeName(ErrorCode code);

// The HTTP status crypta's servers answer an error with: kInvalidArgument/kOutOfRange 400,
// kUnauthenticated 401, kPermissionDenied 403, kNotFound 404, kAlreadyExists and
// kFailedPrecondition 409, kResourceExhausted 413, kUnavailable 503, others 500.
int HttpStatusForError(ErrorCode code);

class [[nodiscard]] Error {
 public:
  Error(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {}

  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // Returns a copy with "context: " prepended, for adding the caller's view.
  Error WithContext(std::string_view context) const;

  // "INVALID_ARGUMENT: message".
  std::string ToString() const;

 private:
  ErrorCode code_;
  std::string message_;
};

template <typename T>
using Result = tl::expected<T, Error>;
using Status = Result<void>;

// The single helper that builds a failed Result; `return MakeError(...)` converts to any
// Result<T>. Switching to std::expected later changes only this line and the alias above.
inline tl::unexpected<Error> MakeError(ErrorCode code, std::string message) {
  return tl::unexpected<Error>(Error(code, std::move(message)));
}
inline tl::unexpected<Error> MakeError(Error error) {
  return tl::unexpected<Error>(std::move(error));
}

inline Status OkStatus() { return {}; }

}  // namespace crypta

// Propagates the error of a Result-returning expression, otherwise evaluates to nothing.
#define CRYPTA_RETURN_IF_ERROR(expr)                                                    \
  do {                                                                                  \
    auto crypta_status_ = (expr);                                                       \
    if (!crypta_status_) return ::crypta::MakeError(std::move(crypta_status_).error()); \
  } while (0)

#define CRYPTA_CONCAT_INNER_(a, b) a##b
#define CRYPTA_CONCAT_(a, b) CRYPTA_CONCAT_INNER_(a, b)

// CRYPTA_ASSIGN_OR_RETURN(auto x, Compute()); declares x from the value or returns the error.
#define CRYPTA_ASSIGN_OR_RETURN(lhs, expr) \
  CRYPTA_ASSIGN_OR_RETURN_IMPL_(CRYPTA_CONCAT_(crypta_result_, __LINE__), lhs, expr)
#define CRYPTA_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr)           \
  auto tmp = (expr);                                            \
  if (!tmp) return ::crypta::MakeError(std::move(tmp).error()); \
  lhs = std::move(*tmp)

#endif  // CRYPTA_COMMON_STATUS_H_

#include "crypto/jwt.h"

#include <algorithm>
#include <cctype>
#include <cmath>

#include "common/json_canonical.h"

namespace crypta {
namespace {

using Json = nlohmann::json;

Status CheckOptions(const JwtVerifyOptions& options) {
  if (options.now_unix_s <= 0) {
    return MakeError(ErrorCode::kInvalidArgument, "JWT: verification time (now) is required");
  }
  if (options.clock_skew.count() < 0 || options.clock_skew > kMaxJwtClockSkew) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "JWT: clock skew " + std::to_string(options.clock_skew.count()) +
                         " s is outside [0, " + std::to_string(kMaxJwtClockSkew.count()) + "]");
  }
  return OkStatus();
}

// RFC 7519 §2 NumericDate: a JSON number of seconds since the epoch. Returns nullopt
// when the claim is absent.
Result<std::optional<double>> NumericDate(const Json& claims, const char* name) {
  auto it = claims.find(name);
  if (it == claims.end()) return std::optional<double>();
  if (!it->is_number()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     std::string("JWT \"") + name + "\": not a NumericDate (JSON number)");
  }
  double v = it->get<double>();
  if (!std::isfinite(v)) {
    return MakeError(ErrorCode::kInvalidArgument, std::string("JWT \"") + name + "\": not finite");
  }
  return std::optional<double>(v);
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

Status CheckHeader(const Json& header, const JwtVerifyOptions& options) {
  // RFC 7519 §5.2: "cty":"JWT" marks a nested JWT, which crypta does not unwrap.
  if (auto cty = header.find("cty"); cty != header.end()) {
    if (!cty->is_string() || EqualsIgnoreCase(cty->get_ref<const std::string&>(), "JWT")) {
      return MakeError(ErrorCode::kPermissionDenied, "JWT: nested JWTs (\"cty\") are refused");
    }
  }
  if (options.expected_typ) {
    auto typ = header.find("typ");
    if (typ == header.end() || !typ->is_string() ||
        !EqualsIgnoreCase(typ->get_ref<const std::string&>(), *options.expected_typ)) {
      return MakeError(ErrorCode::kPermissionDenied,
                       "JWT: header \"typ\" is not \"" + *options.expected_typ + "\"");
    }
  }
  return OkStatus();
}

Status CheckClaims(const Json& claims, const JwtVerifyOptions& options) {
  const double now = static_cast<double>(options.now_unix_s);
  const double skew = static_cast<double>(options.clock_skew.count());
  CRYPTA_ASSIGN_OR_RETURN(std::optional<double> exp, NumericDate(claims, "exp"));
  CRYPTA_ASSIGN_OR_RETURN(std::optional<double> nbf, NumericDate(claims, "nbf"));
  CRYPTA_ASSIGN_OR_RETURN(std::optional<double> iat, NumericDate(claims, "iat"));
  if (!exp && options.require_exp) {
    return MakeError(ErrorCode::kPermissionDenied, "JWT: \"exp\" is required");
  }
  if (exp && !(now < *exp + skew)) {
    return MakeError(ErrorCode::kPermissionDenied,
                     "JWT: expired (exp " + std::to_string(static_cast<int64_t>(*exp)) + ", now " +
                         std::to_string(options.now_unix_s) + ")");
  }
  if (nbf && now + skew < *nbf) {
    return MakeError(ErrorCode::kPermissionDenied,
                     "JWT: not yet valid (nbf " + std::to_string(static_cast<int64_t>(*nbf)) +
                         ", now " + std::to_string(options.now_unix_s) + ")");
  }
  if (iat && *iat > now + skew) {
    return MakeError(ErrorCode::kPermissionDenied, "JWT: issued in the future (iat " +
                                                       std::to_string(static_cast<int64_t>(*iat)) +
                                                       ", now " +
                                                       std::to_string(options.now_unix_s) + ")");
  }
  if (options.expected_issuer) {
    auto iss = claims.find("iss");
    if (iss == claims.end() || !iss->is_string() || *iss != *options.expected_issuer) {
      return MakeError(ErrorCode::kPermissionDenied,
                       "JWT: \"iss\" is not \"" + *options.expected_issuer + "\"");
    }
  }
  if (options.expected_audience) {
    // RFC 7519 §4.1.3: a string or an array of strings.
    auto aud = claims.find("aud");
    bool found = false;
    if (aud != claims.end() && aud->is_string()) {
      found = *aud == *options.expected_audience;
    } else if (aud != claims.end() && aud->is_array()) {
      for (const Json& a : *aud) {
        if (!a.is_string()) {
          return MakeError(ErrorCode::kInvalidArgument, "JWT \"aud\": entries must be strings");
        }
        found = found || a == *options.expected_audience;
      }
    }
    if (!found) {
      return MakeError(ErrorCode::kPermissionDenied,
                       "JWT: \"aud\" does not contain \"" + *options.expected_audience + "\"");
    }
  }
  return OkStatus();
}

Result<Json> CheckVerified(Result<VerifiedJws> verified, const JwtVerifyOptions& options) {
  if (!verified) return MakeError(std::move(verified).error());
  CRYPTA_RETURN_IF_ERROR(CheckHeader(verified->header, options));
  JsonParseLimits limits;
  limits.max_bytes = options.jws.max_token_bytes;
  limits.max_depth = 32;
  Result<Json> claims = ParseJsonStrict(AsStringView(verified->payload), limits);
  if (!claims) return MakeError(claims.error().WithContext("JWT claims"));
  if (!claims->is_object()) {
    return MakeError(ErrorCode::kInvalidArgument, "JWT claims: not a JSON object");
  }
  CRYPTA_RETURN_IF_ERROR(CheckClaims(*claims, options));
  return std::move(*claims);
}

}  // namespace

Result<std::string> JwtSign(const PrivateKey& key, const nlohmann::json& claims,
                            const nlohmann::json& extra_header) {
  if (!claims.is_object()) {
    return MakeError(ErrorCode::kInvalidArgument, "JWT sign: claims must be a JSON object");
  }
  if (!extra_header.is_object()) {
    return MakeError(ErrorCode::kInvalidArgument, "JWT sign: header must be a JSON object");
  }
  CRYPTA_ASSIGN_OR_RETURN(std::string payload, CanonicalizeJson(claims));
  Json header = extra_header;
  if (!header.contains("typ")) header["typ"] = "JWT";
  return JwsSignCompact(key, AsBytes(payload), header);
}

Result<nlohmann::json> JwtVerify(std::string_view token, const PublicKey& key,
                                 const JwtVerifyOptions& options) {
  CRYPTA_RETURN_IF_ERROR(CheckOptions(options));
  return CheckVerified(JwsVerifyCompact(token, key, options.jws), options);
}

Result<nlohmann::json> JwtVerifyWithJwks(std::string_view token, const Jwks& jwks,
                                         const JwtVerifyOptions& options) {
  CRYPTA_RETURN_IF_ERROR(CheckOptions(options));
  return CheckVerified(JwsVerifyCompactWithJwks(token, jwks, options.jws), options);
}

}  // namespace crypta

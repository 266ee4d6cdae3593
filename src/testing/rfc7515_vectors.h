// RFC 7515 Appendix A.3 (ES256 JWS of a JWT claims set), shared by the JWS and JWT tests.
#ifndef CRYPTA_TESTING_RFC7515_VECTORS_H_
#define CRYPTA_TESTING_RFC7515_VECTORS_H_

#include <cstdint>
#include <nlohmann/json.hpp>

namespace crypta::testing {

inline const nlohmann::json kRfc7515A3Key = {{"kty", "EC"},
                                             {"crv", "P-256"},
                                             {"x", "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU"},
                                             {"y", "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}};
inline constexpr char kRfc7515A3Token[] =
    "eyJhbGciOiJFUzI1NiJ9."
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
    "."
    "DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q";
inline constexpr int64_t kRfc7515A3Exp = 1300819380;

}  // namespace crypta::testing

#endif  // CRYPTA_TESTING_RFC7515_VECTORS_H_

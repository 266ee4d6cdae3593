#include "crypto/openssl_util.h"

#include <openssl/err.h>

namespace crypta {

std::string OpensslErrorString(std::string_view what) {
  std::string out(what);
  unsigned long code = ERR_get_error();
  if (code != 0) {
    char buf[256];
    ERR_error_string_n(code, buf, sizeof(buf));
    out += " (";
    out += buf;
    out += ")";
  }
  ERR_clear_error();
  return out;
}

Error OpensslError(ErrorCode code, std::string_view what) {
  return Error(code, OpensslErrorString(what));
}

}  // namespace crypta

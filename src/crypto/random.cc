#include "crypto/random.h"

#include <openssl/rand.h>

#include <climits>

#include "crypto/openssl_util.h"

namespace crypta {

Status RandomFill(MutableByteSpan out) {
  size_t done = 0;
  while (done < out.size()) {
    size_t n = std::min<size_t>(out.size() - done, INT_MAX);
    if (RAND_bytes(out.data() + done, static_cast<int>(n)) != 1) {
      return MakeError(OpensslError(ErrorCode::kInternal, "RAND_bytes failed"));
    }
    done += n;
  }
  return OkStatus();
}

Result<Bytes> RandomBytes(size_t n) {
  Bytes out(n);
  CRYPTA_RETURN_IF_ERROR(RandomFill(out));
  return out;
}

Result<SecretBytes> RandomSecret(size_t n) {
  SecretBytes out(n);
  CRYPTA_RETURN_IF_ERROR(RandomFill(out.RevealMutable()));
  return out;
}

}  // namespace crypta

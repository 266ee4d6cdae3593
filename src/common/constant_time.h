// Constant-time comparison for tags, MACs, tokens, nonces and report_data bindings.
#ifndef CRYPTA_COMMON_CONSTANT_TIME_H_
#define CRYPTA_COMMON_CONSTANT_TIME_H_

#include "common/bytes.h"

namespace crypta {

// True iff a and b are equal. Time depends only on the lengths (a length mismatch
// returns false at once: lengths are not secret in any crypta protocol).
bool ConstantTimeEquals(ByteSpan a, ByteSpan b);

}  // namespace crypta

#endif  // CRYPTA_COMMON_CONSTANT_TIME_H_

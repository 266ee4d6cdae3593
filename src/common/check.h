// CRYPTA_CHECK: for states that cannot happen unless the process is broken (a library
// invariant, memory exhaustion). Untrusted input must never reach a CHECK: it gets an
// Error instead (STYLE.md habit 2).
#ifndef CRYPTA_COMMON_CHECK_H_
#define CRYPTA_COMMON_CHECK_H_

#include <cstdio>
#include <cstdlib>

#define CRYPTA_CHECK(cond, what)                                                     \
  do {                                                                               \
    if (!(cond)) {                                                                   \
      std::fprintf(stderr, "crypta: fatal: %s (%s:%d)\n", what, __FILE__, __LINE__); \
      std::abort();                                                                  \
    }                                                                                \
  } while (0)

#endif  // CRYPTA_COMMON_CHECK_H_

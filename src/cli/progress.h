// A one-line progress bar on stderr, shown only when stderr is a terminal.
#ifndef CRYPTA_CLI_PROGRESS_H_
#define CRYPTA_CLI_PROGRESS_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

namespace crypta::cli {

// Returns a progress callback for `label`, or an empty function when stderr is not a
// terminal or total_bytes is below `min_bytes` (64 MiB by default).
std::function<void(uint64_t, uint64_t)> MakeProgressBar(const std::string& label,
                                                        uint64_t total_bytes,
                                                        uint64_t min_bytes = 64ull << 20);

// "1.5 GiB", "512 KiB", "17 B".
std::string HumanBytes(uint64_t bytes);

}  // namespace crypta::cli

#endif  // CRYPTA_CLI_PROGRESS_H_

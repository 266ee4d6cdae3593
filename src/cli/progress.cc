#include "cli/progress.h"

#include <unistd.h>

#include <cstdio>
#include <memory>

namespace crypta::cli {

std::string HumanBytes(uint64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof(buf), u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
  return buf;
}

std::function<void(uint64_t, uint64_t)> MakeProgressBar(const std::string& label,
                                                        uint64_t total_bytes, uint64_t min_bytes) {
  if (total_bytes < min_bytes || !::isatty(STDERR_FILENO)) return {};
  auto start =
      std::make_shared<std::chrono::steady_clock::time_point>(std::chrono::steady_clock::now());
  return [label, start](uint64_t done, uint64_t total) {
    constexpr int kWidth = 30;
    double frac = total ? static_cast<double>(done) / static_cast<double>(total) : 1.0;
    int filled = static_cast<int>(frac * kWidth);
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - *start).count();
    double rate = secs > 0 ? static_cast<double>(done) / secs : 0;
    std::string bar(static_cast<size_t>(filled), '#');
    bar.resize(kWidth, ' ');
    std::fprintf(stderr, "\r%s [%s] %3.0f%%  %s / %s  %s/s ", label.c_str(), bar.c_str(),
                 frac * 100, HumanBytes(done).c_str(), HumanBytes(total).c_str(),
                 HumanBytes(static_cast<uint64_t>(rate)).c_str());
    if (done >= total) std::fprintf(stderr, "\n");
    std::fflush(stderr);
  };
}

}  // namespace crypta::cli

// Audit log costs at scale: append rate (one IMMEDIATE transaction per entry, frontier
// update included) and inclusion-proof time over a log of state.range(0) entries.
// The database lives in a temporary file (WAL, synchronous=FULL), so append numbers
// include an fsync per entry on disk-backed temp directories. Filling 100k entries takes
// minutes on such disks; `--benchmark_filter=/1000` runs the small size only.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "audit/log.h"
#include "store/sqlite.h"

namespace crypta::audit {
namespace {

template <typename T>
T Must(Result<T> r) {
  if (!r) {
    std::fprintf(stderr, "audit_bench: %s\n", r.error().ToString().c_str());
    std::abort();
  }
  return std::move(*r);
}

struct TempLog {
  explicit TempLog(const std::string& tag) {
    path = std::filesystem::temp_directory_path() /
           ("audit_bench_" + tag + "_" + std::to_string(::getpid()) + ".db");
    Remove();
    db = Must(store::Database::Open(path.string()));
    log = Must(AuditLog::Open(*db, AuditLogOptions{}));
  }
  ~TempLog() {
    log.reset();
    db.reset();
    Remove();
  }
  void Remove() {
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path.string() + suffix);
  }
  std::filesystem::path path;
  std::unique_ptr<store::Database> db;
  std::unique_ptr<AuditLog> log;
};

AuditEntry Entry(int64_t i) {
  AuditEntry e;
  e.actor = "svc-kbs";
  e.tenant = "tenant-" + std::to_string(i % 17);
  e.action = "kbs.release_key";
  e.outcome = (i % 5) ? "allow" : "deny";
  e.reason = "policy matched for request " + std::to_string(i);
  e.details = {{"key_id", "k" + std::to_string(i % 101)}, {"request", i}};
  return e;
}

// Appends to a log that already holds state.range(0) entries.
void BM_AuditAppend(benchmark::State& state) {
  TempLog t("append");
  for (int64_t i = 0; i < state.range(0); ++i) (void)Must(t.log->Append(Entry(i)));
  int64_t i = state.range(0);
  for (auto _ : state) benchmark::DoNotOptimize(Must(t.log->Append(Entry(i++))));
  state.SetItemsProcessed(state.iterations());
}
// Fixed iteration counts: the setup (filling the log) runs once per benchmark run.
BENCHMARK(BM_AuditAppend)->Arg(1000)->Arg(100000)->Iterations(2000)->Unit(benchmark::kMicrosecond);

void BM_AuditInclusionProof(benchmark::State& state) {
  TempLog t("proof");
  for (int64_t i = 0; i < state.range(0); ++i) (void)Must(t.log->Append(Entry(i)));
  uint64_t size = static_cast<uint64_t>(state.range(0));
  uint64_t seq = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(Must(t.log->ProveInclusion(seq, size)));
    seq = (seq + 7919) % size;
  }
}
BENCHMARK(BM_AuditInclusionProof)
    ->Arg(1000)
    ->Arg(100000)
    ->Iterations(20)
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace crypta::audit

BENCHMARK_MAIN();

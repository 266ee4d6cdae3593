#include "audit/frontier_store.h"

#include <string>
#include <vector>

namespace crypta::audit {

Result<MerkleFrontier> LoadFrontier(store::Database& db, std::string_view prefix) {
  const std::string p(prefix);
  // Row level -1 carries the size (column 1), the others a hash (column 2).
  CRYPTA_ASSIGN_OR_RETURN(auto stmt, db.Prepare("SELECT -1, size, NULL FROM " + p +
                                                "_tree WHERE id = 1 UNION ALL SELECT level, 0, "
                                                "hash FROM " +
                                                p + "_frontier"));
  uint64_t size = 0;
  std::vector<Bytes> levels;
  while (true) {
    CRYPTA_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) break;
    const int64_t level = stmt.ColumnInt(0);
    if (level == -1) {
      size = static_cast<uint64_t>(stmt.ColumnInt(1));
      continue;
    }
    if (level < 0 || level >= 64) {
      return MakeError(ErrorCode::kDataLoss, p + " frontier has level " + std::to_string(level));
    }
    if (levels.size() <= static_cast<size_t>(level)) levels.resize(level + 1);
    levels[level] = stmt.ColumnBlob(2);
  }
  auto frontier = MerkleFrontier::FromLevels(size, std::move(levels));
  if (!frontier) return MakeError(frontier.error().WithContext(p + " frontier"));
  return std::move(*frontier);
}

Status StoreFrontier(store::Database& db, std::string_view prefix, const MerkleFrontier& frontier) {
  const std::string p(prefix);
  // The frontier changes only at levels up to the new top; rewrite it whole (<= 64 rows, in
  // one statement: each statement is a round trip to a PostgreSQL store).
  CRYPTA_RETURN_IF_ERROR(db.Exec("DELETE FROM " + p + "_frontier"));
  std::vector<size_t> levels;
  for (size_t level = 0; level < frontier.levels().size(); ++level) {
    if (!frontier.levels()[level].empty()) levels.push_back(level);
  }
  if (!levels.empty()) {
    std::string sql = "INSERT INTO " + p + "_frontier(level, hash) VALUES";
    for (size_t i = 0; i < levels.size(); ++i) sql += i == 0 ? "(?, ?)" : ", (?, ?)";
    CRYPTA_ASSIGN_OR_RETURN(auto put, db.Prepare(sql));
    for (size_t i = 0; i < levels.size(); ++i) {
      const int param = static_cast<int>(2 * i + 1);
      CRYPTA_RETURN_IF_ERROR(put.Bind(param, static_cast<int64_t>(levels[i])));
      CRYPTA_RETURN_IF_ERROR(put.BindBlob(param + 1, frontier.levels()[levels[i]]));
    }
    CRYPTA_RETURN_IF_ERROR(put.Run());
  }
  CRYPTA_ASSIGN_OR_RETURN(auto size, db.Prepare("INSERT INTO " + p +
                                                "_tree(id, size) VALUES(1, ?) ON CONFLICT(id) "
                                                "DO UPDATE SET size = excluded.size"));
  CRYPTA_RETURN_IF_ERROR(size.Bind(1, static_cast<int64_t>(frontier.size())));
  return size.Run();
}

}  // namespace crypta::audit

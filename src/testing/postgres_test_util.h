// Tests against a real PostgreSQL 15 (issue 15): the server is the ctest fixture
// store.postgres.Start (tests/pg/pg_server.sh), whose state dir (with admin_url) is compiled
// in as CRYPTA_PG_STATE_DIR; each test gets a database of its own.
#ifndef CRYPTA_TESTING_POSTGRES_TEST_UTIL_H_
#define CRYPTA_TESTING_POSTGRES_TEST_UTIL_H_

#include <fstream>
#include <string>

#include "common/encoding.h"
#include "crypto/random.h"
#include "store/database.h"

namespace crypta::testing {

// A new, empty database on the fixture's server; its URL. kUnavailable when the fixture is
// not running (run the test through ctest, which starts it).
inline Result<std::string> FreshPostgresDatabase() {
#ifdef CRYPTA_PG_STATE_DIR
  std::ifstream in(std::string(CRYPTA_PG_STATE_DIR) + "/admin_url");
  std::string admin;
  if (!std::getline(in, admin) || admin.empty()) {
    return MakeError(ErrorCode::kUnavailable,
                     "no PostgreSQL test server: run through ctest (fixture store.postgres.Start, "
                     "state in " CRYPTA_PG_STATE_DIR ")");
  }
  CRYPTA_ASSIGN_OR_RETURN(auto db, store::Database::Open(admin));
  CRYPTA_ASSIGN_OR_RETURN(Bytes random, RandomBytes(8));
  const std::string name = "t_" + HexEncode(random);
  CRYPTA_RETURN_IF_ERROR(db->Exec("CREATE DATABASE " + name));
  return admin.substr(0, admin.rfind('/') + 1) + name;
#else
  return MakeError(ErrorCode::kUnavailable, "built without CRYPTA_PG_STATE_DIR");
#endif
}

}  // namespace crypta::testing

#endif  // CRYPTA_TESTING_POSTGRES_TEST_UTIL_H_

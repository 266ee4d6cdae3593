#include "store/blob_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "common/encoding.h"
#include "common/file_util.h"
#include "crypto/hash.h"
#include "crypto/random.h"
#include "testing/postgres_test_util.h"
#include "testing/test_util.h"

namespace crypta::store {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

class BlobStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("crypta_blobs_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  size_t FilesUnder(const fs::path& p) {
    size_t n = 0;
    for (const auto& e : fs::recursive_directory_iterator(p)) n += e.is_regular_file();
    return n;
  }
  fs::path dir_;
};

TEST_F(BlobStoreTest, StoresFilesUnderTheirDigestOnce) {
  CRYPTA_ASSIGN_OR_FAIL(BlobStore store, BlobStore::Open((dir_ / "blobs").string()));
  Bytes data(3 << 20, 0x5a);  // several copy chunks
  std::ofstream((dir_ / "in").string(), std::ios::binary)
      .write(reinterpret_cast<const char*>(data.data()), data.size());
  std::string want = HexEncode(Sha256(data));
  CRYPTA_ASSIGN_OR_FAIL(std::string digest, store.PutFile((dir_ / "in").string()));
  EXPECT_EQ(digest, want);
  EXPECT_TRUE(store.Contains("sha256:" + digest));
  CRYPTA_ASSIGN_OR_FAIL(std::string path, store.PathOf(digest));
  EXPECT_EQ(*ReadFileBytes(path, 10 << 20), data);
  EXPECT_EQ(*store.SizeOf(digest), data.size());
  CRYPTA_EXPECT_OK(store.Check(digest));
  // The same content again: same name, still one file, no temporary left behind.
  CRYPTA_ASSIGN_OR_FAIL(std::string again, store.PutFile((dir_ / "in").string(), "sha256:" + want));
  EXPECT_EQ(again, digest);
  EXPECT_EQ(FilesUnder(dir_ / "blobs"), 1u);
  CRYPTA_ASSIGN_OR_FAIL(std::string small, store.PutBytes(AsBytes("abc")));
  EXPECT_EQ(small, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_F(BlobStoreTest, RefusesContentThatDoesNotMatchTheExpectedDigestAndStoresNothing) {
  CRYPTA_ASSIGN_OR_FAIL(BlobStore store, BlobStore::Open((dir_ / "blobs").string()));
  std::ofstream((dir_ / "in").string()) << "sealed bytes";
  Result<std::string> r = store.PutFile((dir_ / "in").string(), std::string(64, '0'));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), ErrorCode::kDataLoss);
  EXPECT_EQ(FilesUnder(dir_ / "blobs"), 0u);
  EXPECT_FALSE(store.PutBytes(AsBytes("x"), std::string(64, '1')).has_value());
  EXPECT_THAT(store.PutFile((dir_ / "in").string(), "md5:abc").error().message(),
              HasSubstr("sha256"));
}

TEST_F(BlobStoreTest, DetectsABlobChangedOnDiskAndEnforcesTheSizeCap) {
  CRYPTA_ASSIGN_OR_FAIL(BlobStore store, BlobStore::Open((dir_ / "blobs").string(), 100));
  CRYPTA_ASSIGN_OR_FAIL(std::string digest, store.PutBytes(AsBytes("ciphertext")));
  std::string path = *store.PathOf(digest);
  fs::permissions(path, fs::perms::owner_write, fs::perm_options::add);
  std::ofstream(path) << "tampered!!";
  EXPECT_EQ(store.Check(digest).error().code(), ErrorCode::kDataLoss);
  EXPECT_EQ(store.PutBytes(Bytes(101, 0)).error().code(), ErrorCode::kResourceExhausted);
  EXPECT_EQ(store.PathOf(std::string(64, 'f')).error().code(), ErrorCode::kNotFound);
}

// Shared mode (replicas on PostgreSQL): a blob put through one replica's store is read
// through another's (fetched into its cache, digest checked); a chunk changed in the
// database is refused, not served; removal reaches every replica.
TEST_F(BlobStoreTest, SharedBlobsCrossReplicasAndAreCheckedWhenFetched) {
  CRYPTA_ASSIGN_OR_FAIL(std::string url, testing::FreshPostgresDatabase());
  CRYPTA_ASSIGN_OR_FAIL(std::unique_ptr<Database> opened, Database::Open(url));
  std::shared_ptr<Database> db(std::move(opened));
  CRYPTA_ASSERT_OK(BlobStore::CreateTables(*db));
  CRYPTA_ASSIGN_OR_FAIL(BlobStore a, BlobStore::Open((dir_ / "a").string(), 1 << 30, db));
  CRYPTA_ASSIGN_OR_FAIL(BlobStore b, BlobStore::Open((dir_ / "b").string(), 1 << 30, db));
  CRYPTA_ASSIGN_OR_FAIL(Bytes data, RandomBytes((5 << 20) / 2));  // 2.5 MiB: 3 chunks
  const std::string path = (dir_ / "in").string();
  CRYPTA_ASSERT_OK(WriteFileAtomic(path, data, 0600, false));
  CRYPTA_ASSIGN_OR_FAIL(std::string digest, a.PutFile(path));
  EXPECT_TRUE(b.Contains(digest));
  CRYPTA_ASSIGN_OR_FAIL(uint64_t size, b.SizeOf(digest));
  EXPECT_EQ(size, data.size());
  CRYPTA_ASSIGN_OR_FAIL(std::string fetched, b.PathOf(digest));
  CRYPTA_ASSIGN_OR_FAIL(Bytes got, ReadFileBytes(fetched, 8 << 20));
  EXPECT_EQ(got, data);
  CRYPTA_ASSERT_OK(b.Check(digest));

  // Another blob, its middle chunk altered in the database: a replica without it cached
  // refuses it and keeps nothing.
  CRYPTA_ASSIGN_OR_FAIL(Bytes other, RandomBytes(3 << 20));
  CRYPTA_ASSIGN_OR_FAIL(std::string other_digest, a.PutBytes(other));
  CRYPTA_ASSIGN_OR_FAIL(
      Statement tamper,
      db->Prepare("UPDATE blob_chunks SET data = ? WHERE digest = ? AND idx = 1"));
  CRYPTA_ASSERT_OK(tamper.BindBlob(1, Bytes(1 << 20, 0x5a)));
  CRYPTA_ASSERT_OK(tamper.Bind(2, std::string_view(other_digest)));
  CRYPTA_ASSERT_OK(tamper.Run());
  auto refused = b.PathOf(other_digest);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code(), ErrorCode::kDataLoss);
  EXPECT_THAT(refused.error().message(), HasSubstr("does not match its digest"));
  EXPECT_FALSE(fs::exists(dir_ / "b" / "sha256" / other_digest.substr(0, 2) / other_digest));

  // Removed through A: gone for B too, and B's cached copy with it.
  CRYPTA_ASSERT_OK(a.Remove(digest));
  EXPECT_FALSE(a.Contains(digest));
  EXPECT_FALSE(b.Contains(digest));
  EXPECT_FALSE(b.PathOf(digest).has_value());
  EXPECT_FALSE(fs::exists(fetched));
}

}  // namespace
}  // namespace crypta::store

#include "store/blob_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "common/encoding.h"
#include "common/file_util.h"
#include "crypto/hash.h"
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

}  // namespace
}  // namespace crypta::store

// Sealed-blob format (DESIGN.md §4.1): round trips and every tampering the format must catch.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "common/file_util.h"
#include "crypto/key_file.h"
#include "crypto/random.h"
#include "crypto/sealed_blob.h"
#include "crypto/sealed_file.h"
#include "testing/test_util.h"

namespace crypta {
namespace {

constexpr uint32_t kChunk = kMinChunkSize;  // small chunks: many chunks in small tests

SecretBytes TestKey(uint8_t fill) { return SecretBytes(Bytes(32, fill)); }

Bytes Pattern(size_t n) {
  Bytes b(n);
  for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>(i * 31 + 7);
  return b;
}

// Seals `plain` under `dek` with a real wrapped key (KEK 0x11...).
Bytes SealWith(const SecretBytes& dek, ByteSpan plain, int threads = 1) {
  KeyReference ref{"", "test", 0};
  Bytes wrapped = *WrapDataKey(TestKey(0x11).Reveal(), ref, dek);
  SealedHeader h = *NewSealedHeader(ref, wrapped, plain.size(), kChunk);
  Result<Bytes> blob = SealBuffer(dek, h, plain, threads);
  EXPECT_TRUE(blob.has_value()) << blob.error().ToString();
  return blob ? *blob : Bytes{};
}

size_t HeaderLength(ByteSpan blob) { return *PeekSealedHeaderLength(blob); }

TEST(SealedBlobTest, RoundTripsEverySizeAroundChunkBoundaries) {
  SecretBytes dek = TestKey(0x42);
  for (size_t n : {size_t{0}, size_t{1}, size_t{kChunk - 1}, size_t{kChunk}, size_t{kChunk + 1},
                   size_t{3 * kChunk + 5}}) {
    for (int threads : {1, 4}) {
      Bytes plain = Pattern(n);
      Bytes blob = SealWith(dek, plain, threads);
      CRYPTA_ASSIGN_OR_FAIL(Bytes back, OpenBuffer(dek, blob, threads));
      EXPECT_EQ(back, plain) << "size " << n << " threads " << threads;
    }
  }
}

TEST(SealedBlobTest, EmptyPlaintextStillHasOneAuthenticatedChunk) {
  SecretBytes dek = TestKey(0x42);
  Bytes blob = SealWith(dek, {});
  EXPECT_EQ(blob.size(), HeaderLength(blob) + kSealedHeaderTagSize + kAeadTagSize);
  blob.back() ^= 1;
  EXPECT_FALSE(OpenBuffer(dek, blob).has_value());
}

TEST(SealedBlobTest, RejectsAFlipOfEveryByte) {
  SecretBytes dek = TestKey(0x42);
  Bytes blob = SealWith(dek, Pattern(2 * kChunk + 100));
  for (size_t i = 0; i < blob.size(); i += (i < 200 ? 1 : 97)) {
    Bytes bad = blob;
    bad[i] ^= 0x01;
    EXPECT_FALSE(OpenBuffer(dek, bad).has_value()) << "flip at offset " << i << " was accepted";
  }
}

TEST(SealedBlobTest, HeaderEditsAreReportedAsHeaderModification) {
  SecretBytes dek = TestKey(0x42);
  Bytes blob = SealWith(dek, Pattern(100));
  size_t hlen = HeaderLength(blob);
  for (size_t i = kSealedHeaderFixedPrefix; i < hlen; ++i) {
    Bytes bad = blob;
    bad[i] ^= 0x80;
    Result<Bytes> r = OpenBuffer(dek, bad);
    ASSERT_FALSE(r.has_value()) << "header byte " << i;
  }
  Bytes bad = blob;
  bad[20] ^= 0x01;  // plaintext_length
  Result<Bytes> r = OpenBuffer(dek, bad);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message().find("header was modified"), std::string::npos)
      << r.error().message();
}

TEST(SealedBlobTest, RejectsTruncationAndTrailingData) {
  SecretBytes dek = TestKey(0x42);
  Bytes blob = SealWith(dek, Pattern(3 * kChunk));
  Bytes shorter(blob.begin(), blob.end() - (kChunk + kAeadTagSize));  // drop the last chunk
  Result<Bytes> r = OpenBuffer(dek, shorter);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), ErrorCode::kDataLoss);
  EXPECT_NE(r.error().message().find("truncated"), std::string::npos);
  Bytes longer = blob;
  longer.push_back(0);
  EXPECT_FALSE(OpenBuffer(dek, longer).has_value());
}

TEST(SealedBlobTest, LastChunkFlagStopsTruncationAtAChunkBoundary) {
  // A reader that believed the blob had only 2 chunks would treat chunk 1 as the last one;
  // chunk 1 was sealed as a middle chunk, so it must not open as a last chunk.
  SecretBytes dek = TestKey(0x42);
  Bytes plain = Pattern(3 * kChunk);
  Bytes blob = SealWith(dek, plain);
  OpenedHeader opened = *ReadSealedHeader(blob);
  SealedHeader two = opened.header;
  two.plaintext_length = 2 * kChunk;  // what a truncating attacker would claim
  CRYPTA_ASSIGN_OR_FAIL(ChunkCipher cut, ChunkCipher::Create(dek, two, opened.encoded));
  size_t off = opened.header.ChunkOffset(opened.encoded.size(), 1);
  Bytes out(kChunk);
  EXPECT_FALSE(
      cut.OpenChunk(1, ByteSpan(blob).subspan(off, kChunk + kAeadTagSize), out).has_value());
  CRYPTA_ASSIGN_OR_FAIL(ChunkCipher full, ChunkCipher::Create(dek, opened.header, opened.encoded));
  CRYPTA_EXPECT_OK(full.OpenChunk(1, ByteSpan(blob).subspan(off, kChunk + kAeadTagSize), out));
}

TEST(SealedBlobTest, RejectsReorderedChunks) {
  SecretBytes dek = TestKey(0x42);
  Bytes blob = SealWith(dek, Pattern(3 * kChunk));
  OpenedHeader opened = *ReadSealedHeader(blob);
  size_t a = opened.header.ChunkOffset(opened.encoded.size(), 0);
  size_t b = opened.header.ChunkOffset(opened.encoded.size(), 1);
  Bytes swapped = blob;
  std::swap_ranges(swapped.begin() + a, swapped.begin() + a + kChunk + kAeadTagSize,
                   swapped.begin() + b);
  Result<Bytes> r = OpenBuffer(dek, swapped);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message().find("chunk 0"), std::string::npos) << r.error().message();
}

TEST(SealedBlobTest, RejectsChunkSplicedFromAnotherBlobEvenUnderTheSameKey) {
  SecretBytes dek = TestKey(0x42);
  Bytes plain = Pattern(2 * kChunk);
  Bytes one = SealWith(dek, plain);
  Bytes two = SealWith(dek, plain);  // same key, same plaintext, new header
  size_t off = ReadSealedHeader(one)->header.ChunkOffset(HeaderLength(one), 0);
  Bytes spliced = one;
  std::copy(two.begin() + off, two.begin() + off + kChunk + kAeadTagSize, spliced.begin() + off);
  EXPECT_FALSE(OpenBuffer(dek, spliced).has_value());
}

TEST(SealedBlobTest, RejectsWrongDataKey) {
  Bytes blob = SealWith(TestKey(0x42), Pattern(10));
  EXPECT_FALSE(OpenBuffer(TestKey(0x43), blob).has_value());
}

TEST(SealedBlobTest, WrappedKeyIsBoundToKekAndKeyReference) {
  SecretBytes dek = TestKey(0x42);
  SecretBytes kek = TestKey(0x11);
  KeyReference ref{"radiology", "models", 3};
  CRYPTA_ASSIGN_OR_FAIL(Bytes wrapped, WrapDataKey(kek.Reveal(), ref, dek));
  CRYPTA_ASSIGN_OR_FAIL(SecretBytes back, UnwrapDataKey(kek.Reveal(), ref, wrapped));
  EXPECT_EQ(ToString(back.Reveal()), ToString(dek.Reveal()));
  EXPECT_EQ(UnwrapDataKey(TestKey(0x12).Reveal(), ref, wrapped).error().code(),
            ErrorCode::kUnauthenticated);
  for (KeyReference other :
       {KeyReference{"finance", "models", 3}, KeyReference{"radiology", "model", 3},
        KeyReference{"radiology", "models", 4}}) {
    EXPECT_FALSE(UnwrapDataKey(kek.Reveal(), other, wrapped).has_value());
  }
}

TEST(SealedHeaderTest, RejectsMalformedHeaders) {
  SealedHeader h = *NewSealedHeader(KeyReference{"t", "k", 1}, Bytes(60, 7), 1000, kChunk);
  Bytes good = *EncodeSealedHeader(h);
  CRYPTA_ASSIGN_OR_FAIL(SealedHeader parsed, ParseSealedHeader(good));
  EXPECT_EQ(parsed.key_ref.tenant, "t");
  EXPECT_EQ(parsed.plaintext_length, 1000u);

  auto expect_error = [](Bytes bytes, const std::string& want) {
    Result<SealedHeader> r = ParseSealedHeader(bytes);
    ASSERT_FALSE(r.has_value()) << want;
    EXPECT_NE(r.error().message().find(want), std::string::npos) << r.error().message();
  };
  Bytes b = good;
  b[0] = 'X';
  expect_error(b, "bad magic");
  b = good;
  b[7] = 2;
  expect_error(b, "unsupported format version");
  b = good;
  b[11] = 9;  // algorithm
  expect_error(b, "unknown algorithm");
  b = good;
  b[12] = 0xff;  // chunk_size high byte
  expect_error(b, "chunk_size");
  b = good;
  b.push_back(0);
  expect_error(b, "header_length");
  b = good;
  b[9] += 1;  // header_length says one more byte than present
  b.push_back(0);
  expect_error(b, "trailing");
  EXPECT_FALSE(ParseSealedHeader(ByteSpan(good).first(20)).has_value());
}

TEST(SealedHeaderTest, EncoderEnforcesLimits) {
  SealedHeader h;
  h.wrapped_dek = Bytes(60, 1);
  h.chunk_size = 100;
  EXPECT_FALSE(EncodeSealedHeader(h).has_value());
  h.chunk_size = kChunk;
  h.key_ref.tenant = std::string(256, 'a');
  EXPECT_FALSE(EncodeSealedHeader(h).has_value());
  h.key_ref.tenant = "a";
  h.wrapped_dek.clear();
  EXPECT_FALSE(EncodeSealedHeader(h).has_value());
}

// ---------------------------------------------------------------- files

class SealedFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("crypta_seal_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    kek_ = TestKey(0x5a);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string Path(const std::string& name) const { return (dir_ / name).string(); }
  void Write(const std::string& name, ByteSpan data) {
    std::ofstream(Path(name), std::ios::binary)
        .write(reinterpret_cast<const char*>(data.data()),
               static_cast<std::streamsize>(data.size()));
  }
  Bytes Read(const std::string& name) { return *ReadFileBytes(Path(name), 1u << 30); }
  // Number of entries in the test directory (catches stray temporary files).
  size_t Entries() const {
    return static_cast<size_t>(std::distance(std::filesystem::directory_iterator(dir_),
                                             std::filesystem::directory_iterator()));
  }

  std::filesystem::path dir_;
  SecretBytes kek_;
};

TEST_F(SealedFileTest, RoundTripsAMultiChunkFileOnSeveralThreads) {
  Bytes plain = Pattern(10 * kChunk + 123);
  Write("model.bin", plain);
  SealedFileOptions opts;
  opts.chunk_size = kChunk;
  opts.threads = 3;
  uint64_t last_progress = 0;
  opts.progress = [&](uint64_t done, uint64_t) { last_progress = done; };
  KeyReference ref = KeyFileReference(kek_);
  CRYPTA_ASSERT_OK(SealFile(kek_.Reveal(), ref, Path("model.bin"), Path("model.sealed"), opts));
  CRYPTA_ASSERT_OK(UnsealFile(kek_.Reveal(), Path("model.sealed"), Path("out.bin"), opts));
  EXPECT_EQ(Read("out.bin"), plain);
  EXPECT_EQ(last_progress, plain.size());
  EXPECT_EQ(std::filesystem::status(Path("out.bin")).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  // The file and the in-memory reader agree on the format.
  CRYPTA_ASSIGN_OR_FAIL(OpenedHeader opened, ReadSealedFileHeader(Path("model.sealed")));
  CRYPTA_ASSIGN_OR_FAIL(SecretBytes dek,
                        UnwrapDataKey(kek_.Reveal(), ref, opened.header.wrapped_dek));
  CRYPTA_ASSIGN_OR_FAIL(Bytes back, OpenBuffer(dek, Read("model.sealed")));
  EXPECT_EQ(back, plain);
}

TEST_F(SealedFileTest, FailuresLeaveNoOutputFile) {
  Write("model.bin", Pattern(5 * kChunk));
  SealedFileOptions opts;
  opts.chunk_size = kChunk;
  KeyReference ref = KeyFileReference(kek_);
  CRYPTA_ASSERT_OK(SealFile(kek_.Reveal(), ref, Path("model.bin"), Path("model.sealed"), opts));
  Bytes sealed = Read("model.sealed");

  Bytes flipped = sealed;
  flipped[flipped.size() - 3 * kChunk] ^= 0x20;
  Write("flipped.sealed", flipped);
  Write("truncated.sealed", ByteSpan(sealed).first(sealed.size() - 1));
  const size_t before = Entries();

  Result<void> r = UnsealFile(kek_.Reveal(), Path("flipped.sealed"), Path("out.bin"), opts);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), ErrorCode::kDataLoss);
  r = UnsealFile(kek_.Reveal(), Path("truncated.sealed"), Path("out.bin"), opts);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message().find("truncated"), std::string::npos);
  r = UnsealFile(TestKey(0x01).Reveal(), Path("model.sealed"), Path("out.bin"), opts);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), ErrorCode::kUnauthenticated);
  EXPECT_FALSE(std::filesystem::exists(Path("out.bin")));
  EXPECT_EQ(Entries(), before) << "a temporary file was left behind";
}

TEST_F(SealedFileTest, DoesNotReplaceAnExistingOutputUnlessAsked) {
  Write("model.bin", Pattern(100));
  Write("model.sealed", AsBytes("precious"));
  SealedFileOptions opts;
  KeyReference ref = KeyFileReference(kek_);
  Result<void> r = SealFile(kek_.Reveal(), ref, Path("model.bin"), Path("model.sealed"), opts);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), ErrorCode::kAlreadyExists);
  EXPECT_EQ(ToString(Read("model.sealed")), "precious");
  opts.overwrite = true;
  CRYPTA_EXPECT_OK(SealFile(kek_.Reveal(), ref, Path("model.bin"), Path("model.sealed"), opts));
}

TEST_F(SealedFileTest, KeyFilesAreExactly32BytesAndPrivate) {
  CRYPTA_ASSERT_OK(GenerateKeyFile(Path("k")));
  EXPECT_EQ(std::filesystem::file_size(Path("k")), 32u);
  EXPECT_EQ(std::filesystem::status(Path("k")).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  EXPECT_FALSE(GenerateKeyFile(Path("k")).has_value()) << "keygen must not overwrite";
  CRYPTA_ASSIGN_OR_FAIL(LoadedKeyFile loaded, LoadKeyFile(Path("k")));
  EXPECT_FALSE(loaded.group_or_world_accessible);
  Write("short", Bytes(31, 1));
  Result<LoadedKeyFile> bad = LoadKeyFile(Path("short"));
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().message().find("31 bytes"), std::string::npos);
  EXPECT_NE(KeyFileId(loaded.key), KeyFileId(TestKey(0)));
}

}  // namespace
}  // namespace crypta

// Signed notes, verifier keys and checkpoint bodies (checkpoint.h): known answers from the
// reference implementation's tests (golang.org/x/mod/sumdb/note) and C2SP tlog-checkpoint's
// example, round trips, and one test per malformed case.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "common/encoding.h"
#include "testing/test_util.h"
#include "transparency/checkpoint.h"

namespace crypta::transparency {
namespace {

using ::testing::HasSubstr;

// golang.org/x/mod/sumdb/note note_test.go: the PeterNeumann and EnochRoot keys, the note
// text and their signatures (Ed25519 is deterministic, so our signature must be the same).
constexpr char kPeterVkey[] = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
constexpr char kPeterSkeyBase64[] = "AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";  // 0x01||seed
constexpr char kEnochVkey[] = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop";
constexpr char kText[] =
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n";
constexpr char kPeterSig[] =
    "\xE2\x80\x94 PeterNeumann "
    "x08go/ZJkuBS9UG/"
    "SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
constexpr char kEnochSig[] =
    "\xE2\x80\x94 EnochRoot "
    "rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/"
    "5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n";

// C2SP tlog-checkpoint's example body.
constexpr char kSofaBody[] =
    "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";

PrivateKey PeterKey() {
  auto typed = Base64Decode(kPeterSkeyBase64);
  EXPECT_TRUE(typed.has_value());
  auto key = PrivateKey::FromRaw(KeyType::kEd25519, ByteSpan(*typed).subspan(1));
  EXPECT_TRUE(key.has_value());
  return std::move(*key);
}

NoteVerifier Verifier(const char* vkey) {
  auto v = ParseVerifierKey(vkey);
  EXPECT_TRUE(v.has_value()) << v.error().ToString();
  return std::move(*v);
}

std::string PeterNote() { return std::string(kText) + "\n" + kPeterSig; }

TEST(SignedNoteKnownAnswer, VerifierKeyOfTheReferenceSeedMatches) {
  PrivateKey key = PeterKey();
  CRYPTA_ASSIGN_OR_FAIL(std::string vkey, VerifierKeyString("PeterNeumann", key.GetPublicKey()));
  EXPECT_EQ(vkey, kPeterVkey);
  NoteVerifier v = Verifier(kPeterVkey);
  EXPECT_EQ(v.name, "PeterNeumann");
  EXPECT_EQ(v.key_id, 0xc74f20a3u);
}

TEST(SignedNoteKnownAnswer, SignatureMatchesTheReferenceByteForByte) {
  CRYPTA_ASSIGN_OR_FAIL(std::string note, SignNote(kText, "PeterNeumann", PeterKey()));
  EXPECT_EQ(note, PeterNote());
}

TEST(SignedNoteKnownAnswer, OpensWithEitherKeyAndIgnoresTheOther) {
  const std::string both = std::string(kText) + "\n" + kPeterSig + kEnochSig;
  CRYPTA_ASSIGN_OR_FAIL(std::string text, OpenNote(both, Verifier(kPeterVkey)));
  EXPECT_EQ(text, kText);
  CRYPTA_ASSIGN_OR_FAIL(text, OpenNote(both, Verifier(kEnochVkey)));
  EXPECT_EQ(text, kText);
}

TEST(SignedNoteKnownAnswer, RepeatedSignaturesAreAccepted) {
  const std::string note = std::string(kText) + "\n" + kPeterSig + kPeterSig + kEnochSig;
  CRYPTA_EXPECT_OK(OpenNote(note, Verifier(kPeterVkey)));
}

TEST(SignedNoteKnownAnswer, RejectsTheReferenceMalformedNotes) {
  const std::string text = kText;
  const std::string sig = kPeterSig;
  const std::string bad[] = {
      text,
      text + "\n",
      text + "\n" + sig.substr(0, sig.size() - 1),
      "\x01" + text + "\n" + sig,
      "\xff" + text + "\n" + sig,
      text +
          "\n\xE2\x80\x94 Bad Name "
          "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgK"
          "vqfqdngotpRZb6KE6RyyBwJnAM=",
      text + "\n" + sig + "Unexpected line.\n",
  };
  for (const std::string& note : bad) {
    auto opened = OpenNote(note, Verifier(kPeterVkey));
    ASSERT_FALSE(opened.has_value()) << note;
    EXPECT_EQ(opened.error().code(), ErrorCode::kInvalidArgument) << opened.error().ToString();
  }
}

TEST(SignedNoteKnownAnswer, VerifiesTheFuzzCorpusNotesSignedByAnotherImplementation) {
  // testdata/fuzz/checkpoint/note_*: signed with the reference seed by Python's
  // cryptography package, not by this code.
  const std::string note = testing::ReadTestdataString("fuzz/checkpoint/note_size_7");
  CRYPTA_ASSIGN_OR_FAIL(Checkpoint cp,
                        VerifyCheckpointNote(note, Verifier(kPeterVkey), "example.com/fuzz"));
  EXPECT_EQ(cp.size, 7u);
  const std::string two = testing::ReadTestdataString("fuzz/checkpoint/note_two_signatures");
  CRYPTA_EXPECT_OK(VerifyCheckpointNote(two, Verifier(kPeterVkey), "example.com/fuzz"));
}

TEST(SignedNote, RejectsMoreThan100SignatureLines) {
  std::string note = std::string(kText) + "\n";
  for (int i = 0; i < 101; ++i) note += kPeterSig;
  auto opened = OpenNote(note, Verifier(kPeterVkey));
  ASSERT_FALSE(opened.has_value());
  EXPECT_EQ(opened.error().code(), ErrorCode::kResourceExhausted);
}

TEST(SignedNote, RejectsAWrongLengthSignatureByTheKey) {
  std::string sig = kPeterSig;
  sig.insert(60, "ABCD");
  auto opened = OpenNote(std::string(kText) + "\n" + sig, Verifier(kPeterVkey));
  ASSERT_FALSE(opened.has_value());
  EXPECT_EQ(opened.error().code(), ErrorCode::kUnauthenticated);
}

TEST(SignedNote, RejectsAnEditedText) {
  std::string note = PeterNote();
  note.replace(note.find("cryptography"), 12, "cryptographY");
  auto opened = OpenNote(note, Verifier(kPeterVkey));
  ASSERT_FALSE(opened.has_value());
  EXPECT_EQ(opened.error().code(), ErrorCode::kUnauthenticated);
  EXPECT_THAT(opened.error().message(), HasSubstr("does not verify"));
}

TEST(SignedNote, RejectsANoteWithoutTheKeysSignature) {
  const std::string note = std::string(kText) + "\n" + kEnochSig;
  auto opened = OpenNote(note, Verifier(kPeterVkey));
  ASSERT_FALSE(opened.has_value());
  EXPECT_EQ(opened.error().code(), ErrorCode::kUnauthenticated);
  EXPECT_THAT(opened.error().message(), HasSubstr("no signature by PeterNeumann+c74f20a3"));
}

TEST(SignedNote, IgnoresSignaturesThatShareOnlyTheNameOrOnlyTheId) {
  // Same name, another id: the EnochRoot signature relabelled (ignored, not verified).
  std::string same_name = kEnochSig;
  same_name.replace(same_name.find("EnochRoot"), 9, "PeterNeumann");
  // Same id, another name.
  std::string same_id = kPeterSig;
  same_id.replace(same_id.find("PeterNeumann"), 12, "PaulNeumann");
  const std::string note = std::string(kText) + "\n" + same_name + same_id + kPeterSig;
  CRYPTA_EXPECT_OK(OpenNote(note, Verifier(kPeterVkey)));
  // Alone they are not the key's signature.
  auto opened = OpenNote(std::string(kText) + "\n" + same_name + same_id, Verifier(kPeterVkey));
  ASSERT_FALSE(opened.has_value());
  EXPECT_THAT(opened.error().message(), HasSubstr("no signature by"));
}

TEST(SignedNote, RejectsEachMalformedCase) {
  const std::string text = kText;
  const std::string sig = kPeterSig;
  struct Case {
    std::string note;
    std::string message;
  } cases[] = {
      {text + "\r\n" + sig, "control character 0x0d"},
      {"If\tyou\n\n" + sig, "control character 0x09"},
      {text.substr(0, 5) + "\xC3\x28" + text.substr(5) + "\n" + sig, "invalid UTF-8"},
      {text.substr(0, 5) + "\xED\xA0\x80" + text.substr(5) + "\n" + sig, "invalid UTF-8"},
      {text.substr(0, 5) + "\xC0\xAF" + text.substr(5) + "\n" + sig, "invalid UTF-8"},
      {text + sig, "no blank line"},
      {text + "\n", "no signature lines"},
      {text + "\n- PeterNeumann AAAAAAAA\n", "does not start with an em dash"},
      {text + "\n\xE2\x80\x94 PeterNeumann\n", "no space"},
      {text + "\n\xE2\x80\x94  AAAAAAAA\n", "key name is empty"},
      {text + "\n\xE2\x80\x94 Peter+Neumann AAAAAAAA\n", "'+'"},
      {text + "\n\xE2\x80\x94 PeterNeumann AAAA\n", "want a 4-byte key id"},
      {text + "\n\xE2\x80\x94 PeterNeumann not*base64\n", "not base64"},
      {text + "\n\xE2\x80\x94 PeterNeumann AAAAAAAA \n", "not base64"},
  };
  for (const Case& c : cases) {
    auto opened = OpenNote(c.note, Verifier(kPeterVkey));
    ASSERT_FALSE(opened.has_value()) << c.note;
    EXPECT_EQ(opened.error().code(), ErrorCode::kInvalidArgument) << c.note;
    EXPECT_THAT(opened.error().message(), HasSubstr(c.message)) << c.note;
  }
}

TEST(SignedNote, RejectsANoteOverOneMebibyte) {
  std::string note(kMaxNoteBytes, 'a');
  note += "\n\n" + std::string(kPeterSig);
  auto opened = OpenNote(note, Verifier(kPeterVkey));
  ASSERT_FALSE(opened.has_value());
  EXPECT_EQ(opened.error().code(), ErrorCode::kResourceExhausted);
}

TEST(SignedNote, SignRefusesBadInputs) {
  PrivateKey key = PeterKey();
  EXPECT_FALSE(SignNote("no newline", "k", key).has_value());
  EXPECT_FALSE(SignNote("", "k", key).has_value());
  EXPECT_FALSE(SignNote("carriage\r\n", "k", key).has_value());
  EXPECT_FALSE(SignNote("text\n", "", key).has_value());
  EXPECT_FALSE(SignNote("text\n", "a b", key).has_value());
  EXPECT_FALSE(SignNote("text\n", "a+b", key).has_value());
  EXPECT_FALSE(SignNote("text\n",
                        "a\xE2\x80\x83"
                        "b",
                        key)
                   .has_value());  // U+2003 EM SPACE
  CRYPTA_ASSIGN_OR_FAIL(PrivateKey ec, PrivateKey::Generate(KeyType::kEcP256));
  auto signed_ec = SignNote("text\n", "k", ec);
  ASSERT_FALSE(signed_ec.has_value());
  EXPECT_THAT(signed_ec.error().message(), HasSubstr("Ed25519"));
}

TEST(SignedNote, RoundTripsAGeneratedKeyWithBlankLinesInTheText) {
  CRYPTA_ASSIGN_OR_FAIL(PrivateKey key, PrivateKey::Generate(KeyType::kEd25519));
  CRYPTA_ASSIGN_OR_FAIL(std::string vkey, VerifierKeyString("log.example/x", key.GetPublicKey()));
  const std::string text = "a\n\nb \xE2\x80\x94 \xC3\xA9\n";
  CRYPTA_ASSIGN_OR_FAIL(std::string note, SignNote(text, "log.example/x", key));
  CRYPTA_ASSIGN_OR_FAIL(std::string opened, OpenNote(note, Verifier(vkey.c_str())));
  EXPECT_EQ(opened, text);
}

TEST(VerifierKey, RejectsEveryManglingOfTheReferenceKey) {
  // As the reference test does: every proper substring, and every byte incremented.
  const std::string vkey = kPeterVkey;
  for (size_t i = 0; i <= vkey.size(); ++i) {
    for (size_t j = i + 1; j <= vkey.size(); ++j) {
      if (i == 0 && j == vkey.size()) continue;
      EXPECT_FALSE(ParseVerifierKey(vkey.substr(i, j - i)).has_value()) << vkey.substr(i, j - i);
    }
  }
  for (size_t i = 0; i < vkey.size(); ++i) {
    std::string bad = vkey;
    ++bad[i];
    EXPECT_FALSE(ParseVerifierKey(bad).has_value()) << bad;
  }
}

TEST(VerifierKey, RejectsAWrongLengthKeyAndAnUnknownTypeWithMatchingIds) {
  auto wrong_length = ParseVerifierKey(
      "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==");
  ASSERT_FALSE(wrong_length.has_value());  // (its base64 is not canonical either)
  // A 31-byte key with a matching id.
  Bytes typed(32, 0x11);
  typed[0] = kNoteSignatureTypeEd25519;
  char id[9];
  std::snprintf(id, sizeof(id), "%08x", NoteKeyId("short", typed));
  auto short_key = ParseVerifierKey("short+" + std::string(id) + "+" + Base64Encode(typed));
  ASSERT_FALSE(short_key.has_value());
  EXPECT_THAT(short_key.error().message(), HasSubstr("31 bytes, want 32"));
  auto unknown_type =
      ParseVerifierKey("PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW");
  ASSERT_FALSE(unknown_type.has_value());
  EXPECT_EQ(unknown_type.error().code(), ErrorCode::kUnimplemented);
}

TEST(VerifierKey, NamesAMismatchedKeyId) {
  auto v = ParseVerifierKey("PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW");
  ASSERT_FALSE(v.has_value());
  EXPECT_THAT(v.error().message(), HasSubstr("want c74f20a3"));
}

TEST(CheckpointBody, ParsesTheC2spExample) {
  CRYPTA_ASSIGN_OR_FAIL(Checkpoint cp, ParseCheckpointBody(kSofaBody));
  EXPECT_EQ(cp.origin, "example.com/behind-the-sofa");
  EXPECT_EQ(cp.size, 20852163u);
  EXPECT_EQ(Base64Encode(cp.root), "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=");
  EXPECT_TRUE(cp.extensions.empty());
  EXPECT_EQ(CheckpointBody(cp), kSofaBody);
}

TEST(CheckpointBody, KeepsExtensionLinesAndTheExtremeSizes) {
  const std::string root = "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=";
  const std::string body = "o\n18446744073709551615\n" + root + "\next one\n\xC3\xA9\n";
  CRYPTA_ASSIGN_OR_FAIL(Checkpoint cp, ParseCheckpointBody(body));
  EXPECT_EQ(cp.size, UINT64_MAX);
  EXPECT_EQ(cp.extensions, (std::vector<std::string>{"ext one", "\xC3\xA9"}));
  EXPECT_EQ(CheckpointBody(cp), body);
  CRYPTA_ASSIGN_OR_FAIL(Checkpoint empty, ParseCheckpointBody("o\n0\n" + root + "\n"));
  EXPECT_EQ(empty.size, 0u);
}

TEST(CheckpointBody, RejectsEachMalformedBody) {
  const std::string root = "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=";
  struct Case {
    std::string body;
    std::string message;
  } cases[] = {
      {"o\n1\n" + root, "newline"},
      {"o\n1\n", "want at least 3"},
      {"\n1\n" + root + "\n", "origin (line 1) is empty"},
      {"o\n01\n" + root + "\n", "leading zeros"},
      {"o\n\n" + root + "\n", "leading zeros"},
      {"o\n+1\n" + root + "\n", "not a decimal digit"},
      {"o\n1 \n" + root + "\n", "not a decimal digit"},
      {"o\n18446744073709551616\n" + root + "\n", "exceeds"},
      {"o\n123456789012345678901\n" + root + "\n", "leading zeros"},
      {"o\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxqw==\n", "want 32"},
      {"o\n1\n" + root.substr(1) + "\n", "not base64"},
      {"o\n1\n" + root + "\n\n", "extension line 4 is empty"},
      {"o\n1\n" + root + "\next\n\n", "extension line 5 is empty"},
  };
  for (const Case& c : cases) {
    auto cp = ParseCheckpointBody(c.body);
    ASSERT_FALSE(cp.has_value()) << c.body;
    EXPECT_EQ(cp.error().code(), ErrorCode::kInvalidArgument) << c.body;
    EXPECT_THAT(cp.error().message(), HasSubstr(c.message)) << c.body;
  }
}

class CheckpointNoteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    CRYPTA_ASSIGN_OR_FAIL(PrivateKey key, PrivateKey::Generate(KeyType::kEd25519));
    key_.emplace(std::move(key));
    CRYPTA_ASSIGN_OR_FAIL(std::string vkey, VerifierKeyString(kOrigin, key_->GetPublicKey()));
    CRYPTA_ASSIGN_OR_FAIL(NoteVerifier v, ParseVerifierKey(vkey));
    verifier_.emplace(std::move(v));
    cp_.origin = kOrigin;
    cp_.size = 42;
    cp_.root = Bytes(32, 0xab);
  }
  std::string Sign(const Checkpoint& cp) {
    auto note = SignNote(CheckpointBody(cp), kOrigin, *key_);
    EXPECT_TRUE(note.has_value());
    return note.value_or("");
  }
  static constexpr char kOrigin[] = "crypta.test/releases";
  std::optional<PrivateKey> key_;
  std::optional<NoteVerifier> verifier_;
  Checkpoint cp_;
};

TEST_F(CheckpointNoteTest, RoundTrips) {
  cp_.extensions = {"ext"};
  CRYPTA_ASSIGN_OR_FAIL(Checkpoint got, VerifyCheckpointNote(Sign(cp_), *verifier_, kOrigin));
  EXPECT_EQ(got, cp_);
}

TEST_F(CheckpointNoteTest, RejectsAnotherOrigin) {
  Checkpoint other = cp_;
  other.origin = "crypta.test/other";
  auto got = VerifyCheckpointNote(Sign(other), *verifier_, kOrigin);
  ASSERT_FALSE(got.has_value());
  EXPECT_THAT(got.error().message(), HasSubstr("checkpoint origin:"));
}

TEST_F(CheckpointNoteTest, RejectsAnotherKey) {
  CRYPTA_ASSIGN_OR_FAIL(PrivateKey other, PrivateKey::Generate(KeyType::kEd25519));
  CRYPTA_ASSIGN_OR_FAIL(std::string note, SignNote(CheckpointBody(cp_), kOrigin, other));
  auto got = VerifyCheckpointNote(note, *verifier_, kOrigin);
  ASSERT_FALSE(got.has_value());
  EXPECT_EQ(got.error().code(), ErrorCode::kUnauthenticated);
  EXPECT_THAT(got.error().message(), HasSubstr("checkpoint signature:"));
}

TEST_F(CheckpointNoteTest, RejectsASignedButMalformedBody) {
  CRYPTA_ASSIGN_OR_FAIL(std::string note, SignNote("o\n007\nAAAA\n", kOrigin, *key_));
  auto got = VerifyCheckpointNote(note, *verifier_, kOrigin);
  ASSERT_FALSE(got.has_value());
  EXPECT_THAT(got.error().message(), HasSubstr("checkpoint body:"));
}

TEST_F(CheckpointNoteTest, RejectsAMalformedNote) {
  std::string note = Sign(cp_);
  note.insert(note.size() - 1, "\r");
  auto got = VerifyCheckpointNote(note, *verifier_, kOrigin);
  ASSERT_FALSE(got.has_value());
  EXPECT_THAT(got.error().message(), HasSubstr("checkpoint note:"));
}

}  // namespace
}  // namespace crypta::transparency

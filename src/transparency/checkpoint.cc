#include "transparency/checkpoint.h"

#include <cstdio>
#include <string>
#include <utility>

#include "common/encoding.h"
#include "crypto/hash.h"
#include "crypto/signature.h"
#include "transparency/text_util.h"

namespace crypta::transparency {
namespace {

// "— " as UTF-8: U+2014 EM DASH (E2 80 94), then a space (signed-note §Format).
constexpr std::string_view kSignaturePrefix = "\xE2\x80\x94 ";
constexpr size_t kMaxVerifierKeyBytes = 1024;
constexpr size_t kEd25519KeyBytes = 32;
constexpr size_t kEd25519SignatureBytes = 64;

Error Malformed(std::string message) {
  return Error(ErrorCode::kInvalidArgument, "signed note: " + std::move(message));
}

std::string KeyIdHex(uint32_t id) {
  char buf[9];
  std::snprintf(buf, sizeof(buf), "%08x", id);
  return buf;
}

std::string KeyLabel(std::string_view name, uint32_t id) {
  return std::string(name) + "+" + KeyIdHex(id);
}

// Checks the whole note or text: valid UTF-8, no control characters but newline.
Status CheckNoteCharacters(std::string_view text, std::string_view what) {
  auto bad = internal::FindBadCharacter(text, /*allow_newline=*/true);
  if (bad) {
    return MakeError(ErrorCode::kInvalidArgument, std::string(what) + ": " + *bad);
  }
  return OkStatus();
}

}  // namespace

std::string CheckpointBody(const Checkpoint& checkpoint) {
  std::string body = checkpoint.origin + "\n" + std::to_string(checkpoint.size) + "\n" +
                     Base64Encode(checkpoint.root) + "\n";
  for (const std::string& line : checkpoint.extensions) body += line + "\n";
  return body;
}

Result<Checkpoint> ParseCheckpointBody(std::string_view text) {
  if (text.size() > kMaxNoteBytes) {
    return MakeError(ErrorCode::kResourceExhausted, "checkpoint is " + std::to_string(text.size()) +
                                                        " bytes, at most " +
                                                        std::to_string(kMaxNoteBytes));
  }
  if (text.empty() || text.back() != '\n') {
    return MakeError(ErrorCode::kInvalidArgument, "checkpoint text does not end in a newline");
  }
  std::vector<std::string_view> lines;
  for (size_t start = 0; start < text.size();) {
    size_t end = text.find('\n', start);  // found: the text ends in '\n'
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  if (lines.size() < 3) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "checkpoint has " + std::to_string(lines.size()) +
                         " lines, want at least 3 (origin, size, root hash)");
  }
  Checkpoint cp;
  // tlog-checkpoint §Note text 1: the origin MUST be non-empty.
  if (lines[0].empty()) {
    return MakeError(ErrorCode::kInvalidArgument, "checkpoint origin (line 1) is empty");
  }
  cp.origin = std::string(lines[0]);
  // §Note text 2: ASCII decimal, no leading zeros unless the tree is empty.
  std::string_view size = lines[1];
  if (size.empty() || size.size() > 20 || (size.size() > 1 && size[0] == '0')) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "checkpoint size (line 2) must be a decimal number without leading zeros");
  }
  uint64_t value = 0;
  for (char c : size) {
    if (c < '0' || c > '9') {
      return MakeError(ErrorCode::kInvalidArgument,
                       "checkpoint size (line 2) has a character that is not a decimal digit");
    }
    const uint64_t digit = static_cast<uint64_t>(c - '0');
    if (value > (UINT64_MAX - digit) / 10) {
      return MakeError(ErrorCode::kInvalidArgument, "checkpoint size (line 2) exceeds 2^64 - 1");
    }
    value = value * 10 + digit;
  }
  cp.size = value;
  // §Note text 3: base64 (RFC 4648 §4) of the RFC 6962 tree hash.
  auto root = Base64Decode(lines[2]);
  if (!root) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "checkpoint root hash (line 3) is not base64: " + root.error().message());
  }
  if (root->size() != 32) {
    return MakeError(
        ErrorCode::kInvalidArgument,
        "checkpoint root hash (line 3) is " + std::to_string(root->size()) + " bytes, want 32");
  }
  cp.root = std::move(*root);
  // §Note text 4: extension lines, if any, MUST be non-empty.
  for (size_t i = 3; i < lines.size(); ++i) {
    if (lines[i].empty()) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "checkpoint extension line " + std::to_string(i + 1) + " is empty");
    }
    cp.extensions.emplace_back(lines[i]);
  }
  return cp;
}

Status ValidateNoteKeyName(std::string_view name, std::string_view what) {
  auto bad = [&](const std::string& why) {
    return MakeError(ErrorCode::kInvalidArgument, std::string(what) + " " + why);
  };
  if (name.empty()) return bad("is empty");
  if (name.size() > kMaxKeyNameBytes) {
    return bad("is " + std::to_string(name.size()) + " bytes, at most " +
               std::to_string(kMaxKeyNameBytes));
  }
  if (auto problem = internal::FindBadKeyNameCharacter(name)) return bad(*problem);
  return OkStatus();
}

uint32_t NoteKeyId(std::string_view name, ByteSpan type_and_key) {
  // signed-note §Signatures: key ID = SHA-256(key name || 0x0A || type || public key)[:4].
  Hasher h(HashAlg::kSha256);
  h.Update(AsBytes(name));
  const uint8_t newline = 0x0A;
  h.Update(ByteSpan(&newline, 1));
  h.Update(type_and_key);
  Bytes digest = h.Finish();
  return (uint32_t{digest[0]} << 24) | (uint32_t{digest[1]} << 16) | (uint32_t{digest[2]} << 8) |
         uint32_t{digest[3]};
}

Result<std::string> SignNote(std::string_view text, const std::string& key_name,
                             const PrivateKey& ed25519) {
  CRYPTA_RETURN_IF_ERROR(ValidateNoteKeyName(key_name, "note key name"));
  if (ed25519.type() != KeyType::kEd25519) {
    return MakeError(ErrorCode::kInvalidArgument, "note signing key must be Ed25519, got " +
                                                      std::string(KeyTypeName(ed25519.type())));
  }
  if (text.empty() || text.back() != '\n') {
    return MakeError(ErrorCode::kInvalidArgument, "note text must end in a newline");
  }
  if (text.size() > kMaxNoteBytes - 512) {  // room for the blank line and our signature line
    return MakeError(ErrorCode::kInvalidArgument,
                     "note text is " + std::to_string(text.size()) + " bytes, too long to sign");
  }
  CRYPTA_RETURN_IF_ERROR(CheckNoteCharacters(text, "note text"));
  CRYPTA_ASSIGN_OR_RETURN(Bytes raw, ed25519.GetPublicKey().Raw());
  const uint32_t id = NoteKeyId(key_name, Concat(Bytes{kNoteSignatureTypeEd25519}, raw));
  CRYPTA_ASSIGN_OR_RETURN(Bytes signature, Ed25519Sign(ed25519, AsBytes(text)));
  Bytes blob = {static_cast<uint8_t>(id >> 24), static_cast<uint8_t>(id >> 16),
                static_cast<uint8_t>(id >> 8), static_cast<uint8_t>(id)};
  blob.insert(blob.end(), signature.begin(), signature.end());
  return std::string(text) + "\n" + std::string(kSignaturePrefix) + key_name + " " +
         Base64Encode(blob) + "\n";
}

Result<std::string> VerifierKeyString(std::string_view name, const PublicKey& key) {
  CRYPTA_RETURN_IF_ERROR(ValidateNoteKeyName(name, "verifier key name"));
  if (key.type() != KeyType::kEd25519) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "verifier key must be Ed25519, got " + std::string(KeyTypeName(key.type())));
  }
  CRYPTA_ASSIGN_OR_RETURN(Bytes raw, key.Raw());
  Bytes typed = Concat(Bytes{kNoteSignatureTypeEd25519}, raw);
  return std::string(name) + "+" + KeyIdHex(NoteKeyId(name, typed)) + "+" + Base64Encode(typed);
}

Result<NoteVerifier> ParseVerifierKey(std::string_view vkey) {
  auto bad = [](const std::string& why) {
    return MakeError(ErrorCode::kInvalidArgument, "verifier key: " + why);
  };
  if (vkey.size() > kMaxVerifierKeyBytes) {
    return MakeError(ErrorCode::kResourceExhausted,
                     "verifier key is " + std::to_string(vkey.size()) + " bytes, at most " +
                         std::to_string(kMaxVerifierKeyBytes));
  }
  // <name>+<hex id>+<base64 key>: the name has no '+', the id is 8 hex digits, the base64
  // key may itself contain '+'.
  const size_t plus1 = vkey.find('+');
  if (plus1 == std::string_view::npos) return bad("want <name>+<key id>+<key>");
  const std::string_view name = vkey.substr(0, plus1);
  CRYPTA_RETURN_IF_ERROR(ValidateNoteKeyName(name, "verifier key name"));
  const std::string_view rest = vkey.substr(plus1 + 1);
  if (rest.size() < 9 || rest[8] != '+') return bad("key id must be 8 hex digits then '+'");
  uint32_t id = 0;
  for (char c : rest.substr(0, 8)) {
    uint32_t digit;
    if (c >= '0' && c <= '9') {
      digit = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      digit = c - 'a' + 10;
    } else if (c >= 'A' && c <= 'F') {
      digit = c - 'A' + 10;
    } else {
      return bad("key id must be 8 hex digits");
    }
    id = (id << 4) | digit;
  }
  auto typed = Base64Decode(rest.substr(9));
  if (!typed) return bad("key is not base64: " + typed.error().message());
  if (typed->empty()) return bad("key is empty");
  const uint32_t want = NoteKeyId(name, *typed);
  if (id != want) {
    return bad("key id " + KeyIdHex(id) + " does not match the name and key (want " +
               KeyIdHex(want) + ")");
  }
  if ((*typed)[0] != kNoteSignatureTypeEd25519) {
    char type[5];
    std::snprintf(type, sizeof(type), "0x%02x", (*typed)[0]);
    return MakeError(ErrorCode::kUnimplemented, "verifier key: signature type " +
                                                    std::string(type) +
                                                    " is not supported (only 0x01, Ed25519)");
  }
  if (typed->size() != 1 + kEd25519KeyBytes) {
    return bad("Ed25519 key is " + std::to_string(typed->size() - 1) + " bytes, want 32");
  }
  auto key = PublicKey::FromRaw(KeyType::kEd25519, ByteSpan(*typed).subspan(1));
  if (!key) return bad("Ed25519 key: " + key.error().message());
  return NoteVerifier{std::string(name), id, std::move(*key)};
}

Result<std::string> OpenNote(std::string_view note, const NoteVerifier& verifier) {
  if (note.size() > kMaxNoteBytes) {
    return MakeError(ErrorCode::kResourceExhausted,
                     "signed note is " + std::to_string(note.size()) + " bytes, at most " +
                         std::to_string(kMaxNoteBytes));
  }
  // signed-note §Format: valid UTF-8, no control characters other than newline (so no CR).
  CRYPTA_RETURN_IF_ERROR(CheckNoteCharacters(note, "signed note"));
  // The text (with its final newline) is separated from the signatures by the last blank line.
  const size_t split = note.rfind("\n\n");
  if (split == std::string_view::npos) {
    return MakeError(Malformed("no blank line between the text and the signatures"));
  }
  const std::string_view text = note.substr(0, split + 1);
  std::string_view sigs = note.substr(split + 2);
  if (sigs.empty()) return MakeError(Malformed("no signature lines"));
  if (sigs.back() != '\n') {
    return MakeError(Malformed("the last signature line does not end in a newline"));
  }
  const std::string label = KeyLabel(verifier.name, verifier.key_id);
  size_t count = 0;
  size_t verified = 0;
  while (!sigs.empty()) {
    const size_t end = sigs.find('\n');
    std::string_view line = sigs.substr(0, end);
    sigs.remove_prefix(end + 1);
    if (++count > kMaxNoteSignatures) {
      return MakeError(
          ErrorCode::kResourceExhausted,
          "signed note: more than " + std::to_string(kMaxNoteSignatures) + " signature lines");
    }
    const std::string where = "signature line " + std::to_string(count);
    if (!line.starts_with(kSignaturePrefix)) {
      return MakeError(Malformed(where + " does not start with an em dash (U+2014) and a space"));
    }
    line.remove_prefix(kSignaturePrefix.size());
    const size_t space = line.find(' ');
    if (space == std::string_view::npos) {
      return MakeError(Malformed(where + " has no space between key name and signature"));
    }
    const std::string_view name = line.substr(0, space);
    if (name.empty()) return MakeError(Malformed(where + ": key name is empty"));
    if (auto problem = internal::FindBadKeyNameCharacter(name)) {
      return MakeError(Malformed(where + ": key name " + *problem));
    }
    auto blob = Base64Decode(line.substr(space + 1));
    if (!blob) {
      return MakeError(Malformed(where + ": signature is not base64: " + blob.error().message()));
    }
    if (blob->size() < 5) {
      return MakeError(Malformed(where + ": signature is " + std::to_string(blob->size()) +
                                 " bytes, want a 4-byte key id and a signature"));
    }
    const uint32_t id = (uint32_t{(*blob)[0]} << 24) | (uint32_t{(*blob)[1]} << 16) |
                        (uint32_t{(*blob)[2]} << 8) | uint32_t{(*blob)[3]};
    // §Signatures: signatures from unknown keys are ignored, even if they share the name or
    // the id (but not both) with a known key.
    if (name != verifier.name || id != verifier.key_id) continue;
    // A known key's signature MUST be verified; one that fails makes us refuse the note.
    const ByteSpan signature = ByteSpan(*blob).subspan(4);
    if (signature.size() != kEd25519SignatureBytes) {
      return MakeError(ErrorCode::kUnauthenticated, "signature by " + label + " (" + where +
                                                        ") is " + std::to_string(signature.size()) +
                                                        " bytes, want 64");
    }
    if (!Ed25519Verify(verifier.key, AsBytes(text), signature)) {
      return MakeError(ErrorCode::kUnauthenticated,
                       "signature by " + label + " (" + where + ") does not verify");
    }
    ++verified;
  }
  if (verified == 0) {
    return MakeError(ErrorCode::kUnauthenticated, "no signature by " + label);
  }
  return std::string(text);
}

Result<Checkpoint> VerifyCheckpointNote(std::string_view note, const NoteVerifier& verifier,
                                        std::string_view origin) {
  auto text = OpenNote(note, verifier);
  if (!text) {
    return MakeError(text.error().WithContext(text.error().code() == ErrorCode::kUnauthenticated
                                                  ? "checkpoint signature"
                                                  : "checkpoint note"));
  }
  auto checkpoint = ParseCheckpointBody(*text);
  if (!checkpoint) return MakeError(checkpoint.error().WithContext("checkpoint body"));
  if (checkpoint->origin != origin) {
    return MakeError(ErrorCode::kUnauthenticated, "checkpoint origin: got \"" +
                                                      checkpoint->origin.substr(0, 256) +
                                                      "\", want \"" + std::string(origin) + "\"");
  }
  return std::move(*checkpoint);
}

}  // namespace crypta::transparency

// Signed tree heads of the release transparency log, in the formats other transparency tools
// read:
//   * C2SP signed-note (c2sp.org/signed-note): a UTF-8 text ending in "\n", a blank line, then
//     signature lines "— <key name> <base64(4-byte key id || signature)>\n" (U+2014 em dash).
//     Ed25519 (signature type 0x01) only; key id = SHA-256(name || 0x0A || 0x01 || 32-byte
//     public key)[:4], big-endian. Verifier keys are written "<name>+<8 hex key id>+
//     <base64(0x01 || public key)>" (golang.org/x/mod/sumdb/note's vkey form).
//   * C2SP tlog-checkpoint (c2sp.org/tlog-checkpoint): the note text
//     "<origin>\n<tree size>\n<base64 root hash>\n" and optional non-empty extension lines.
//
// Everything that reads a note or a key parses untrusted text: sizes are capped, every
// malformed case is kInvalidArgument (or kResourceExhausted for a cap) naming the problem,
// and a signature by the expected key that does not verify is kUnauthenticated (the whole
// note is refused, as signed-note §Signatures recommends). Functions are pure and
// thread-safe.
#ifndef CRYPTA_TRANSPARENCY_CHECKPOINT_H_
#define CRYPTA_TRANSPARENCY_CHECKPOINT_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.h"
#include "common/status.h"
#include "crypto/keys.h"

namespace crypta::transparency {

// A signed note is at most 1 MiB with at most 100 signature lines (signed-note §Format:
// verifiers SHOULD cap the count and MUST accept at least 16).
inline constexpr size_t kMaxNoteBytes = 1 << 20;
inline constexpr size_t kMaxNoteSignatures = 100;
// Our own key names and checkpoint origins (signing and verifier keys): at most 256 bytes.
inline constexpr size_t kMaxKeyNameBytes = 256;
// signed-note §Signature types: 0x01 = Ed25519.
inline constexpr uint8_t kNoteSignatureTypeEd25519 = 0x01;

// A tlog-checkpoint body. `root` is the RFC 6962 / RFC 9162 Merkle tree hash (32 bytes).
struct Checkpoint {
  std::string origin;
  uint64_t size = 0;
  Bytes root;
  std::vector<std::string> extensions;  // each non-empty, without the newline
  bool operator==(const Checkpoint&) const = default;
};

// A trusted note key: the Ed25519 public key, its name, and its key id.
struct NoteVerifier {
  std::string name;
  uint32_t key_id = 0;
  PublicKey key;
};

// "<origin>\n<size>\n<base64 root>\n" then "<extension>\n" for each extension
// (tlog-checkpoint §Note text). Does not validate; ParseCheckpointBody does.
std::string CheckpointBody(const Checkpoint& checkpoint);

// Parses a checkpoint body strictly: at least three lines, each newline-terminated; origin
// non-empty; size ASCII decimal without leading zeros ("0" for the empty tree) that fits
// uint64; root canonical base64 of exactly 32 bytes; extension lines non-empty.
[[nodiscard]] Result<Checkpoint> ParseCheckpointBody(std::string_view text);

// signed-note key names: non-empty, valid UTF-8, no Unicode space, no '+', no control
// character, and (crypta's cap) at most kMaxKeyNameBytes. kInvalidArgument naming `what`.
[[nodiscard]] Status ValidateNoteKeyName(std::string_view name, std::string_view what);

// SHA-256(name || 0x0A || type_and_key)[:4] as a big-endian uint32 (signed-note §Signatures);
// type_and_key is the signature type byte followed by the public key encoding.
uint32_t NoteKeyId(std::string_view name, ByteSpan type_and_key);

// Signs `text` (a note text: valid UTF-8 ending in "\n", no control characters other than
// newline, at most kMaxNoteBytes) with an Ed25519 key and returns the signed note
// "text\n— key_name base64(key id || signature)\n". kInvalidArgument for a bad text, key
// name or key type.
[[nodiscard]] Result<std::string> SignNote(std::string_view text, const std::string& key_name,
                                           const PrivateKey& ed25519);

// The verifier key string "<name>+<8 lowercase hex key id>+<base64(0x01 || public key)>" of an
// Ed25519 public key.
[[nodiscard]] Result<std::string> VerifierKeyString(std::string_view name, const PublicKey& key);

// Parses a verifier key string (untrusted; at most 1 KiB): the name rules above, exactly 8 hex
// digits of key id that must equal NoteKeyId of the name and key, signature type 0x01 and a
// 32-byte Ed25519 key. Other signature types are kUnimplemented.
[[nodiscard]] Result<NoteVerifier> ParseVerifierKey(std::string_view vkey);

// Opens a signed note: checks the format (signed-note §Format), ignores signatures by other
// keys (same name or same id, but not both), verifies every signature by `verifier` and
// returns the note text (with its final newline) when at least one verified. Errors:
// kResourceExhausted (size or signature-count cap), kInvalidArgument (malformed, naming the
// byte or signature line), kUnauthenticated ("signature by <key> does not verify", "no
// signature by <key>").
[[nodiscard]] Result<std::string> OpenNote(std::string_view note, const NoteVerifier& verifier);

// OpenNote, then ParseCheckpointBody of the text, then the origin must equal `origin`.
// Messages start with "checkpoint signature: " (kUnauthenticated), "checkpoint note: "
// (malformed note), "checkpoint body: " or "checkpoint origin: ".
[[nodiscard]] Result<Checkpoint> VerifyCheckpointNote(std::string_view note,
                                                      const NoteVerifier& verifier,
                                                      std::string_view origin);

}  // namespace crypta::transparency

#endif  // CRYPTA_TRANSPARENCY_CHECKPOINT_H_

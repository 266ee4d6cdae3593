// The runtime's OHTTP keys (DESIGN.md §4.5): one X25519 key pair at a time, each with a
// key epoch number, its encoded RFC 9458 §3 key config and its replay cache. Opening a
// request decapsulates it with the current key and refuses a reused encapsulated key;
// when the replay cache fills, the key is replaced by a fresh one (the next epoch) and the
// old private key is dropped, so nothing sealed to it can be opened again. Clients then
// fetch /v1/attestation again for the new key config (its evidence binds it).
#ifndef CRYPTA_RUNTIME_KEY_RING_H_
#define CRYPTA_RUNTIME_KEY_RING_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>

#include "common/bytes.h"
#include "common/status.h"
#include "crypto/ohttp.h"
#include "runtime/replay_cache.h"

namespace crypta::runtime {

// One OHTTP key and what was accepted under it. Immutable except for the replay cache.
struct KeyEpoch {
  KeyEpoch(uint64_t number_in, OhttpGateway gateway_in, Bytes config, size_t replay_capacity)
      : number(number_in),
        gateway(std::move(gateway_in)),
        encoded_config(std::move(config)),
        seen(replay_capacity) {}
  const uint64_t number;  // 1, 2, ...; the key id is number mod 256
  const OhttpGateway gateway;
  const Bytes encoded_config;  // RFC 9458 §3.1 key config
  ReplayCache seen;
};

struct OpenedRequest {
  Bytes bhttp_request;
  OhttpResponseContext context;
  uint64_t epoch = 0;
};

class OhttpKeyRing {
 public:
  // The suites offered: DHKEM(X25519, HKDF-SHA256) with HKDF-SHA256 and AES-128-GCM,
  // AES-256-GCM, ChaCha20-Poly1305. Fails only when key generation fails.
  static Result<std::unique_ptr<OhttpKeyRing>> Create(size_t replay_capacity);

  // The current epoch (never null). Thread-safe.
  std::shared_ptr<KeyEpoch> Current() const;

  // Decapsulates `encapsulated` (RFC 9458 §4.3) with the current key and records its
  // encapsulated key. Errors: those of OhttpGateway::DecapsulateRequest (kInvalidArgument,
  // kNotFound for a key id of another epoch, kUnimplemented, kUnauthenticated,
  // kResourceExhausted); kAlreadyExists for a replay; kUnavailable when the replay cache
  // was full (the key has then been rotated: the client must fetch the new key config).
  // Thread-safe.
  Result<OpenedRequest> Open(ByteSpan encapsulated, const OhttpLimits& limits = {});

  // The same, decrypting in place (OhttpGateway::DecapsulateRequestInPlace): on success the
  // request is a view into `encapsulated`; on failure its ciphertext part may be zeroed.
  struct OpenedInPlace {
    MutableByteSpan bhttp_request;
    OhttpResponseContext context;
    uint64_t epoch = 0;
  };
  Result<OpenedInPlace> OpenInPlace(MutableByteSpan encapsulated, const OhttpLimits& limits = {});
  // The same, decrypting into `out` (OhttpGateway::DecapsulateRequestInto): `encapsulated`
  // is left as it was and bhttp_request points into `out`.
  Result<OpenedInPlace> OpenInto(ByteSpan encapsulated, MutableByteSpan out,
                                 const OhttpLimits& limits = {});

  // The replay check for a request that `epoch` opened some other way (a chunked request,
  // crypto/ohttp_chunked.h): records its encapsulated key `enc`. kAlreadyExists for a replay,
  // kUnavailable when the cache was full (the key is then rotated). Thread-safe.
  Status CheckFresh(KeyEpoch& epoch, ByteSpan enc);

  // Replaces the key with a fresh one (the next epoch). Thread-safe.
  Status Rotate();

  uint64_t replays() const { return replays_.load(); }
  uint64_t rotations() const { return rotations_.load(); }

 private:
  explicit OhttpKeyRing(size_t replay_capacity) : replay_capacity_(replay_capacity) {}
  // The replay check of a decapsulated request (its enc) and the rotation when the cache fills.
  Result<OpenedInPlace> Admit(KeyEpoch& epoch, ByteSpan encapsulated, OhttpGateway::InPlace opened);
  // Builds epoch `number`; called with mu_ held or before publication.
  Result<std::shared_ptr<KeyEpoch>> MakeEpoch(uint64_t number) const;
  // Rotates unless the current epoch is already past `epoch`.
  Status RotateFrom(uint64_t epoch);

  const size_t replay_capacity_;
  mutable std::mutex mu_;
  std::shared_ptr<KeyEpoch> current_;
  std::atomic<uint64_t> replays_{0};
  std::atomic<uint64_t> rotations_{0};
};

}  // namespace crypta::runtime

#endif  // CRYPTA_RUNTIME_KEY_RING_H_

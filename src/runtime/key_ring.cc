#include "runtime/key_ring.h"

#include "crypto/hpke.h"

namespace crypta::runtime {

Result<std::unique_ptr<OhttpKeyRing>> OhttpKeyRing::Create(size_t replay_capacity) {
  std::unique_ptr<OhttpKeyRing> ring(new OhttpKeyRing(replay_capacity));
  CRYPTA_ASSIGN_OR_RETURN(ring->current_, ring->MakeEpoch(1));
  return ring;
}

Result<std::shared_ptr<KeyEpoch>> OhttpKeyRing::MakeEpoch(uint64_t number) const {
  // DESIGN.md §4.5: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, three AEADs.
  std::vector<OhttpSymmetricAlgorithm> algorithms = {
      {HpkeKdf::kHkdfSha256, HpkeAead::kAes128Gcm},
      {HpkeKdf::kHkdfSha256, HpkeAead::kAes256Gcm},
      {HpkeKdf::kHkdfSha256, HpkeAead::kChaCha20Poly1305},
  };
  CRYPTA_ASSIGN_OR_RETURN(
      OhttpGateway gateway,
      OhttpGateway::Generate(static_cast<uint8_t>(number & 0xff), HpkeKem::kX25519HkdfSha256,
                             std::move(algorithms)));
  CRYPTA_ASSIGN_OR_RETURN(Bytes config, gateway.EncodedKeyConfig());
  return std::make_shared<KeyEpoch>(number, std::move(gateway), std::move(config),
                                    replay_capacity_);
}

std::shared_ptr<KeyEpoch> OhttpKeyRing::Current() const {
  std::lock_guard<std::mutex> lock(mu_);
  return current_;
}

Status OhttpKeyRing::Rotate() { return RotateFrom(Current()->number); }

Status OhttpKeyRing::RotateFrom(uint64_t epoch) {
  std::lock_guard<std::mutex> lock(mu_);
  if (current_->number != epoch) return OkStatus();  // another thread rotated already
  CRYPTA_ASSIGN_OR_RETURN(std::shared_ptr<KeyEpoch> next, MakeEpoch(epoch + 1));
  current_ = std::move(next);
  rotations_.fetch_add(1);
  return OkStatus();
}

Result<OpenedRequest> OhttpKeyRing::Open(ByteSpan encapsulated, const OhttpLimits& limits) {
  Bytes copy(encapsulated.begin(), encapsulated.end());
  CRYPTA_ASSIGN_OR_RETURN(OpenedInPlace opened, OpenInPlace(copy, limits));
  Bytes request(opened.bhttp_request.begin(), opened.bhttp_request.end());
  SecureWipe(copy);
  return OpenedRequest{std::move(request), std::move(opened.context), opened.epoch};
}

Result<OhttpKeyRing::OpenedInPlace> OhttpKeyRing::OpenInPlace(MutableByteSpan encapsulated,
                                                              const OhttpLimits& limits) {
  std::shared_ptr<KeyEpoch> epoch = Current();
  CRYPTA_ASSIGN_OR_RETURN(OhttpGateway::InPlace opened,
                          epoch->gateway.DecapsulateRequestInPlace(encapsulated, limits));
  return Admit(*epoch, encapsulated, std::move(opened));
}

Result<OhttpKeyRing::OpenedInPlace> OhttpKeyRing::OpenInto(ByteSpan encapsulated,
                                                           MutableByteSpan out,
                                                           const OhttpLimits& limits) {
  std::shared_ptr<KeyEpoch> epoch = Current();
  CRYPTA_ASSIGN_OR_RETURN(OhttpGateway::InPlace opened,
                          epoch->gateway.DecapsulateRequestInto(encapsulated, out, limits));
  return Admit(*epoch, encapsulated, std::move(opened));
}

Result<OhttpKeyRing::OpenedInPlace> OhttpKeyRing::Admit(KeyEpoch& epoch, ByteSpan encapsulated,
                                                        OhttpGateway::InPlace opened) {
  // The request is hdr(7) || enc || ct; decryption never touches enc.
  constexpr size_t kHeaderSize = 7;
  const size_t enc_size = HpkeEncSize(epoch.gateway.key_config().kem);
  if (Status fresh = CheckFresh(epoch, encapsulated.subspan(kHeaderSize, enc_size)); !fresh) {
    SecureWipe(opened.request);
    return MakeError(fresh.error());
  }
  return OpenedInPlace{opened.request, std::move(opened.context), epoch.number};
}

Status OhttpKeyRing::CheckFresh(KeyEpoch& epoch, ByteSpan enc) {
  switch (epoch.seen.Insert(enc)) {
    case ReplayCache::Outcome::kFresh:
      break;
    case ReplayCache::Outcome::kReplay:
      replays_.fetch_add(1);
      return MakeError(ErrorCode::kAlreadyExists,
                       "ohttp request: replayed (its encapsulated key was already used)");
    case ReplayCache::Outcome::kFull:
      CRYPTA_RETURN_IF_ERROR(RotateFrom(epoch.number));
      return MakeError(ErrorCode::kUnavailable,
                       "ohttp key rotated: fetch /v1/attestation for the new key config");
  }
  if (epoch.seen.full()) CRYPTA_RETURN_IF_ERROR(RotateFrom(epoch.number));
  return OkStatus();
}

}  // namespace crypta::runtime

#include "crypto/ohttp_chunked.h"

#include <string>
#include <string_view>
#include <utility>

#include "common/byte_writer.h"
#include "crypto/random.h"

namespace crypta {
namespace {

// draft-ietf-ohai-chunked-ohttp-08 §6.1, §6.2.
constexpr std::string_view kChunkedRequestLabel = "message/bhttp chunked request";
constexpr std::string_view kChunkedResponseLabel = "message/bhttp chunked response";
constexpr std::string_view kFinalAad = "final";
constexpr size_t kHeaderSize = 7;  // key_id, kem_id, kdf_id, aead_id

Error Failed(std::string_view what) {
  return Error(ErrorCode::kFailedPrecondition, std::string("chunked ohttp: ") + std::string(what));
}

Bytes Frame(uint64_t length_field, Bytes sealed) {
  ByteWriter w;
  (void)w.WriteVarint(length_field);  // sealed chunks are far below 2^62
  Bytes out = w.Take();
  out.insert(out.end(), sealed.begin(), sealed.end());
  return out;
}

// §6.2: the chunk's nonce is the response nonce XOR the counter, big-endian in Nn bytes.
Bytes ChunkNonce(ByteSpan base, uint64_t counter) {
  Bytes nonce(base.begin(), base.end());
  for (size_t i = 0; i < 8 && i < nonce.size(); ++i) {
    nonce[nonce.size() - 1 - i] ^= static_cast<uint8_t>(counter >> (8 * i));
  }
  return nonce;
}

}  // namespace

namespace chunked_internal {

bool ChunkReader::Append(ByteSpan data, Status* error) {
  total_ += data.size();
  if (total_ > limits_.max_message_bytes) {
    *error = MakeError(ErrorCode::kResourceExhausted,
                       "chunked ohttp: the message exceeds " +
                           std::to_string(limits_.max_message_bytes) + " bytes");
    return false;
  }
  // Drop what was consumed before growing (long streams keep a bounded buffer).
  if (prefix_done_ && pos_ > 0 && pos_ >= buffer_.size() / 2) {
    buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(pos_));
    pos_ = 0;
  }
  buffer_.insert(buffer_.end(), data.begin(), data.end());
  if (in_final_ && buffer_.size() - pos_ > limits_.max_chunk_bytes) {
    *error = MakeError(ErrorCode::kResourceExhausted, "chunked ohttp: the final chunk exceeds " +
                                                          std::to_string(limits_.max_chunk_bytes) +
                                                          " bytes");
    return false;
  }
  return true;
}

std::optional<ByteSpan> ChunkReader::Prefix() const {
  if (buffer_.size() < prefix_size_) return std::nullopt;
  return ByteSpan(buffer_.data(), prefix_size_);
}

void ChunkReader::ConsumePrefix() {
  pos_ = prefix_size_;
  prefix_done_ = true;
}

Result<std::optional<ByteSpan>> ChunkReader::NextChunk() {
  if (!prefix_done_ || in_final_ || pos_ >= buffer_.size()) return std::optional<ByteSpan>();
  // RFC 9000 §16 variable-length integer: the two high bits give its length.
  const size_t available = buffer_.size() - pos_;
  const size_t varint_size = size_t{1} << (buffer_[pos_] >> 6);
  if (available < varint_size) return std::optional<ByteSpan>();
  uint64_t length = buffer_[pos_] & 0x3f;
  for (size_t i = 1; i < varint_size; ++i) length = (length << 8) | buffer_[pos_ + i];
  if (length == 0) {  // the final chunk follows, to the end of the stream
    pos_ += varint_size;
    in_final_ = true;
    if (buffer_.size() - pos_ > limits_.max_chunk_bytes) {
      return MakeError(ErrorCode::kResourceExhausted, "chunked ohttp: the final chunk exceeds " +
                                                          std::to_string(limits_.max_chunk_bytes) +
                                                          " bytes");
    }
    return std::optional<ByteSpan>();
  }
  if (length > limits_.max_chunk_bytes) {
    return MakeError(ErrorCode::kResourceExhausted, "chunked ohttp: a chunk of " +
                                                        std::to_string(length) + " bytes exceeds " +
                                                        std::to_string(limits_.max_chunk_bytes));
  }
  if (available - varint_size < length) return std::optional<ByteSpan>();
  const ByteSpan chunk(buffer_.data() + pos_ + varint_size, static_cast<size_t>(length));
  pos_ += varint_size + static_cast<size_t>(length);
  return std::optional<ByteSpan>(chunk);
}

ByteSpan ChunkReader::TakeFinal() {
  const ByteSpan out(buffer_.data() + pos_, buffer_.size() - pos_);
  pos_ = buffer_.size();
  return out;
}

}  // namespace chunked_internal

// ---------------------------------------------------------------- client

Result<ChunkedRequestSealer> ChunkedRequestSealer::Create(const OhttpKeyConfig& config,
                                                          const OhttpRequestOptions& options) {
  CRYPTA_ASSIGN_OR_RETURN(HpkeSuite suite, ChooseOhttpSuite(config, options));
  CRYPTA_ASSIGN_OR_RETURN(PublicKey pk_r, DeserializeHpkePublicKey(config.kem, config.public_key));
  const Bytes info = OhttpRequestInfo(config.key_id, suite, kChunkedRequestLabel);
  HpkeSenderOptions hpke_options;
  hpke_options.ephemeral_key = options.ephemeral_key_for_testing;
  CRYPTA_ASSIGN_OR_RETURN(HpkeSenderSetup setup, SetupHpkeSender(suite, pk_r, info, hpke_options));
  CRYPTA_ASSIGN_OR_RETURN(
      SecretBytes secret,
      setup.context.Export(AsBytes(kChunkedResponseLabel), OhttpResponseNonceSize(suite.aead)));
  Bytes header(info.end() - kHeaderSize, info.end());  // hdr is the end of info
  header.insert(header.end(), setup.enc.begin(), setup.enc.end());
  return ChunkedRequestSealer(suite, std::move(setup.enc), std::move(header),
                              std::move(setup.context), std::move(secret));
}

Status ChunkedRequestSealer::SealChunkInto(ByteSpan chunk, bool final, Bytes& out) {
  if (finished_) return MakeError(Failed("the request was already finished"));
  if (!final && chunk.empty()) {
    return MakeError(ErrorCode::kInvalidArgument, "chunked ohttp: a non-final chunk is empty");
  }
  ByteWriter w;
  (void)w.WriteVarint(final ? 0 : chunk.size() + kAeadTagSize);  // far below 2^62
  const Bytes length = w.Take();
  const size_t start = out.size();
  out.resize(start + length.size() + chunk.size() + kAeadTagSize);
  std::copy(length.begin(), length.end(), out.begin() + static_cast<std::ptrdiff_t>(start));
  const MutableByteSpan ct(out.data() + start + length.size(), chunk.size());
  const MutableByteSpan tag(ct.data() + ct.size(), kAeadTagSize);
  Status sealed = context_.SealInto(final ? AsBytes(kFinalAad) : ByteSpan(), chunk, ct, tag);
  if (!sealed) {
    out.resize(start);
    return sealed;
  }
  finished_ = final;
  return OkStatus();
}

Status ChunkedRequestSealer::SealInto(ByteSpan chunk, Bytes& out) {
  return SealChunkInto(chunk, false, out);
}
Status ChunkedRequestSealer::SealFinalInto(ByteSpan chunk, Bytes& out) {
  return SealChunkInto(chunk, true, out);
}

Result<Bytes> ChunkedRequestSealer::Seal(ByteSpan chunk) {
  Bytes out;
  CRYPTA_RETURN_IF_ERROR(SealInto(chunk, out));
  return out;
}

Result<Bytes> ChunkedRequestSealer::SealFinal(ByteSpan chunk) {
  Bytes out;
  CRYPTA_RETURN_IF_ERROR(SealFinalInto(chunk, out));
  return out;
}

Result<ChunkedResponseOpener> ChunkedRequestSealer::ResponseOpener(
    const ChunkedOhttpLimits& limits) const {
  return ChunkedResponseOpener(suite_, enc_, SecretBytes(response_secret_.Reveal()), limits);
}

ChunkedResponseOpener::ChunkedResponseOpener(HpkeSuite suite, Bytes enc, SecretBytes secret,
                                             const ChunkedOhttpLimits& limits)
    : suite_(suite),
      enc_(std::move(enc)),
      secret_(std::move(secret)),
      reader_(OhttpResponseNonceSize(suite.aead), limits) {}

Status ChunkedResponseOpener::OpenChunk(ByteSpan sealed, bool final, Bytes* plaintext) {
  const Bytes nonce = ChunkNonce(nonce_.Reveal(), counter_++);
  Result<Bytes> opened = aead_->Open(nonce, final ? AsBytes(kFinalAad) : ByteSpan(), sealed);
  if (!opened) {
    return MakeError(ErrorCode::kUnauthenticated,
                     std::string("chunked ohttp response: ") +
                         (final ? "the final chunk does not open (truncated or reordered)"
                                : "chunk " + std::to_string(counter_ - 1) +
                                      " does not open (tampered, reordered or duplicated)"));
  }
  if (!final && opened->empty()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "chunked ohttp response: a non-final chunk is empty");
  }
  *plaintext = std::move(*opened);
  return OkStatus();
}

Result<std::vector<Bytes>> ChunkedResponseOpener::Feed(ByteSpan data) {
  if (failed_ || finished_) return MakeError(Failed("the response opener is closed"));
  std::vector<Bytes> out;
  Status status = [&]() -> Status {
    Status appended;
    if (!reader_.Append(data, &appended)) return appended;
    if (!aead_) {
      std::optional<ByteSpan> response_nonce = reader_.Prefix();
      if (!response_nonce) return OkStatus();
      CRYPTA_ASSIGN_OR_RETURN(
          OhttpResponseKeys keys,
          DeriveOhttpResponseKeys(suite_, secret_.Reveal(), enc_, *response_nonce));
      CRYPTA_ASSIGN_OR_RETURN(Aead aead, Aead::Create(OhttpAeadAlg(suite_.aead), keys.key.Reveal(),
                                                      AeadDirection::kOpenOnly));
      aead_.emplace(std::move(aead));
      nonce_ = std::move(keys.nonce);
      reader_.ConsumePrefix();
    }
    while (true) {
      CRYPTA_ASSIGN_OR_RETURN(std::optional<ByteSpan> chunk, reader_.NextChunk());
      if (!chunk) return OkStatus();
      Bytes plaintext;
      CRYPTA_RETURN_IF_ERROR(OpenChunk(*chunk, false, &plaintext));
      out.push_back(std::move(plaintext));
    }
  }();
  if (!status) {
    failed_ = true;
    return MakeError(status.error());
  }
  return out;
}

Result<Bytes> ChunkedResponseOpener::Finish() {
  if (failed_ || finished_) return MakeError(Failed("the response opener is closed"));
  finished_ = true;
  if (!aead_ || !reader_.in_final()) {
    return MakeError(ErrorCode::kDataLoss,
                     "chunked ohttp response: truncated (the stream ended without its final "
                     "chunk)");
  }
  Bytes plaintext;
  CRYPTA_RETURN_IF_ERROR(OpenChunk(reader_.TakeFinal(), true, &plaintext));
  return plaintext;
}

// ---------------------------------------------------------------- gateway

Status ChunkedRequestOpener::Consume(ByteSpan data,
                                     const std::function<Status(ByteSpan sealed)>& open) {
  if (failed_ || finished_) return MakeError(Failed("the request opener is closed"));
  Status status = [&]() -> Status {
    Status appended;
    if (!reader_.Append(data, &appended)) return appended;
    if (!recipient_) {
      std::optional<ByteSpan> hdr = reader_.Prefix();
      if (!hdr) return OkStatus();
      if (hdr->size() == kHeaderSize) {  // now that the KEM is known, wait for enc too
        const auto kem = static_cast<HpkeKem>(((*hdr)[1] << 8) | (*hdr)[2]);
        const size_t n_enc = HpkeEncSize(kem);
        if (n_enc == 0) {
          return MakeError(ErrorCode::kUnimplemented,
                           "chunked ohttp request: kem_id is not supported");
        }
        reader_.set_prefix_size(kHeaderSize + n_enc);
        hdr = reader_.Prefix();
        if (!hdr) return OkStatus();
      }
      CRYPTA_ASSIGN_OR_RETURN(OhttpGateway::Recipient recipient,
                              gateway_->SetupRecipient(*hdr, kChunkedRequestLabel));
      recipient_.emplace(std::move(recipient));
      reader_.ConsumePrefix();
    }
    while (true) {
      CRYPTA_ASSIGN_OR_RETURN(std::optional<ByteSpan> chunk, reader_.NextChunk());
      if (!chunk) return OkStatus();
      CRYPTA_RETURN_IF_ERROR(open(*chunk));
    }
  }();
  if (!status) failed_ = true;
  return status;
}

Status ChunkedRequestOpener::OpenChunk(ByteSpan sealed, bool final, MutableByteSpan out) {
  const uint64_t index = recipient_->context.sequence_number();
  Result<MutableByteSpan> plaintext =
      recipient_->context.OpenInto(final ? AsBytes(kFinalAad) : ByteSpan(), sealed, out);
  if (!plaintext) {
    return MakeError(ErrorCode::kUnauthenticated,
                     final ? std::string("chunked ohttp request: the final chunk does not open "
                                         "(truncated or reordered)")
                           : "chunked ohttp request: chunk " + std::to_string(index) +
                                 " does not open (tampered, reordered or duplicated)");
  }
  if (!final && plaintext->empty()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "chunked ohttp request: a non-final chunk is empty");
  }
  return OkStatus();
}

Result<std::vector<Bytes>> ChunkedRequestOpener::Feed(ByteSpan data) {
  std::vector<Bytes> out;
  CRYPTA_RETURN_IF_ERROR(Consume(data, [&](ByteSpan sealed) -> Status {
    Bytes plaintext(sealed.size() >= kAeadTagSize ? sealed.size() - kAeadTagSize : 0);
    CRYPTA_RETURN_IF_ERROR(OpenChunk(sealed, false, plaintext));
    out.push_back(std::move(plaintext));
    return OkStatus();
  }));
  return out;
}

Status ChunkedRequestOpener::FeedInto(ByteSpan data, Bytes& out) {
  return Consume(data, [&](ByteSpan sealed) -> Status {
    const size_t start = out.size();
    out.resize(start + (sealed.size() >= kAeadTagSize ? sealed.size() - kAeadTagSize : 0));
    return OpenChunk(sealed, false, MutableByteSpan(out.data() + start, out.size() - start));
  });
}

Status ChunkedRequestOpener::FinishInto(Bytes& out) {
  if (failed_ || finished_) return MakeError(Failed("the request opener is closed"));
  finished_ = true;
  if (!recipient_ || !reader_.in_final()) {
    return MakeError(ErrorCode::kDataLoss,
                     "chunked ohttp request: truncated (the stream ended without its final "
                     "chunk)");
  }
  const ByteSpan sealed = reader_.TakeFinal();
  const size_t start = out.size();
  out.resize(start + (sealed.size() >= kAeadTagSize ? sealed.size() - kAeadTagSize : 0));
  Status opened = OpenChunk(sealed, true, MutableByteSpan(out.data() + start, out.size() - start));
  if (!opened) failed_ = true;
  return opened;
}

Result<Bytes> ChunkedRequestOpener::Finish() {
  Bytes out;
  CRYPTA_RETURN_IF_ERROR(FinishInto(out));
  return out;
}

Result<ChunkedResponseSealer> ChunkedRequestOpener::ResponseSealer() const {
  if (!recipient_) return MakeError(Failed("the request header has not been read"));
  Bytes nonce(OhttpResponseNonceSize(recipient_->suite.aead));
  CRYPTA_RETURN_IF_ERROR(RandomFill(nonce));
  return ResponseSealerWithNonceForTesting(nonce);
}

Result<ChunkedResponseSealer> ChunkedRequestOpener::ResponseSealerWithNonceForTesting(
    ByteSpan response_nonce) const {
  if (!recipient_) return MakeError(Failed("the request header has not been read"));
  const HpkeSuite& suite = recipient_->suite;
  if (response_nonce.size() != OhttpResponseNonceSize(suite.aead)) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "chunked ohttp response_nonce: want max(Nn, Nk) bytes");
  }
  CRYPTA_ASSIGN_OR_RETURN(SecretBytes secret,
                          recipient_->context.Export(AsBytes(kChunkedResponseLabel),
                                                     OhttpResponseNonceSize(suite.aead)));
  CRYPTA_ASSIGN_OR_RETURN(
      OhttpResponseKeys keys,
      DeriveOhttpResponseKeys(suite, secret.Reveal(), recipient_->enc, response_nonce));
  CRYPTA_ASSIGN_OR_RETURN(Aead aead, Aead::Create(OhttpAeadAlg(suite.aead), keys.key.Reveal(),
                                                  AeadDirection::kSealOnly));
  return ChunkedResponseSealer(Bytes(response_nonce.begin(), response_nonce.end()), std::move(aead),
                               std::move(keys.nonce));
}

Result<Bytes> ChunkedResponseSealer::SealChunk(ByteSpan chunk, bool final) {
  if (finished_) return MakeError(Failed("the response was already finished"));
  if (!final && chunk.empty()) {
    return MakeError(ErrorCode::kInvalidArgument, "chunked ohttp: a non-final chunk is empty");
  }
  finished_ = final;
  const Bytes nonce = ChunkNonce(nonce_.Reveal(), counter_++);
  CRYPTA_ASSIGN_OR_RETURN(Bytes sealed,
                          aead_.Seal(nonce, final ? AsBytes(kFinalAad) : ByteSpan(), chunk));
  const uint64_t length = final ? 0 : sealed.size();
  return Frame(length, std::move(sealed));
}

Result<Bytes> ChunkedResponseSealer::Seal(ByteSpan chunk) { return SealChunk(chunk, false); }
Result<Bytes> ChunkedResponseSealer::SealFinal(ByteSpan chunk) { return SealChunk(chunk, true); }

}  // namespace crypta

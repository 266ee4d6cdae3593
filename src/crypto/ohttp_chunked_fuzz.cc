// Fuzz target: chunked Oblivious HTTP (draft-ietf-ohai-chunked-ohttp-08) openers over
// untrusted streams. The input's first byte picks the piece size the stream is fed in; the
// rest is fed to a request opener of the draft's Appendix A gateway (so the example request
// in the corpus opens) and, separately, to the response opener of the example request.
// Must never crash; whatever completes must have ended with its final chunk.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/encoding.h"
#include "crypto/ohttp_chunked.h"

namespace {

using namespace crypta;

Bytes FromHex(std::string_view hex) {
  Result<Bytes> b = HexDecode(hex);
  if (!b) __builtin_trap();
  return *b;
}

// draft-ietf-ohai-chunked-ohttp-08 Appendix A (public test values).
constexpr std::string_view kKeyConfig =
    "010020668eb21aace159803974a4c67f08b4152d29bed10735fd08f98ccdd6fe09570800080001000100010003";
constexpr std::string_view kGatewaySecret =
    "1c190d72acdbe4dbc69e680503bb781a932c70a12c8f3754434c67d8640d8698";
constexpr std::string_view kClientEphemeral =
    "b26d565f3f875ed480d1abced3d665159650c99174fd0b124ac4bda0c64ae324";

struct Fixture {
  OhttpGateway gateway;
  ChunkedRequestSealer sealer;
};

const Fixture& GetFixture() {
  static const Fixture* f = [] {
    OhttpKeyConfig config = *ParseOhttpKeyConfig(FromHex(kKeyConfig));
    PrivateKey sk = *DeserializeHpkePrivateKey(HpkeKem::kX25519HkdfSha256, FromHex(kGatewaySecret));
    PrivateKey eph =
        *DeserializeHpkePrivateKey(HpkeKem::kX25519HkdfSha256, FromHex(kClientEphemeral));
    OhttpRequestOptions options;
    options.ephemeral_key_for_testing = &eph;
    auto sealer = ChunkedRequestSealer::Create(config, options);
    auto gateway = OhttpGateway::Create(config, std::move(sk));
    if (!sealer || !gateway) __builtin_trap();
    return new Fixture{std::move(*gateway), std::move(*sealer)};
  }();
  return *f;
}

// Feeds `stream` in pieces of `piece` bytes, then finishes.
template <typename Opener>
void Drive(Opener& opener, ByteSpan stream, size_t piece) {
  for (size_t at = 0; at < stream.size(); at += piece) {
    if (!opener.Feed(stream.subspan(at, std::min(piece, stream.size() - at)))) return;
  }
  (void)opener.Finish();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const Fixture& f = GetFixture();
  const size_t piece = 1 + data[0] % 64;
  const ByteSpan stream(data + 1, size - 1);
  ChunkedOhttpLimits limits;
  limits.max_chunk_bytes = 4096;
  limits.max_message_bytes = 1 << 16;
  ChunkedRequestOpener request(&f.gateway, limits);
  Drive(request, stream, piece);
  auto response = f.sealer.ResponseOpener(limits);
  if (!response) __builtin_trap();
  Drive(*response, stream, piece);
  return 0;
}

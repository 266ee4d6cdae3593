// Fuzz target: Oblivious HTTP (RFC 9458) parsing of untrusted bytes: a key config and an
// application/ohttp-keys list; an encapsulated request to a fixed gateway (the RFC 9458
// Appendix A key, so the Appendix request in the corpus opens); and an encapsulated
// response to the client context of that Appendix request.
#include <cstddef>
#include <cstdint>

#include "common/encoding.h"
#include "crypto/bhttp.h"
#include "crypto/ohttp.h"

namespace {

using namespace crypta;

Bytes FromHex(std::string_view hex) {
  Result<Bytes> b = HexDecode(hex);
  if (!b) __builtin_trap();
  return *b;
}

// RFC 9458 Appendix A keys (public test values).
constexpr std::string_view kKeyConfig =
    "01002031e1f05a740102115220e9af918f738674aec95f54db6e04eb705aae8e79815500080001000100010003";
constexpr std::string_view kGatewaySecret =
    "3c168975674b2fa8e465970b79c8dcf09f1c741626480bd4c6162fc5b6a98e1a";
constexpr std::string_view kClientEphemeral =
    "bc51d5e930bda26589890ac7032f70ad12e4ecb37abb1b65b1256c9c48999c73";
constexpr std::string_view kRequest = "00034745540568747470730b6578616d706c652e636f6d012f";

struct Fixture {
  OhttpGateway gateway;
  OhttpClientContext client;
};

const Fixture& GetFixture() {
  static const Fixture* f = [] {
    OhttpKeyConfig config = *ParseOhttpKeyConfig(FromHex(kKeyConfig));
    PrivateKey sk = *DeserializeHpkePrivateKey(HpkeKem::kX25519HkdfSha256, FromHex(kGatewaySecret));
    PrivateKey eph =
        *DeserializeHpkePrivateKey(HpkeKem::kX25519HkdfSha256, FromHex(kClientEphemeral));
    OhttpRequestOptions o;
    o.ephemeral_key_for_testing = &eph;
    OhttpEncapsulatedRequest req = *EncapsulateOhttpRequest(config, FromHex(kRequest), o);
    OhttpGateway gateway = *OhttpGateway::Create(config, std::move(sk));
    return new Fixture{std::move(gateway), std::move(req.context)};
  }();
  return *f;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ByteSpan input(data, size);
  const Fixture& f = GetFixture();

  if (Result<OhttpKeyConfig> c = ParseOhttpKeyConfig(input)) {
    Result<Bytes> again = EncodeOhttpKeyConfig(*c);
    if (!again || *again != Bytes(input.begin(), input.end())) __builtin_trap();
  }
  (void)ParseOhttpKeyConfigList(input);

  if (Result<OhttpDecapsulatedRequest> d = f.gateway.DecapsulateRequest(input)) {
    (void)DecodeBhttpRequest(d->request);
    if (!d->context.EncapsulateResponse(d->request)) __builtin_trap();
  }
  (void)f.client.DecapsulateResponse(input);
  return 0;
}

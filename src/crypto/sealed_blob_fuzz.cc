// Fuzz target: sealed-blob parsing and opening from untrusted bytes. The data key is
// fixed (32 x 0x42) so that seeds sealed under it reach the chunk decryption paths.
#include <cstddef>
#include <cstdint>

#include "crypto/sealed_blob.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace crypta;
  ByteSpan input(data, size);
  static const SecretBytes* dek = new SecretBytes(Bytes(32, 0x42));
  Result<OpenedHeader> opened = ReadSealedHeader(input);
  if (!opened) return 0;
  // Re-encoding a parsed header gives back the same bytes (the format has one encoding).
  Result<Bytes> again = EncodeSealedHeader(opened->header);
  if (!again || *again != opened->encoded) __builtin_trap();
  if (opened->header.plaintext_length <= (1u << 20)) (void)OpenBuffer(*dek, input);
  (void)UnwrapDataKey(dek->Reveal(), opened->header.key_ref, opened->header.wrapped_dek);
  return 0;
}

// Owning pointers for OpenSSL objects (one deleter per type) and error reporting.
// Internal to src/crypto and its direct users; other components use the crypto API.
#ifndef CRYPTA_CRYPTO_OPENSSL_UTIL_H_
#define CRYPTA_CRYPTO_OPENSSL_UTIL_H_

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"

namespace crypta {

template <typename T, void (*Free)(T*)>
struct OpensslDeleter {
  void operator()(T* p) const { Free(p); }
};
template <typename T, void (*Free)(T*)>
using OpensslPtr = std::unique_ptr<T, OpensslDeleter<T, Free>>;

using EvpPkeyPtr = OpensslPtr<EVP_PKEY, EVP_PKEY_free>;
using EvpPkeyCtxPtr = OpensslPtr<EVP_PKEY_CTX, EVP_PKEY_CTX_free>;
using EvpMdCtxPtr = OpensslPtr<EVP_MD_CTX, EVP_MD_CTX_free>;
using EvpCipherCtxPtr = OpensslPtr<EVP_CIPHER_CTX, EVP_CIPHER_CTX_free>;
using EvpCipherPtr = OpensslPtr<EVP_CIPHER, EVP_CIPHER_free>;
using EvpMdPtr = OpensslPtr<EVP_MD, EVP_MD_free>;
using EvpMacPtr = OpensslPtr<EVP_MAC, EVP_MAC_free>;
using EvpMacCtxPtr = OpensslPtr<EVP_MAC_CTX, EVP_MAC_CTX_free>;
using BignumPtr = OpensslPtr<BIGNUM, BN_free>;
using BioPtr = OpensslPtr<BIO, BIO_free_all>;
using EcdsaSigPtr = OpensslPtr<ECDSA_SIG, ECDSA_SIG_free>;
using X509Ptr = OpensslPtr<X509, X509_free>;
using X509CrlPtr = OpensslPtr<X509_CRL, X509_CRL_free>;
using X509StorePtr = OpensslPtr<X509_STORE, X509_STORE_free>;
using X509StoreCtxPtr = OpensslPtr<X509_STORE_CTX, X509_STORE_CTX_free>;

// Drains OpenSSL's thread-local error queue into "what: <reason>".
std::string OpensslErrorString(std::string_view what);

// An Error of the given code whose message is `what` plus OpenSSL's reason.
Error OpensslError(ErrorCode code, std::string_view what);

}  // namespace crypta

#endif  // CRYPTA_CRYPTO_OPENSSL_UTIL_H_

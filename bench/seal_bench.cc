// Sealed-blob and AEAD throughput against raw OpenSSL EVP baselines measured in the same run.
//
// Targets (docs/benchmarks.md):
//   unseal 1 GiB, one thread        >= 0.9 x raw EVP AES-256-GCM decrypt with 16 KiB updates
//   unseal 1 GiB, all cores         >= 0.9 x cores x that baseline
//   256-byte AEAD seal/open         <= 1.5 x the raw EVP time per operation
#include <benchmark/benchmark.h>
#include <openssl/evp.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>

#include "common/file_util.h"
#include "crypto/aead.h"
#include "crypto/key_file.h"
#include "crypto/random.h"
#include "crypto/sealed_blob.h"
#include "crypto/sealed_file.h"

namespace crypta {
namespace {

constexpr size_t kBigSize = size_t{1} << 30;  // 1 GiB
constexpr size_t kRawUpdateSize = 16 << 10;   // 16 KiB EVP updates in the baseline

const SecretBytes& Dek() {
  static const SecretBytes* dek = new SecretBytes(*RandomSecret(32));
  return *dek;
}

// One 1 GiB plaintext and its sealed blob, made once.
struct BigData {
  Bytes plain;
  Bytes blob;
  Bytes raw_ct;  // one AES-256-GCM stream over `plain` for the baseline
  uint8_t raw_tag[16];
  uint8_t iv[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
};

const BigData& Big() {
  static BigData* d = [] {
    auto* d = new BigData;
    d->plain = *RandomBytes(kBigSize);
    KeyReference ref{"", "bench", 0};
    SealedHeader h = *NewSealedHeader(ref, Bytes(60, 1), kBigSize, kDefaultChunkSize);
    d->blob = *SealBuffer(Dek(), h, d->plain, 0);
    d->raw_ct.resize(kBigSize);
    EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
    int len = 0;
    EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), nullptr, Dek().Reveal().data(), d->iv);
    EVP_EncryptUpdate(ctx, d->raw_ct.data(), &len, d->plain.data(), static_cast<int>(kBigSize));
    EVP_EncryptFinal_ex(ctx, nullptr, &len);
    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, d->raw_tag);
    EVP_CIPHER_CTX_free(ctx);
    return d;
  }();
  return *d;
}

// Baseline: raw EVP AES-256-GCM decryption of 1 GiB in 16 KiB updates, tag checked.
void BM_RawEvpDecrypt1GiB(benchmark::State& state) {
  const BigData& d = Big();
  Bytes out(kBigSize);
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  for (auto _ : state) {
    int len = 0;
    EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), nullptr, Dek().Reveal().data(), d.iv);
    for (size_t off = 0; off < kBigSize; off += kRawUpdateSize) {
      EVP_DecryptUpdate(ctx, out.data() + off, &len, d.raw_ct.data() + off,
                        static_cast<int>(kRawUpdateSize));
    }
    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16, const_cast<uint8_t*>(d.raw_tag));
    if (EVP_DecryptFinal_ex(ctx, nullptr, &len) != 1) state.SkipWithError("baseline tag mismatch");
    benchmark::DoNotOptimize(out.data());
  }
  EVP_CIPHER_CTX_free(ctx);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kBigSize));
}
BENCHMARK(BM_RawEvpDecrypt1GiB)->Unit(benchmark::kMillisecond)->MinTime(3)->UseRealTime();

// crypta: unseal a 1 GiB blob held in memory (header tag, size check, every chunk) into a
// reused output buffer, as the baseline decrypts into one.
void BM_UnsealInMemory1GiB(benchmark::State& state) {
  const BigData& d = Big();
  int threads = static_cast<int>(state.range(0));
  Bytes out(kBigSize, 0);
  for (auto _ : state) {
    Status s = OpenBufferInto(Dek(), d.blob, out, threads);
    if (!s) state.SkipWithError(s.error().message().c_str());
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kBigSize));
  state.counters["threads"] = ResolveThreadCount(threads);
}
BENCHMARK(BM_UnsealInMemory1GiB)
    ->Arg(1)
    ->Arg(0)
    ->Unit(benchmark::kMillisecond)
    ->MinTime(3)
    ->UseRealTime();

// The same through OpenBuffer, which allocates (and page-faults in) a new 1 GiB result.
void BM_UnsealInMemoryAllocating1GiB(benchmark::State& state) {
  const BigData& d = Big();
  for (auto _ : state) {
    Result<Bytes> out = OpenBuffer(Dek(), d.blob, static_cast<int>(state.range(0)));
    if (!out) state.SkipWithError(out.error().message().c_str());
    benchmark::DoNotOptimize(out->data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kBigSize));
}
BENCHMARK(BM_UnsealInMemoryAllocating1GiB)
    ->Arg(1)
    ->Unit(benchmark::kMillisecond)
    ->MinTime(3)
    ->UseRealTime();

// crypta: unseal a 1 GiB sealed file into a new file (tmpfs when available), as
// `crypta unseal` does: pread, decrypt, pwrite, fsync, rename.
void BM_UnsealFile1GiB(benchmark::State& state) {
  const BigData& d = Big();
  std::string dir = std::filesystem::exists("/dev/shm") ? "/dev/shm" : "/tmp";
  std::string in = dir + "/crypta_bench.sealed";
  std::string out = dir + "/crypta_bench.out";
  if (!WriteFileAtomic(in, d.blob, 0600, true)) state.SkipWithError("cannot write input");
  SealedFileOptions opts;
  opts.threads = static_cast<int>(state.range(0));
  opts.overwrite = true;
  for (auto _ : state) {
    Status s = UnsealFileWithDataKey(Dek(), in, out, opts);
    if (!s) state.SkipWithError(s.error().message().c_str());
  }
  std::remove(in.c_str());
  std::remove(out.c_str());
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kBigSize));
  state.counters["threads"] = ResolveThreadCount(opts.threads);
}
BENCHMARK(BM_UnsealFile1GiB)
    ->Arg(1)
    ->Arg(0)
    ->Unit(benchmark::kMillisecond)
    ->MinTime(3)
    ->UseRealTime();

// Reference for the file path: the same pread/pwrite/fsync/rename of 1 GiB in 1 MiB chunks
// with no cryptography, so the file figures can be read as "crypto cost on top of I/O".
void BM_CopyFile1GiB(benchmark::State& state) {
  const BigData& d = Big();
  std::string dir = std::filesystem::exists("/dev/shm") ? "/dev/shm" : "/tmp";
  std::string in = dir + "/crypta_bench.plain";
  std::string out = dir + "/crypta_bench.copy";
  if (!WriteFileAtomic(in, d.plain, 0600, true)) state.SkipWithError("cannot write input");
  Bytes buf(kDefaultChunkSize);
  for (auto _ : state) {
    Result<InputFile> src = InputFile::Open(in);
    Result<AtomicOutputFile> dst = AtomicOutputFile::Create(out, 0600);
    if (!src || !dst || !dst->Truncate(kBigSize)) state.SkipWithError("open");
    for (uint64_t off = 0; off < kBigSize; off += buf.size()) {
      if (!src->ReadAt(off, buf) || !dst->WriteAt(off, buf)) state.SkipWithError("io");
    }
    if (!dst->Commit(true)) state.SkipWithError("commit");
  }
  std::remove(in.c_str());
  std::remove(out.c_str());
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kBigSize));
}
BENCHMARK(BM_CopyFile1GiB)->Unit(benchmark::kMillisecond)->MinTime(3)->UseRealTime();

// ---------------------------------------------------------------- 256-byte messages

constexpr size_t kSmall = 256;

// Baseline: a pre-keyed EVP context, only the IV set per message.
void BM_RawEvpSeal256(benchmark::State& state) {
  Bytes pt(kSmall, 7), ct(kSmall), aad(16, 1);
  uint8_t iv[12] = {0}, tag[16];
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), nullptr, Dek().Reveal().data(), nullptr);
  for (auto _ : state) {
    int len = 0;
    EVP_EncryptInit_ex(ctx, nullptr, nullptr, nullptr, iv);
    EVP_EncryptUpdate(ctx, nullptr, &len, aad.data(), static_cast<int>(aad.size()));
    EVP_EncryptUpdate(ctx, ct.data(), &len, pt.data(), static_cast<int>(kSmall));
    EVP_EncryptFinal_ex(ctx, ct.data() + kSmall, &len);
    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, tag);
    benchmark::DoNotOptimize(tag);
    ++iv[11];
  }
  EVP_CIPHER_CTX_free(ctx);
}
BENCHMARK(BM_RawEvpSeal256);

void BM_RawEvpOpen256(benchmark::State& state) {
  Bytes pt(kSmall, 7), ct(kSmall), out(kSmall), aad(16, 1);
  uint8_t iv[12] = {0}, tag[16];
  EVP_CIPHER_CTX* enc = EVP_CIPHER_CTX_new();
  int len = 0;
  EVP_EncryptInit_ex(enc, EVP_aes_256_gcm(), nullptr, Dek().Reveal().data(), iv);
  EVP_EncryptUpdate(enc, nullptr, &len, aad.data(), static_cast<int>(aad.size()));
  EVP_EncryptUpdate(enc, ct.data(), &len, pt.data(), static_cast<int>(kSmall));
  EVP_EncryptFinal_ex(enc, nullptr, &len);
  EVP_CIPHER_CTX_ctrl(enc, EVP_CTRL_GCM_GET_TAG, 16, tag);
  EVP_CIPHER_CTX_free(enc);
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), nullptr, Dek().Reveal().data(), nullptr);
  for (auto _ : state) {
    EVP_DecryptInit_ex(ctx, nullptr, nullptr, nullptr, iv);
    EVP_DecryptUpdate(ctx, nullptr, &len, aad.data(), static_cast<int>(aad.size()));
    EVP_DecryptUpdate(ctx, out.data(), &len, ct.data(), static_cast<int>(kSmall));
    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16, tag);
    if (EVP_DecryptFinal_ex(ctx, out.data() + kSmall, &len) != 1) state.SkipWithError("tag");
    benchmark::DoNotOptimize(out.data());
  }
  EVP_CIPHER_CTX_free(ctx);
}
BENCHMARK(BM_RawEvpOpen256);

void BM_AeadSeal256(benchmark::State& state) {
  Aead aead = *Aead::Create(AeadAlg::kAes256Gcm, Dek().Reveal());
  Bytes pt(kSmall, 7), ct(kSmall), aad(16, 1), tag(16);
  uint8_t iv[12] = {0};
  for (auto _ : state) {
    if (!aead.SealInPlace(iv, aad, pt, ct, tag)) state.SkipWithError("seal");
    benchmark::DoNotOptimize(tag.data());
    ++iv[11];
  }
}
BENCHMARK(BM_AeadSeal256);

void BM_AeadOpen256(benchmark::State& state) {
  Aead aead = *Aead::Create(AeadAlg::kAes256Gcm, Dek().Reveal());
  Bytes pt(kSmall, 7), aad(16, 1), out(kSmall);
  uint8_t iv[12] = {0};
  Bytes sealed = *aead.Seal(iv, aad, pt);
  ByteSpan ct = ByteSpan(sealed).first(kSmall), tag = ByteSpan(sealed).subspan(kSmall);
  for (auto _ : state) {
    if (!aead.OpenInPlace(iv, aad, ct, tag, out)) state.SkipWithError("open");
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_AeadOpen256);

// The allocating convenience form, for reference (returns a new vector per message).
void BM_AeadSealAllocating256(benchmark::State& state) {
  Aead aead = *Aead::Create(AeadAlg::kAes256Gcm, Dek().Reveal());
  Bytes pt(kSmall, 7), aad(16, 1);
  uint8_t iv[12] = {0};
  for (auto _ : state) {
    Result<Bytes> ct = aead.Seal(iv, aad, pt);
    benchmark::DoNotOptimize(ct->data());
    ++iv[11];
  }
}
BENCHMARK(BM_AeadSealAllocating256);

}  // namespace
}  // namespace crypta

BENCHMARK_MAIN();

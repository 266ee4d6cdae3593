#include "crypto/sealed_file.h"

#include <atomic>
#include <chrono>
#include <future>
#include <vector>

#include "common/file_util.h"
#include "crypto/random.h"

namespace crypta {
namespace {

// Per-worker state: a cloned cipher and two chunk-sized buffers.
struct Worker {
  ChunkCipher cipher;
  Bytes in;
  Bytes out;
};

Result<std::vector<Worker>> MakeWorkers(ChunkCipher cipher, int count, size_t buffer_size) {
  CRYPTA_ASSIGN_OR_RETURN(std::vector<ChunkCipher> ciphers,
                          ChunkCipher::ForWorkers(std::move(cipher), count));
  std::vector<Worker> workers;
  workers.reserve(ciphers.size());
  for (ChunkCipher& c : ciphers) {
    workers.push_back(Worker{std::move(c), Bytes(), Bytes()});
    workers.back().in.reserve(buffer_size);
    workers.back().out.reserve(buffer_size);
  }
  return workers;
}

// Runs the chunk loop on a helper thread while this thread reports progress.
Status RunWithProgress(uint64_t chunks, int threads, uint64_t total,
                       const std::atomic<uint64_t>& done, const SealedFileOptions& options,
                       const std::function<Status(int, uint64_t)>& fn) {
  if (!options.progress) return ParallelForChunks(chunks, threads, fn);
  auto task =
      std::async(std::launch::async, [&] { return ParallelForChunks(chunks, threads, fn); });
  while (task.wait_for(std::chrono::milliseconds(100)) != std::future_status::ready) {
    options.progress(done.load(), total);
  }
  Status s = task.get();
  if (s) options.progress(total, total);
  return s;
}

}  // namespace

Status SealFileWithDataKey(const SecretBytes& dek, const KeyReference& ref, Bytes wrapped_dek,
                           const std::string& in_path, const std::string& out_path,
                           const SealedFileOptions& options) {
  CRYPTA_ASSIGN_OR_RETURN(InputFile in, InputFile::Open(in_path));
  CRYPTA_ASSIGN_OR_RETURN(SealedHeader header, NewSealedHeader(ref, std::move(wrapped_dek),
                                                               in.size(), options.chunk_size));
  CRYPTA_ASSIGN_OR_RETURN(Bytes encoded, EncodeSealedHeader(header));
  CRYPTA_ASSIGN_OR_RETURN(ChunkCipher cipher, ChunkCipher::Create(dek, header, encoded));
  CRYPTA_ASSIGN_OR_RETURN(AtomicOutputFile out,
                          AtomicOutputFile::Create(out_path, options.output_mode));
  CRYPTA_RETURN_IF_ERROR(out.Truncate(header.SealedSize(encoded.size())));
  CRYPTA_RETURN_IF_ERROR(out.WriteAt(0, encoded));
  CRYPTA_RETURN_IF_ERROR(out.WriteAt(encoded.size(), ComputeSealedHeaderTag(dek, encoded)));

  const uint64_t chunks = header.ChunkCount();
  int threads = static_cast<int>(std::min<uint64_t>(ResolveThreadCount(options.threads), chunks));
  CRYPTA_ASSIGN_OR_RETURN(
      std::vector<Worker> workers,
      MakeWorkers(std::move(cipher), threads, header.chunk_size + kAeadTagSize));
  std::atomic<uint64_t> done{0};
  CRYPTA_RETURN_IF_ERROR(RunWithProgress(
      chunks, threads, header.plaintext_length, done, options, [&](int w, uint64_t i) -> Status {
        Worker& wk = workers[w];
        size_t len = header.ChunkPlaintextSize(i);
        wk.in.resize(len);
        wk.out.resize(len + kAeadTagSize);
        CRYPTA_RETURN_IF_ERROR(in.ReadAt(i * header.chunk_size, wk.in));
        CRYPTA_RETURN_IF_ERROR(wk.cipher.SealChunk(i, wk.in, wk.out));
        CRYPTA_RETURN_IF_ERROR(out.WriteAt(header.ChunkOffset(encoded.size(), i), wk.out));
        done.fetch_add(len, std::memory_order_relaxed);
        return OkStatus();
      }));
  for (Worker& wk : workers) SecureWipe(wk.in);
  return out.Commit(options.overwrite);
}

Status SealFile(ByteSpan kek, const KeyReference& ref, const std::string& in_path,
                const std::string& out_path, const SealedFileOptions& options) {
  CRYPTA_ASSIGN_OR_RETURN(SecretBytes dek, RandomSecret(kDataKeySize));
  CRYPTA_ASSIGN_OR_RETURN(Bytes wrapped, WrapDataKey(kek, ref, dek));
  return SealFileWithDataKey(dek, ref, std::move(wrapped), in_path, out_path, options);
}

Result<OpenedHeader> ReadSealedFileHeader(const std::string& path) {
  CRYPTA_ASSIGN_OR_RETURN(InputFile in, InputFile::Open(path));
  Bytes prefix(kSealedHeaderFixedPrefix);
  if (in.size() < prefix.size()) {
    return MakeError(ErrorCode::kInvalidArgument, path + ": not a crypta sealed blob (only " +
                                                      std::to_string(in.size()) + " bytes)");
  }
  CRYPTA_RETURN_IF_ERROR(in.ReadAt(0, prefix));
  CRYPTA_ASSIGN_OR_RETURN(size_t len, PeekSealedHeaderLength(prefix));
  if (in.size() < len + kSealedHeaderTagSize) {
    return MakeError(ErrorCode::kDataLoss, path + ": truncated inside the sealed header");
  }
  Bytes head(len + kSealedHeaderTagSize);
  CRYPTA_RETURN_IF_ERROR(in.ReadAt(0, head));
  return ReadSealedHeader(head);
}

Status UnsealFileWithDataKey(const SecretBytes& dek, const std::string& in_path,
                             const std::string& out_path, const SealedFileOptions& options) {
  CRYPTA_ASSIGN_OR_RETURN(InputFile in, InputFile::Open(in_path));
  CRYPTA_ASSIGN_OR_RETURN(OpenedHeader opened, ReadSealedFileHeader(in_path));
  const SealedHeader& h = opened.header;
  const size_t hlen = opened.encoded.size();
  Bytes tag(kSealedHeaderTagSize);
  CRYPTA_RETURN_IF_ERROR(in.ReadAt(hlen, tag));
  CRYPTA_RETURN_IF_ERROR(VerifySealedHeaderTag(dek, opened.encoded, tag));
  uint64_t want = h.SealedSize(hlen);
  if (in.size() != want) {
    return MakeError(ErrorCode::kDataLoss,
                     std::string(in.size() < want ? "truncated" : "trailing data") + ": " +
                         in_path + " is " + std::to_string(in.size()) + " bytes, its header says " +
                         std::to_string(want));
  }
  CRYPTA_ASSIGN_OR_RETURN(ChunkCipher cipher, ChunkCipher::Create(dek, h, opened.encoded));
  CRYPTA_ASSIGN_OR_RETURN(AtomicOutputFile out,
                          AtomicOutputFile::Create(out_path, options.output_mode));
  CRYPTA_RETURN_IF_ERROR(out.Truncate(h.plaintext_length));

  const uint64_t chunks = h.ChunkCount();
  int threads = static_cast<int>(std::min<uint64_t>(ResolveThreadCount(options.threads), chunks));
  CRYPTA_ASSIGN_OR_RETURN(std::vector<Worker> workers,
                          MakeWorkers(std::move(cipher), threads, h.chunk_size + kAeadTagSize));
  std::atomic<uint64_t> done{0};
  Status s = RunWithProgress(chunks, threads, h.plaintext_length, done, options,
                             [&](int w, uint64_t i) -> Status {
                               Worker& wk = workers[w];
                               size_t len = h.ChunkPlaintextSize(i);
                               wk.in.resize(len + kAeadTagSize);
                               wk.out.resize(len);
                               CRYPTA_RETURN_IF_ERROR(in.ReadAt(h.ChunkOffset(hlen, i), wk.in));
                               CRYPTA_RETURN_IF_ERROR(wk.cipher.OpenChunk(i, wk.in, wk.out));
                               CRYPTA_RETURN_IF_ERROR(out.WriteAt(i * h.chunk_size, wk.out));
                               done.fetch_add(len, std::memory_order_relaxed);
                               return OkStatus();
                             });
  for (Worker& wk : workers) SecureWipe(wk.out);
  if (!s) return s;  // `out` is abandoned (deleted) by its destructor
  return out.Commit(options.overwrite);
}

Status UnsealFile(ByteSpan kek, const std::string& in_path, const std::string& out_path,
                  const SealedFileOptions& options) {
  CRYPTA_ASSIGN_OR_RETURN(OpenedHeader opened, ReadSealedFileHeader(in_path));
  CRYPTA_ASSIGN_OR_RETURN(SecretBytes dek,
                          UnwrapDataKey(kek, opened.header.key_ref, opened.header.wrapped_dek));
  return UnsealFileWithDataKey(dek, in_path, out_path, options);
}

}  // namespace crypta

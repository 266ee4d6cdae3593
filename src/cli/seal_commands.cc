// crypta keygen | seal | unseal | inspect: local sealed files (DESIGN.md §4.1).
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "cli/progress.h"
#include "common/file_util.h"
#include "crypto/key_file.h"
#include "crypto/sealed_file.h"

namespace crypta::cli {
namespace {

struct SealArgs {
  std::string key_file;
  std::string in;
  std::string out;
  int threads = 0;
  uint32_t chunk_kib = kDefaultChunkSize / 1024;
  bool force = false;
};

Result<SecretBytes> LoadKey(const std::string& path) {
  CRYPTA_ASSIGN_OR_RETURN(LoadedKeyFile loaded, LoadKeyFile(path));
  if (loaded.group_or_world_accessible) {
    std::fprintf(stderr,
                 "crypta: warning: key file %s is readable by other users; run chmod 600 %s\n",
                 path.c_str(), path.c_str());
  }
  return std::move(loaded.key);
}

SealedFileOptions FileOptions(const SealArgs& a, const std::string& label, uint64_t total) {
  SealedFileOptions o;
  o.threads = a.threads;
  o.chunk_size = a.chunk_kib * 1024;
  o.overwrite = a.force;
  o.progress = MakeProgressBar(label, total);
  return o;
}

uint64_t FileSize(const std::string& path) {
  Result<InputFile> f = InputFile::Open(path);
  return f ? f->size() : 0;
}

Status RunSeal(const SealArgs& a) {
  CRYPTA_ASSIGN_OR_RETURN(SecretBytes kek, LoadKey(a.key_file));
  return SealFile(kek.Reveal(), KeyFileReference(kek), a.in, a.out,
                  FileOptions(a, "sealing", FileSize(a.in)));
}

Status RunUnseal(const SealArgs& a) {
  CRYPTA_ASSIGN_OR_RETURN(SecretBytes kek, LoadKey(a.key_file));
  CRYPTA_ASSIGN_OR_RETURN(OpenedHeader opened, ReadSealedFileHeader(a.in));
  const KeyReference& ref = opened.header.key_ref;
  if (!ref.tenant.empty()) {
    return MakeError(ErrorCode::kFailedPrecondition,
                     a.in + " is sealed under key broker key " + ref.tenant + "/" + ref.key_name +
                         " v" + std::to_string(ref.kek_version) +
                         "; only an attested workload can unseal it, not a key file");
  }
  std::string have = KeyFileId(kek);
  if (ref.key_name != have) {
    return MakeError(ErrorCode::kUnauthenticated, "wrong key: " + a.in + " was sealed with " +
                                                      ref.key_name + ", but " + a.key_file +
                                                      " is " + have);
  }
  CRYPTA_ASSIGN_OR_RETURN(SecretBytes dek,
                          UnwrapDataKey(kek.Reveal(), ref, opened.header.wrapped_dek));
  return UnsealFileWithDataKey(dek, a.in, a.out,
                               FileOptions(a, "unsealing", opened.header.plaintext_length));
}

void AddIoOptions(CLI::App* cmd, SealArgs* a, bool with_chunk) {
  cmd->add_option("--key-file,-k", a->key_file, "Key file made by `crypta keygen`")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--in,-i", a->in, "Input file")->required()->check(CLI::ExistingFile);
  cmd->add_option("--out,-o", a->out, "Output file (written atomically)")->required();
  cmd->add_option("--threads", a->threads, "Worker threads (default: every core)")
      ->check(CLI::Range(0, 1024));
  if (with_chunk) {
    cmd->add_option("--chunk-kib", a->chunk_kib, "Chunk size in KiB (default 1024)")
        ->check(CLI::Range(4, 65536));
  }
  cmd->add_flag("--force,-f", a->force, "Replace the output file if it exists");
}

}  // namespace

int ReportError(const Error& error) {
  std::fprintf(stderr, "crypta: error: %s\n", error.message().c_str());
  return 1;
}

void RegisterSealCommands(CLI::App& app, int* exit_code) {
  auto keygen_out = std::make_shared<std::string>();
  CLI::App* keygen = app.add_subcommand(
      "keygen", "Create a new 256-bit key file (mode 0600) for sealing files locally");
  keygen->add_option("--out,-o", *keygen_out, "Path of the new key file (must not exist)")
      ->required();
  keygen->callback([keygen_out, exit_code] {
    Status s = GenerateKeyFile(*keygen_out);
    if (!s) {
      *exit_code = ReportError(s.error());
      return;
    }
    std::printf("wrote %s (32 random bytes, mode 0600)\n", keygen_out->c_str());
  });

  auto seal_args = std::make_shared<SealArgs>();
  CLI::App* seal = app.add_subcommand(
      "seal", "Encrypt a file into a crypta sealed blob (chunked AES-256-GCM, fresh data key)");
  AddIoOptions(seal, seal_args.get(), /*with_chunk=*/true);
  seal->callback([seal_args, exit_code] {
    Status s = RunSeal(*seal_args);
    if (!s) *exit_code = ReportError(s.error());
  });

  auto unseal_args = std::make_shared<SealArgs>();
  CLI::App* unseal = app.add_subcommand(
      "unseal", "Decrypt and verify a sealed blob; any modification fails and writes nothing");
  AddIoOptions(unseal, unseal_args.get(), /*with_chunk=*/false);
  unseal->callback([unseal_args, exit_code] {
    Status s = RunUnseal(*unseal_args);
    if (!s) *exit_code = ReportError(s.error());
  });

  auto inspect_path = std::make_shared<std::string>();
  CLI::App* inspect = app.add_subcommand(
      "inspect", "Print a sealed blob's header as JSON (no key needed; nothing is verified)");
  inspect->add_option("file", *inspect_path, "Sealed blob")->required()->check(CLI::ExistingFile);
  inspect->callback([inspect_path, exit_code] {
    Result<OpenedHeader> opened = ReadSealedFileHeader(*inspect_path);
    if (!opened) {
      *exit_code = ReportError(opened.error());
      return;
    }
    nlohmann::json j = opened->header.ToJson(opened->encoded.size());
    j["authenticated"] = false;
    std::cout << j.dump(2) << std::endl;
  });
}

}  // namespace crypta::cli

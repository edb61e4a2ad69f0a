// The main() a fuzz target links when libFuzzer is not used (gcc, or clang without
// PROTOS7_LIBFUZZER): it runs every file named on the command line, and every regular file of
// every directory named there, through LLVMFuzzerTestOneInput once. This keeps the targets
// building with any compiler and lets ctest replay the committed corpus and regressions.
//
//   fuzz_cotp fuzz/corpus/cotp fuzz/regressions/cotp crash-1234
//
// Arguments that start with '-' are ignored, so a libFuzzer command line (-runs=0, -dict=...)
// works unchanged. A missing path is an error (exit 2); an invariant violation aborts.
// Each input is copied into its own exactly sized heap block so that AddressSanitizer (with
// PROTOS7_SANITIZE) catches reads past its end, as under libFuzzer.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);
extern "C" __attribute__((weak)) int LLVMFuzzerInitialize(int* argc, char*** argv);

namespace {

bool run_file(const std::filesystem::path& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    std::fprintf(stderr, "replay: cannot read %s\n", path.c_str());
    return false;
  }
  const std::vector<char> content{std::istreambuf_iterator<char>(f),
                                  std::istreambuf_iterator<char>()};
  // Exactly sized, even for an empty input (a zero-size allocation, like libFuzzer's).
  const std::unique_ptr<std::uint8_t[]> copy(new std::uint8_t[content.size()]);
  if (!content.empty()) std::memcpy(copy.get(), content.data(), content.size());
  LLVMFuzzerTestOneInput(copy.get(), content.size());
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (LLVMFuzzerInitialize != nullptr) LLVMFuzzerInitialize(&argc, &argv);
  std::size_t inputs = 0;
  bool ok = true;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.empty() || arg[0] == '-') continue;
    const std::filesystem::path path{arg};
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) {
      std::vector<std::filesystem::path> files;
      for (const auto& entry : std::filesystem::directory_iterator(path, ec))
        if (entry.is_regular_file()) files.push_back(entry.path());
      std::sort(files.begin(), files.end());  // a stable order makes failures reproducible
      for (const auto& file : files) {
        std::fprintf(stderr, "replay: %s\n", file.c_str());
        ok = run_file(file) && ok;
        ++inputs;
      }
    } else if (std::filesystem::is_regular_file(path, ec)) {
      std::fprintf(stderr, "replay: %s\n", path.c_str());
      ok = run_file(path) && ok;
      ++inputs;
    } else {
      std::fprintf(stderr, "replay: no such file or directory: %s\n", arg.c_str());
      ok = false;
    }
  }
  std::fprintf(stderr, "replay: %zu inputs %s\n", inputs, ok ? "passed" : "(with errors)");
  return ok ? 0 : 2;
}

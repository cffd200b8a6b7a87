// Replays a fuzz target over files, without libFuzzer: the main() of the fuzz targets in the
// normal (gcc) build, where CTest runs each target over its seed corpus (label fuzz-corpus), so
// every seed and every regression input is checked on each `make check` even without clang.
//
// Usage: fuzz_NAME_replay PATH...   (a PATH is a file or a directory of files, not recursive)
// Prints each file before running it, so a crash names its input; exits 1 when no file ran.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::filesystem::path> files;
  for (int i = 1; i < argc; ++i) {
    const std::filesystem::path p(argv[i]);
    if (std::filesystem::is_directory(p)) {
      for (const auto& e : std::filesystem::directory_iterator(p)) {
        if (e.is_regular_file()) files.push_back(e.path());
      }
    } else {
      files.push_back(p);
    }
  }
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    std::fprintf(stderr, "running %s\n", f.c_str());
    const std::string data = read_file(f);
    LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(data.data()), data.size());
  }
  std::fprintf(stderr, "%zu inputs ran without a failure\n", files.size());
  return files.empty() ? 1 : 0;
}

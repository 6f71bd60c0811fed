// The split-check fuzz targets' seed corpora and the inputs they once failed
// on (tests/fuzz/{corpus,regressions}/<name>/), replayed in every build: each
// must give the same outcome however it is split.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "tests/fuzz/split_harness.h"

namespace {

namespace fs = std::filesystem;
using Check = std::string (*)(const uint8_t*, size_t);

// Returns how many files of tests/fuzz/<kind>/<name>/ it checked.
size_t ReplayDirectory(const std::string& kind, const std::string& name, Check check) {
  fs::path dir = fs::path(UPMESH_FUZZ_DIR) / kind / name;
  if (!fs::is_directory(dir)) return 0;
  size_t files = 0;
  for (const fs::directory_entry& entry : fs::directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    INFO(entry.path().string());
    CHECK(check(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()) == "");
    ++files;
  }
  return files;
}

}  // namespace

TEST_CASE("fuzz replay: request reader corpus and regressions", "[fuzz]") {
  CHECK(ReplayDirectory("corpus", "request_reader", upmesh::fuzz::CheckRequestReaderSplits) > 0);
  ReplayDirectory("regressions", "request_reader", upmesh::fuzz::CheckRequestReaderSplits);
}

TEST_CASE("fuzz replay: response reader corpus and regressions", "[fuzz]") {
  CHECK(ReplayDirectory("corpus", "response_reader", upmesh::fuzz::CheckResponseReaderSplits) > 0);
  ReplayDirectory("regressions", "response_reader", upmesh::fuzz::CheckResponseReaderSplits);
}

// libFuzzer target: the differential split check of tests/fuzz/split_harness.h
// for the shared http::RequestReader. Any difference is a crash.
#include <cstdio>

#include "tests/fuzz/split_harness.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string difference = upmesh::fuzz::CheckRequestReaderSplits(data, size);
  if (!difference.empty()) {
    std::fprintf(stderr, "split-dependent outcome:\n%s\n", difference.c_str());
    __builtin_trap();
  }
  return 0;
}

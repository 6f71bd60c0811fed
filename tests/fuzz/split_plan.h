// How a split check input is laid out (see split_harness.h): the option
// byte, the split points, and the stream, with the three ways of cutting it.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace upmesh::fuzz {

struct SplitPlan {
  uint8_t options = 0;
  std::string stream;
  // Each entry: the pieces of `stream`, fed one after another.
  std::vector<std::vector<std::string>> ways;
};

inline SplitPlan MakeSplitPlan(const uint8_t* data, size_t size) {
  SplitPlan plan;
  size_t at = 0;
  if (at < size) plan.options = data[at++];
  size_t splits = at < size ? data[at++] % 8 : 0;
  std::vector<size_t> gaps;
  for (size_t i = 0; i < splits && at < size; ++i) gaps.push_back(data[at++]);
  plan.stream.assign(reinterpret_cast<const char*>(data) + at, size - at);
  const std::string& s = plan.stream;

  plan.ways.push_back({s});
  std::vector<std::string> cut;
  size_t start = 0;
  for (size_t gap : gaps) {
    size_t end = std::min(s.size(), start + gap);
    cut.push_back(s.substr(start, end - start));
    start = end;
  }
  cut.push_back(s.substr(start));
  plan.ways.push_back(cut);
  if (s.size() <= 512) {
    std::vector<std::string> bytes;
    for (char c : s) bytes.emplace_back(1, c);
    plan.ways.push_back(bytes);
  }
  return plan;
}

}  // namespace upmesh::fuzz

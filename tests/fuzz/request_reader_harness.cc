#include <algorithm>
#include <string>
#include <vector>

#include "shared/http_message_scanner.h"
#include "shared/http_request_reader.h"
#include "tests/fuzz/split_harness.h"
#include "tests/fuzz/split_plan.h"

namespace upmesh::fuzz {
namespace {

using http::Request;
using http::RequestLimits;
using http::RequestReader;

// Everything a request carries, in one comparable string.
std::string Render(const Request& r, size_t end_offset) {
  std::string out = r.method + " " + r.target + " 1." + std::to_string(r.version_minor);
  out += r.keep_alive ? " keep-alive" : " close";
  out += r.safe ? " safe" : "";
  out += r.idempotent ? " idempotent" : "";
  out += r.is_head ? " head" : "";
  out += r.had_framing ? " framed" : "";
  out += " ended at " + std::to_string(end_offset) + "\n";
  for (const auto& field : r.fields) out += field.name + ": " + field.value + "\n";
  out += "body[" + std::to_string(r.body.size()) + "]=" + r.body;
  return out;
}

// Sets *disagreed if the grammar scanner and http-parser disagreed.
std::string Feed(const std::vector<std::string>& pieces, const RequestLimits& limits, bool* disagreed) {
  RequestReader reader(limits);
  std::string outcome;
  size_t stream_offset = 0;
  for (const std::string& piece : pieces) {
    size_t offset = 0;
    while (offset < piece.size() && !reader.failed()) {
      size_t consumed = reader.Feed(piece.data() + offset, piece.size() - offset);
      offset += consumed;
      if (reader.failed()) break;
      stream_offset += consumed;
      if (reader.request_ready()) outcome += Render(reader.TakeRequest(), stream_offset) + "\n---\n";
    }
    if (reader.failed()) {
      if (reader.error_detail() == http::kScannerParserDisagree) *disagreed = true;
      return outcome + "refused " + std::to_string(reader.error_status()) + ": " + reader.error_detail();
    }
  }
  return outcome + (reader.in_progress() ? "incomplete" : "idle");
}

}  // namespace

std::string CheckRequestReaderSplits(const uint8_t* data, size_t size) {
  SplitPlan plan = MakeSplitPlan(data, size);
  static const size_t kHeader[] = {64, 200, 1024, 16 * 1024};
  static const size_t kTarget[] = {8, 40, 8 * 1024, 8 * 1024};
  static const size_t kBody[] = {0, 10, 100, 1 << 20};
  RequestLimits limits;
  limits.max_header_bytes = kHeader[plan.options & 3];
  limits.max_target_bytes = kTarget[(plan.options >> 2) & 3];
  limits.max_body_bytes = kBody[(plan.options >> 4) & 3];

  bool disagreed = false;
  std::string whole = Feed(plan.ways[0], limits, &disagreed);
  if (disagreed) return "scanner and parser disagree:\n" + whole;
  for (size_t way = 1; way < plan.ways.size(); ++way) {
    std::string split = Feed(plan.ways[way], limits, &disagreed);
    if (split != whole) {
      return "fed in " + std::to_string(plan.ways[way].size()) + " pieces:\n" + split + "\nfed whole:\n" + whole;
    }
  }
  return "";
}

}  // namespace upmesh::fuzz

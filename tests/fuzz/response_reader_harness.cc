#include <cstdint>
#include <string>
#include <vector>

#include "shared/http_message_scanner.h"
#include "tests/fuzz/split_harness.h"
#include "tests/fuzz/split_plan.h"
#include "shared/http_response_reader.h"
#include "worker/mesh_response.h"

namespace upmesh::fuzz {
namespace {

using http::ResponseReader;
using Result = ResponseReader::Result;

std::string Render(ResponseReader& reader, size_t end_offset) {
  std::string out = std::to_string(reader.status()) + (reader.keep_alive() ? " keep-alive" : " close") +
                    (reader.chunked() ? " chunked" : "") + " ended at " + std::to_string(end_offset) + "\n";
  out += worker::MeshResponseHead(reader, "w1");
  out += "body[" + std::to_string(reader.body().size()) + "]=" + reader.body();
  return out;
}

// Sets *disagreed if the grammar scanner and http-parser disagreed.
std::string Feed(const std::vector<std::string>& pieces, bool head_request, bool eof_at_end, size_t max_bytes,
                 bool* disagreed) {
  ResponseReader reader;
  reader.Start(head_request, max_bytes);
  std::string outcome;
  size_t stream_offset = 0;
  for (const std::string& piece : pieces) {
    size_t offset = 0;
    while (offset < piece.size()) {
      size_t consumed = 0;
      Result result = reader.Feed(piece.data() + offset, piece.size() - offset, &consumed);
      if (result == Result::kError) {
        if (reader.fault() == ResponseReader::Fault::kDisagree) *disagreed = true;
        return outcome + "error: " + worker::BackendError(reader);
      }
      offset += consumed;
      stream_offset += consumed;
      if (result == Result::kIncomplete && offset != piece.size()) return outcome + "incomplete left bytes";
      if (result == Result::kComplete) {
        outcome += Render(reader, stream_offset) + "\n---\n";
        reader.Start(head_request, max_bytes);
      }
    }
  }
  if (eof_at_end && reader.received_any()) {
    if (reader.FeedEof() == Result::kComplete) return outcome + Render(reader, stream_offset) + "\nat EOF";
    return outcome + "error at EOF: " + worker::BackendError(reader);
  }
  return outcome + (reader.received_any() ? "incomplete" : "idle");
}

}  // namespace

std::string CheckResponseReaderSplits(const uint8_t* data, size_t size) {
  SplitPlan plan = MakeSplitPlan(data, size);
  static const size_t kLimits[] = {SIZE_MAX, 16, 64, 100, 128, 256, 1024, 4096};
  bool head_request = plan.options & 1;
  bool eof_at_end = plan.options & 2;
  size_t max_bytes = kLimits[(plan.options >> 2) & 7];

  bool disagreed = false;
  std::string whole = Feed(plan.ways[0], head_request, eof_at_end, max_bytes, &disagreed);
  if (disagreed) return "scanner and parser disagree:\n" + whole;
  for (size_t way = 1; way < plan.ways.size(); ++way) {
    std::string split = Feed(plan.ways[way], head_request, eof_at_end, max_bytes, &disagreed);
    if (split != whole) {
      return "fed in " + std::to_string(plan.ways[way].size()) + " pieces:\n" + split + "\nfed whole:\n" + whole;
    }
  }
  return "";
}

}  // namespace upmesh::fuzz

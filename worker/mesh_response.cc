#include "worker/mesh_response.h"

namespace upmesh::worker {

std::string MeshResponseHead(const http::ResponseReader& reader, std::string_view worker_name) {
  const int status = reader.status();
  const http::FieldList& fields = reader.fields();
  std::string head;
  head.reserve(reader.head_bytes() + 128);
  head.append("HTTP/1.1 ");
  head.append(std::to_string(status));
  head.push_back(' ');
  head.append(reader.reason().empty() ? http::ReasonPhrase(status) : reader.reason());
  head.append("\r\n");
  http::HopByHop hop_by_hop(fields);
  for (const http::Field& field : fields) {
    if (hop_by_hop.Contains(field.name) || http::EqualsIgnoreCase(field.name, "content-length")) continue;
    if (http::EqualsIgnoreCase(field.name, "via")) continue;  // extended below
    http::AppendField(&head, field.name, field.value);
  }
  if (status == 304 || (reader.head_request() && status != 204)) {
    // No body here, but Content-Length describes the full representation.
    if (const std::string* length = http::FindField(fields, "content-length")) {
      http::AppendField(&head, "Content-Length", *length);
    }
  } else if (status != 204) {
    http::AppendField(&head, "Content-Length", std::to_string(reader.body().size()));
  }
  http::AppendListField(&head, fields, "Via", reader.version_minor() == 0 ? "1.0 upmesh" : "1.1 upmesh");
  http::AppendField(&head, "X-Upmesh-Worker", worker_name);
  return head;
}

std::string BackendError(const http::ResponseReader& reader) {
  using Fault = http::ResponseReader::Fault;
  switch (reader.fault()) {
    case Fault::kMalformed:
      return "invalid response from backend: " + reader.error();
    case Fault::kStatusOutOfRange:
      return "backend sent status " + std::to_string(reader.status()) + ", outside 100..599";
    case Fault::kSwitchingProtocols:
      return "backend switched protocols (101) although no upgrade was asked for";
    case Fault::kInvalidFieldName:
      return "backend sent an invalid header field name";
    case Fault::kTransferCoding:
      return "backend used a transfer-coding other than chunked";
    case Fault::kTooLarge:
      return "backend response is larger than maxResponseBytes";
    case Fault::kClosedBeforeResponse:
      return "backend closed the connection before responding";
    case Fault::kClosedEarly:
      return "backend closed the connection before the response was complete";
    case Fault::kDisagree:
    case Fault::kNone:
      break;
  }
  return reader.error();
}

}  // namespace upmesh::worker

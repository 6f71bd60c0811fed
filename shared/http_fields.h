// HTTP/1.1 header fields as a proxy needs them: an ordered list of fields,
// case-insensitive lookup, the hop-by-hop rules of RFC 9110 7.6.1, and the
// short responses upmesh makes itself (400, 502, 503, ...).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace upmesh::http {

struct Field {
  std::string name;
  std::string value;
};
using FieldList = std::vector<Field>;

bool EqualsIgnoreCase(std::string_view a, std::string_view b);

// True if `text` is a non-empty RFC 9110 token (what a field name must be).
bool IsToken(std::string_view text);

// The value of the first field called `name`, or nullptr.
const std::string* FindField(const FieldList& fields, std::string_view name);

// How many fields are called `name`.
int CountFields(const FieldList& fields, std::string_view name);

// Splits a comma-separated list ("close, Upgrade") into lower-case tokens.
std::vector<std::string> SplitTokens(std::string_view list);

// Hop-by-hop fields of a message: the fixed set (Connection, Keep-Alive,
// Proxy-Connection, TE, Transfer-Encoding, Upgrade, Trailer) plus every field
// the message's Connection fields name. These are never forwarded as they came.
class HopByHop {
 public:
  explicit HopByHop(const FieldList& fields);
  bool Contains(std::string_view name) const;
  // True if the Connection field lists `token` (e.g. "close", "keep-alive").
  bool ConnectionHas(std::string_view token) const;

 private:
  std::vector<std::string> connection_tokens_;
};

// "OK", "Bad Gateway", ...; "Unknown" for codes it does not know.
const char* ReasonPhrase(int status);

// Appends "name: value\r\n".
void AppendField(std::string* out, std::string_view name, std::string_view value);

// Appends one field "name: v1, v2, entry\r\n": the values of every field of
// `fields` called `name`, in order, then `entry`. How a proxy adds its own
// entry to a list field (Via, X-Forwarded-For, Forwarded); the caller leaves
// the original fields out.
void AppendListField(std::string* out, const FieldList& fields, std::string_view name, std::string_view entry);

// A complete response that upmesh itself produces: the head (status line,
// Content-Type: text/plain, Content-Length, without the final blank line, as
// on the wire between mesh processes) and a short one-line body.
struct SimpleResponse {
  std::string head;
  std::string body;
};
SimpleResponse MakeSimpleResponse(int status, std::string_view detail);

}  // namespace upmesh::http

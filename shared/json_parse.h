// ParseJson: the one way upmesh turns outside text into JSON.
//
// Every JSON input (config files, API bodies, the state file, wire messages)
// comes from someone who may not mean well. nlohmann's parser itself is
// iterative, but dump(), copies and comparisons recurse once per nesting
// level, so a value 100,000 levels deep overflows the stack the first time
// anything touches it. ParseJson therefore checks the size and the nesting
// depth with a cheap scan BEFORE nlohmann builds anything, and reports
// errors with a line and column ("line 3, column 14: unexpected '}'") and
// never more than kMaxQuotedBytes of the input.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "shared/status.h"

namespace upmesh {

// The deepest document upmesh itself reads is 5 levels (state file ->
// clusters -> cluster -> upgradeTransition -> monitor). 64 leaves room for
// any sane input and keeps every recursion over a value a few kB of stack.
constexpr int kMaxJsonDepth = 64;

// At most this much of the input is ever quoted in an error message.
constexpr size_t kMaxQuotedBytes = 64;

struct JsonLimits {
  size_t max_bytes;
  int max_depth = kMaxJsonDepth;
};

// Parses `text` into *out. Errors (InvalidArgument) are one line:
// "larger than N bytes", "line L, column C: nesting deeper than 64 levels",
// or "line L, column C: <what is wrong>". *out is untouched on error.
Status ParseJson(std::string_view text, const JsonLimits& limits, nlohmann::json* out);

// A short, safe rendering of input for an error message: at most
// kMaxQuotedBytes, control characters and invalid UTF-8 escaped, "..." when
// cut. QuoteForMessage adds double quotes around it.
std::string QuoteForMessage(std::string_view text);
// A name (an object key in a path, an HTTP method) as an error message
// shows it: as it is when it is a short name of letters, digits, '_', '-'
// and '.', else as QuoteForMessage.
std::string NameForMessage(const std::string& key);
// A value as an error message shows it: strings as QuoteForMessage,
// other scalars and small containers dumped ("[1,2]"), larger containers
// named ("an array of 300", "an object").
std::string JsonForMessage(const nlohmann::json& value);

}  // namespace upmesh

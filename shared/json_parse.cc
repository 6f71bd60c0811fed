#include "shared/json_parse.h"

#include <algorithm>
#include <cctype>
#include <cstdio>

namespace upmesh {
namespace {

struct Position {
  size_t line = 1;
  size_t column = 1;
};

// The line and column of byte `index` (0-based) of `text`; both 1-based,
// the column counted in bytes.
Position PositionOf(std::string_view text, size_t index) {
  Position position;
  index = std::min(index, text.size());
  for (size_t i = 0; i < index; ++i) {
    if (text[i] == '\n') {
      position.line++;
      position.column = 1;
    } else {
      position.column++;
    }
  }
  return position;
}

std::string At(const Position& position) {
  return "line " + std::to_string(position.line) + ", column " + std::to_string(position.column) + ": ";
}

// The index of the first bracket that opens a level deeper than max_depth,
// or npos. Brackets inside strings do not count. Valid JSON is scanned
// exactly; for invalid JSON the answer only has to be safe, and nlohmann
// rejects such input before anything recurses over it.
size_t FindTooDeep(std::string_view text, int max_depth) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;  // the escaped character, whatever it is
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) return i;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return std::string_view::npos;
}

// nlohmann's what(): "[json.exception.parse_error.101] parse error at line 1,
// column 2: syntax error while parsing value - invalid literal; last read:
// 'tru,'". Keeps what is wrong and cuts the quoted input.
std::string Describe(const std::string& what) {
  std::string text = what;
  if (size_t column = text.find(", column "); column != std::string::npos) {
    if (size_t colon = text.find(": ", column); colon != std::string::npos) text = text.substr(colon + 2);
  }
  if (text.rfind("syntax error while parsing ", 0) == 0) {
    if (size_t dash = text.find(" - "); dash != std::string::npos) text = text.substr(dash + 3);
  }
  constexpr std::string_view kLastRead = "; last read: '";
  if (size_t last = text.find(kLastRead); last != std::string::npos) {
    // "...; last read: 'TOKEN'" or "...; last read: 'TOKEN'; expected X",
    // X one of nlohmann's token names. TOKEN is input: it may contain
    // anything, "'; expected " included, so X is matched from the end.
    static const char* const kTokenNames[] = {"true literal", "false literal", "null literal", "string literal",
                                              "number literal", "'['", "'{'", "']'", "'}'", "':'", "','",
                                              "end of input", "'[', '{', or a literal", "<parse error>",
                                              "unknown token", "<uninitialized>"};
    std::string_view token(text);
    token = token.substr(last + kLastRead.size());
    std::string expected;
    for (const char* name : kTokenNames) {
      std::string suffix = std::string("'; expected ") + name;
      if (token.size() >= suffix.size() && token.substr(token.size() - suffix.size()) == suffix) {
        expected = suffix.substr(1);
        token.remove_suffix(suffix.size());
        break;
      }
    }
    if (expected.empty() && !token.empty() && token.back() == '\'') token.remove_suffix(1);
    text = text.substr(0, last) + "; last read: " + QuoteForMessage(token) + expected;
  }
  return text;
}

// Drops nlohmann's "[json.exception.X] " prefix and cuts what it quotes
// between the first and the last "'".
std::string CutQuote(const std::string& what) {
  std::string text = what;
  if (size_t prefix_end = text.find("] "); text.rfind("[json.exception.", 0) == 0 && prefix_end != std::string::npos) {
    text = text.substr(prefix_end + 2);
  }
  size_t open = text.find('\'');
  size_t close = text.rfind('\'');
  if (open == std::string::npos || close == open) return text.substr(0, 2 * kMaxQuotedBytes);
  return text.substr(0, open) + QuoteForMessage(std::string_view(text).substr(open + 1, close - open - 1)) +
         text.substr(close + 1, kMaxQuotedBytes);
}

}  // namespace

Status ParseJson(std::string_view text, const JsonLimits& limits, nlohmann::json* out) {
  if (text.size() > limits.max_bytes) {
    return Status::InvalidArgument("larger than " + std::to_string(limits.max_bytes) + " bytes");
  }
  if (size_t deep = FindTooDeep(text, limits.max_depth); deep != std::string_view::npos) {
    return Status::InvalidArgument(At(PositionOf(text, deep)) + "nesting deeper than " +
                                   std::to_string(limits.max_depth) + " levels");
  }
  try {
    *out = nlohmann::json::parse(text.begin(), text.end());
  } catch (const nlohmann::json::parse_error& e) {
    // e.byte counts the bytes read, the offending one included.
    return Status::InvalidArgument(At(PositionOf(text, e.byte == 0 ? 0 : e.byte - 1)) + Describe(e.what()));
  } catch (const nlohmann::json::exception& e) {
    // e.g. "[json.exception.out_of_range.406] number overflow parsing '1e999...'"
    return Status::InvalidArgument(CutQuote(e.what()));
  }
  return Status::Ok();
}

std::string QuoteForMessage(std::string_view text) {
  std::string out = "\"";
  for (size_t i = 0; i < text.size() && i < kMaxQuotedBytes; ++i) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      char escaped[5];
      std::snprintf(escaped, sizeof escaped, "\\x%02x", c);
      out += escaped;
    }
  }
  out += text.size() > kMaxQuotedBytes ? "\"..." : "\"";
  return out;
}

std::string NameForMessage(const std::string& key) {
  bool plain = !key.empty() && key.size() <= kMaxQuotedBytes;
  for (char c : key) plain = plain && (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.');
  return plain ? key : QuoteForMessage(key);
}

std::string JsonForMessage(const nlohmann::json& value) {
  if (value.is_string()) return QuoteForMessage(value.get_ref<const std::string&>());
  if (value.is_structured()) {
    // Small containers are shown as they are; the size test comes first so
    // that a large one is never dumped.
    if (value.size() <= 8) {
      std::string text = value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      if (text.size() <= kMaxQuotedBytes) return text;
    }
    return value.is_array() ? "an array of " + std::to_string(value.size()) : "an object";
  }
  return value.dump();  // a number, true, false or null: short
}

}  // namespace upmesh

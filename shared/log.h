// Logging to stderr, one line per event: "time level process: message".
//
// The level is process-wide and set once at start-up (--log-level). Calls
// below the level cost one integer comparison.
#pragma once

#include <string>

namespace upmesh {

enum class LogLevel { kError = 0, kWarn = 1, kInfo = 2, kDebug = 3 };

// Parses "error", "warn", "info" or "debug". Returns false on anything else.
bool ParseLogLevel(const std::string& text, LogLevel* level);

void SetLogLevel(LogLevel level);
void SetLogProcessName(const std::string& name);
bool LogEnabled(LogLevel level);

void Log(LogLevel level, const char* format, ...) __attribute__((format(printf, 2, 3)));

}  // namespace upmesh

#define UPMESH_LOG(level, ...)                                      \
  do {                                                              \
    if (::upmesh::LogEnabled(level)) ::upmesh::Log(level, __VA_ARGS__); \
  } while (0)
#define LOG_ERROR(...) UPMESH_LOG(::upmesh::LogLevel::kError, __VA_ARGS__)
#define LOG_WARN(...) UPMESH_LOG(::upmesh::LogLevel::kWarn, __VA_ARGS__)
#define LOG_INFO(...) UPMESH_LOG(::upmesh::LogLevel::kInfo, __VA_ARGS__)
#define LOG_DEBUG(...) UPMESH_LOG(::upmesh::LogLevel::kDebug, __VA_ARGS__)

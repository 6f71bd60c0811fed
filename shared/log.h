// Logging to stderr, one line per event: "time level process: message".
//
// The level is process-wide and set once at start-up (--log-level). Calls
// below the level cost one integer comparison.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>

namespace upmesh {

enum class LogLevel { kError = 0, kWarn = 1, kInfo = 2, kDebug = 3 };

// Parses "error", "warn", "info" or "debug". Returns false on anything else.
bool ParseLogLevel(const std::string& text, LogLevel* level);

void SetLogLevel(LogLevel level);
void SetLogProcessName(const std::string& name);
bool LogEnabled(LogLevel level);

void Log(LogLevel level, const char* format, ...) __attribute__((format(printf, 2, 3)));

// LogThrottle: the budget of one call site whose lines can come once per
// request (a dead backend, a client sending garbage): at most kLinesPerSecond
// lines a second, so that a fault or an attacker cannot flood the log. The
// first line written after a quiet spell says how many were dropped.
// Thread-safe.
class LogThrottle {
 public:
  static constexpr int kLinesPerSecond = 5;

  // True if a line may be written at `now_ms` (monotonic); then *dropped is
  // how many lines this site dropped since its last written one.
  bool Admit(int64_t now_ms, uint64_t* dropped);

 private:
  std::mutex mutex_;
  int64_t second_started_ms_ = 0;
  int lines_this_second_ = 0;
  uint64_t dropped_ = 0;
};

// Log() with " (N similar lines dropped)" appended when `dropped` > 0.
void LogThrottled(LogLevel level, uint64_t dropped, const char* format, ...) __attribute__((format(printf, 3, 4)));

int64_t LogClockMs();  // the monotonic clock LogThrottle is fed with

}  // namespace upmesh

#define UPMESH_LOG(level, ...)                                      \
  do {                                                              \
    if (::upmesh::LogEnabled(level)) ::upmesh::Log(level, __VA_ARGS__); \
  } while (0)
// Per-request lines: each call site gets its own LogThrottle.
#define UPMESH_LOG_THROTTLED(level, ...)                                                   \
  do {                                                                                     \
    if (::upmesh::LogEnabled(level)) {                                                     \
      static ::upmesh::LogThrottle upmesh_log_throttle;                                    \
      uint64_t upmesh_log_dropped = 0;                                                     \
      if (upmesh_log_throttle.Admit(::upmesh::LogClockMs(), &upmesh_log_dropped))          \
        ::upmesh::LogThrottled(level, upmesh_log_dropped, __VA_ARGS__);                    \
    }                                                                                      \
  } while (0)
#define LOG_ERROR_THROTTLED(...) UPMESH_LOG_THROTTLED(::upmesh::LogLevel::kError, __VA_ARGS__)
#define LOG_WARN_THROTTLED(...) UPMESH_LOG_THROTTLED(::upmesh::LogLevel::kWarn, __VA_ARGS__)
#define LOG_INFO_THROTTLED(...) UPMESH_LOG_THROTTLED(::upmesh::LogLevel::kInfo, __VA_ARGS__)

#define LOG_ERROR(...) UPMESH_LOG(::upmesh::LogLevel::kError, __VA_ARGS__)
#define LOG_WARN(...) UPMESH_LOG(::upmesh::LogLevel::kWarn, __VA_ARGS__)
#define LOG_INFO(...) UPMESH_LOG(::upmesh::LogLevel::kInfo, __VA_ARGS__)
#define LOG_DEBUG(...) UPMESH_LOG(::upmesh::LogLevel::kDebug, __VA_ARGS__)

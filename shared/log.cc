#include "shared/log.h"

#include <cinttypes>
#include <cstdarg>
#include <cstdio>
#include <ctime>
#include <sys/time.h>

#include "shared/clock.h"

namespace upmesh {
namespace {
LogLevel g_level = LogLevel::kInfo;
std::string g_process = "upmesh";
const char* kLevelNames[] = {"error", "warn", "info", "debug"};
}  // namespace

bool ParseLogLevel(const std::string& text, LogLevel* level) {
  for (int i = 0; i < 4; ++i) {
    if (text == kLevelNames[i]) {
      *level = static_cast<LogLevel>(i);
      return true;
    }
  }
  return false;
}

void SetLogLevel(LogLevel level) { g_level = level; }
void SetLogProcessName(const std::string& name) { g_process = name; }
bool LogEnabled(LogLevel level) { return level <= g_level; }

namespace {

void WriteLine(LogLevel level, const char* message, const char* suffix) {
  timeval now;
  gettimeofday(&now, nullptr);
  tm local;
  localtime_r(&now.tv_sec, &local);
  char stamp[32];
  strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &local);
  // One fprintf per line so lines from concurrent processes do not interleave.
  fprintf(stderr, "%s.%03ld %-5s %s: %s%s\n", stamp, static_cast<long>(now.tv_usec / 1000),
          kLevelNames[static_cast<int>(level)], g_process.c_str(), message, suffix);
}

}  // namespace

void Log(LogLevel level, const char* format, ...) {
  char message[2048];
  va_list args;
  va_start(args, format);
  vsnprintf(message, sizeof message, format, args);
  va_end(args);
  WriteLine(level, message, "");
}

void LogThrottled(LogLevel level, uint64_t dropped, const char* format, ...) {
  char message[2048];
  va_list args;
  va_start(args, format);
  vsnprintf(message, sizeof message, format, args);
  va_end(args);
  char suffix[64] = "";
  if (dropped > 0) snprintf(suffix, sizeof suffix, " (%" PRIu64 " similar line(s) dropped)", dropped);
  WriteLine(level, message, suffix);
}

int64_t LogClockMs() { return NowMs(); }

bool LogThrottle::Admit(int64_t now_ms, uint64_t* dropped) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (now_ms - second_started_ms_ >= 1000) {
    second_started_ms_ = now_ms;
    lines_this_second_ = 0;
  }
  if (lines_this_second_ >= kLinesPerSecond) {
    ++dropped_;
    return false;
  }
  ++lines_this_second_;
  *dropped = dropped_;
  dropped_ = 0;
  return true;
}

}  // namespace upmesh

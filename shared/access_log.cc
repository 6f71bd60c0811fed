#include "shared/access_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>

#include <string_view>

namespace upmesh {
namespace {

// The length of the well-formed UTF-8 sequence `text` starts with (RFC 3629:
// no overlong forms, no surrogates, nothing above U+10FFFF), or 0.
size_t Utf8SequenceLength(std::string_view text) {
  auto byte = [&](size_t i) { return static_cast<unsigned char>(text[i]); };
  auto continuation = [&](size_t i) { return i < text.size() && (byte(i) & 0xc0) == 0x80; };
  unsigned char lead = byte(0);
  if (lead >= 0xc2 && lead <= 0xdf) return continuation(1) ? 2 : 0;
  if (lead >= 0xe0 && lead <= 0xef) {
    if (!continuation(1) || !continuation(2)) return 0;
    if (lead == 0xe0 && byte(1) < 0xa0) return 0;  // overlong
    if (lead == 0xed && byte(1) > 0x9f) return 0;  // surrogate
    return 3;
  }
  if (lead >= 0xf0 && lead <= 0xf4) {
    if (!continuation(1) || !continuation(2) || !continuation(3)) return 0;
    if (lead == 0xf0 && byte(1) < 0x90) return 0;  // overlong
    if (lead == 0xf4 && byte(1) > 0x8f) return 0;  // above U+10FFFF
    return 4;
  }
  return 0;
}

// ".123": three digits of milliseconds.
void AppendMillis(std::string* out, int millis) {
  out->push_back('.');
  out->push_back(static_cast<char>('0' + millis / 100));
  out->push_back(static_cast<char>('0' + millis / 10 % 10));
  out->push_back(static_cast<char>('0' + millis % 10));
}

// Appends `text` as a JSON string: quotes, backslashes and control
// characters escaped, and each byte that is not part of a well-formed UTF-8
// sequence replaced by U+FFFD, so the line always parses.
void AppendJsonString(std::string* out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('"');
  size_t i = 0;
  while (i < text.size()) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      if (c == '"' || c == '\\') {
        out->push_back('\\');
        out->push_back(static_cast<char>(c));
      } else if (c < 0x20 || c == 0x7f) {
        out->append("\\u00");
        out->push_back(kHex[c >> 4]);
        out->push_back(kHex[c & 0xf]);
      } else {
        out->push_back(static_cast<char>(c));
      }
      ++i;
      continue;
    }
    size_t length = Utf8SequenceLength(text.substr(i));
    if (length == 0) {
      out->append("\xef\xbf\xbd");  // U+FFFD
      ++i;
    } else {
      out->append(text.substr(i, length));
      i += length;
    }
  }
  out->push_back('"');
}

void AppendField(std::string* out, const char* name, std::string_view value) {
  out->append(name);
  AppendJsonString(out, value);
}

void AppendField(std::string* out, const char* name, uint64_t value) {
  out->append(name);
  out->append(std::to_string(value));
}

void AppendField(std::string* out, const char* name, bool value) {
  out->append(name);
  out->append(value ? "true" : "false");
}

// "2026-12-04T23:10:00.123Z": UTC, so lines from several hosts sort
// together. The part up to the seconds changes once a second: it is kept.
void AppendUtcTimestamp(std::string* out, int64_t time_ms) {
  thread_local int64_t cached_second = -1;
  thread_local char cached[32];
  int64_t second = time_ms / 1000;
  if (second != cached_second) {
    time_t seconds = static_cast<time_t>(second);
    struct tm utc;
    gmtime_r(&seconds, &utc);
    strftime(cached, sizeof cached, "%Y-%m-%dT%H:%M:%S", &utc);
    cached_second = second;
  }
  out->append(cached);
  AppendMillis(out, static_cast<int>(time_ms % 1000));
  out->push_back('Z');
}

}  // namespace

std::string FormatAccessRecord(const AccessRecord& record) {
  // Written by hand rather than through a JSON tree: this runs once per
  // logged request, and a tree costs tens of thousands of instructions.
  std::string line;
  line.reserve(256 + record.target.size());
  line.append("{\"time\":\"");
  AppendUtcTimestamp(&line, record.time_ms);
  line.push_back('"');
  AppendField(&line, ",\"client\":", record.client);
  AppendField(&line, ",\"method\":", record.method);
  AppendField(&line, ",\"target\":", record.target);
  AppendField(&line, ",\"status\":", static_cast<uint64_t>(record.status));
  AppendField(&line, ",\"version\":", record.version);
  AppendField(&line, ",\"uuid\":", record.uuid);
  AppendField(&line, ",\"worker\":", record.worker);
  AppendField(&line, ",\"upstream\":", record.upstream);
  int64_t duration_us = record.duration_us < 0 ? 0 : record.duration_us;
  AppendField(&line, ",\"durationMs\":", static_cast<uint64_t>(duration_us / 1000));
  AppendMillis(&line, static_cast<int>(duration_us % 1000));
  AppendField(&line, ",\"bytesIn\":", record.bytes_in);
  AppendField(&line, ",\"bytesOut\":", record.bytes_out);
  AppendField(&line, ",\"shielded\":", record.shielded);
  AppendField(&line, ",\"retried\":", record.retried);
  AppendField(&line, ",\"generated\":", record.generated);
  line.append("}\n");
  return line;
}

Status AccessLog::Open(const AccessLogOptions& options, std::unique_ptr<AccessLog>* log) {
  if (options.path.empty()) return Status::InvalidArgument("access log: the path is empty (\"-\" for stdout)");
  if (!(options.sample > 0.0 && options.sample <= 1.0)) {
    return Status::InvalidArgument("access log: sample must be > 0 and <= 1, got " + std::to_string(options.sample));
  }
  if (options.path == "-") {
    log->reset(new AccessLog(options, STDOUT_FILENO, /*owns_fd=*/false));
    return Status::Ok();
  }
  int fd = open(options.path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) return Status::IoError("access log " + options.path + ": " + strerror(errno));
  log->reset(new AccessLog(options, fd, /*owns_fd=*/true));
  return Status::Ok();
}

AccessLog::AccessLog(const AccessLogOptions& options, int fd, bool owns_fd)
    : options_(options), fd_(fd), owns_fd_(owns_fd), writer_([this] { WriterLoop(); }) {}

AccessLog::~AccessLog() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  writer_.join();
  if (owns_fd_) close(fd_);
}

bool AccessLog::ShouldLog() { return options_.sample >= 1.0 || coin_(random_) < options_.sample; }

void AccessLog::Write(std::string line) {
  bool was_empty;
  size_t queued_bytes;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (queued_.size() + line.size() > options_.max_queued_bytes) {
      dropped_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    was_empty = queued_.empty();
    queued_.append(line);
    ++queued_lines_;
    queued_bytes = queued_.size();
  }
  // The writer sleeps on an empty queue, then gathers for kBatchDelay or
  // until the queue is half full.
  if (was_empty || queued_bytes > options_.max_queued_bytes / 2) wake_.notify_one();
}

void AccessLog::WriterLoop() {
  std::string batch;
  for (;;) {
    size_t lines;
    bool stopping;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !queued_.empty(); });
      // Let a batch gather: one write(2) and one wake-up per batch, not per line.
      wake_.wait_for(lock, kBatchDelay, [this] { return stopping_ || queued_.size() >= options_.max_queued_bytes / 2; });
      batch.swap(queued_);
      queued_.clear();
      lines = queued_lines_;
      queued_lines_ = 0;
      stopping = stopping_;
    }
    if (!batch.empty() && !WriteAll(batch)) dropped_.fetch_add(lines, std::memory_order_relaxed);
    batch.clear();
    if (stopping) {
      std::lock_guard<std::mutex> lock(mutex_);
      if (queued_.empty()) return;
    }
  }
}

bool AccessLog::WriteAll(const std::string& bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t written = write(fd_, bytes.data() + done, bytes.size() - done);
    if (written < 0 && errno == EINTR) continue;
    if (written <= 0) return false;
    done += static_cast<size_t>(written);
  }
  return true;
}

}  // namespace upmesh

#include "shared/access_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>

#include <nlohmann/json.hpp>

namespace upmesh {
namespace {

// "2026-12-04T23:10:00.123Z": UTC, so lines from several hosts sort together.
std::string UtcTimestamp(int64_t time_ms) {
  time_t seconds = static_cast<time_t>(time_ms / 1000);
  struct tm utc;
  gmtime_r(&seconds, &utc);
  char stamp[40];
  size_t length = strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &utc);
  snprintf(stamp + length, sizeof stamp - length, ".%03dZ", static_cast<int>(time_ms % 1000));
  return stamp;
}

}  // namespace

std::string FormatAccessRecord(const AccessRecord& record) {
  nlohmann::json line = {
      {"time", UtcTimestamp(record.time_ms)},
      {"client", record.client},
      {"method", record.method},
      {"target", record.target},
      {"status", record.status},
      {"version", record.version},
      {"uuid", record.uuid},
      {"worker", record.worker},
      {"upstream", record.upstream},
      {"durationMs", static_cast<double>(record.duration_us) / 1000.0},
      {"bytesIn", record.bytes_in},
      {"bytesOut", record.bytes_out},
      {"shielded", record.shielded},
      {"retried", record.retried},
      {"generated", record.generated},
  };
  std::string text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  text.push_back('\n');
  return text;
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
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (queued_.size() + line.size() > options_.max_queued_bytes) {
      dropped_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    was_empty = queued_.empty();
    queued_.append(line);
    ++queued_lines_;
  }
  // The writer sleeps only on an empty queue: one wake-up per batch, not per line.
  if (was_empty) wake_.notify_one();
}

void AccessLog::WriterLoop() {
  std::string batch;
  for (;;) {
    size_t lines;
    bool stopping;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !queued_.empty(); });
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

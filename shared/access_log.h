// AccessLog: one JSON line per request, written by a thread of its own so
// that the data path never waits on a disk or a pipe.
//
// The data path formats a line (FormatAccessRecord) and hands it to Write(),
// which only appends it to a queue under a mutex; the writer thread takes the
// whole queue at once and writes it with as few write(2) calls as it can.
// When the queue already holds options.max_queued_bytes (the disk or the
// reader of stdout is slower than the traffic), a line is dropped and counted
// instead: losing log lines is better than growing without bound or slowing
// requests down. The destructor writes what is queued, then returns.
//
// Sampling: ShouldLog() says whether the next request is logged, with
// probability options.sample, so the caller skips formatting the others.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>

#include "shared/status.h"

namespace upmesh {

struct AccessLogOptions {
  std::string path;    // "-": standard output; otherwise a file, opened for append (created 0640)
  double sample = 1.0;  // fraction of requests logged: 0 < sample <= 1
  size_t max_queued_bytes = 8 * 1024 * 1024;
};

// What one line says about one request. Every field is written, so lines
// have one shape; empty strings stay empty ("version": "" for a reply made
// before a version was chosen).
struct AccessRecord {
  int64_t time_ms = 0;         // wall clock when the reply was sent
  std::string client;          // the client's address as the frontend saw it
  std::string method;
  std::string target;
  int status = 0;
  std::string version;         // the cluster's version, as the API shows it
  std::string uuid;            // ...and its uuid
  std::string worker;
  std::string upstream;        // host:port of the server that answered (or failed last)
  int64_t duration_us = 0;     // request received to reply sent
  uint64_t bytes_in = 0;       // request body
  uint64_t bytes_out = 0;      // response body
  bool shielded = false;       // the watched version failed it, an older one answered
  bool retried = false;        // more than one trip to a backend
  bool generated = false;      // the reply was made by upmesh (502, 503, 504), not a backend
};

// The record as one JSON object and a newline. Bytes that are not UTF-8
// (a target may carry any) are replaced, so every line is valid JSON.
std::string FormatAccessRecord(const AccessRecord& record);

class AccessLog {
 public:
  // Opens the destination and starts the writer thread. InvalidArgument for
  // a sample outside (0, 1] or an empty path, IoError when the file cannot
  // be opened; the message names the path.
  static Status Open(const AccessLogOptions& options, std::unique_ptr<AccessLog>* log);
  ~AccessLog();
  AccessLog(const AccessLog&) = delete;
  AccessLog& operator=(const AccessLog&) = delete;

  // Whether the next request is to be logged. Data-path thread only.
  bool ShouldLog();
  // Queues a line (FormatAccessRecord's); never blocks on I/O.
  void Write(std::string line);

  // Lines dropped because the queue was full, or because a write failed.
  uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }

 private:
  AccessLog(const AccessLogOptions& options, int fd, bool owns_fd);
  void WriterLoop();
  // Writes all of `bytes` to fd_; false when the destination refuses them.
  bool WriteAll(const std::string& bytes);

  const AccessLogOptions options_;
  const int fd_;
  const bool owns_fd_;
  std::minstd_rand random_{std::random_device{}()};
  std::uniform_real_distribution<double> coin_{0.0, 1.0};

  std::mutex mutex_;
  std::condition_variable wake_;
  std::string queued_;    // guarded by mutex_
  size_t queued_lines_ = 0;  // guarded by mutex_
  bool stopping_ = false;  // guarded by mutex_
  std::atomic<uint64_t> dropped_{0};
  std::thread writer_;
};

}  // namespace upmesh

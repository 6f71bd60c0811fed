#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>

#include "shared/access_log.h"

using upmesh::AccessLog;
using upmesh::AccessLogOptions;
using upmesh::AccessRecord;
using upmesh::FormatAccessRecord;

namespace {

AccessRecord SampleRecord() {
  AccessRecord record;
  record.time_ms = 1796425617338;  // 2026-12-04T23:06:57.338Z
  record.client = "127.0.0.1";
  record.method = "GET";
  record.target = "/a?b=c";
  record.status = 200;
  record.version = "2";
  record.uuid = "2b120acb-2a33-4875-9332-f28e886ab018";
  record.worker = "w1";
  record.upstream = "127.0.0.1:8081";
  record.duration_us = 1234;
  record.bytes_in = 5;
  record.bytes_out = 14;
  record.retried = true;
  return record;
}

std::string TempDir() {
  char path[] = "/tmp/upmesh-access-log-XXXXXX";
  REQUIRE(mkdtemp(path) != nullptr);
  return path;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

TEST_CASE("An access record is one JSON line with every field") {
  std::string line = FormatAccessRecord(SampleRecord());
  REQUIRE(line.back() == '\n');
  REQUIRE(line.find('\n') == line.size() - 1);
  auto json = nlohmann::json::parse(line);
  CHECK(json["time"] == "2026-12-04T23:06:57.338Z");
  CHECK(json["client"] == "127.0.0.1");
  CHECK(json["method"] == "GET");
  CHECK(json["target"] == "/a?b=c");
  CHECK(json["status"] == 200);
  CHECK(json["version"] == "2");
  CHECK(json["uuid"] == "2b120acb-2a33-4875-9332-f28e886ab018");
  CHECK(json["worker"] == "w1");
  CHECK(json["upstream"] == "127.0.0.1:8081");
  CHECK(json["durationMs"] == Approx(1.234));
  CHECK(json["bytesIn"] == 5);
  CHECK(json["bytesOut"] == 14);
  CHECK(json["shielded"] == false);
  CHECK(json["retried"] == true);
  CHECK(json["generated"] == false);
}

TEST_CASE("An access record with bytes that are not UTF-8 is still valid JSON") {
  AccessRecord record = SampleRecord();
  record.target = "/\xff\xfe\"<script>\x01";
  auto json = nlohmann::json::parse(FormatAccessRecord(record));
  std::string target = json["target"];
  CHECK(target.find("\"<script>\x01") != std::string::npos);
  CHECK(target.find('\xff') == std::string::npos);
}

TEST_CASE("AccessLog refuses a bad sample, an empty path and a file it cannot open") {
  std::unique_ptr<AccessLog> log;
  AccessLogOptions options;
  options.path = "-";
  options.sample = 0;
  CHECK(AccessLog::Open(options, &log).message().find("sample must be > 0 and <= 1") != std::string::npos);
  options.sample = 1.5;
  CHECK_FALSE(AccessLog::Open(options, &log).ok());
  options.sample = 1;
  options.path = "";
  CHECK_FALSE(AccessLog::Open(options, &log).ok());
  options.path = "/nonexistent-dir/access.log";
  upmesh::Status status = AccessLog::Open(options, &log);
  CHECK(status.code() == upmesh::Status::Code::kIoError);
  CHECK(status.message().find("/nonexistent-dir/access.log") != std::string::npos);
  CHECK(log == nullptr);
}

TEST_CASE("AccessLog appends every line to its file by the time it is destroyed") {
  std::string path = TempDir() + "/access.log";
  { std::ofstream(path) << "already there\n"; }
  AccessLogOptions options;
  options.path = path;
  {
    std::unique_ptr<AccessLog> log;
    REQUIRE(AccessLog::Open(options, &log).ok());
    for (int i = 0; i < 1000; ++i) {
      AccessRecord record = SampleRecord();
      record.status = 200 + i % 5;
      log->Write(FormatAccessRecord(record));
    }
    CHECK(log->dropped() == 0);
  }
  std::istringstream lines(ReadFile(path));
  std::string line;
  std::getline(lines, line);
  CHECK(line == "already there");
  int count = 0;
  while (std::getline(lines, line)) {
    CHECK(nlohmann::json::parse(line)["status"] == 200 + count % 5);
    ++count;
  }
  CHECK(count == 1000);
}

TEST_CASE("AccessLog drops and counts lines while its destination does not take them") {
  int pipe_fds[2];
  REQUIRE(pipe(pipe_fds) == 0);
  AccessLogOptions options;
  options.path = "/proc/self/fd/" + std::to_string(pipe_fds[1]);
  options.max_queued_bytes = 64 * 1024;
  std::unique_ptr<AccessLog> log;
  REQUIRE(AccessLog::Open(options, &log).ok());
  const std::string line(1000, 'x');
  // Nobody reads the pipe: the writer blocks once it is full (64 KiB), the
  // queue fills up to its cap, and Write() neither blocks nor grows.
  int written = 0;
  for (; written < 1000 && log->dropped() == 0; ++written) {
    log->Write(line);
    if (written % 50 == 0) usleep(2000);
  }
  REQUIRE(log->dropped() > 0);
  for (int i = 0; i < 100; ++i) log->Write(line);
  CHECK(log->dropped() >= 100);
  // A reader drains the pipe: the queued lines arrive, the destructor returns.
  int flags = fcntl(pipe_fds[0], F_GETFL);
  fcntl(pipe_fds[0], F_SETFL, flags | O_NONBLOCK);
  size_t received = 0;
  char buffer[65536];
  std::atomic<bool> destroyed{false};
  std::thread destroy([&] {
    log.reset();
    destroyed = true;
  });
  for (int i = 0; i < 5000; ++i) {
    ssize_t n = read(pipe_fds[0], buffer, sizeof buffer);
    if (n > 0) received += static_cast<size_t>(n);
    else if (destroyed) break;
    else usleep(1000);
  }
  destroy.join();
  CHECK(received >= 64 * 1024);
  CHECK(received % line.size() == 0);
  close(pipe_fds[0]);
  close(pipe_fds[1]);
}

TEST_CASE("AccessLog samples about the fraction it is given") {
  AccessLogOptions options;
  options.path = "-";
  options.sample = 0.25;
  std::unique_ptr<AccessLog> log;
  REQUIRE(AccessLog::Open(options, &log).ok());
  int logged = 0;
  for (int i = 0; i < 40000; ++i) logged += log->ShouldLog() ? 1 : 0;
  CHECK(logged > 9000);
  CHECK(logged < 11000);
  options.sample = 1;
  REQUIRE(AccessLog::Open(options, &log).ok());
  for (int i = 0; i < 100; ++i) CHECK(log->ShouldLog());
}

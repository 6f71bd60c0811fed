// upmesh-backend: the demo HTTP/1.1 server behind the mesh (docs/backend.md).

#include <cstdio>
#include <string>

#include "backend/server.h"
#include "shared/command_line.h"
#include "shared/log.h"
#include "shared/open_files.h"
#include "shared/shutdown_signal.h"

namespace {

const char* kProgram = "upmesh-backend";

// The name goes into a header field: keep it to a plain token.
bool IsValidName(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  using upmesh::backend::kMaxBodySize;
  using upmesh::backend::kMaxDelayMs;
  namespace po = upmesh::po;

  po::options_description specific("Backend options");
  specific.add_options()
      ("address", po::value<std::string>()->default_value("127.0.0.1")->value_name("A"),
       "IP address to listen on")
      ("port", po::value<int64_t>()->default_value(8001)->value_name("N"),
       "TCP port to listen on (0: any free port, logged at start)")
      ("name", po::value<std::string>()->default_value("v1")->value_name("VERSION"),
       "version name reported in X-Backend-Version and the default body")
      ("delay-ms", po::value<int64_t>()->default_value(0)->value_name("MS"),
       "delay every response by MS milliseconds unless the request says delay=")
      ("status", po::value<int64_t>()->default_value(200)->value_name("CODE"),
       "answer every request with CODE unless the request says status=")
      ("size", po::value<int64_t>()->value_name("N"),
       "body of N bytes for every request unless it says size= (default: the text body)")
      ("error-percent", po::value<int64_t>()->default_value(0)->value_name("P"),
       "answer P % of the requests (evenly spread) with an injected 500");
  upmesh::ProgramInfo info{
      kProgram, "demo HTTP/1.1 backend for upmesh tests and demos",
      "Query options (combinable): size=N chunked=1 delay=MS status=CODE drop=1 echo=1 close=1.\n"
      "GET /__stats answers {\"requests\", \"connections\", \"errors\", \"lastRequestAtMs\",\n"
      "\"firstInjectedErrorAtMs\"}. PUT /__control?status=CODE&delay=MS&size=N&errorPercent=P&reset=1\n"
      "changes the defaults while running; GET /__control shows them. See docs/backend.md."};
  upmesh::MeshConfig unused_config;  // the backend reads no config keys; --config is still validated
  po::variables_map flags = upmesh::ParseCommandLine(argc, argv, info, specific, &unused_config);

  upmesh::backend::ServerOptions options;
  options.address = flags["address"].as<std::string>();
  options.port = static_cast<int>(upmesh::FlagInt(flags, "port", 0, 65535, kProgram));
  options.name = flags["name"].as<std::string>();
  if (!IsValidName(options.name)) {
    upmesh::ExitWithConfigError(kProgram, "--name: must be 1..64 characters of A-Z a-z 0-9 . _ -, got \"" +
                                              options.name + "\"");
  }
  upmesh::backend::ResponseOptions& response = options.defaults.response;
  response.delay_ms = static_cast<int>(upmesh::FlagInt(flags, "delay-ms", 0, kMaxDelayMs, kProgram));
  response.status = static_cast<int>(upmesh::FlagInt(flags, "status", 100, 599, kProgram));
  if (flags.count("size")) {
    response.has_size = true;
    response.size = static_cast<uint64_t>(
        upmesh::FlagInt(flags, "size", 0, static_cast<int64_t>(kMaxBodySize), kProgram));
  }
  options.defaults.error_percent =
      static_cast<int>(upmesh::FlagInt(flags, "error-percent", 0, 100, kProgram));

  upmesh::InstallShutdownHandlers();
  upmesh::RaiseOpenFilesLimit();  // many connections need many descriptors
  upmesh::backend::Server server(options);
  upmesh::Status status = server.Listen();
  if (!status.ok()) {
    if (status.code() == upmesh::Status::Code::kInvalidArgument) {
      upmesh::ExitWithConfigError(kProgram, "--address: " + status.message());
    }
    LOG_ERROR("%s", status.message().c_str());
    return 1;
  }
  std::string shown_address =
      options.address.find(':') == std::string::npos ? options.address : "[" + options.address + "]";
  LOG_INFO("listening on %s:%d as %s", shown_address.c_str(), server.port(), options.name.c_str());
  status = server.Run();
  if (!status.ok()) {
    LOG_ERROR("%s", status.message().c_str());
    return 1;
  }
  return 0;
}

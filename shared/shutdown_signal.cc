#include "shared/shutdown_signal.h"

#include <csignal>

namespace upmesh {
namespace {
volatile sig_atomic_t g_requests = 0;
void OnSignal(int) { g_requests = g_requests + 1; }
}  // namespace

void InstallShutdownHandlers() {
  struct sigaction action = {};
  action.sa_handler = OnSignal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = 0;  // no SA_RESTART: blocking waits must return EINTR
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  signal(SIGPIPE, SIG_IGN);  // a peer closing mid-write is an error code, not a crash
}

int ShutdownRequests() { return g_requests; }

}  // namespace upmesh

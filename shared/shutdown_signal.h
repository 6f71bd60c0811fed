// SIGINT/SIGTERM handling shared by every process: the first signal asks for a
// graceful stop (finish what is in flight, bounded by a drain timeout); a
// second one while draining asks to exit at once.
#pragma once

namespace upmesh {

// Installs the handlers. Blocking calls (zmq_poll, epoll_wait) return EINTR
// when a signal lands, so loops notice promptly.
void InstallShutdownHandlers();

// Number of SIGINT/SIGTERM received so far.
int ShutdownRequests();

}  // namespace upmesh

// PirateLink: one of the worker's DEALER sockets, run from an epoll loop:
// the control link to the router, and one data link to each frontend (a
// FrontendLink: requests in, replies out). The same Paranoid Pirate worker
// side on both, toward a peer named in Options (peer, endpoint).
//
// The socket's ZMQ_FD is registered in the caller's epoll set (EPOLLIN, with
// data.ptr == nullptr). That descriptor is edge-triggered in effect: it only
// says "something changed", so the caller must drain with Receive() until it
// returns false before every epoll_wait, and after sending (the loop does the
// former right after everything else, which covers the latter).
//
// Paranoid Pirate on the worker side: READY on (re)connect (with this
// process's incarnation, so that a worker restarted under the same name is
// not taken for the old one), HB every
// heartbeat interval, and if nothing at all arrives from the peer for
// liveness x interval, the socket is closed and made again with the same
// routing id (the worker's name, so the peer sees the same worker) and
// READY is sent again. Each HB carries the capacity, and on the router link
// the worker's stats (requests served per cluster) for the config API. The
// socket uses ZMQ_IMMEDIATE, so READY is retried until a connection is up
// and then starts the liveness clock: a peer that starts late never receives
// a stale READY from a socket about to be replaced. Nothing ever blocks (ZMQ_DONTWAIT everywhere); a message the
// socket refuses (no connection, or send queue full) is dropped.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <zmq.hpp>

#include "shared/curve.h"
#include "shared/quiet_warning.h"
#include "shared/status.h"
#include "shared/zmq_frame.h"

namespace upmesh::worker {

class PirateLink {
 public:
  struct Options {
    std::string peer;        // for the log: "router", "frontend"
    std::string endpoint;    // tcp://127.0.0.1:5551
    std::string hint;        // where the endpoint is configured, for the unreachable warning
    std::string routing_id;  // the worker's name
    int capacity = 1;
    int heartbeat_ms = 500;
    int heartbeat_liveness = 3;
    std::function<std::string()> stats;  // the stats-json frame of each HB; null: HB without stats
    CurveClientKeys curve;  // applied to every socket it makes, when enabled
  };

  PirateLink(zmq::context_t* context, Options options);
  ~PirateLink();
  PirateLink(const PirateLink&) = delete;
  PirateLink& operator=(const PirateLink&) = delete;

  // Makes the socket, connects, registers it in `epoll_fd`, sends READY.
  Status Open(int epoll_fd, int64_t now_ms);

  // Receives one whole message into *frames (replacing its contents).
  // Returns false when none is waiting.
  bool Receive(Frames* frames, int64_t now_ms);

  // Sends a whole message (wire.h's Encode) without blocking, consuming the
  // frames. Returns false if the socket refused it (no connection, or send
  // queue full); nothing is sent then.
  bool Send(Frames& frames);

  // Sends heartbeats when due and reconnects when the peer went silent.
  void Tick(int64_t now_ms);
  // When Tick() next has something to do.
  int64_t next_tick_ms() const;

  // True once after READY went out on a new socket: the peer may have
  // restarted (on the router link the caller re-reads the table: SNAPSHOT?).
  bool TakeJustConnected() {
    bool value = just_connected_;
    just_connected_ = false;
    return value;
  }

  // Tells the peer to send no more requests; stops heartbeats and
  // reconnects (the peer forgets us; in-flight replies still get through).
  void SayBye();
  // Nothing heard from the peer for liveness x interval (or never connected).
  bool silent() const { return peer_silent_ || !ready_sent_; }
  const std::string& endpoint() const { return options_.endpoint; }

 private:
  Status Connect(int64_t now_ms);
  void Close();
  // Encodes `message` into control_frames_ and sends it.
  template <typename Message>
  bool SendControl(const Message& message);
  void TrySendReady(int64_t now_ms);

  zmq::context_t* context_;
  const Options options_;
  const std::string incarnation_;  // wire::MakeIncarnation(), once per process
  Frames control_frames_;          // READY, HB, BYE: reused
  zmq::socket_t socket_;
  int epoll_fd_ = -1;
  int zmq_fd_ = -1;
  int64_t last_heard_ms_ = 0;
  int64_t next_heartbeat_ms_ = 0;  // next HB, or next READY attempt before ready_sent_
  bool ready_sent_ = false;     // on the current socket
  bool peer_silent_ = false;  // the current silence was already logged
  bool said_bye_ = false;
  bool just_connected_ = false;
  // No connection to the peer: said after a few seconds, then now and then.
  QuietWarning unreachable_warning_{5000, 30000};
};

}  // namespace upmesh::worker

// The upmesh wire protocol between frontend, router and worker (ZeroMQ
// multipart messages), and its one codec. docs/protocol.md is the prose
// version of this file.
//
// Each message below is a struct with Encode (to the frames from the
// signature on) and Decode (from the frames after any routing id), which
// checks the frame count, signature, command and every field, and says what
// is wrong. A receiver reads the command with PeekCommand, then decodes that
// message; ROUTER sockets' routing ids are taken off and put on by the
// ReceiveMultipart / SendMultipart overloads in shared/zmq_frame.h.
// String fields view bytes owned elsewhere: the decoded frames, or the
// caller's strings being encoded. REQ and REP carry head and body as ZeroMQ
// messages, moved in and out without a copy.
//
// Every message starts with the signature frame "UPM1" and a command frame.
// A peer that sees another signature drops the message and logs it, so a
// mis-wired endpoint (or an old version) is noticed rather than misparsed.
//
// The router is the control plane only; requests go straight from a
// frontend to a worker (docs/protocol.md, "Topology").
//
// Frontend (DEALER) -> router (ROUTER, router.frontendBind), control only:
//   SNAPSHOT? [UPM1][SNAPSHOT?]            send me the whole cluster table
//   ACK       [UPM1][ACK][seq][worker-endpoint]  my table is at seq (on every
//             change, and as heartbeat); workers reach me at worker-endpoint
//             (frontend.workerAdvertise; a wildcard host is replaced by the
//             connection's peer address, shared/frontend_list.h)
//   RAMP?     [UPM1][RAMP?][uuid][count]   lease me up to count positions of uuid's request ramp
// Router -> frontend:
//   SNAPSHOT  [UPM1][SNAPSHOT][seq][clusters-json]
//   RAMP      [UPM1][RAMP][uuid][first][count]  positions first+1..first+count are yours
// Worker (DEALER) -> router (ROUTER, router.workerBind), control only:
//   READY    [UPM1][READY][capacity][incarnation]  sent on (re)connect
//   HB       [UPM1][HB][capacity][stats-json]  every heartbeat interval
//   BYE      [UPM1][BYE]                   draining
//   SNAPSHOT? [UPM1][SNAPSHOT?]            send me the whole cluster table
//   MISMATCH [UPM1][MISMATCH][json]        a CONCURRENT comparison failed
//   HEALTH   [UPM1][HEALTH][report-json]   per-version outcomes (shared/health_report.h)
// Router -> worker:
//   FRONTENDS [UPM1][FRONTENDS][endpoints-json]  the live frontends (the
//             router's heartbeat, and at once on every change)
//   SNAPSHOT  [UPM1][SNAPSHOT][seq][clusters-json]   answer to SNAPSHOT? (Clone)
// Router PUB socket (config broadcast, the zguide's Clone pattern):
//   UPDATE   [UPM1][UPDATE][seq][change-json]  every change, seq = previous + 1
//   HUGZ     [UPM1][HUGZ][seq]                 publisher heartbeat, current seq
// Data path, frontend (ROUTER, frontend.workerBind) <-> worker (DEALER, one
// per frontend: the zguide's load-balancing broker, Paranoid Pirate both ways):
//   REQ   frontend -> worker  [UPM1][REQ][request-id][request-meta][route-stamp][head][body]
//   HB    frontend -> worker  [UPM1][HB]
//   READY worker -> frontend  [UPM1][READY][capacity][incarnation]
//   HB    worker -> frontend  [UPM1][HB][capacity]
//   BYE   worker -> frontend  [UPM1][BYE]   draining: send me no new requests
//   REP   worker -> frontend  [UPM1][REP][request-id][reply-meta][head][body]
//         (on the link the request came in on)
//
// request-id: 8 opaque bytes chosen by the frontend, unique per frontend.
// capacity: decimal ASCII, the most requests the worker takes at once.
// incarnation: kIncarnationSize hex digits a worker picks at random when its
//   process starts (MakeIncarnation); a READY with another incarnation under
//   a known routing id is a restarted worker, which holds none of the old
//   one's requests.
// seq: decimal ASCII, the config sequence number (see docs/protocol.md).
// clusters-json: the table as stored (ClusterTable::ToStoredJson), newest first.
// change-json: {"op":"put","cluster":{stored cluster}}, {"op":"delete","uuid":"..."},
//   {"op":"rollback","uuid":"..."} or {"op":"hold","uuid":"...","heldMs":n,"sinceMs":n}.
// stats-json: {"served":{"<cluster uuid>": requests served since start}, "seq": N}.
// head: a request line or status line plus header lines, each ending in CRLF,
//   WITHOUT the blank line that ends the header section. The receiver appends
//   its own hop-by-hop fields (Host for a backend, Connection for a client)
//   and then the blank line. Framing fields (Content-Length) are already in
//   the head and describe `body` exactly: the body is always whole and
//   de-chunked.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <zmq.hpp>

#include "shared/cluster_limits.h"
#include "shared/json_parse.h"
#include "shared/status.h"
#include "shared/zmq_frame.h"

namespace upmesh::wire {

constexpr std::string_view kSignature = "UPM1";

constexpr size_t kRequestIdSize = 8;
constexpr size_t kIncarnationSize = 16;

// A new incarnation: kIncarnationSize random hex digits.
std::string MakeIncarnation();
// A capacity frame's value (decimal, 1 to 1,000,000), or -1 if it is not one.
int ParseCapacity(std::string_view text);

// JSON frames are parsed with these bounds (shared/json_parse.h).
// Router -> worker (UPDATE, SNAPSHOT): a SNAPSHOT is the whole table, so
// twice the largest table configService.maxTableBytes allows (room for the
// separators between versions).
constexpr JsonLimits kClusterFrameLimits{2 * kMaxTableBytesCeiling};
// Worker -> router (HB stats, HEALTH, MISMATCH): a HEALTH report of the
// most versions and servers it may name is a few hundred kB.
constexpr JsonLimits kWorkerReportLimits{4 * 1024 * 1024};

// request-meta: 4 bytes. Byte 0 is the meta format version (1), byte 1 the
// flags below, bytes 2-3 reserved (zero).
struct RequestMeta {
  enum Flag : uint8_t {
    kIdempotent = 1 << 0,   // method is idempotent: safe to retry elsewhere
    kHeadMethod = 1 << 1,   // HEAD: the response has no body
    kHasHost = 1 << 2,      // head carries a Host field (HTTP/1.0 may not)
    kSafe = 1 << 3,         // method is safe (GET, HEAD, OPTIONS, TRACE): no write
  };
  uint8_t flags = 0;

  std::string Encode() const;
  // Returns false if `bytes` is not a request-meta frame.
  static bool Decode(std::string_view bytes, RequestMeta* meta);
};

// reply-meta: 4 bytes. Bytes 0-1 the status code (big endian), byte 2 the
// flags below, byte 3 reserved.
struct ReplyMeta {
  enum Flag : uint8_t {
    kGenerated = 1 << 0,  // made by upmesh itself (502, 503, 504), not a backend
  };
  uint16_t status = 0;
  uint8_t flags = 0;

  std::string Encode() const;
  static bool Decode(std::string_view bytes, ReplyMeta* meta);
};

// route-stamp: 12 bytes the frontend puts on every REQ. Bytes 0-7: the
// config seq of the frontend's replica when it sent the request (big
// endian); a worker whose table is older waits for the update before
// routing, and the API answers a change only once every live frontend has it, so no request is routed by a configuration the API
// already replaced. Bytes 8-11: the newest cluster's GRADUAL share in
// millionths of a percent (0..100000000), big endian: from a ramp position
// the frontend leased from the router (one mesh-wide ramp) or the clock.
struct RouteStamp {
  uint64_t config_seq = 0;
  uint32_t gradual_share_micros = 0;  // 100000000 = 100 %

  std::string Encode() const;
  static bool Decode(std::string_view bytes, RouteStamp* stamp);
};

// The command of a message (frames from the signature on), viewing
// frames[1]; refused when the frames do not start with the signature and a
// command.
Status PeekCommand(const Frames& frames, std::string_view* command);

// The messages. Each has kCommand, Encode(Frames*), which replaces the
// frames' contents with the whole message, and a static Decode(frames,
// message) refusing anything but exactly that message, with the reason.

// REQ, frontend -> worker: the data path. Encode moves the ZeroMQ fields
// into the frames and Decode moves them out, so neither copies the bytes.
struct Request {
  static constexpr std::string_view kCommand = "REQ";
  zmq::message_t request_id;  // kRequestIdSize bytes
  RequestMeta meta;
  RouteStamp stamp;
  zmq::message_t head;  // never empty
  zmq::message_t body;

  void Encode(Frames* frames);
  static Status Decode(Frames& frames, Request* request);
  // The request-id of an encoded REQ (the frames Encode made).
  static std::string_view RequestIdOf(const Frames& encoded);
};

// REP, worker -> frontend, on the link its REQ came in on. As REQ, no copies.
struct Reply {
  static constexpr std::string_view kCommand = "REP";
  zmq::message_t request_id;  // kRequestIdSize bytes
  ReplyMeta meta;
  zmq::message_t head;
  zmq::message_t body;

  void Encode(Frames* frames);
  static Status Decode(Frames& frames, Reply* reply);
};

// READY, worker -> frontend and worker -> router, on every (re)connect.
struct Ready {
  static constexpr std::string_view kCommand = "READY";
  int capacity = 0;              // ParseCapacity's range
  std::string_view incarnation;  // kIncarnationSize hex digits

  void Encode(Frames* frames) const;
  static Status Decode(const Frames& frames, Ready* ready);
};

// HB, worker -> frontend [capacity] and worker -> router [capacity][stats-json].
struct WorkerHeartbeat {
  static constexpr std::string_view kCommand = "HB";
  int capacity = 0;
  bool has_stats = false;
  std::string_view stats_json;  // when has_stats

  void Encode(Frames* frames) const;
  static Status Decode(const Frames& frames, WorkerHeartbeat* heartbeat);
};

// A message that is its command alone: the frontend's HB to a worker, BYE, SNAPSHOT?.
template <const std::string_view& Command>
struct Bare {
  static constexpr std::string_view kCommand = Command;
  void Encode(Frames* frames) const;
  static Status Decode(const Frames& frames, Bare* bare);
};
inline constexpr std::string_view kHeartbeatCommand = "HB";
inline constexpr std::string_view kByeCommand = "BYE";
inline constexpr std::string_view kSnapshotRequestCommand = "SNAPSHOT?";
using FrontendHeartbeat = Bare<kHeartbeatCommand>;
using Bye = Bare<kByeCommand>;
using SnapshotRequest = Bare<kSnapshotRequestCommand>;

// SNAPSHOT, router -> frontend or worker: the whole table at seq.
struct Snapshot {
  static constexpr std::string_view kCommand = "SNAPSHOT";
  uint64_t seq = 0;
  std::string_view clusters_json;

  void Encode(Frames* frames) const;
  static Status Decode(const Frames& frames, Snapshot* snapshot);
};

// ACK, frontend -> router. An ACK without worker-endpoint is accepted
// (endpoint empty).
struct Ack {
  static constexpr std::string_view kCommand = "ACK";
  uint64_t seq = 0;
  std::string_view worker_endpoint;  // at most kMaxEndpointBytes (shared/frontend_list.h)
  // Decoded only: the connection's Peer-Address (ZeroMQ metadata), empty if unknown.
  std::string_view peer_address;

  void Encode(Frames* frames) const;
  static Status Decode(const Frames& frames, Ack* ack);
};

// RAMP?, frontend -> router.
struct RampRequest {
  static constexpr std::string_view kCommand = "RAMP?";
  std::string_view uuid;
  uint64_t count = 0;

  void Encode(Frames* frames) const;
  static Status Decode(const Frames& frames, RampRequest* request);
};

// RAMP, router -> frontend: positions first+1 .. first+count.
struct Ramp {
  static constexpr std::string_view kCommand = "RAMP";
  std::string_view uuid;
  uint64_t first = 0;
  uint64_t count = 0;

  void Encode(Frames* frames) const;
  static Status Decode(const Frames& frames, Ramp* ramp);
};

// A message of one JSON frame: FRONTENDS, MISMATCH, HEALTH. Decode checks
// the frame is there; the JSON is the caller's to parse.
template <const std::string_view& Command>
struct JsonMessage {
  static constexpr std::string_view kCommand = Command;
  std::string_view json;

  void Encode(Frames* frames) const;
  static Status Decode(const Frames& frames, JsonMessage* message);
};
inline constexpr std::string_view kFrontendsCommand = "FRONTENDS";
inline constexpr std::string_view kMismatchCommand = "MISMATCH";
inline constexpr std::string_view kHealthCommand = "HEALTH";
using Frontends = JsonMessage<kFrontendsCommand>;  // router -> worker, the router's heartbeat
using Mismatch = JsonMessage<kMismatchCommand>;    // worker -> router
using Health = JsonMessage<kHealthCommand>;        // worker -> router

// UPDATE, router PUB: one change, seq = previous + 1.
struct Update {
  static constexpr std::string_view kCommand = "UPDATE";
  uint64_t seq = 0;
  std::string_view change_json;

  void Encode(Frames* frames) const;
  static Status Decode(const Frames& frames, Update* update);
};

// HUGZ, router PUB: the publisher's heartbeat, its current seq.
struct PublisherHeartbeat {
  static constexpr std::string_view kCommand = "HUGZ";
  uint64_t seq = 0;

  void Encode(Frames* frames) const;
  static Status Decode(const Frames& frames, PublisherHeartbeat* heartbeat);
};

// The frames of `message`, for callers that keep no buffer to reuse.
template <typename Message>
Frames Encoded(Message&& message) {
  Frames frames;
  message.Encode(&frames);
  return frames;
}

}  // namespace upmesh::wire

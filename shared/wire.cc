#include "shared/wire.h"

#include <random>

#include "shared/frontend_list.h"

namespace upmesh::wire {
namespace {

// seq, first, count: decimal ASCII that fits 64 bits.
bool ParseUnsigned(std::string_view text, uint64_t* value) {
  if (text.empty() || text.size() > 20) return false;
  uint64_t result = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    uint64_t digit = static_cast<uint64_t>(c - '0');
    if (result > (UINT64_MAX - digit) / 10) return false;
    result = result * 10 + digit;
  }
  *value = result;
  return true;
}

Status Refused(std::string_view command, const std::string& why) {
  return Status::InvalidArgument(std::string(command) + ": " + why);
}

// The frames start [UPM1][command] and there are `min` to `max` of them.
Status CheckShape(const Frames& frames, std::string_view command, size_t min, size_t max) {
  std::string_view seen;
  if (Status peeked = PeekCommand(frames, &seen); !peeked.ok()) return peeked;
  if (seen != command) return Refused(command, "the command is " + std::string(seen));
  if (frames.size() < min || frames.size() > max) {
    std::string expected = min == max ? std::to_string(min) : std::to_string(min) + " to " + std::to_string(max);
    return Refused(command, std::to_string(frames.size()) + " frames, expected " + expected);
  }
  return Status::Ok();
}

Status DecodeSeq(std::string_view command, const zmq::message_t& frame, const char* name, uint64_t* value) {
  if (!ParseUnsigned(View(frame), value)) return Refused(command, std::string("bad ") + name);
  return Status::Ok();
}

void Start(Frames* frames, std::string_view command, size_t count) {
  frames->clear();
  frames->reserve(count);
  frames->push_back(Frame(kSignature));
  frames->push_back(Frame(command));
}

bool IsIncarnation(std::string_view text) {
  return text.size() == kIncarnationSize && text.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

}  // namespace

Status PeekCommand(const Frames& frames, std::string_view* command) {
  if (frames.size() < 2) return Status::InvalidArgument(std::to_string(frames.size()) + " frame(s), not a message");
  if (View(frames[0]) != kSignature) return Status::InvalidArgument("no " + std::string(kSignature) + " signature");
  *command = View(frames[1]);
  return Status::Ok();
}

int ParseCapacity(std::string_view text) {
  if (text.empty() || text.size() > 7) return -1;
  int value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return -1;
    value = value * 10 + (c - '0');
  }
  return value >= 1 && value <= 1000000 ? value : -1;
}

std::string MakeIncarnation() {
  static const char kHex[] = "0123456789abcdef";
  std::random_device random;
  std::string incarnation(kIncarnationSize, '0');
  for (char& digit : incarnation) digit = kHex[random() % 16];
  return incarnation;
}

std::string RequestMeta::Encode() const {
  return std::string{char(1), char(flags), char(0), char(0)};
}

bool RequestMeta::Decode(std::string_view bytes, RequestMeta* meta) {
  if (bytes.size() != 4 || bytes[0] != 1) return false;
  meta->flags = static_cast<uint8_t>(bytes[1]);
  return true;
}

std::string ReplyMeta::Encode() const {
  return std::string{char(status >> 8), char(status & 0xff), char(flags), char(0)};
}

bool ReplyMeta::Decode(std::string_view bytes, ReplyMeta* meta) {
  if (bytes.size() != 4) return false;
  meta->status = static_cast<uint16_t>((uint8_t(bytes[0]) << 8) | uint8_t(bytes[1]));
  meta->flags = static_cast<uint8_t>(bytes[2]);
  return true;
}

std::string RouteStamp::Encode() const {
  std::string bytes(12, '\0');
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>(config_seq >> (56 - 8 * i));
  for (int i = 0; i < 4; ++i) bytes[8 + i] = static_cast<char>(gradual_share_micros >> (24 - 8 * i));
  return bytes;
}

bool RouteStamp::Decode(std::string_view bytes, RouteStamp* stamp) {
  if (bytes.size() != 12) return false;
  stamp->config_seq = 0;
  for (int i = 0; i < 8; ++i) stamp->config_seq = (stamp->config_seq << 8) | uint8_t(bytes[i]);
  stamp->gradual_share_micros = 0;
  for (int i = 0; i < 4; ++i) stamp->gradual_share_micros = (stamp->gradual_share_micros << 8) | uint8_t(bytes[8 + i]);
  return true;
}

// [UPM1][REQ][request-id][request-meta][route-stamp][head][body]
enum RequestFrame { kRequestIdFrame = 2, kRequestMetaFrame, kRouteStampFrame, kRequestHeadFrame, kRequestBodyFrame };

void Request::Encode(Frames* frames) {
  Start(frames, kCommand, 7);
  frames->push_back(std::move(request_id));
  frames->push_back(Frame(meta.Encode()));
  frames->push_back(Frame(stamp.Encode()));
  frames->push_back(std::move(head));
  frames->push_back(std::move(body));
}

Status Request::Decode(Frames& frames, Request* request) {
  if (Status shape = CheckShape(frames, kCommand, 7, 7); !shape.ok()) return shape;
  if (frames[kRequestIdFrame].size() != kRequestIdSize) return Refused(kCommand, "bad request-id size");
  if (!RequestMeta::Decode(View(frames[kRequestMetaFrame]), &request->meta)) return Refused(kCommand, "bad request-meta");
  if (!RouteStamp::Decode(View(frames[kRouteStampFrame]), &request->stamp)) return Refused(kCommand, "bad route-stamp");
  if (frames[kRequestHeadFrame].size() == 0) return Refused(kCommand, "empty head");
  request->request_id = std::move(frames[kRequestIdFrame]);
  request->head = std::move(frames[kRequestHeadFrame]);
  request->body = std::move(frames[kRequestBodyFrame]);
  return Status::Ok();
}

std::string_view Request::RequestIdOf(const Frames& encoded) { return View(encoded[kRequestIdFrame]); }

// [UPM1][REP][request-id][reply-meta][head][body]
void Reply::Encode(Frames* frames) {
  Start(frames, kCommand, 6);
  frames->push_back(std::move(request_id));
  frames->push_back(Frame(meta.Encode()));
  frames->push_back(std::move(head));
  frames->push_back(std::move(body));
}

Status Reply::Decode(Frames& frames, Reply* reply) {
  if (Status shape = CheckShape(frames, kCommand, 6, 6); !shape.ok()) return shape;
  if (frames[2].size() != kRequestIdSize) return Refused(kCommand, "bad request-id size");
  if (!ReplyMeta::Decode(View(frames[3]), &reply->meta)) return Refused(kCommand, "bad reply-meta");
  reply->request_id = std::move(frames[2]);
  reply->head = std::move(frames[4]);
  reply->body = std::move(frames[5]);
  return Status::Ok();
}

// [UPM1][READY][capacity][incarnation]
void Ready::Encode(Frames* frames) const {
  Start(frames, kCommand, 4);
  frames->push_back(Frame(std::to_string(capacity)));
  frames->push_back(Frame(incarnation));
}

Status Ready::Decode(const Frames& frames, Ready* ready) {
  if (Status shape = CheckShape(frames, kCommand, 4, 4); !shape.ok()) return shape;
  ready->capacity = ParseCapacity(View(frames[2]));
  if (ready->capacity < 0) return Refused(kCommand, "bad capacity");
  if (!IsIncarnation(View(frames[3]))) return Refused(kCommand, "bad incarnation");
  ready->incarnation = View(frames[3]);
  return Status::Ok();
}

// [UPM1][HB][capacity] or [UPM1][HB][capacity][stats-json]
void WorkerHeartbeat::Encode(Frames* frames) const {
  Start(frames, kCommand, 4);
  frames->push_back(Frame(std::to_string(capacity)));
  if (has_stats) frames->push_back(Frame(stats_json));
}

Status WorkerHeartbeat::Decode(const Frames& frames, WorkerHeartbeat* heartbeat) {
  if (Status shape = CheckShape(frames, kCommand, 3, 4); !shape.ok()) return shape;
  heartbeat->capacity = ParseCapacity(View(frames[2]));
  if (heartbeat->capacity < 0) return Refused(kCommand, "bad capacity");
  heartbeat->has_stats = frames.size() == 4;
  heartbeat->stats_json = heartbeat->has_stats ? View(frames[3]) : std::string_view();
  return Status::Ok();
}

template <const std::string_view& Command>
void Bare<Command>::Encode(Frames* frames) const {
  Start(frames, kCommand, 2);
}

template <const std::string_view& Command>
Status Bare<Command>::Decode(const Frames& frames, Bare* /*bare*/) {
  return CheckShape(frames, kCommand, 2, 2);
}

template struct Bare<kHeartbeatCommand>;
template struct Bare<kByeCommand>;
template struct Bare<kSnapshotRequestCommand>;

// [UPM1][SNAPSHOT][seq][clusters-json]
void Snapshot::Encode(Frames* frames) const {
  Start(frames, kCommand, 4);
  frames->push_back(Frame(std::to_string(seq)));
  frames->push_back(Frame(clusters_json));
}

Status Snapshot::Decode(const Frames& frames, Snapshot* snapshot) {
  if (Status shape = CheckShape(frames, kCommand, 4, 4); !shape.ok()) return shape;
  if (Status seq = DecodeSeq(kCommand, frames[2], "seq", &snapshot->seq); !seq.ok()) return seq;
  snapshot->clusters_json = View(frames[3]);
  return Status::Ok();
}

// [UPM1][ACK][seq][worker-endpoint]
void Ack::Encode(Frames* frames) const {
  Start(frames, kCommand, 4);
  frames->push_back(Frame(std::to_string(seq)));
  frames->push_back(Frame(worker_endpoint));
}

Status Ack::Decode(const Frames& frames, Ack* ack) {
  if (Status shape = CheckShape(frames, kCommand, 3, 4); !shape.ok()) return shape;
  if (Status seq = DecodeSeq(kCommand, frames[2], "seq", &ack->seq); !seq.ok()) return seq;
  ack->worker_endpoint = std::string_view();
  ack->peer_address = std::string_view();
  if (frames.size() == 4) {
    if (frames[3].size() > kMaxEndpointBytes) return Refused(kCommand, "worker-endpoint too long");
    ack->worker_endpoint = View(frames[3]);
    // Metadata of a received message; a message made here has none.
    const char* peer = zmq_msg_gets(const_cast<zmq::message_t&>(frames[3]).handle(), "Peer-Address");
    if (peer) ack->peer_address = peer;
  }
  return Status::Ok();
}

// [UPM1][RAMP?][uuid][count]
void RampRequest::Encode(Frames* frames) const {
  Start(frames, kCommand, 4);
  frames->push_back(Frame(uuid));
  frames->push_back(Frame(std::to_string(count)));
}

Status RampRequest::Decode(const Frames& frames, RampRequest* request) {
  if (Status shape = CheckShape(frames, kCommand, 4, 4); !shape.ok()) return shape;
  request->uuid = View(frames[2]);
  return DecodeSeq(kCommand, frames[3], "count", &request->count);
}

// [UPM1][RAMP][uuid][first][count]
void Ramp::Encode(Frames* frames) const {
  Start(frames, kCommand, 5);
  frames->push_back(Frame(uuid));
  frames->push_back(Frame(std::to_string(first)));
  frames->push_back(Frame(std::to_string(count)));
}

Status Ramp::Decode(const Frames& frames, Ramp* ramp) {
  if (Status shape = CheckShape(frames, kCommand, 5, 5); !shape.ok()) return shape;
  ramp->uuid = View(frames[2]);
  if (Status first = DecodeSeq(kCommand, frames[3], "first", &ramp->first); !first.ok()) return first;
  return DecodeSeq(kCommand, frames[4], "count", &ramp->count);
}

// [UPM1][command][json]
template <const std::string_view& Command>
void JsonMessage<Command>::Encode(Frames* frames) const {
  Start(frames, kCommand, 3);
  frames->push_back(Frame(json));
}

template <const std::string_view& Command>
Status JsonMessage<Command>::Decode(const Frames& frames, JsonMessage* message) {
  if (Status shape = CheckShape(frames, kCommand, 3, 3); !shape.ok()) return shape;
  message->json = View(frames[2]);
  return Status::Ok();
}

template struct JsonMessage<kFrontendsCommand>;
template struct JsonMessage<kMismatchCommand>;
template struct JsonMessage<kHealthCommand>;

// [UPM1][UPDATE][seq][change-json]
void Update::Encode(Frames* frames) const {
  Start(frames, kCommand, 4);
  frames->push_back(Frame(std::to_string(seq)));
  frames->push_back(Frame(change_json));
}

Status Update::Decode(const Frames& frames, Update* update) {
  if (Status shape = CheckShape(frames, kCommand, 4, 4); !shape.ok()) return shape;
  if (Status seq = DecodeSeq(kCommand, frames[2], "seq", &update->seq); !seq.ok()) return seq;
  update->change_json = View(frames[3]);
  return Status::Ok();
}

// [UPM1][HUGZ][seq]
void PublisherHeartbeat::Encode(Frames* frames) const {
  Start(frames, kCommand, 3);
  frames->push_back(Frame(std::to_string(seq)));
}

Status PublisherHeartbeat::Decode(const Frames& frames, PublisherHeartbeat* heartbeat) {
  if (Status shape = CheckShape(frames, kCommand, 3, 3); !shape.ok()) return shape;
  return DecodeSeq(kCommand, frames[2], "seq", &heartbeat->seq);
}

}  // namespace upmesh::wire

// shared/wire.h: the small fields every peer decodes, and each message's codec.
#include <catch2/catch.hpp>

#include <set>
#include <string>

#include "shared/frontend_list.h"
#include "shared/wire.h"

using namespace upmesh;

TEST_CASE("wire: a capacity is plain decimal from 1 to 1,000,000", "[wire]") {
  CHECK(wire::ParseCapacity("1") == 1);
  CHECK(wire::ParseCapacity("256") == 256);
  CHECK(wire::ParseCapacity("1000000") == 1000000);
  for (const char* bad : {"", "0", "1000001", "-5", "+5", " 5", "5 ", "12a", "99999999999999999999"}) {
    INFO(bad);
    CHECK(wire::ParseCapacity(bad) == -1);
  }
}

TEST_CASE("wire: incarnations are hex of the documented size and differ", "[wire]") {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    std::string incarnation = wire::MakeIncarnation();
    REQUIRE(incarnation.size() == wire::kIncarnationSize);
    CHECK(incarnation.find_first_not_of("0123456789abcdef") == std::string::npos);
    seen.insert(incarnation);
  }
  CHECK(seen.size() == 100);
}

TEST_CASE("wire: a route stamp survives its codec and refuses other sizes", "[wire]") {
  wire::RouteStamp stamp;
  stamp.config_seq = 0x0102030405060708ULL;
  stamp.gradual_share_micros = 42500000;
  wire::RouteStamp decoded;
  REQUIRE(wire::RouteStamp::Decode(stamp.Encode(), &decoded));
  CHECK(decoded.config_seq == stamp.config_seq);
  CHECK(decoded.gradual_share_micros == stamp.gradual_share_micros);
  CHECK_FALSE(wire::RouteStamp::Decode(stamp.Encode().substr(1), &decoded));
}

namespace {

// A copy of `frames`, so one encoded message can be bent in several ways.
Frames Copy(const Frames& frames) {
  Frames copy;
  for (const zmq::message_t& frame : frames) copy.push_back(Frame(View(frame)));
  return copy;
}

// The frames of an encoded message with frame `index` replaced by `bytes`.
Frames With(const Frames& frames, size_t index, std::string_view bytes) {
  Frames bent = Copy(frames);
  bent[index] = Frame(bytes);
  return bent;
}

template <typename Message>
std::string Refusal(Frames frames) {
  Message decoded;
  Status status = Message::Decode(frames, &decoded);
  return status.ok() ? std::string() : status.message();
}

// Every message refuses a missing or an extra frame, another signature and
// another command, each with a reason.
template <typename Message>
void CheckShapeRefused(const Frames& good) {
  CHECK(Refusal<Message>(Copy(good)).empty());
  Frames missing = Copy(good);
  missing.pop_back();
  CHECK_THAT(Refusal<Message>(std::move(missing)), Catch::Contains("frame"));
  Frames extra = Copy(good);
  extra.push_back(Frame("extra"));
  CHECK_THAT(Refusal<Message>(std::move(extra)), Catch::Contains("frames, expected"));
  CHECK_THAT(Refusal<Message>(With(good, 0, "UPM0")), Catch::Contains("signature"));
  CHECK_THAT(Refusal<Message>(With(good, 1, "NOPE")), Catch::Contains("the command is NOPE"));
}

const std::string kId = "abcdefgh";

Frames EncodedRequest() {
  wire::Request request;
  request.request_id = Frame(kId);
  request.meta.flags = wire::RequestMeta::kIdempotent | wire::RequestMeta::kHasHost;
  request.stamp.config_seq = 42;
  request.stamp.gradual_share_micros = 5000000;
  request.head = Frame("GET / HTTP/1.1\r\nHost: a\r\n");
  request.body = Frame("body");
  return wire::Encoded(request);
}

Frames EncodedReply() {
  wire::Reply reply;
  reply.request_id = Frame(kId);
  reply.meta.status = 502;
  reply.meta.flags = wire::ReplyMeta::kGenerated;
  reply.head = Frame("HTTP/1.1 502 Bad Gateway\r\n");
  reply.body = Frame("no");
  return wire::Encoded(reply);
}

}  // namespace

TEST_CASE("wire: PeekCommand reads the command after the signature", "[wire]") {
  std::string_view command;
  Frames frames = wire::Encoded(wire::Bye());
  REQUIRE(wire::PeekCommand(frames, &command).ok());
  CHECK(command == "BYE");
  CHECK_THAT(wire::PeekCommand(With(frames, 0, "HTTP"), &command).message(), Catch::Contains("signature"));
  frames.pop_back();
  CHECK_THAT(wire::PeekCommand(frames, &command).message(), Catch::Contains("not a message"));
}

TEST_CASE("wire: REQ survives its codec; malformed ones are refused", "[wire]") {
  Frames frames = EncodedRequest();
  REQUIRE(frames.size() == 7);
  CHECK(wire::Request::RequestIdOf(frames) == kId);
  wire::Request decoded;
  Frames received = Copy(frames);
  REQUIRE(wire::Request::Decode(received, &decoded).ok());
  CHECK(View(decoded.request_id) == kId);
  CHECK(decoded.meta.flags == (wire::RequestMeta::kIdempotent | wire::RequestMeta::kHasHost));
  CHECK(decoded.stamp.config_seq == 42);
  CHECK(decoded.stamp.gradual_share_micros == 5000000);
  CHECK(View(decoded.head) == "GET / HTTP/1.1\r\nHost: a\r\n");
  CHECK(View(decoded.body) == "body");

  CheckShapeRefused<wire::Request>(frames);
  CHECK_THAT(Refusal<wire::Request>(With(frames, 2, "short")), Catch::Contains("request-id"));
  CHECK_THAT(Refusal<wire::Request>(With(frames, 3, std::string("\x02\0\0\0", 4))), Catch::Contains("request-meta"));
  CHECK_THAT(Refusal<wire::Request>(With(frames, 3, std::string("\x01\0\0", 3))), Catch::Contains("request-meta"));
  CHECK_THAT(Refusal<wire::Request>(With(frames, 4, "12345678901")), Catch::Contains("route-stamp"));
  CHECK_THAT(Refusal<wire::Request>(With(frames, 5, "")), Catch::Contains("empty head"));
}

TEST_CASE("wire: REP survives its codec; malformed ones are refused", "[wire]") {
  Frames frames = EncodedReply();
  REQUIRE(frames.size() == 6);
  wire::Reply decoded;
  Frames received = Copy(frames);
  REQUIRE(wire::Reply::Decode(received, &decoded).ok());
  CHECK(View(decoded.request_id) == kId);
  CHECK(decoded.meta.status == 502);
  CHECK(decoded.meta.flags == wire::ReplyMeta::kGenerated);
  CHECK(View(decoded.head) == "HTTP/1.1 502 Bad Gateway\r\n");
  CHECK(View(decoded.body) == "no");

  CheckShapeRefused<wire::Reply>(frames);
  CHECK_THAT(Refusal<wire::Reply>(With(frames, 2, "123456789")), Catch::Contains("request-id"));
  CHECK_THAT(Refusal<wire::Reply>(With(frames, 3, "abc")), Catch::Contains("reply-meta"));
}

TEST_CASE("wire: READY survives its codec; bad capacity or incarnation is refused", "[wire]") {
  std::string incarnation = wire::MakeIncarnation();
  wire::Ready ready;
  ready.capacity = 64;
  ready.incarnation = incarnation;
  Frames frames = wire::Encoded(ready);
  wire::Ready decoded;
  REQUIRE(wire::Ready::Decode(frames, &decoded).ok());
  CHECK(decoded.capacity == 64);
  CHECK(decoded.incarnation == incarnation);

  CheckShapeRefused<wire::Ready>(frames);
  CHECK_THAT(Refusal<wire::Ready>(With(frames, 2, "0")), Catch::Contains("bad capacity"));
  CHECK_THAT(Refusal<wire::Ready>(With(frames, 2, "many")), Catch::Contains("bad capacity"));
  CHECK_THAT(Refusal<wire::Ready>(With(frames, 3, "0123456789ABCDEF")), Catch::Contains("bad incarnation"));
  CHECK_THAT(Refusal<wire::Ready>(With(frames, 3, "0123")), Catch::Contains("bad incarnation"));
}

TEST_CASE("wire: a worker's HB survives its codec with and without stats", "[wire]") {
  wire::WorkerHeartbeat plain;
  plain.capacity = 8;
  Frames frames = wire::Encoded(plain);
  REQUIRE(frames.size() == 3);
  wire::WorkerHeartbeat decoded;
  REQUIRE(wire::WorkerHeartbeat::Decode(frames, &decoded).ok());
  CHECK(decoded.capacity == 8);
  CHECK_FALSE(decoded.has_stats);

  wire::WorkerHeartbeat with_stats;
  with_stats.capacity = 9;
  with_stats.has_stats = true;
  with_stats.stats_json = R"({"served":{},"seq":3})";
  frames = wire::Encoded(with_stats);
  REQUIRE(frames.size() == 4);
  REQUIRE(wire::WorkerHeartbeat::Decode(frames, &decoded).ok());
  CHECK(decoded.capacity == 9);
  CHECK(decoded.has_stats);
  CHECK(decoded.stats_json == with_stats.stats_json);

  Frames short_frames = Copy(frames);
  short_frames.resize(2);
  CHECK_THAT(Refusal<wire::WorkerHeartbeat>(std::move(short_frames)), Catch::Contains("2 frames, expected 3 to 4"));
  Frames extra = Copy(frames);
  extra.push_back(Frame("x"));
  CHECK_THAT(Refusal<wire::WorkerHeartbeat>(std::move(extra)), Catch::Contains("5 frames, expected 3 to 4"));
  CHECK_THAT(Refusal<wire::WorkerHeartbeat>(With(frames, 0, "UPM2")), Catch::Contains("signature"));
  CHECK_THAT(Refusal<wire::WorkerHeartbeat>(With(frames, 1, "READY")), Catch::Contains("the command is READY"));
  CHECK_THAT(Refusal<wire::WorkerHeartbeat>(With(frames, 2, "1000001")), Catch::Contains("bad capacity"));
}

TEST_CASE("wire: the bare messages are their command alone", "[wire]") {
  Frames frames = wire::Encoded(wire::FrontendHeartbeat());
  REQUIRE(frames.size() == 2);
  CHECK(View(frames[1]) == "HB");
  CHECK(Refusal<wire::FrontendHeartbeat>(Copy(frames)).empty());
  Frames extra = Copy(frames);
  extra.push_back(Frame("8"));
  CHECK_THAT(Refusal<wire::FrontendHeartbeat>(std::move(extra)), Catch::Contains("3 frames, expected 2"));
  CHECK_THAT(Refusal<wire::FrontendHeartbeat>(wire::Encoded(wire::Bye())), Catch::Contains("the command is BYE"));
  CHECK(Refusal<wire::Bye>(wire::Encoded(wire::Bye())).empty());
  CHECK(Refusal<wire::SnapshotRequest>(wire::Encoded(wire::SnapshotRequest())).empty());
  CHECK_THAT(Refusal<wire::SnapshotRequest>(With(wire::Encoded(wire::SnapshotRequest()), 0, "")),
             Catch::Contains("signature"));
}

TEST_CASE("wire: SNAPSHOT, UPDATE and HUGZ carry a decimal seq", "[wire]") {
  wire::Snapshot snapshot;
  snapshot.seq = 18446744073709551615ULL;
  snapshot.clusters_json = "[]";
  Frames frames = wire::Encoded(snapshot);
  wire::Snapshot decoded_snapshot;
  REQUIRE(wire::Snapshot::Decode(frames, &decoded_snapshot).ok());
  CHECK(decoded_snapshot.seq == snapshot.seq);
  CHECK(decoded_snapshot.clusters_json == "[]");
  CheckShapeRefused<wire::Snapshot>(frames);
  for (const char* bad : {"", "-1", "+1", "1 ", "0x10", "18446744073709551616", "123456789012345678901"}) {
    INFO(bad);
    CHECK_THAT(Refusal<wire::Snapshot>(With(frames, 2, bad)), Catch::Contains("bad seq"));
  }

  wire::Update update;
  update.seq = 7;
  update.change_json = R"({"op":"delete","uuid":"u"})";
  frames = wire::Encoded(update);
  wire::Update decoded_update;
  REQUIRE(wire::Update::Decode(frames, &decoded_update).ok());
  CHECK(decoded_update.seq == 7);
  CHECK(decoded_update.change_json == update.change_json);
  CheckShapeRefused<wire::Update>(frames);
  CHECK_THAT(Refusal<wire::Update>(With(frames, 2, "seven")), Catch::Contains("bad seq"));

  wire::PublisherHeartbeat hugz;
  hugz.seq = 0;
  frames = wire::Encoded(hugz);
  wire::PublisherHeartbeat decoded_hugz;
  decoded_hugz.seq = 99;
  REQUIRE(wire::PublisherHeartbeat::Decode(frames, &decoded_hugz).ok());
  CHECK(decoded_hugz.seq == 0);
  CheckShapeRefused<wire::PublisherHeartbeat>(frames);
  CHECK_THAT(Refusal<wire::PublisherHeartbeat>(With(frames, 2, "1.5")), Catch::Contains("bad seq"));
}

TEST_CASE("wire: ACK survives its codec, with or without an endpoint, and refuses a long one", "[wire]") {
  wire::Ack ack;
  ack.seq = 12;
  ack.worker_endpoint = "tcp://10.0.0.1:5560";
  Frames frames = wire::Encoded(ack);
  wire::Ack decoded;
  REQUIRE(wire::Ack::Decode(frames, &decoded).ok());
  CHECK(decoded.seq == 12);
  CHECK(decoded.worker_endpoint == ack.worker_endpoint);
  CHECK(decoded.peer_address.empty());

  Frames without = Copy(frames);
  without.pop_back();
  REQUIRE(wire::Ack::Decode(without, &decoded).ok());
  CHECK(decoded.seq == 12);
  CHECK(decoded.worker_endpoint.empty());

  Frames extra = Copy(frames);
  extra.push_back(Frame("x"));
  CHECK_THAT(Refusal<wire::Ack>(std::move(extra)), Catch::Contains("5 frames, expected 3 to 4"));
  CHECK_THAT(Refusal<wire::Ack>(With(frames, 1, "HB")), Catch::Contains("the command is HB"));
  CHECK_THAT(Refusal<wire::Ack>(With(frames, 2, "")), Catch::Contains("bad seq"));
  CHECK(Refusal<wire::Ack>(With(frames, 3, std::string(kMaxEndpointBytes, 'e'))).empty());
  CHECK_THAT(Refusal<wire::Ack>(With(frames, 3, std::string(kMaxEndpointBytes + 1, 'e'))),
             Catch::Contains("worker-endpoint too long"));
}

TEST_CASE("wire: RAMP? and RAMP survive their codec; bad numbers are refused", "[wire]") {
  wire::RampRequest request;
  request.uuid = "11111111-2222-3333-4444-555555555555";
  request.count = 100;
  Frames frames = wire::Encoded(request);
  wire::RampRequest decoded_request;
  REQUIRE(wire::RampRequest::Decode(frames, &decoded_request).ok());
  CHECK(decoded_request.uuid == request.uuid);
  CHECK(decoded_request.count == 100);
  CheckShapeRefused<wire::RampRequest>(frames);
  CHECK_THAT(Refusal<wire::RampRequest>(With(frames, 3, "ten")), Catch::Contains("bad count"));

  wire::Ramp ramp;
  ramp.uuid = request.uuid;
  ramp.first = 300;
  ramp.count = 100;
  frames = wire::Encoded(ramp);
  wire::Ramp decoded;
  REQUIRE(wire::Ramp::Decode(frames, &decoded).ok());
  CHECK(decoded.uuid == ramp.uuid);
  CHECK(decoded.first == 300);
  CHECK(decoded.count == 100);
  CheckShapeRefused<wire::Ramp>(frames);
  CHECK_THAT(Refusal<wire::Ramp>(With(frames, 3, "-1")), Catch::Contains("bad first"));
  CHECK_THAT(Refusal<wire::Ramp>(With(frames, 4, "")), Catch::Contains("bad count"));
}

TEST_CASE("wire: FRONTENDS, MISMATCH and HEALTH carry one JSON frame", "[wire]") {
  wire::Frontends frontends;
  frontends.json = R"(["tcp://127.0.0.1:5560"])";
  Frames frames = wire::Encoded(frontends);
  wire::Frontends decoded;
  REQUIRE(wire::Frontends::Decode(frames, &decoded).ok());
  CHECK(decoded.json == frontends.json);
  CheckShapeRefused<wire::Frontends>(frames);

  wire::Health health;
  health.json = "{}";
  frames = wire::Encoded(health);
  CHECK(Refusal<wire::Health>(Copy(frames)).empty());
  CHECK_THAT(Refusal<wire::Mismatch>(Copy(frames)), Catch::Contains("the command is HEALTH"));
  CheckShapeRefused<wire::Health>(frames);
  wire::Mismatch mismatch;
  mismatch.json = "{}";
  CheckShapeRefused<wire::Mismatch>(wire::Encoded(mismatch));
}

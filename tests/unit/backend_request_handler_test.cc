// RequestHandler without sockets: injected errors, the --size default,
// /__control and the /__stats fields.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "backend/request_handler.h"

namespace {

using upmesh::backend::Defaults;
using upmesh::backend::ParsedRequest;
using upmesh::backend::Reply;
using upmesh::backend::RequestHandler;
using upmesh::backend::ServerStats;

struct Answer {
  int status = 0;
  std::string head;
  std::string body;
  int delay_ms = 0;
};

// A handler with a clock the test moves by hand.
struct Fixture {
  explicit Fixture(const Defaults& defaults = {})
      : handler("v1", 8001, defaults, &stats, [this] { return now_ms; }) {}
  Fixture(const Fixture&) = delete;  // the clock points into this one
  Fixture& operator=(const Fixture&) = delete;

  Answer Send(const std::string& method, const std::string& target) {
    ParsedRequest request;
    request.method = method;
    request.target = target;
    Reply reply = handler.Handle(request);
    std::string wire;
    while (!reply.stream.Produce(&wire, wire.size() + 65536)) {
    }
    Answer answer;
    size_t end = wire.find("\r\n\r\n");
    REQUIRE(end != std::string::npos);
    answer.head = wire.substr(0, end + 4);
    answer.body = wire.substr(end + 4);
    answer.status = std::stoi(wire.substr(9, 3));
    answer.delay_ms = reply.delay_ms;
    return answer;
  }
  Answer Get(const std::string& target) { return Send("GET", target); }
  nlohmann::json Json(const std::string& method, const std::string& target) {
    Answer answer = Send(method, target);
    REQUIRE(answer.status == 200);
    return nlohmann::json::parse(answer.body);
  }

  int64_t now_ms = 1700000000000;
  ServerStats stats;
  RequestHandler handler;
};

Defaults WithErrorPercent(int percent) {
  Defaults defaults;
  defaults.error_percent = percent;
  return defaults;
}

}  // namespace

TEST_CASE("backend handler: 10 % errors fail exactly one request in every ten", "[backend]") {
  Fixture fixture(WithErrorPercent(10));
  for (int block = 0; block < 5; ++block) {
    for (int i = 1; i <= 10; ++i) {
      Answer answer = fixture.Get("/");
      CHECK(answer.status == (i == 10 ? 500 : 200));
    }
  }
  CHECK(fixture.stats.errors == 5);
  CHECK(fixture.stats.requests == 50);
}

TEST_CASE("backend handler: 0 % never fails, 100 % always does", "[backend]") {
  Fixture none(WithErrorPercent(0));
  Fixture all(WithErrorPercent(100));
  for (int i = 0; i < 300; ++i) {
    CHECK(none.Get("/").status == 200);
    CHECK(all.Get("/").status == 500);
  }
  CHECK(none.stats.errors == 0);
  CHECK(all.stats.errors == 300);
}

TEST_CASE("backend handler: any 100 consecutive requests hold exactly P errors", "[backend]") {
  for (int percent : {1, 33, 50, 99}) {
    Fixture fixture(WithErrorPercent(percent));
    std::string failed;  // '1' per injected error, in request order
    for (int i = 0; i < 400; ++i) failed += fixture.Get("/").status == 500 ? '1' : '0';
    for (size_t start = 0; start + 100 <= failed.size(); ++start) {
      INFO("percent " << percent << ", window from request " << start + 1);
      CHECK(std::count(failed.begin() + start, failed.begin() + start + 100, '1') == percent);
    }
  }
}

TEST_CASE("backend handler: an injected error replaces the whole response", "[backend]") {
  Defaults defaults = WithErrorPercent(100);
  defaults.response.delay_ms = 300;
  Fixture fixture(defaults);
  Answer answer = fixture.Get("/?status=200&size=100&delay=50&drop=1");
  CHECK(answer.status == 500);
  CHECK(answer.body == "injected error\n");
  CHECK(answer.delay_ms == 0);
  CHECK(answer.head.find("X-Backend-Version: v1\r\n") != std::string::npos);
  // Even a request whose query is bad counts and fails the same way.
  CHECK(fixture.Get("/?size=x").body == "injected error\n");
  CHECK(fixture.Send("HEAD", "/").body.empty());
}

TEST_CASE("backend handler: /__stats and /__control are not counted and never fail", "[backend]") {
  Fixture fixture(WithErrorPercent(100));
  CHECK(fixture.Get("/__stats").status == 200);
  CHECK(fixture.Get("/__control").status == 200);
  CHECK(fixture.stats.requests == 0);
  CHECK(fixture.stats.errors == 0);
  CHECK(fixture.Get("/").status == 500);
  CHECK(fixture.stats.requests == 1);
}

TEST_CASE("backend handler: --size sets the body size of requests without size=", "[backend]") {
  Defaults defaults;
  defaults.response.has_size = true;
  defaults.response.size = 30;
  Fixture fixture(defaults);
  CHECK(fixture.Get("/").body == "abcdefghijklmnopqrstuvwxyzabcd");
  CHECK(fixture.Get("/?size=3").body == "abc");
  CHECK(fixture.Get("/?size=0").body.empty());
  Answer echo = fixture.Get("/?echo=1");
  CHECK(echo.status == 200);
  CHECK(nlohmann::json::parse(echo.body)["target"] == "/?echo=1");
}

TEST_CASE("backend handler: GET /__control shows the defaults", "[backend]") {
  Fixture plain;
  CHECK(plain.Json("GET", "/__control") ==
        nlohmann::json{{"status", 200}, {"delayMs", 0}, {"size", nullptr}, {"errorPercent", 0}});

  Defaults defaults;
  defaults.response.status = 503;
  defaults.response.delay_ms = 25;
  defaults.response.has_size = true;
  defaults.response.size = 1000;
  defaults.error_percent = 5;
  Fixture flagged(defaults);
  CHECK(flagged.Json("GET", "/__control") ==
        nlohmann::json{{"status", 503}, {"delayMs", 25}, {"size", 1000}, {"errorPercent", 5}});
  Answer head = flagged.Send("HEAD", "/__control");
  CHECK(head.status == 200);
  CHECK(head.body.empty());
}

TEST_CASE("backend handler: PUT /__control changes what later requests get", "[backend]") {
  Fixture fixture;
  CHECK(fixture.Json("PUT", "/__control?status=503&delay=20&size=4") ==
        nlohmann::json{{"status", 503}, {"delayMs", 20}, {"size", 4}, {"errorPercent", 0}});
  Answer answer = fixture.Get("/");
  CHECK(answer.status == 503);
  CHECK(answer.delay_ms == 20);
  CHECK(answer.body == "abcd");
  CHECK(fixture.Get("/?status=200&delay=0").status == 200);  // query options still win

  CHECK(fixture.Json("POST", "/__control?errorPercent=50")["status"] == 503);  // the rest stays
  CHECK(fixture.Get("/").status == 503);  // request 3: floor(150/100) == floor(100/100)
  CHECK(fixture.Get("/").body == "injected error\n");

  CHECK(fixture.Json("PUT", "/__control?reset=1") ==
        nlohmann::json{{"status", 200}, {"delayMs", 0}, {"size", nullptr}, {"errorPercent", 0}});
  CHECK(fixture.Get("/").body == "upmesh-backend v1 port 8001\n");
}

TEST_CASE("backend handler: a bad /__control request changes nothing", "[backend]") {
  Fixture fixture;
  Answer bad = fixture.Send("PUT", "/__control?status=503&errorPercent=150");
  CHECK(bad.status == 400);
  CHECK(bad.body == "400 Bad Request: errorPercent: must be an integer in 0..100, got \"150\"\n");
  CHECK(fixture.Send("PUT", "/__control?stauts=503").status == 400);
  CHECK(fixture.Get("/").status == 200);

  Answer wrong_method = fixture.Send("DELETE", "/__control?status=503");
  CHECK(wrong_method.status == 405);
  CHECK(wrong_method.head.find("\r\nAllow: GET, HEAD, PUT, POST\r\n") != std::string::npos);
  // GET only reads, whatever its query says.
  CHECK(fixture.Json("GET", "/__control?status=503")["status"] == 200);
  CHECK(fixture.Get("/").status == 200);
}

TEST_CASE("backend handler: /__stats reports the request and injected error times", "[backend]") {
  Fixture fixture;
  CHECK(fixture.Json("GET", "/__stats") == nlohmann::json{{"requests", 0},
                                                          {"connections", 0},
                                                          {"errors", 0},
                                                          {"lastRequestAtMs", 0},
                                                          {"firstInjectedErrorAtMs", 0}});
  const int64_t start = fixture.now_ms;
  fixture.Get("/");
  fixture.now_ms += 10;
  fixture.Get("/");  // last request at start + 10
  fixture.now_ms += 10;
  fixture.Json("PUT", "/__control?errorPercent=100");  // /__stats and /__control do not count
  fixture.Json("GET", "/__stats");
  nlohmann::json stats = fixture.Json("GET", "/__stats");
  CHECK(stats["requests"] == 2);
  CHECK(stats["errors"] == 0);
  CHECK(stats["lastRequestAtMs"] == start + 10);
  CHECK(stats["firstInjectedErrorAtMs"] == 0);

  fixture.now_ms += 10;
  fixture.Get("/");  // first injected error at start + 30
  fixture.now_ms += 10;
  fixture.Get("/");
  stats = fixture.Json("GET", "/__stats");
  CHECK(stats["errors"] == 2);
  CHECK(stats["lastRequestAtMs"] == start + 40);
  CHECK(stats["firstInjectedErrorAtMs"] == start + 30);

  // A change through /__control starts over; the error count does not.
  fixture.Json("PUT", "/__control?errorPercent=100");
  CHECK(fixture.Json("GET", "/__stats")["firstInjectedErrorAtMs"] == 0);
  fixture.now_ms += 10;
  fixture.Get("/");
  stats = fixture.Json("GET", "/__stats");
  CHECK(stats["firstInjectedErrorAtMs"] == start + 50);
  CHECK(stats["errors"] == 3);
}

// BackendPool bookkeeping (no sockets): LIFO reuse, the connection limit,
// idle expiry, retirement, the waiting queue.
#include <catch2/catch.hpp>

#include <vector>

#include "shared/config.h"
#include "worker/backend_pool.h"
#include "worker/exchange.h"

namespace {

using upmesh::worker::BackendConnection;
using upmesh::worker::BackendPool;
using upmesh::worker::BackendServer;

BackendPool MakePool(int max_connections) {
  BackendServer server;
  server.label = "127.0.0.1:8001";
  return BackendPool(server, max_connections);
}

}  // namespace

TEST_CASE("backend pool: idle connections are reused most recent first", "[backend_pool]") {
  BackendPool pool = MakePool(4);
  BackendConnection* a = pool.Add(0);
  BackendConnection* b = pool.Add(0);
  CHECK(pool.open_count() == 2);
  pool.PushIdle(a, 100);
  pool.PushIdle(b, 200);
  CHECK(pool.idle_count() == 2);
  CHECK(pool.PopIdle() == b);
  CHECK(b->state == BackendConnection::State::kBusy);
  CHECK(pool.PopIdle() == a);
  CHECK(pool.PopIdle() == nullptr);
}

TEST_CASE("backend pool: at most max_connections are open", "[backend_pool]") {
  BackendPool pool = MakePool(2);
  CHECK(pool.CanOpen());
  BackendConnection* a = pool.Add(0);
  pool.Add(0);
  CHECK_FALSE(pool.CanOpen());
  pool.Retire(a);
  CHECK(a->state == BackendConnection::State::kClosed);
  CHECK(pool.CanOpen());
  CHECK(pool.open_count() == 1);
  pool.FreeRetired();
}

TEST_CASE("backend pool: idle connections expire oldest first", "[backend_pool]") {
  BackendPool pool = MakePool(8);
  std::vector<BackendConnection*> connections;
  for (int i = 0; i < 4; ++i) {
    connections.push_back(pool.Add(0));
    pool.PushIdle(connections.back(), 1000 + i * 100);  // 1000, 1100, 1200, 1300
  }
  std::vector<BackendConnection*> expired;
  pool.TakeExpiredIdle(1150, &expired);
  REQUIRE(expired.size() == 2);
  CHECK(expired[0] == connections[0]);
  CHECK(expired[1] == connections[1]);
  CHECK(pool.idle_count() == 2);
  for (BackendConnection* connection : expired) pool.Retire(connection);
  CHECK(pool.open_count() == 2);
  CHECK(pool.PopOldestIdle() == connections[2]);
  CHECK(pool.PopIdle() == connections[3]);
}

TEST_CASE("backend pool: retiring an idle connection removes it from the idle list", "[backend_pool]") {
  BackendPool pool = MakePool(2);
  BackendConnection* a = pool.Add(0);
  BackendConnection* b = pool.Add(0);
  pool.PushIdle(a, 1);
  pool.PushIdle(b, 2);
  pool.Retire(b);  // the backend closed it while idle
  CHECK(pool.idle_count() == 1);
  CHECK(pool.PopIdle() == a);
}

TEST_CASE("backend pool: servers resolve to an address and a Host line", "[backend_pool]") {
  BackendServer server;
  REQUIRE(upmesh::worker::ResolveServer({"127.0.0.1", 8001}, upmesh::NetworkPolicy::Default(), &server).ok());
  CHECK(server.label == "127.0.0.1:8001");
  CHECK(server.host_line == "Host: 127.0.0.1:8001\r\n");
  CHECK(server.address.ss_family == AF_INET);

  REQUIRE(upmesh::worker::ResolveServer({"::1", 8002}, upmesh::NetworkPolicy::Default(), &server).ok());
  CHECK(server.host_line == "Host: [::1]:8002\r\n");
  CHECK(server.address.ss_family == AF_INET6);

  upmesh::Status status = upmesh::worker::ResolveServer({"no-such-host.invalid", 80}, upmesh::NetworkPolicy::Default(), &server);
  CHECK_FALSE(status.ok());
  CHECK(status.message().find("no-such-host.invalid:80") != std::string::npos);
}

TEST_CASE("backend pool: exchanges wait in FIFO order, a retry ahead, one may give up", "[backend_pool]") {
  BackendPool pool = MakePool(1);
  upmesh::worker::Exchange a, b, retry;
  CHECK_FALSE(pool.has_waiting());
  CHECK(pool.TakeWaiting() == nullptr);
  pool.Wait(&a, /*first=*/false);
  pool.Wait(&b, /*first=*/false);
  pool.Wait(&retry, /*first=*/true);
  CHECK(pool.has_waiting());
  CHECK(pool.TakeWaiting() == &retry);
  pool.StopWaiting(&a);
  CHECK(pool.TakeWaiting() == &b);
  CHECK_FALSE(pool.has_waiting());
}

// ConnectionDeadlines: the config API's per-connection timers, and whom to
// close when the connection cap is reached. No sockets and no clock of its
// own: every call is given the monotonic time, so it is tested in isolation.
//
// Each connection is in one phase, with one deadline:
//   kRequest  a request (or, on a new connection, the TLS handshake and the
//             first request) is arriving: the whole head and body must be in
//             by request_timeout_ms after it began (a new connection: after
//             the connect). Slowloris ends here.
//   kIdle     keep-alive between requests: the next one must begin within
//             idle_timeout_ms of the last answer.
//   kAnswering a complete request waits for an answer made later (no
//             deadline here: whatever makes the answer bounds it).
//   kSending  an answer could not be handed over (the client does not read):
//             it must drain within request_timeout_ms.
//   kClosing  answered for the last time (or refused): closed after linger_ms
//             at the latest, so the client reads the answer rather than a reset.
// Expired() lists the connections whose deadline has passed; the caller acts
// (408, close) and moves or forgets each.
//
// Admit() never refuses: at max_connections it picks a victim so that a
// newcomer who sends its request promptly is always served. The victim is the
// connection waiting longest without a complete request (kRequest or kIdle,
// by the time it began waiting: its connect or its last answer); only when
// there is none, the oldest kSending one, then kClosing, then kAnswering.
#pragma once

#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

namespace upmesh::router {

class ConnectionDeadlines {
 public:
  enum class Phase { kRequest, kIdle, kAnswering, kSending, kClosing };

  struct Settings {
    int64_t request_timeout_ms = 10000;
    int64_t idle_timeout_ms = 5000;
    int64_t linger_ms = 1000;
    size_t max_connections = 1024;
  };

  struct Victim {
    std::string id;
    Phase phase = Phase::kRequest;
    int64_t waited_ms = 0;  // how long it had been waiting in that phase
  };

  explicit ConnectionDeadlines(const Settings& settings) : settings_(settings) {}

  // A new connection (phase kRequest). Returns true and fills *victim when
  // another one had to be forgotten to make room: the caller closes it.
  bool Admit(const std::string& id, int64_t now, Victim* victim);
  // Bytes of a request arrived on a kIdle connection: the request deadline starts.
  void RequestBegan(const std::string& id, int64_t now);
  // An answer was handed over in full and the connection stays open: kIdle.
  void Answered(const std::string& id, int64_t now);
  // A complete request whose answer comes later: kAnswering.
  void Answering(const std::string& id);
  // An answer could not be handed over: kSending.
  void Blocked(const std::string& id, int64_t now);
  // The last answer is out (or the connection is refused): kClosing.
  void Closing(const std::string& id, int64_t now);
  void Forget(const std::string& id);

  // Connections whose deadline is at or before `now`, earliest first.
  std::vector<std::pair<std::string, Phase>> Expired(int64_t now) const;

  bool Contains(const std::string& id) const { return entries_.count(id) > 0; }
  Phase PhaseOf(const std::string& id) const { return entries_.at(id).phase; }
  size_t size() const { return entries_.size(); }
  const Settings& settings() const { return settings_; }

 private:
  struct Entry {
    Phase phase = Phase::kRequest;
    int64_t deadline = 0;
    int64_t since = 0;  // when it began waiting in this phase (eviction order)
  };
  // (deadline, id) and (eviction rank, since, id): expiry and eviction in order.
  using DeadlineKey = std::pair<int64_t, std::string>;
  using EvictionKey = std::tuple<int, int64_t, std::string>;

  void Set(const std::string& id, Phase phase, int64_t deadline, int64_t since);
  void Unindex(const std::string& id, const Entry& entry);

  Settings settings_;
  std::unordered_map<std::string, Entry> entries_;
  std::set<DeadlineKey> by_deadline_;
  std::set<EvictionKey> by_eviction_;
};

const char* PhaseName(ConnectionDeadlines::Phase phase);

}  // namespace upmesh::router

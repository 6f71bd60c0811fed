// FrontendAcks: which frontends are live and which config seq each has
// acknowledged, so the config API answers a change only once every live
// frontend stamps requests with it (docs/protocol.md, "Who stamps").
//
// A frontend is live from its first ACK until it is silent for liveness_ms
// or fails to acknowledge a change within ack_wait_ms; it becomes live again
// with its next ACK. Changed(seq) starts the wait for one change; Released()
// says up to which seq API answers may go: every change whose seq every live
// frontend acknowledged, and every change whose wait ran out (the frontends
// that had not acknowledged it are dropped from the live set and named in
// *dropped). With no live frontend every change is released at once.
// Pure logic: times are passed in.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <vector>

namespace upmesh::router {

class FrontendAcks {
 public:
  FrontendAcks(int64_t liveness_ms, int64_t ack_wait_ms) : liveness_ms_(liveness_ms), ack_wait_ms_(ack_wait_ms) {}

  // An ACK: the frontend applies `seq` (a lower seq than before is kept as is:
  // a restarted frontend starts over).
  void Heard(const std::string& frontend_id, uint64_t seq, int64_t now_ms);
  // The API made change `seq`: its answer waits for the acknowledgements.
  void Changed(uint64_t seq, int64_t now_ms);
  // The highest seq whose API answers may go (see above); `current` is the
  // table's seq, released when nothing waits.
  uint64_t Released(uint64_t current, int64_t now_ms, std::vector<std::string>* dropped);
  // Drops frontends silent for liveness_ms; returns their ids.
  std::vector<std::string> Expire(int64_t now_ms);
  // When Released() may next drop a frontend (INT64_MAX: nothing waits).
  int64_t next_deadline_ms() const;
  size_t live() const { return frontends_.size(); }
  bool IsLive(const std::string& frontend_id) const { return frontends_.count(frontend_id) > 0; }
  // The seq each live frontend acknowledged last, by id.
  std::map<std::string, uint64_t> AckedSeqs() const;

 private:
  struct Frontend {
    uint64_t acked = 0;
    int64_t heard_ms = 0;
  };
  struct Wait {
    uint64_t seq;
    int64_t deadline_ms;
  };
  const int64_t liveness_ms_;
  const int64_t ack_wait_ms_;
  std::map<std::string, Frontend> frontends_;
  std::deque<Wait> waits_;  // ascending seq
};

}  // namespace upmesh::router

// RampLease: this frontend's part of the mesh-wide GRADUAL request ramp.
//
// The router owns the ramp's position counter; a frontend leases blocks of
// positions from it (RAMP? uuid count -> RAMP uuid first count: positions
// first+1 .. first+count are this frontend's alone) and stamps each request
// with the share of the next position it holds. It asks only once requests
// need positions (a new ramp leases nothing before its first request), then
// for the next block before the current one runs out (once at most half of
// the last grant is left), one question at a time. When nothing is left (the
// router is unreachable, the ramp is held or at 100 %) Take() returns the
// last position used again: the share never advances without a lease and
// never goes back. Starved() tells the caller a request would have to do so
// while a lease may still come (the frontend then lets it wait for one,
// briefly). A grant of nothing still tells the router's position; a
// frontend with nothing left adopts it, so a frontend that just started
// stamps the mesh's share rather than 0. Pure logic: times are passed in.
#pragma once

#include <cstdint>
#include <deque>
#include <string>

namespace upmesh::frontend {

class RampLease {
 public:
  static constexpr int64_t kRetryMs = 100;        // after a grant of nothing
  static constexpr int64_t kAnswerWaitMs = 1000;  // an unanswered RAMP? is asked again after this

  // The ramp to follow: the newest live version when it ramps by requests
  // (`length`: the first position at 100 %), else an empty uuid. Another uuid
  // starts over from position 0.
  void Follow(const std::string& uuid, uint64_t length);
  // The position for the next request (advances within the leased blocks only).
  uint64_t Take();
  // Takes the next leased position into *position; false (nothing taken) when none is left.
  bool TryTake(uint64_t* position);
  // No leased position is left although the ramp has not been leased up to 100 %.
  bool Starved() const;
  // A request waits for a position: leasing begins (as with TryTake).
  void Want() { demand_ = true; }
  uint64_t last() const { return last_; }
  const std::string& uuid() const { return uuid_; }
  // Positions leased and not used yet.
  uint64_t remaining() const;
  // A RAMP answer (another uuid's is ignored).
  void OnGrant(const std::string& uuid, uint64_t first, uint64_t count, int64_t now_ms);
  // Whether a RAMP? should go out now; if so, notes that it did.
  bool AskDue(int64_t now_ms);

 private:
  struct Block {
    uint64_t next;  // first unused position
    uint64_t end;   // one past the last
  };
  std::string uuid_;
  uint64_t length_ = 0;
  uint64_t last_ = 0;  // the last position used (or adopted from a grant of nothing)
  std::deque<Block> blocks_;  // oldest first, ascending, all above last_
  uint64_t last_grant_ = 1;
  bool demand_ = false;  // a request wanted a position: leasing has begun
  bool asked_ = false;
  int64_t asked_at_ms_ = 0;
  int64_t retry_at_ms_ = 0;
};

}  // namespace upmesh::frontend

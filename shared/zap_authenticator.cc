#include "shared/zap_authenticator.h"

#include "shared/log.h"

namespace upmesh {
namespace {

constexpr int kBatch = 256;
constexpr size_t kMaxLogged = 1024;  // distinct refused keys remembered for the log's rate limit

// [peer][empty][version][request-id][domain][address][identity][mechanism][credentials...]
enum Frame { kPeer, kDelimiter, kVersion, kRequestId, kDomain, kAddress, kIdentity, kMechanism, kCredentials };

std::string Text(const zmq::message_t& frame) { return std::string(static_cast<const char*>(frame.data()), frame.size()); }

}  // namespace

ZapAuthenticator::ZapAuthenticator(zmq::context_t& context, std::set<std::string> allowed_keys)
    : socket_(context, zmq::socket_type::router), allowed_(std::move(allowed_keys)) {}

Status ZapAuthenticator::Bind() {
  socket_.set(zmq::sockopt::linger, 0);
  try {
    socket_.bind(kEndpoint);
  } catch (const zmq::error_t& e) {
    return Status::IoError(std::string("cannot bind the ZAP handler on ") + kEndpoint + ": " + e.what());
  }
  LOG_INFO("CURVE on every mesh socket; %zu client key(s) allowed", allowed_.size());
  return Status::Ok();
}

void ZapAuthenticator::OnReadable(int64_t now_ms) {
  std::vector<zmq::message_t> frames;
  for (int i = 0; i < kBatch; ++i) {
    frames.clear();
    zmq::message_t frame;
    if (!socket_.recv(frame, zmq::recv_flags::dontwait)) return;
    bool more = frame.more();
    frames.push_back(std::move(frame));
    while (more) {
      zmq::message_t next;
      (void)socket_.recv(next);
      more = next.more();
      frames.push_back(std::move(next));
    }
    Answer(frames, now_ms);
  }
}

void ZapAuthenticator::Answer(std::vector<zmq::message_t>& frames, int64_t now_ms) {
  if (frames.size() < kCredentials || Text(frames[kVersion]) != "1.0") {
    LOG_WARN("ZAP: a malformed request (%zu frames) ignored", frames.size());
    return;  // libzmq never sends one; nothing sensible to answer
  }
  std::string address = Text(frames[kAddress]);
  std::string status = "400";
  std::string reason;
  std::string key;
  if (Text(frames[kMechanism]) != "CURVE" || frames.size() != kCredentials + 1 || frames[kCredentials].size() != 32) {
    reason = "not a CURVE client";
  } else {
    char z85[41];
    zmq_z85_encode(z85, static_cast<const uint8_t*>(frames[kCredentials].data()), 32);
    key = z85;
    if (allowed_.count(key)) {
      status = "200";
    } else {
      reason = "its public key is not in mesh.curve.allowedClientKeys";
    }
  }
  if (status == "200") {
    LOG_DEBUG("ZAP: CURVE client %s from %s allowed", key.c_str(), address.c_str());
  } else {
    ++refused_;
    LogRefusal(address, key, reason, now_ms);
  }
  std::string text = status == "200" ? "OK" : "not allowed";
  const std::string user_id = key;  // the public key names the peer
  zmq::message_t reply[] = {std::move(frames[kPeer]), zmq::message_t(), zmq::message_t(std::string_view("1.0")),
                            std::move(frames[kRequestId]), zmq::message_t(std::string_view(status)),
                            zmq::message_t(std::string_view(text)), zmq::message_t(std::string_view(user_id)),
                            zmq::message_t()};
  constexpr size_t kParts = sizeof reply / sizeof reply[0];
  for (size_t i = 0; i < kParts; ++i) {
    auto flags = i + 1 < kParts ? zmq::send_flags::sndmore | zmq::send_flags::dontwait : zmq::send_flags::dontwait;
    if (!socket_.send(reply[i], flags)) {
      LOG_WARN("ZAP: could not answer the handshake from %s", address.c_str());
      return;
    }
  }
}

void ZapAuthenticator::LogRefusal(const std::string& address, const std::string& key, const std::string& why,
                                  int64_t now_ms) {
  auto it = last_logged_ms_.find(key);
  if (it != last_logged_ms_.end() && now_ms - it->second < kLogIntervalMs) return;
  if (last_logged_ms_.size() >= kMaxLogged) last_logged_ms_.clear();
  last_logged_ms_[key] = now_ms;
  LOG_WARN("mesh: refused a peer from %s: %s%s%s (%llu refusal(s) so far)", address.c_str(), why.c_str(),
           key.empty() ? "" : "; its key: ", key.c_str(), static_cast<unsigned long long>(refused_));
}

}  // namespace upmesh

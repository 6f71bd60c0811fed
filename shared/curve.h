// ZeroMQ CURVE for the mesh sockets: loading the keys and applying them to a
// socket, so every mesh socket (today's and any new one) is secured the same
// way. docs/protocol.md, "Security", describes the scheme.
//
// The zguide's "Ironhouse" pattern: the router is the CURVE server on every
// socket it binds (frontends, workers, config broadcast) and knows its secret
// key; every frontend and worker is a CURVE client with its own key pair and
// the router's public key; the router lets in only the client public keys it
// was given (shared/zap_authenticator.h answers libzmq's ZAP requests).
// Traffic is encrypted and authenticated both ways.
//
// Keys are Z85 text (40 characters) in files: a secret key file must be
// readable by its owner only (shared/secret_file.h); a public key file may be
// read by anyone. WriteCurveKeyPair makes NAME.key (secret, mode 0600) and
// NAME.pub (public, mode 0644) with zmq_curve_keypair.
#pragma once

#include <set>
#include <string>

#include <zmq.hpp>

#include "shared/config.h"
#include "shared/status.h"

namespace upmesh {

// The ZAP domain of every CURVE server socket of the mesh.
constexpr char kCurveZapDomain[] = "upmesh";

// The router's side. enabled() is false when mesh.curve names no server key.
struct CurveServerKeys {
  std::string secret_key;  // Z85
  std::string public_key;  // Z85, derived from the secret
  bool enabled() const { return !secret_key.empty(); }
};

// A frontend's or worker's side. enabled() is false when mesh.curve names no client key.
struct CurveClientKeys {
  std::string secret_key;  // Z85, this process's own
  std::string public_key;  // Z85, derived from the secret
  std::string server_key;  // Z85, the router's public key
  bool enabled() const { return !secret_key.empty(); }
};

// An error unless this libzmq supports CURVE (zmq_has("curve")).
Status CheckCurveSupport();

// The router's keys from serverSecretKeyFile (and, when set, a check that
// serverPublicKeyFile is its public key), and the allowed client keys from
// allowedClientKeys. None of the three set: CURVE off (*keys disabled). The
// secret without the allowed keys or the reverse, the public key alone, a
// bad key or a libzmq without CURVE: an error naming the key and the file.
Status LoadCurveServerKeys(const CurveConfig& config, CurveServerKeys* keys, std::set<std::string>* allowed);

// A frontend's or worker's keys from clientSecretKeyFile and
// serverPublicKeyFile. Neither set: CURVE off; one without the other: an error.
Status LoadCurveClientKeys(const CurveConfig& config, CurveClientKeys* keys);

// The Z85 public keys in `path`: a directory (every *.pub file in it, one key
// each) or a file of keys, one a line ('#' starts a comment line; blank
// lines are skipped). No key at all is an error.
Status LoadAllowedClientKeys(const std::string& path, std::set<std::string>* keys);

// Set before bind()/connect(); no-ops when the keys are disabled.
void ApplyCurveServer(zmq::socket_t& socket, const CurveServerKeys& keys);
void ApplyCurveClient(zmq::socket_t& socket, const CurveClientKeys& keys);

// Writes DIR/NAME.key and DIR/NAME.pub (never overwriting an existing file).
Status WriteCurveKeyPair(const std::string& dir, const std::string& name, std::string* public_key);

}  // namespace upmesh

// ResponseReader: turns the bytes a server sends on one connection into one
// whole HTTP/1.x response: the worker reads its backends with it, upmeshctl
// the config API.
//
// It knows nothing about sockets, so it can be fed bytes in pieces of any
// size; every byte passes the grammar scanner (shared/http_message_scanner.h)
// before http-parser sees it (shared/http_message_parser.h), so the result
// never depends on the split. It handles Content-Length, chunked
// (de-chunked, trailers dropped) and close-delimited bodies, responses that
// have no body (HEAD, 1xx, 204, 304) and interim 1xx responses (skipped; 101
// is an error: upmesh never asks for an upgrade). A status outside 100..599,
// a field name that is not a token, a transfer coding other than chunked, and
// more header bytes (interim responses' included, as received) plus
// de-chunked body than the limit are errors.
//
// What the response becomes (the worker's mesh head, upmeshctl's result) and
// how an error is worded is the caller's: fault() says which rule broke,
// error() says it in a few words without naming the peer.
//
// Usage, per response: Start(), then Feed() until it returns kComplete or
// kError (FeedEof() when the server closes), then read the result, then
// Start() again for the next response on the same connection. Not thread-safe.
#pragma once

#include <cstddef>
#include <string>

#include "shared/http_fields.h"
#include "shared/http_message_parser.h"

namespace upmesh::http {

class ResponseReader : private MessageParser::Handler {
 public:
  enum class Result { kIncomplete, kComplete, kError };
  enum class Fault {
    kNone,
    kMalformed,               // breaks the grammar or http-parser's rules: error() says how
    kDisagree,                // the scanner and http-parser disagree: error() is kScannerParserDisagree
    kStatusOutOfRange,        // status() is the one received
    kSwitchingProtocols,      // a 101
    kInvalidFieldName,
    kTransferCoding,          // a coding other than chunked
    kTooLarge,                // over max_response_bytes
    kClosedBeforeResponse,    // FeedEof() before any byte
    kClosedEarly,             // FeedEof() before the response was complete
  };

  ResponseReader();

  // Prepares for the response to a new request. `head_request`: the request
  // was HEAD, so the response has no body whatever its fields say.
  // `max_response_bytes`: more bytes of header sections (interim responses'
  // included, as received) plus de-chunked body than this is an error.
  void Start(bool head_request, size_t max_response_bytes);

  // Parses `size` bytes. Sets *consumed to how many were used: all of them
  // unless the response completed early (extra bytes belong to whatever
  // follows it on the connection) or an error occurred.
  Result Feed(const char* data, size_t size, size_t* consumed);

  // The server closed its side: ends a close-delimited body, anything else
  // is an error (the response is incomplete).
  Result FeedEof();

  // True once any byte of this response arrived.
  bool received_any() const { return bytes_received_ > 0; }
  bool head_request() const { return head_request_; }

  // After kComplete:
  int status() const { return status_; }
  const std::string& reason() const { return reason_; }
  const FieldList& fields() const { return fields_; }
  int version_minor() const { return version_minor_; }  // HTTP/1.<minor> of the status line
  size_t head_bytes() const { return parser_.head_bytes(); }  // of the final response's header section
  std::string& body() { return body_; }  // callers may move it out
  const std::string& body() const { return body_; }
  // The connection may carry another request: the server allows keep-alive
  // and did not delimit the body by closing.
  bool keep_alive() const { return keep_alive_; }
  // The server framed the body with chunked transfer coding.
  bool chunked() const { return chunked_; }

  // After kError:
  Fault fault() const { return fault_; }
  const std::string& error() const { return error_; }

 private:
  bool OnHead(MessageParser::Body* body) override;
  bool OnBody(const char* data, size_t len) override;
  // Back to parsing a fresh message (after Start() or an interim 1xx).
  void ResetMessage();
  // Refuses the message from a callback.
  bool Refuse(Fault fault, std::string what);
  Result Fail(Fault fault, std::string what);
  // Head bytes of this response so far plus its body plus `extra` exceed the limit.
  bool OverLimit(size_t extra) const;

  std::string reason_;
  FieldList fields_;
  MessageParser parser_;  // writes reason_ and fields_

  bool head_request_ = false;
  size_t max_response_bytes_ = 0;
  size_t bytes_received_ = 0;
  size_t interim_head_bytes_ = 0;  // header sections of the 1xx responses skipped
  bool interim_ = false;  // the message being parsed is a 1xx to skip

  int status_ = 0;
  int version_minor_ = 1;
  std::string body_;
  bool keep_alive_ = false;
  bool chunked_ = false;
  Fault fault_ = Fault::kNone;
  std::string error_;
};

}  // namespace upmesh::http

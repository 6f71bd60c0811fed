// The query-string options of the demo backend ("?size=1000&delay=50"), the
// knobs tests and demos turn to make a backend slow, big, broken or chatty.
//
//   size=N      body of exactly N bytes, byte i = 'a' + i % 26
//   chunked=1   Transfer-Encoding: chunked, in several chunks
//   delay=MS    answer MS milliseconds after the request arrived
//   status=C    answer with status C (100..599)
//   drop=1      send the head and half the body, then reset the connection
//   echo=1      JSON body describing the request (exclusive with size=N)
//   close=1     Connection: close, and close after the response
//
// Flags take 0 or 1. Unknown keys are ignored (so "?nocache=123" works); a
// known key with a bad value, or given twice, is an error that names the key.
//
// Also the query of PUT /__control, which changes the server's Defaults
// while it runs (see ApplyControl).
#pragma once

#include <cstdint>
#include <string_view>

#include "shared/status.h"

namespace upmesh::backend {

struct ResponseOptions {
  bool has_size = false;
  uint64_t size = 0;
  bool chunked = false;
  int delay_ms = 0;
  int status = 200;
  bool drop = false;
  bool echo = false;
  bool close = false;
};

// What every request gets unless it says otherwise: the flags at start-up,
// changed at run time through /__control.
struct Defaults {
  ResponseOptions response;  // --status, --delay-ms, --size; the rest stay off
  int error_percent = 0;     // --error-percent: the share answered with an injected 500
};

constexpr uint64_t kMaxBodySize = uint64_t{1} << 40;  // the body is generated, never stored
constexpr int kMaxDelayMs = 600000;

// Parses `query` (the part of the target after '?', without the '?') on top
// of `defaults` (the --delay-ms / --status / --size flags) into *options.
// echo=1 replaces a default size (only a size= in the query conflicts).
Status ParseResponseOptions(std::string_view query, const ResponseOptions& defaults,
                            ResponseOptions* options);

// Applies a /__control query to *defaults:
//
//   reset=1         first restore `startup` (the flags)
//   status=C        the default status (100..599)
//   delay=MS        the default delay (0..600000)
//   size=N          the default body size (0..2^40)
//   errorPercent=P  the injected error share (0..100)
//
// Only the keys given change. Unlike the request options, unknown keys are
// errors too: a mistyped key must not look like a change that took effect.
// On any error (naming the key) *defaults is left as it was.
Status ApplyControl(std::string_view query, const Defaults& startup, Defaults* defaults);

}  // namespace upmesh::backend

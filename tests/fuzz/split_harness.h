// Differential split checks shared by the libFuzzer targets (tests/fuzz/*_fuzz.cc)
// and by the unit test that replays their corpora and regressions.
//
// Each check reads its input as: one byte choosing limits and options, one
// byte giving the number of split points (mod 8), that many bytes giving the
// gaps between split points, then the bytes of the stream. It parses the
// stream fed whole, fed cut at those points, and (for streams up to 512
// bytes) fed one byte at a time, and compares everything the parser reports:
// the messages, the stream offset at which each ended, the refusal and its
// text. It returns an empty string if all ways agree, else what differs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace upmesh::fuzz {

std::string CheckRequestReaderSplits(const uint8_t* data, size_t size);
std::string CheckResponseReaderSplits(const uint8_t* data, size_t size);

}  // namespace upmesh::fuzz

// Readable text for the config API's answers (upmeshctl list / show).
//
// Both functions take the API's JSON as it came and never fail: a field
// that is missing or of an unexpected type shows as "-", so that a newer or
// older router still gives readable output.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace upmesh::ctl {

// A table of the array GET /configuration/cluster answers, in its order
// (newest first): UUID, VERSION, MODE, SERVERS, SERVED, STATE; STATE marks
// the newest version and shows the GRADUAL share or CONCURRENT mismatch
// count when the API reports them. Ends with a newline.
std::string FormatClusterList(const nlohmann::json& clusters);

// The details of one {"cluster": {...}, "state": {...}} entry: version,
// servers, upgrade transition in words, requests served, ramp progress,
// mismatches and the recent mismatch reports. Ends with a newline.
std::string FormatClusterDetails(const nlohmann::json& entry);

}  // namespace upmesh::ctl

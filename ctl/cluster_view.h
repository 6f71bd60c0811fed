// Readable text for the config API's answers (upmeshctl list / show /
// explain / status).
//
// The functions take the API's JSON as it came and never fail: a field
// that is missing or of an unexpected type shows as "-", so that a newer or
// older router still gives readable output.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace upmesh::ctl {

// A table of the array GET /configuration/cluster answers, in its order
// (newest first): UUID, VERSION, MODE, SERVERS, SERVED, HEALTH, STATE;
// HEALTH is the monitor's verdict word, STATE marks the newest version and
// shows the GRADUAL share or CONCURRENT mismatch count when the API reports
// them. Ends with a newline.
std::string FormatClusterList(const nlohmann::json& clusters);

// The details of one {"cluster": {...}, "state": {...}} entry: version,
// servers, upgrade transition in words, requests served, ramp progress,
// mismatches and the recent mismatch reports. Ends with a newline.
std::string FormatClusterDetails(const nlohmann::json& entry);

// Why one {"cluster": {...}, "state": {...}} entry gets traffic or not: its
// health with the judge's sentence, its current window's figures and, when
// it was rolled back, the evidence record: when (local time to the ms), why
// (rule and sentence), the thresholds that rule reads, its figures beside
// the old version's, the failure samples, and the timeline as offsets from
// the first failure ("+12 ms  decision"). A version never rolled back says
// so. Ends with a newline.
std::string FormatClusterExplanation(const nlohmann::json& entry);

// The mesh at a glance (upmeshctl status): from GET /status and GET
// /configuration/cluster, one line per version (mode, share set and
// actual, health, requests/s, error rate, p50, p99, median body over the
// monitor's window), the GRADUAL ramp, CONCURRENT mismatches, each
// rollback's reason and sentence, and the live workers and frontends.
// `previous`: the /status answer of the sample before, for the workers'
// requests/s (null: shown as "-"). Control characters in what the mesh
// reports are shown as "?", so nothing it sends moves the terminal's
// cursor. Ends with a newline.
std::string FormatMeshStatus(const nlohmann::json& status, const nlohmann::json& clusters,
                             const nlohmann::json& previous);

}  // namespace upmesh::ctl

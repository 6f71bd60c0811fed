// Suggestions for a misspelt name: "proxy.prot: unknown key; did you mean
// proxy.port?". The closest candidate by edit distance (case sensitive;
// swapping two neighbouring letters counts as one edit, the commonest typo)
// is suggested when it is close enough to be a plausible typo.
#pragma once

#include <string>
#include <vector>

namespace upmesh {

// Insertions, deletions, substitutions and swaps of neighbouring letters
// needed to turn `a` into `b` (optimal string alignment distance).
size_t EditDistance(const std::string& a, const std::string& b);

// The candidate closest to `name` if at most a third of its letters (and at
// least 1, at most 3) differ; "" when none is. Ties go to the first candidate.
std::string ClosestName(const std::string& name, const std::vector<std::string>& candidates);

}  // namespace upmesh

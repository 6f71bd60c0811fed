// ReadSecretFile: the contents of a file that holds a secret (the config
// API's bearer token, a CURVE secret key), refused unless only its owner can
// read it.
//
// Like OpenSSH with a private key, a file that grants any permission to its
// group or to others (mode & 077) is an error, not a warning: a secret that
// other local users may have read is not a secret any more, and a start-up
// error is the one moment an operator is sure to notice. The contents lose
// trailing whitespace (the newline an editor adds); an empty file is an error.
// Every error names `what` and the path and says how to fix it.
#pragma once

#include <string>

#include "shared/status.h"

namespace upmesh {

Status ReadSecretFile(const std::string& what, const std::string& path, std::string* contents);

// The same for a file that need not be secret (a public key): any mode.
Status ReadTextFile(const std::string& what, const std::string& path, std::string* contents);

// Removes trailing spaces, tabs, CR and LF.
void TrimTrailingWhitespace(std::string* text);

}  // namespace upmesh

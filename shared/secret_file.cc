#include "shared/secret_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace upmesh {
namespace {

constexpr off_t kMaxFileBytes = 64 * 1024;  // a token or a key is a line; anything bigger is a wrong path

std::string ModeText(mode_t mode) {
  char text[8];
  std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode & 07777));
  return text;
}

// Opens and reads `path`; `check_mode` refuses group/other permissions.
Status ReadFile(const std::string& what, const std::string& path, bool check_mode, std::string* contents) {
  if (path.empty()) return Status::InvalidArgument(what + ": no file named");
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return Status::InvalidArgument(what + " " + path + ": cannot open: " + std::strerror(errno));
  struct stat info {};
  // fstat on the open descriptor: the file checked is the file read.
  if (::fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
    ::close(fd);
    return Status::InvalidArgument(what + " " + path + ": not a regular file");
  }
  if (check_mode && (info.st_mode & 077) != 0) {
    ::close(fd);
    return Status::InvalidArgument(what + " " + path + ": readable or writable by group or others (mode " +
                                   ModeText(info.st_mode) + "); only its owner may have access: chmod 600 " + path);
  }
  if (info.st_size > kMaxFileBytes) {
    ::close(fd);
    return Status::InvalidArgument(what + " " + path + ": larger than " + std::to_string(kMaxFileBytes) +
                                   " bytes; is it the right file?");
  }
  contents->clear();
  char buffer[4096];
  for (;;) {
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int error = errno;
      ::close(fd);
      return Status::InvalidArgument(what + " " + path + ": cannot read: " + std::strerror(error));
    }
    if (n == 0) break;
    contents->append(buffer, static_cast<size_t>(n));
    if (contents->size() > static_cast<size_t>(kMaxFileBytes)) break;
  }
  ::close(fd);
  TrimTrailingWhitespace(contents);
  if (contents->empty()) return Status::InvalidArgument(what + " " + path + ": the file is empty");
  return Status::Ok();
}

}  // namespace

void TrimTrailingWhitespace(std::string* text) {
  while (!text->empty() && (text->back() == ' ' || text->back() == '\t' || text->back() == '\r' ||
                            text->back() == '\n')) {
    text->pop_back();
  }
}

Status ReadSecretFile(const std::string& what, const std::string& path, std::string* contents) {
  return ReadFile(what, path, /*check_mode=*/true, contents);
}

Status ReadTextFile(const std::string& what, const std::string& path, std::string* contents) {
  return ReadFile(what, path, /*check_mode=*/false, contents);
}

}  // namespace upmesh

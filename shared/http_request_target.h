// The request-target forms of RFC 9112 3.2 as upmesh reads them, and
// the Host field's syntax (RFC 9110 7.2).
//
//   origin-form    "/path?query"          served as it is
//   absolute-form  "http://host/path?q"   rewritten to origin-form; its
//                                         authority replaces Host (3.2.2)
//   asterisk-form  "*"                    OPTIONS only
//   authority-form "host:port"            CONNECT only (refused elsewhere)
// Schemes other than http and https, userinfo, an empty host and fragments
// are refused with 400.
#pragma once

#include <string>
#include <string_view>

namespace upmesh::http {

struct TargetForm {
  std::string origin_form;  // what the backend receives as the target
  std::string authority;    // from an absolute-form target, else empty
  std::string error;        // non-empty: refuse the request with 400
};

TargetForm ParseRequestTarget(std::string_view method, std::string_view target);

// True if `value` is `uri-host [ ":" port ]` (RFC 3986 3.2.2), empty host
// allowed as RFC 9110 7.2 allows for an empty Host field.
bool IsValidHostValue(std::string_view value);

}  // namespace upmesh::http

// The dashboard's files (router/dashboard/: one HTML page, its script, its
// style sheet and icon), embedded in the router at build time and served by the
// config API under /dashboard (docs/rest-api.md, "Dashboard").
//
// Every answer carries a strict Content-Security-Policy (only the router's
// own script, style and API; no inline code, no frames, no other origin),
// so the page works with no internet access and data it shows can never run
// as code; Cache-Control: no-cache, so a router upgrade serves the new page.
//
// The files hold no data (the page reads the API like any client), so they
// are served without the API token: a browser cannot send one when it opens
// a page; the page asks for the token and sends it with every API call.
#pragma once

#include <optional>
#include <string_view>

#include "router/config_api.h"

namespace upmesh::router {

// Whether `path` (without its query) is the dashboard's: /dashboard, /dashboard/ or /dashboard/<file>.
bool IsDashboardPath(std::string_view path);

// The answer to GET `path` of the dashboard: the file with its headers, or 404.
ApiResponse DashboardFile(std::string_view path);

}  // namespace upmesh::router

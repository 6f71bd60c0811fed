// The dashboard's embedded files through the config API: each with its
// Content-Type, Cache-Control and a Content-Security-Policy that allows no
// inline code and no other origin; unknown files and other methods refused.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdlib>
#include <string>

#include "router/config_api.h"
#include "router/dashboard_assets.h"

using upmesh::router::ApiResponse;
using upmesh::router::ClusterRegistry;
using upmesh::router::ConfigApi;
using upmesh::router::IsDashboardPath;

namespace {

std::string FieldOf(const ApiResponse& response, const std::string& name) {
  for (const auto& field : response.extra_fields) {
    if (field.name == name) return field.value;
  }
  return "";
}

struct Fixture {
  Fixture() : registry(Dir() + "/state.json"), api(&registry, nullptr, nullptr) {
    bool loaded;
    REQUIRE(registry.Open(nullptr, 0, &loaded).ok());
  }
  ~Fixture() { std::system(("rm -rf '" + dir + "'").c_str()); }
  std::string Dir() {
    char pattern[] = "/tmp/upmesh-dashboard-test-XXXXXX";
    dir = mkdtemp(pattern);
    return dir;
  }
  ApiResponse Get(const std::string& target) { return api.Handle({"GET", target, ""}, 1000); }

  std::string dir;
  ClusterRegistry registry;
  ConfigApi api;
};

}  // namespace

TEST_CASE("The dashboard's files are served with their type, no-cache and a strict CSP", "[dashboard]") {
  Fixture f;
  struct Expected {
    const char* target;
    const char* content_type;
    const char* contains;
  };
  for (const Expected& expected : {Expected{"/dashboard", "text/html; charset=utf-8", "<!doctype html>"},
                                   Expected{"/dashboard/", "text/html; charset=utf-8", "/dashboard/dashboard.js"},
                                   Expected{"/dashboard/index.html?x=1", "text/html; charset=utf-8", "<title>"},
                                   Expected{"/dashboard/dashboard.js", "text/javascript; charset=utf-8", "textContent"},
                                   Expected{"/dashboard/dashboard.css", "text/css; charset=utf-8", "body"},
                                   Expected{"/dashboard/favicon.svg", "image/svg+xml", "<svg"}}) {
    INFO(expected.target);
    ApiResponse response = f.Get(expected.target);
    CHECK(response.status == 200);
    CHECK(response.content_type == expected.content_type);
    CHECK(response.body.find(expected.contains) != std::string::npos);
    CHECK(FieldOf(response, "Cache-Control") == "no-cache");
    CHECK(FieldOf(response, "X-Content-Type-Options") == "nosniff");
    std::string policy = FieldOf(response, "Content-Security-Policy");
    CHECK(policy.find("default-src 'none'") != std::string::npos);
    CHECK(policy.find("script-src 'self'") != std::string::npos);
    CHECK(policy.find("connect-src 'self'") != std::string::npos);
    CHECK(policy.find("frame-ancestors 'none'") != std::string::npos);
    CHECK(policy.find("unsafe") == std::string::npos);
  }
}

TEST_CASE("The dashboard: no innerHTML in its script, unknown files 404, only GET and HEAD", "[dashboard]") {
  Fixture f;
  CHECK(f.Get("/dashboard/dashboard.js").body.find("innerHTML") == std::string::npos);
  ApiResponse missing = f.Get("/dashboard/../state.json");
  CHECK(missing.status == 404);
  CHECK(FieldOf(missing, "Content-Security-Policy") != "");
  CHECK(f.Get("/dashboard/nope.js").status == 404);
  CHECK(f.Get("/dashboardx").status == 404);  // not the dashboard's: the API's own 404
  ApiResponse put = f.api.Handle({"PUT", "/dashboard", "x"}, 1000);
  CHECK(put.status == 405);
  CHECK(IsDashboardPath("/dashboard"));
  CHECK(IsDashboardPath("/dashboard/dashboard.js"));
  CHECK_FALSE(IsDashboardPath("/dashboardx"));
  CHECK_FALSE(IsDashboardPath("/configuration/cluster"));
}

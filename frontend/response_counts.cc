#include "frontend/response_counts.h"

#include <string>

namespace upmesh::frontend {

void ResponseCounts::Count(int status, bool generated) {
  if (generated) {
    generated_[status]++;
  } else if (status >= 100 && status <= 599) {
    by_class_[status / 100]++;
  }
}

void ResponseCounts::Render(MetricsText* out) const {
  out->Family("upmesh_frontend_responses_total", MetricsText::Type::kCounter,
              "Responses this frontend sent its clients: a backend's by status class, upmesh's own by status.");
  for (int status_class = 1; status_class <= 5; ++status_class) {
    out->Counter({{"code", std::to_string(status_class) + "xx"}}, static_cast<double>(by_class_[status_class]));
  }
  for (const auto& [status, count] : generated_) {
    out->Counter({{"code", std::to_string(status)}}, static_cast<double>(count));
  }
}

}  // namespace upmesh::frontend

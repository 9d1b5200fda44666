// Building the upstream request from the client's.
#include "origin_request.h"

#include "ferry/cache/policy.h"
#include "ferry/http/hop_by_hop.h"

namespace ferry::proxy {

http::RequestHead originRequest(const http::RequestHead& client, const OriginRequestPlan& plan) {
  http::RequestHead request = client;
  http::setFraming(request.headers, plan.framing);
  if (!plan.upgrade.empty())
    http::setUpgrade(request.headers, plan.upgrade);
  if (plan.revalidating)
    cache::policy::prepareRevalidation(request.headers, *plan.revalidating);
  http::applyMaxForwards(request.method, request.headers);
  http::appendVia(request.headers, client.version_major, client.version_minor, plan.via);
  return request;
}

} // namespace ferry::proxy

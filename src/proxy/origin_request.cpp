// Building the upstream request from the client's.
#include "origin_request.h"

#include "ferry/cache/policy.h"
#include "ferry/http/hop_by_hop.h"

namespace ferry::proxy {
namespace {

// What the next hop's head usually gains, beside this hop's pseudonym: Via, and a framing
// field for a body ("Transfer-Encoding: chunked"). Room for it is made in the copy, which
// then takes it without being copied again.
constexpr std::size_t AddedBytes = 48;
constexpr std::size_t AddedFields = 2;

} // namespace

http::RequestHead originRequest(const http::RequestHead& client, const OriginRequestPlan& plan) {
  const std::size_t room = AddedBytes + plan.via.size();
  http::RequestHead request{.method = client.method,
                            .target = client.target,
                            .version_major = client.version_major,
                            .version_minor = client.version_minor,
                            .headers = client.headers.withRoom(room, AddedFields)};
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

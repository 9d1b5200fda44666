// Authenticator: checks Basic proxy credentials (RFC 7617, RFC 9110 §11.7.2) against
// auth.basic's accounts for one worker. A password is hashed with crypt_r only on a miss of
// its credentials cache (a bcrypt costs milliseconds): the cache is keyed by a SHA-256 of
// user, password and stored hash, so it keeps no password and a changed or removed account
// stops matching at once. After max_failures wrong passwords from one client address, that
// address is answered unchecked for `lockout`. Not thread-safe: one per worker loop.
#pragma once

#include "ferry/access/settings.h"
#include "ferry/net/address.h"

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

struct crypt_data;

namespace ferry::access {

// The user name and password of a "Basic <token68>" field value; nullopt when it is not
// one (another scheme, bad base64, no ':').
struct Credentials {
  std::string user;
  std::string password;
};
std::optional<Credentials> parseBasic(std::string_view field_value);

// The Proxy-Authenticate value of a 407: Basic realm="..." (RFC 7617 §2).
std::string basicChallenge(std::string_view realm);

class Authenticator {
public:
  using Clock = std::chrono::steady_clock;

  enum class Outcome {
    Verified, // `user` is set
    Wrong,    // unknown user, wrong password, or not Basic credentials
    Throttled // the client address is locked out: nothing was checked
  };
  struct Result {
    Outcome outcome = Outcome::Wrong;
    std::string user;
  };

  Authenticator();
  ~Authenticator();
  Authenticator(const Authenticator&) = delete;
  Authenticator& operator=(const Authenticator&) = delete;

  // `field_value`: the request's Proxy-Authorization. Counts auth_* counters.
  Result check(const BasicAuth& settings, std::string_view field_value, const net::Address& client,
               Clock::time_point now);

  // Entries bounded at this many each (cache, tracked client addresses).
  static constexpr std::size_t MaxEntries = 4096;

private:
  struct Failures {
    std::size_t count = 0;
    Clock::time_point locked_until;
  };

  bool verify(const std::string& password, const std::string& hash);
  void noteFailure(const BasicAuth& settings, const std::string& client, Clock::time_point now);

  std::unique_ptr<crypt_data> crypt_;
  std::unordered_map<std::string, Clock::time_point> verified_; // SHA-256 → expiry
  std::unordered_map<std::string, Failures> failures_;          // client host → failures
};

} // namespace ferry::access

// Basic credentials: decoding, the credentials cache, the lockout, crypt_r. A cache miss
// runs crypt_r on the worker loop: the lockout bounds how often one client address can
// make it do so.
#include "ferry/access/authenticator.h"

#include "ferry/core/counters.h"

#include <crypt.h>
#include <nettle/sha2.h>

#include <cstring>

namespace ferry::access {
namespace {

int base64Value(char c) {
  if (c >= 'A' && c <= 'Z')
    return c - 'A';
  if (c >= 'a' && c <= 'z')
    return c - 'a' + 26;
  if (c >= '0' && c <= '9')
    return c - '0' + 52;
  if (c == '+')
    return 62;
  if (c == '/')
    return 63;
  return -1;
}

// RFC 4648 §4, padding required.
std::optional<std::string> decodeBase64(std::string_view text) {
  if (text.empty() || text.size() % 4 != 0)
    return std::nullopt;
  std::string out;
  for (std::size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    const int pad = last ? (text[i + 3] == '=') + (text[i + 2] == '=' && text[i + 3] == '=') : 0;
    std::uint32_t group = 0;
    for (std::size_t k = 0; k < 4; ++k) {
      const int v = k >= 4 - static_cast<std::size_t>(pad) ? 0 : base64Value(text[i + k]);
      if (v < 0)
        return std::nullopt;
      group = (group << 6) | static_cast<std::uint32_t>(v);
    }
    for (int k = 0; k < 3 - pad; ++k)
      out += static_cast<char>((group >> (16 - 8 * k)) & 0xff);
  }
  return out;
}

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size())
    return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if ((a[i] | 0x20) != (b[i] | 0x20))
      return false;
  return true;
}

// Compares every byte whatever differs, so the time taken says nothing of where.
bool equalsConstantTime(std::string_view a, std::string_view b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (std::size_t i = 0; i < a.size() && i < b.size(); ++i)
    diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

std::string cacheKey(const Credentials& credentials, const std::string& hash) {
  sha256_ctx ctx;
  sha256_init(&ctx);
  for (const std::string* part : {&credentials.user, &credentials.password, &hash}) {
    sha256_update(&ctx, part->size(), reinterpret_cast<const uint8_t*>(part->data()));
    sha256_update(&ctx, 1, reinterpret_cast<const uint8_t*>("")); // NUL between the parts
  }
  std::string digest(SHA256_DIGEST_SIZE, '\0');
  sha256_digest(&ctx, SHA256_DIGEST_SIZE, reinterpret_cast<uint8_t*>(digest.data()));
  return digest;
}

// Keeps a map within Authenticator::MaxEntries: first what `expired` says is over, then all.
template <class Map, class Pred> void bound(Map& map, Pred expired) {
  if (map.size() < Authenticator::MaxEntries)
    return;
  for (auto it = map.begin(); it != map.end();)
    it = expired(it->second) ? map.erase(it) : std::next(it);
  if (map.size() >= Authenticator::MaxEntries)
    map.clear();
}

} // namespace

std::optional<Credentials> parseBasic(std::string_view value) {
  // RFC 9110 §11.4: credentials = auth-scheme [ 1*SP token68 ]; the scheme is case-insensitive.
  const std::size_t space = value.find(' ');
  if (space == std::string_view::npos || !equalsIgnoreCase(value.substr(0, space), "Basic"))
    return std::nullopt;
  std::string_view token = value.substr(space);
  while (!token.empty() && token.front() == ' ')
    token.remove_prefix(1);
  while (!token.empty() && (token.back() == ' ' || token.back() == '\t'))
    token.remove_suffix(1);
  auto decoded = decodeBase64(token);
  if (!decoded)
    return std::nullopt;
  // RFC 7617 §2: the user-id cannot contain ':'.
  const std::size_t colon = decoded->find(':');
  if (colon == std::string::npos || colon == 0)
    return std::nullopt;
  return Credentials{decoded->substr(0, colon), decoded->substr(colon + 1)};
}

std::string basicChallenge(std::string_view realm) {
  std::string out = "Basic realm=\"";
  for (const char c : realm) {
    if (c == '"' || c == '\\')
      out += '\\'; // RFC 9110 §5.6.4 quoted-pair
    out += c;
  }
  return out + "\", charset=\"UTF-8\"";
}

Authenticator::Authenticator() : crypt_(std::make_unique<crypt_data>()) {
  std::memset(crypt_.get(), 0, sizeof(crypt_data));
}

Authenticator::~Authenticator() = default;

Authenticator::Result Authenticator::check(const BasicAuth& settings, std::string_view field_value,
                                           const net::Address& client, Clock::time_point now) {
  const auto credentials = parseBasic(field_value);
  const std::string host = client.host();
  const auto account =
      credentials ? settings.accounts.find(credentials->user) : settings.accounts.end();
  std::string key;
  if (account != settings.accounts.end()) {
    key = cacheKey(*credentials, account->second);
    if (auto hit = verified_.find(key); hit != verified_.end() && now < hit->second) {
      core::count(core::Counter::AuthCacheHits);
      return {Outcome::Verified, credentials->user};
    }
  }
  if (auto it = failures_.find(host); it != failures_.end() && now < it->second.locked_until) {
    core::count(core::Counter::AuthThrottled);
    return {Outcome::Throttled, {}};
  }
  if (!credentials) {
    noteFailure(settings, host, now);
    return {};
  }
  // An unknown user costs a hash as well, so the time taken does not tell which users exist.
  const bool known = account != settings.accounts.end();
  const std::string& hash =
      known ? account->second
            : (settings.accounts.empty() ? std::string() : settings.accounts.begin()->second);
  const bool good = !hash.empty() && verify(credentials->password, hash) && known;
  if (!good) {
    noteFailure(settings, host, now);
    return {};
  }
  failures_.erase(host);
  bound(verified_, [&](Clock::time_point expiry) { return expiry <= now; });
  verified_[key] = now + settings.credentials_ttl;
  return {Outcome::Verified, credentials->user};
}

bool Authenticator::verify(const std::string& password, const std::string& hash) {
  core::count(core::Counter::AuthPasswordChecks);
  const char* out = crypt_r(password.c_str(), hash.c_str(), crypt_.get());
  // A failed crypt_r returns a string starting with '*', which never equals a stored hash.
  return out && equalsConstantTime(out, hash) && password.find('\0') == std::string::npos;
}

void Authenticator::noteFailure(const BasicAuth& settings, const std::string& client,
                                Clock::time_point now) {
  core::count(core::Counter::AuthFailures);
  bound(failures_, [&](const Failures& failures) { return failures.locked_until <= now; });
  Failures& failures = failures_[client];
  if (++failures.count >= settings.max_failures) {
    failures.count = 0;
    failures.locked_until = now + settings.lockout;
  }
}

} // namespace ferry::access

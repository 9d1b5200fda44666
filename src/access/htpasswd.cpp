// htpasswd lines: the hash method is told by its prefix, then libxcrypt says whether the
// setting is one it can compute.
#include "ferry/access/htpasswd.h"

#include <crypt.h>

#include <array>

namespace ferry::access {
namespace {

constexpr std::string_view Remedy =
    "; make the entry with htpasswd -B (bcrypt) or mkpasswd -m sha-512";

bool startsWith(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

// Why `hash` cannot be used; empty when it can.
std::string hashProblem(const std::string& hash) {
  static constexpr std::array<std::string_view, 5> Taken = {"$2y$", "$2b$", "$2a$", "$6$", "$5$"};
  if (startsWith(hash, "$apr1$") || startsWith(hash, "$1$"))
    return "MD5 hashes ($apr1$, $1$) are refused: too fast to guess" + std::string(Remedy);
  if (startsWith(hash, "{SHA}"))
    return "SHA-1 hashes ({SHA}) are refused: too fast to guess" + std::string(Remedy);
  if (!startsWith(hash, "$"))
    return "plain-text and DES passwords are refused" + std::string(Remedy);
  bool taken = false;
  for (std::string_view prefix : Taken)
    taken = taken || startsWith(hash, prefix);
  if (!taken)
    return "unsupported hash method; ferry takes bcrypt ($2y$), sha512-crypt ($6$) and "
           "sha256-crypt ($5$)";
  // sha256-crypt is "legacy" to libxcrypt but still computed; only a malformed setting is out.
  if (crypt_checksalt(hash.c_str()) == CRYPT_SALT_INVALID)
    return "malformed hash" + std::string(Remedy);
  return {};
}

} // namespace

Htpasswd parseHtpasswd(std::string_view text) {
  Htpasswd out;
  int number = 0;
  while (!text.empty()) {
    ++number;
    const std::size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    if (!line.empty() && line.back() == '\r')
      line.remove_suffix(1);
    if (line.empty() || line.front() == '#')
      continue;
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) {
      out.problems.push_back({number, "expected user:hash"});
      continue;
    }
    const std::string user(line.substr(0, colon));
    std::string_view rest = line.substr(colon + 1);
    const std::string hash(rest.substr(0, rest.find(':')));
    if (std::string why = hashProblem(hash); !why.empty()) {
      out.problems.push_back({number, "user " + user + ": " + why});
      continue;
    }
    if (!out.accounts.emplace(user, hash).second)
      out.problems.push_back({number, "user " + user + " is listed twice"});
  }
  return out;
}

} // namespace ferry::access

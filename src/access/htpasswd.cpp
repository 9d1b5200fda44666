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

// crypt(3)'s base-64 alphabet.
bool isCryptText(std::string_view text) {
  return text.find_first_not_of(
             "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") ==
         std::string_view::npos;
}

// The shape of each hash taken, which crypt_checksalt alone does not check (it reads only
// the setting): bcrypt "$2b$NN$" + 53 characters with a cost from 4 to 31; sha-crypt
// "$6$[rounds=N$]salt$" + 86 characters (43 for $5$), a salt of at most 16.
bool isWellFormed(std::string_view hash) {
  if (hash[1] == '2') {
    if (hash.size() != 60 || hash[6] != '$' || !isCryptText(hash.substr(7)))
      return false;
    const int cost = (hash[4] - '0') * 10 + (hash[5] - '0');
    return hash[4] >= '0' && hash[4] <= '9' && hash[5] >= '0' && hash[5] <= '9' && cost >= 4 &&
           cost <= 31;
  }
  std::string_view rest = hash.substr(3);
  if (startsWith(rest, "rounds=")) {
    const std::size_t end = rest.find('$');
    const std::string_view digits = rest.substr(7, end == std::string_view::npos ? 0 : end - 7);
    if (digits.empty() || digits.find_first_not_of("0123456789") != std::string_view::npos)
      return false;
    rest = rest.substr(end + 1);
  }
  const std::size_t dollar = rest.find('$');
  const std::size_t length = hash[1] == '6' ? 86 : 43;
  return dollar != std::string_view::npos && dollar <= 16 && isCryptText(rest.substr(0, dollar)) &&
         rest.size() - dollar - 1 == length && isCryptText(rest.substr(dollar + 1));
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
  if (crypt_checksalt(hash.c_str()) == CRYPT_SALT_INVALID || !isWellFormed(hash))
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

// Reading an htpasswd file (Apache's "user:hash" lines) for auth.basic: only hashes made to
// be slow are taken — bcrypt ($2y$, $2b$, $2a$), sha512-crypt ($6$) and sha256-crypt ($5$),
// as libxcrypt's crypt_checksalt accepts them; plain text, DES, MD5 (apr1, $1$) and {SHA}
// are refused with the command that makes a good entry. It reads text; the file is config's.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace ferry::access {

struct HtpasswdProblem {
  int line = 0; // 1-based
  std::string what;
};

struct Htpasswd {
  std::map<std::string, std::string, std::less<>> accounts; // user → hash
  std::vector<HtpasswdProblem> problems;                    // in line order
};

// Blank lines and lines starting with '#' are skipped; "user:hash[:comment]" otherwise.
Htpasswd parseHtpasswd(std::string_view text);

} // namespace ferry::access

// Structured Field Values (RFC 8941): the Dictionary parser that targeted cache-control fields
// (RFC 9213) need. Parsing only, strict as §4.2 says (one bad byte fails the whole field);
// parameters are checked but not kept. No serializing.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ferry::http {

// One Item (§3.3) or Inner List (§3.1.1), without its parameters.
struct StructuredItem {
  enum class Type { Integer, Decimal, String, Token, ByteSequence, Boolean, InnerList };
  Type type = Type::Boolean;
  std::int64_t integer = 0; // Integer; Boolean: 0 or 1
  std::string text;         // String (unescaped), Token, ByteSequence (still base64), Decimal
};

struct DictionaryMember {
  std::string key;
  StructuredItem value; // a member without "=" is Boolean true (§3.2)
};

// §4.2.2: a Dictionary field value, the field lines already combined with ", " (§4.2). A key
// given twice keeps its last value in the first one's place. nullopt on any parse error;
// an empty list of members for an empty value.
std::optional<std::vector<DictionaryMember>> parseDictionary(std::string_view value);

} // namespace ferry::http

// RFC 8941 §4.2 parsing, one function per algorithm of the RFC, on a cursor that only moves
// forward.
#include "ferry/http/structured_field.h"

#include "chars.h"

namespace ferry::http {

namespace {

bool isDigit(char c) {
  return c >= '0' && c <= '9';
}
bool isLcalpha(char c) {
  return c >= 'a' && c <= 'z';
}
bool isAlpha(char c) {
  return isLcalpha(c) || (c >= 'A' && c <= 'Z');
}

class Cursor {
public:
  explicit Cursor(std::string_view input) : rest_(input) {}
  bool empty() const { return rest_.empty(); }
  char peek() const { return rest_.empty() ? '\0' : rest_.front(); }
  char take() {
    const char c = rest_.front();
    rest_.remove_prefix(1);
    return c;
  }
  bool takeIf(char c) {
    if (peek() != c || rest_.empty())
      return false;
    rest_.remove_prefix(1);
    return true;
  }
  void skipSpaces() {
    while (!rest_.empty() && rest_.front() == ' ')
      rest_.remove_prefix(1);
  }
  void skipOws() {
    while (!rest_.empty() && (rest_.front() == ' ' || rest_.front() == '\t'))
      rest_.remove_prefix(1);
  }

private:
  std::string_view rest_;
};

// §4.2.3.3
std::optional<std::string> parseKey(Cursor& in) {
  if (!isLcalpha(in.peek()) && in.peek() != '*')
    return std::nullopt;
  std::string key;
  while (!in.empty()) {
    const char c = in.peek();
    if (!isLcalpha(c) && !isDigit(c) && c != '_' && c != '-' && c != '.' && c != '*')
      break;
    key += in.take();
  }
  return key;
}

// §4.2.4
bool parseNumber(Cursor& in, StructuredItem& item) {
  const bool negative = in.takeIf('-');
  if (!isDigit(in.peek()))
    return false;
  std::string digits;
  bool decimal = false;
  std::size_t integer_digits = 0;
  while (!in.empty()) {
    const char c = in.peek();
    if (isDigit(c)) {
      digits += in.take();
    } else if (c == '.' && !decimal) {
      if (digits.size() > 12)
        return false;
      decimal = true;
      integer_digits = digits.size();
      digits += in.take();
    } else {
      break;
    }
    if (!decimal && digits.size() > 15)
      return false;
    if (decimal && digits.size() > 16)
      return false;
  }
  if (!decimal) {
    item.type = StructuredItem::Type::Integer;
    std::int64_t value = 0;
    for (char c : digits)
      value = value * 10 + (c - '0');
    item.integer = negative ? -value : value;
    return true;
  }
  const std::size_t fraction = digits.size() - integer_digits - 1;
  if (fraction == 0 || fraction > 3)
    return false;
  item.type = StructuredItem::Type::Decimal;
  item.text = (negative ? "-" : "") + digits;
  return true;
}

// §4.2.5
bool parseString(Cursor& in, StructuredItem& item) {
  in.take(); // DQUOTE
  item.type = StructuredItem::Type::String;
  while (!in.empty()) {
    const char c = in.take();
    if (c == '\\') {
      if (in.empty() || (in.peek() != '"' && in.peek() != '\\'))
        return false;
      item.text += in.take();
    } else if (c == '"') {
      return true;
    } else if (c < 0x20 || c > 0x7e) {
      return false;
    } else {
      item.text += c;
    }
  }
  return false; // no closing DQUOTE
}

// §4.2.6
void parseToken(Cursor& in, StructuredItem& item) {
  item.type = StructuredItem::Type::Token;
  item.text += in.take();
  while (!in.empty()) {
    const char c = in.peek();
    if (!chars::TokenTable[static_cast<unsigned char>(c)] && c != ':' && c != '/')
      break;
    item.text += in.take();
  }
}

// §4.2.7: the base64 is checked for its alphabet only; nothing here needs the bytes.
bool parseByteSequence(Cursor& in, StructuredItem& item) {
  in.take(); // ":"
  item.type = StructuredItem::Type::ByteSequence;
  while (!in.empty()) {
    const char c = in.take();
    if (c == ':')
      return true;
    if (!isAlpha(c) && !isDigit(c) && c != '+' && c != '/' && c != '=')
      return false;
    item.text += c;
  }
  return false;
}

// §4.2.8
bool parseBoolean(Cursor& in, StructuredItem& item) {
  in.take(); // "?"
  item.type = StructuredItem::Type::Boolean;
  if (in.takeIf('1')) {
    item.integer = 1;
    return true;
  }
  item.integer = 0;
  return in.takeIf('0');
}

// §4.2.3.1
bool parseBareItem(Cursor& in, StructuredItem& item) {
  const char c = in.peek();
  if (in.empty())
    return false;
  if (c == '-' || isDigit(c))
    return parseNumber(in, item);
  if (c == '"')
    return parseString(in, item);
  if (c == '*' || isAlpha(c)) {
    parseToken(in, item);
    return true;
  }
  if (c == ':')
    return parseByteSequence(in, item);
  if (c == '?')
    return parseBoolean(in, item);
  return false;
}

// §4.2.3.2: checked, then dropped.
bool parseParameters(Cursor& in) {
  while (in.takeIf(';')) {
    in.skipSpaces();
    if (!parseKey(in))
      return false;
    StructuredItem value;
    if (in.takeIf('=') && !parseBareItem(in, value))
      return false;
  }
  return true;
}

// §4.2.3
bool parseItem(Cursor& in, StructuredItem& item) {
  return parseBareItem(in, item) && parseParameters(in);
}

// §4.2.1.2
bool parseInnerList(Cursor& in, StructuredItem& item) {
  in.take(); // "("
  item.type = StructuredItem::Type::InnerList;
  for (;;) {
    in.skipSpaces();
    if (in.takeIf(')'))
      return parseParameters(in);
    StructuredItem member;
    if (!parseItem(in, member))
      return false;
    if (in.peek() != ' ' && in.peek() != ')')
      return false;
  }
}

bool parseItemOrInnerList(Cursor& in, StructuredItem& item) {
  return in.peek() == '(' ? parseInnerList(in, item) : parseItem(in, item);
}

} // namespace

std::optional<std::vector<DictionaryMember>> parseDictionary(std::string_view value) {
  // §4.2: leading and trailing SP are discarded.
  while (!value.empty() && value.back() == ' ')
    value.remove_suffix(1);
  Cursor in(value);
  in.skipSpaces();
  std::vector<DictionaryMember> members;
  while (!in.empty()) {
    DictionaryMember member;
    auto key = parseKey(in);
    if (!key)
      return std::nullopt;
    member.key = std::move(*key);
    if (in.takeIf('=')) {
      if (!parseItemOrInnerList(in, member.value))
        return std::nullopt;
    } else {
      member.value.integer = 1; // Boolean true
      if (!parseParameters(in))
        return std::nullopt;
    }
    bool replaced = false;
    for (DictionaryMember& earlier : members)
      if (earlier.key == member.key) {
        earlier.value = std::move(member.value);
        replaced = true;
      }
    if (!replaced)
      members.push_back(std::move(member));
    in.skipOws();
    if (in.empty())
      break;
    if (!in.takeIf(','))
      return std::nullopt;
    in.skipOws();
    if (in.empty())
      return std::nullopt; // a trailing comma
  }
  return members;
}

} // namespace ferry::http

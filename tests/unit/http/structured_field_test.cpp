// RFC 8941 Dictionary parsing as a table: field value → members (rendered "key=type:value"),
// or a parse error. Each row names the section it checks.
#include "ferry/http/structured_field.h"

#include <catch2/catch.hpp>

using namespace ferry::http;

namespace {

std::string render(const std::vector<DictionaryMember>& members) {
  std::string out;
  for (const DictionaryMember& m : members) {
    if (!out.empty())
      out += ' ';
    out += m.key + '=';
    const StructuredItem& v = m.value;
    switch (v.type) {
    case StructuredItem::Type::Integer:
      out += "int:" + std::to_string(v.integer);
      break;
    case StructuredItem::Type::Decimal:
      out += "dec:" + v.text;
      break;
    case StructuredItem::Type::String:
      out += "str:" + v.text;
      break;
    case StructuredItem::Type::Token:
      out += "tok:" + v.text;
      break;
    case StructuredItem::Type::ByteSequence:
      out += "bin:" + v.text;
      break;
    case StructuredItem::Type::Boolean:
      out += v.integer ? "?1" : "?0";
      break;
    case StructuredItem::Type::InnerList:
      out += "list";
      break;
    }
  }
  return out;
}

struct Row {
  const char* name;
  const char* value;
  const char* members; // nullptr: a parse error
};

// clang-format off
const Row Rows[] = {
  {"§4.2.2 an empty value has no members", "", ""},
  {"§3.2 a member without a value is Boolean true", "no-store", "no-store=?1"},
  {"§3.3.1 Integer", "max-age=3600", "max-age=int:3600"},
  {"§3.3.1 negative Integer", "a=-5", "a=int:-5"},
  {"§3.3.1 Integer of 15 digits", "a=999999999999999", "a=int:999999999999999"},
  {"§4.2.4 Integer of 16 digits fails", "a=9999999999999999", nullptr},
  {"§3.3.2 Decimal", "a=1.5", "a=dec:1.5"},
  {"§4.2.4 Decimal without a fraction fails", "a=1.", nullptr},
  {"§4.2.4 Decimal with 4 fraction digits fails", "a=1.2345", nullptr},
  {"§3.3.3 String, with escapes", "a=\"x\\\"y\\\\z\"", "a=str:x\"y\\z"},
  {"§4.2.5 an unknown escape fails", "a=\"\\n\"", nullptr},
  {"§4.2.5 an unterminated String fails", "a=\"abc", nullptr},
  {"§3.3.4 Token", "a=foo/bar:1", "a=tok:foo/bar:1"},
  {"§3.3.5 Byte Sequence", "a=:aGk=:", "a=bin:aGk="},
  {"§3.3.6 Boolean false", "a=?0", "a=?0"},
  {"§4.2.8 a bad Boolean fails", "a=?2", nullptr},
  {"§3.1.1 Inner List", "a=(1 2 \"x\");p=1, b", "a=list b=?1"},
  {"§4.2.1.2 an Inner List needs SP between members", "a=(1,2)", nullptr},
  {"§3.1.2 parameters are accepted and dropped", "a=1;q=0.5;x, b;y=?0", "a=int:1 b=?1"},
  {"§4.2.2 several members, OWS around commas", "a=1 ,\tb=2,c", "a=int:1 b=int:2 c=?1"},
  {"§4.2 leading and trailing SP are discarded", "  a=1  ", "a=int:1"},
  {"§4.2.2 a key given twice keeps its last value in its first place",
   "a=1, b=2, a=3", "a=int:3 b=int:2"},
  {"§4.2.3.3 keys are lower case", "MaX-aGe=1", nullptr},
  {"§4.2.3.3 a key may start with *", "*a=1", "*a=int:1"},
  {"§4.2.2 a trailing comma fails", "a=1,", nullptr},
  {"§4.2.2 junk after a member fails", "a=1 b", nullptr},
  {"§4.2.3.1 an unknown type fails", "max-age=10000, &&&&&", nullptr},
  {"§4.2.3.1 no space before =", "max-age =100", nullptr},
  {"§4.2.3.1 no space after =", "max-age= 100", nullptr},
  {"§4.2.3.1 an empty item fails", "a=", nullptr},
};
// clang-format on

} // namespace

TEST_CASE("#11 RFC 8941 Dictionary: field value → members or error", "[http]") {
  for (const Row& row : Rows) {
    SECTION(row.name) {
      const auto members = parseDictionary(row.value);
      if (row.members == nullptr) {
        CHECK_FALSE(members);
      } else {
        REQUIRE(members);
        CHECK(render(*members) == row.members);
      }
    }
  }
}

// HTTP-date parsing and formatting (RFC 9110 §5.6.7) with the C++20 calendar. Dates outside
// what a system_clock time point holds (e.g. "31 Dec 9999") are clamped to its range, so
// callers can compare them without overflow.
#include "ferry/cache/http_date.h"

#include <array>
#include <cstdint>

namespace ferry::cache {

namespace {

using namespace std::chrono;

constexpr std::array<std::string_view, 7> DayNames = {"Sun", "Mon", "Tue", "Wed",
                                                      "Thu", "Fri", "Sat"};
constexpr std::array<std::string_view, 7> LongDayNames = {
    "Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"};
constexpr std::array<std::string_view, 12> MonthNames = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

// Reads the grammar of §5.6.7 left to right; every method consumes only on success.
class Cursor {
public:
  explicit Cursor(std::string_view text) : rest_(text) {}

  bool done() const { return rest_.empty(); }

  bool literal(std::string_view text) {
    if (rest_.substr(0, text.size()) != text)
      return false;
    rest_.remove_prefix(text.size());
    return true;
  }

  // Exactly `count` digits.
  bool digits(std::size_t count, int& out) {
    if (rest_.size() < count)
      return false;
    int value = 0;
    for (std::size_t i = 0; i < count; ++i) {
      const char c = rest_[i];
      if (c < '0' || c > '9')
        return false;
      value = value * 10 + (c - '0');
    }
    rest_.remove_prefix(count);
    out = value;
    return true;
  }

  // One of `names`, case-sensitive; out is its index.
  template <std::size_t N> bool name(const std::array<std::string_view, N>& names, int& out) {
    for (std::size_t i = 0; i < N; ++i) {
      if (literal(names[i])) {
        out = static_cast<int>(i);
        return true;
      }
    }
    return false;
  }

  // time-of-day = hour ":" minute ":" second
  bool timeOfDay(int& hour, int& minute, int& second) {
    return digits(2, hour) && literal(":") && digits(2, minute) && literal(":") &&
           digits(2, second);
  }

private:
  std::string_view rest_;
};

struct Fields {
  int year = 0;
  int month = 0; // 0..11
  int day = 0;
  int hour = 0;
  int minute = 0;
  int second = 0;
};

// IMF-fixdate = day-name "," SP date1 SP time-of-day SP GMT; date1 = day SP month SP year
bool parseImfFixdate(std::string_view text, Fields& f) {
  Cursor in(text);
  int weekday = 0;
  return in.name(DayNames, weekday) && in.literal(", ") && in.digits(2, f.day) && in.literal(" ") &&
         in.name(MonthNames, f.month) && in.literal(" ") && in.digits(4, f.year) &&
         in.literal(" ") && in.timeOfDay(f.hour, f.minute, f.second) && in.literal(" GMT") &&
         in.done();
}

// rfc850-date = day-name-l "," SP date2 SP time-of-day SP GMT; date2 = day "-" month "-" 2DIGIT
bool parseRfc850(std::string_view text, Fields& f, int reference_year) {
  Cursor in(text);
  int weekday = 0;
  int two_digits = 0;
  if (!(in.name(LongDayNames, weekday) && in.literal(", ") && in.digits(2, f.day) &&
        in.literal("-") && in.name(MonthNames, f.month) && in.literal("-") &&
        in.digits(2, two_digits) && in.literal(" ") && in.timeOfDay(f.hour, f.minute, f.second) &&
        in.literal(" GMT") && in.done()))
    return false;
  // §5.6.7: a year more than 50 years in the future is the most recent past one with the
  // same last two digits: the latest year ≤ reference + 50 ending in those digits.
  const int latest = reference_year + 50;
  f.year = latest - (((latest - two_digits) % 100) + 100) % 100;
  return true;
}

// asctime-date = day-name SP date3 SP time-of-day SP year; date3 = month SP ( 2DIGIT / SP DIGIT )
bool parseAsctime(std::string_view text, Fields& f) {
  Cursor in(text);
  int weekday = 0;
  if (!(in.name(DayNames, weekday) && in.literal(" ") && in.name(MonthNames, f.month) &&
        in.literal(" ")))
    return false;
  if (!(in.literal(" ") ? in.digits(1, f.day) : in.digits(2, f.day)))
    return false;
  return in.literal(" ") && in.timeOfDay(f.hour, f.minute, f.second) && in.literal(" ") &&
         in.digits(4, f.year) && in.done();
}

std::string_view trimmed(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t'))
    text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t'))
    text.remove_suffix(1);
  return text;
}

int yearOf(TimePoint time) {
  return static_cast<int>(year_month_day(floor<days>(time)).year());
}

} // namespace

std::optional<TimePoint> parseHttpDate(std::string_view text, TimePoint reference) {
  text = trimmed(text);
  Fields f;
  if (!parseImfFixdate(text, f) && !parseRfc850(text, f, yearOf(reference)) &&
      !parseAsctime(text, f))
    return std::nullopt;
  const year_month_day date{year(f.year), month(static_cast<unsigned>(f.month) + 1),
                            day(static_cast<unsigned>(f.day))};
  if (!date.ok() || f.hour > 23 || f.minute > 59 || f.second > 60)
    return std::nullopt;
  const int second = f.second == 60 ? 59 : f.second;
  const std::int64_t epoch = sys_days(date).time_since_epoch().count() * std::int64_t{86400} +
                             f.hour * 3600 + f.minute * 60 + second;
  // Clamp to what TimePoint holds (about 1678..2262 with nanosecond ticks).
  const std::int64_t lowest = ceil<seconds>(TimePoint::min().time_since_epoch()).count();
  const std::int64_t highest = floor<seconds>(TimePoint::max().time_since_epoch()).count();
  if (epoch <= lowest)
    return TimePoint(duration_cast<TimePoint::duration>(seconds(lowest)));
  if (epoch >= highest)
    return TimePoint(duration_cast<TimePoint::duration>(seconds(highest)));
  return TimePoint(duration_cast<TimePoint::duration>(seconds(epoch)));
}

std::string formatHttpDate(TimePoint time) {
  const auto midnight = floor<days>(time);
  const year_month_day date(midnight);
  const hh_mm_ss<seconds> clock(floor<seconds>(time - midnight));
  const weekday wd(midnight);
  char out[32];
  const auto two = [&](char* at, unsigned value) {
    at[0] = static_cast<char>('0' + value / 10 % 10);
    at[1] = static_cast<char>('0' + value % 10);
  };
  // "Sun, 06 Nov 1994 08:49:37 GMT"
  const std::string_view dayName = DayNames[wd.c_encoding()];
  const std::string_view monthName = MonthNames[static_cast<unsigned>(date.month()) - 1];
  const int y = static_cast<int>(date.year());
  std::size_t n = 0;
  for (char c : dayName)
    out[n++] = c;
  out[n++] = ',';
  out[n++] = ' ';
  two(out + n, static_cast<unsigned>(date.day()));
  n += 2;
  out[n++] = ' ';
  for (char c : monthName)
    out[n++] = c;
  out[n++] = ' ';
  const unsigned year4 = static_cast<unsigned>(y < 0 ? 0 : y % 10000);
  two(out + n, year4 / 100);
  two(out + n + 2, year4 % 100);
  n += 4;
  out[n++] = ' ';
  two(out + n, static_cast<unsigned>(clock.hours().count()));
  out[n + 2] = ':';
  two(out + n + 3, static_cast<unsigned>(clock.minutes().count()));
  out[n + 5] = ':';
  two(out + n + 6, static_cast<unsigned>(clock.seconds().count()));
  n += 8;
  for (char c : std::string_view(" GMT"))
    out[n++] = c;
  return std::string(out, n);
}

} // namespace ferry::cache

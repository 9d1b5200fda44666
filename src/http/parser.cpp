// The llhttp wrapper behind RequestParser and ResponseParser. llhttp (strict mode, no lenient
// flags) tokenises; this file pauses it after each event, enforces the size limits, scans
// every byte that is not body data for bare CR/LF, control bytes and obs-fold, and decides
// the framing itself, refusing whatever llhttp and RFC 9112 §6 might read differently.
//
//            bytes                  on_headers_complete          on_message_complete
//   ┌──────▶ Head ─────────────────────────────▶ Body ──────────────────────────┐
//   │         │  ▲ 1xx interim head: stays Head                                  │
//   │         │  └──────────────────────────────────────────────────────────────┤
//   │         └──────────── bad bytes, limits ─────▶ Failed ◀── bad framing ─────┤
//   └────────────────────────── next message ───────────────────────────────────┤
//                      CONNECT request, 2xx to CONNECT ─▶ Tunnel                 │
//                      finish() ─▶ Closed ◀──────────────────────────────────────┘
#include "ferry/http/parser.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>

#include "chars.h"
#include "ferry/core/assert.h"

namespace ferry::http::detail {
namespace {

MessageParser& self(llhttp_t* p) {
  return *static_cast<MessageParser*>(p->data);
}

// A non-null pointer for empty input: llhttp treats a null span start as "no span open".
constexpr char EmptyInput[1] = {0};

bool isRequest(llhttp_type_t type) {
  return type == HTTP_REQUEST;
}

// Field names whose '_' spelling some origins read as the '-' one (CGI maps both to
// HTTP_CONTENT_LENGTH): refusing them closes a smuggling path behind the proxy.
bool isDisguisedFramingName(std::string_view name) {
  if (name.find('_') == std::string_view::npos) {
    return false;
  }
  std::string dashed(name);
  std::replace(dashed.begin(), dashed.end(), '_', '-');
  return equalsIgnoreCase(dashed, "content-length") ||
         equalsIgnoreCase(dashed, "transfer-encoding") || equalsIgnoreCase(dashed, "host");
}

} // namespace

const llhttp_settings_t MessageParser::Callbacks = [] {
  llhttp_settings_t s;
  llhttp_settings_init(&s);
  s.on_message_begin = &MessageParser::onMessageBegin;
  s.on_method = &MessageParser::onMethod;
  s.on_url = &MessageParser::onUrl;
  s.on_status = &MessageParser::onStatus;
  s.on_version_complete = &MessageParser::onVersionComplete;
  s.on_status_complete = &MessageParser::onStatusComplete;
  s.on_header_field = &MessageParser::onHeaderField;
  s.on_header_field_complete = &MessageParser::onHeaderFieldComplete;
  s.on_header_value = &MessageParser::onHeaderValue;
  s.on_header_value_complete = &MessageParser::onHeaderValueComplete;
  s.on_headers_complete = &MessageParser::onHeadersComplete;
  s.on_body = &MessageParser::onBody;
  s.on_message_complete = &MessageParser::onMessageComplete;
  return s;
}();

MessageParser::MessageParser(llhttp_type_t type, const Limits& limits)
    : type_(type), limits_(limits) {
  llhttp_init(&llhttp_, type_, &Callbacks);
}

MessageParser::MessageParser(MessageParser&&) noexcept = default;
MessageParser& MessageParser::operator=(MessageParser&&) noexcept = default;
MessageParser::~MessageParser() = default;

void MessageParser::reset() {
  llhttp_init(&llhttp_, type_, &Callbacks);
  state_ = State::Head;
  expect_ = Expect::Get;
  paused_ = false;
  begun_ = false;
  head_bytes_ = 0;
  framing_bytes_ = 0;
  scan_ = Scan{};
  pending_ = Pending::None;
  interim_ = false;
  body_ = {};
  startMessage();
  error_ = ParseError{};
}

void MessageParser::expect(std::string_view request_method, bool upgrade) noexcept {
  if (request_method == "HEAD") {
    expect_ = Expect::Head;
  } else if (request_method == "CONNECT") {
    expect_ = Expect::Connect;
  } else if (upgrade) {
    expect_ = Expect::Upgrade;
  } else {
    expect_ = Expect::Get;
  }
}

bool MessageParser::isIdle() const noexcept {
  return state_ == State::Head && !begun_;
}

Headers& MessageParser::fieldsInProgress() noexcept {
  if (state_ == State::Body) {
    return trailers_;
  }
  return isRequest(type_) ? request_.headers : response_.headers;
}

void MessageParser::startMessage() {
  request_.method.clear();
  request_.target.clear();
  request_.version_major = 1;
  request_.version_minor = 1;
  request_.headers.clear();
  response_.version_major = 1;
  response_.version_minor = 1;
  response_.status = 0;
  response_.reason.clear();
  response_.headers.clear();
  target_.form = TargetForm::Origin;
  target_.scheme.clear();
  target_.host.clear();
  target_.port = 0;
  target_.path.clear();
  target_.error = ParseError{};
  framing_ = Framing{};
  trailers_.clear();
  in_start_line_ = true;
  field_open_ = false;
  host_count_ = 0;
  field_count_ = 0;
}

int MessageParser::fail(int status, const char* reason) {
  if (!error_.isError()) {
    error_ = ParseError{isRequest(type_) ? status : 502, reason};
  }
  return HPE_USER;
}

Step MessageParser::failed() {
  state_ = State::Failed;
  return Step{Event::Error, 0, {}};
}

// ---- llhttp callbacks -------------------------------------------------------------------

int MessageParser::onMessageBegin(llhttp_t* p) {
  MessageParser& m = self(p);
  m.startMessage();
  m.begun_ = true;
  return 0;
}

// Span callbacks never fail: a limit checked where llhttp happens to cut a span would give
// a verdict that depends on how the bytes were split. Limits are windows (see parse()).
int MessageParser::onMethod(llhttp_t* p, const char* at, std::size_t size) {
  self(p).request_.method.append(at, size);
  return 0;
}

int MessageParser::onUrl(llhttp_t* p, const char* at, std::size_t size) {
  self(p).request_.target.append(at, size);
  return 0;
}

int MessageParser::onStatus(llhttp_t* p, const char* at, std::size_t size) {
  self(p).response_.reason.append(at, size);
  return 0;
}

int MessageParser::onVersionComplete(llhttp_t* p) {
  MessageParser& m = self(p);
  if (isRequest(m.type_)) {
    m.in_start_line_ = false; // the version ends a request-line
  }
  return 0;
}

int MessageParser::onStatusComplete(llhttp_t* p) {
  self(p).in_start_line_ = false;
  return 0;
}

void MessageParser::openField() {
  in_start_line_ = false;
  field_open_ = true;
  Headers& h = fieldsInProgress();
  Headers::Entry e{};
  e.name_offset = static_cast<std::uint32_t>(h.bytes_.size());
  h.entries_.push_back(e);
}

int MessageParser::onHeaderField(llhttp_t* p, const char* at, std::size_t size) {
  MessageParser& m = self(p);
  if (!m.field_open_) {
    m.openField();
  }
  Headers& h = m.fieldsInProgress();
  h.bytes_.append(at, size);
  h.entries_.back().name_size += static_cast<std::uint32_t>(size);
  return 0;
}

int MessageParser::onHeaderFieldComplete(llhttp_t* p) {
  MessageParser& m = self(p);
  if (!m.field_open_) {
    m.openField(); // an empty name gets no span
  }
  if (++m.field_count_ > m.limits_.header_count) {
    return m.state_ == State::Body ? m.fail(400, "too many trailer fields")
                                   : m.fail(431, "too many header fields");
  }
  Headers& h = m.fieldsInProgress();
  Headers::Entry& e = h.entries_.back();
  // RFC 9110 §5.1: field-name = token. llhttp lets an empty name through.
  const std::string_view name(h.bytes_.data() + e.name_offset, e.name_size);
  if (!chars::isToken(name)) {
    return m.fail(400, "invalid field name");
  }
  if (isDisguisedFramingName(name)) {
    return m.fail(400, "field name disguised as a framing field");
  }
  // RFC 9110 §6.5.1: framing and routing fields cannot be trailers; llhttp would still act on
  // some of them (and differently for requests and responses).
  if (m.state_ == State::Body &&
      (equalsIgnoreCase(name, "transfer-encoding") || equalsIgnoreCase(name, "content-length") ||
       equalsIgnoreCase(name, "host"))) {
    return m.fail(400, "framing or routing field in trailers");
  }
  e.value_offset = static_cast<std::uint32_t>(h.bytes_.size());
  e.value_size = 0;
  return 0;
}

int MessageParser::onHeaderValue(llhttp_t* p, const char* at, std::size_t size) {
  MessageParser& m = self(p);
  Headers& h = m.fieldsInProgress();
  h.bytes_.append(at, size);
  h.entries_.back().value_size += static_cast<std::uint32_t>(size);
  return 0;
}

int MessageParser::onHeaderValueComplete(llhttp_t* p) {
  MessageParser& m = self(p);
  Headers& h = m.fieldsInProgress();
  Headers::Entry& e = h.entries_.back();
  // RFC 9112 §5: leading and trailing whitespace is not part of the field value.
  const std::string_view raw(h.bytes_.data() + e.value_offset, e.value_size);
  const std::string_view value = chars::trimOws(raw);
  e.value_offset += static_cast<std::uint32_t>(value.data() - raw.data());
  e.value_size = static_cast<std::uint32_t>(value.size());
  m.field_open_ = false;
  if (m.state_ != State::Body &&
      equalsIgnoreCase(std::string_view(h.bytes_.data() + e.name_offset, e.name_size), "host")) {
    ++m.host_count_;
  }
  return 0;
}

int MessageParser::onHeadersComplete(llhttp_t* p) {
  MessageParser& m = self(p);
  m.in_start_line_ = false;
  const int rc = isRequest(m.type_) ? m.completeRequestHead() : m.completeResponseHead();
  if (rc != 0) {
    return rc;
  }
  m.pending_ = Pending::Head;
  m.field_count_ = 0; // trailers are counted on their own
  return HPE_PAUSED;
}

int MessageParser::onBody(llhttp_t* p, const char* at, std::size_t size) {
  if (size == 0) {
    return 0;
  }
  MessageParser& m = self(p);
  m.body_ = std::string_view(at, size);
  m.pending_ = Pending::Body;
  return HPE_PAUSED;
}

int MessageParser::onMessageComplete(llhttp_t* p) {
  MessageParser& m = self(p);
  if (m.interim_) {
    // The end of a 1xx head: nothing to report, the final response follows.
    m.interim_ = false;
    m.begun_ = false;
    return 0;
  }
  m.pending_ = Pending::End;
  return HPE_PAUSED;
}

// ---- head checks ------------------------------------------------------------------------

// RFC 9112 §6.1: Transfer-Encoding lists codings in the order applied. ferry removes and
// re-applies only "chunked". A request with any other coding is refused: its body cannot be
// framed or forwarded faithfully. A response keeps its other codings in `framing_.codings`,
// relayed undecoded; without a final chunked it is read until the origin closes (§6.3 rule 4).
int MessageParser::checkTransferEncoding() {
  const bool request = isRequest(type_);
  const Headers& h = request ? request_.headers : response_.headers;
  std::size_t members = 0;
  std::size_t chunked = 0;
  bool last_is_chunked = false;
  bool malformed = false;
  std::string codings; // the members before a final chunked, or all of them
  for (const Field f : h) {
    if (!equalsIgnoreCase(f.name, "transfer-encoding")) {
      continue;
    }
    forEachListMember(f.value, [&](std::string_view member) {
      ++members;
      last_is_chunked = equalsIgnoreCase(member, "chunked");
      if (last_is_chunked) {
        ++chunked;
        return;
      }
      if (!chars::isToken(member)) {
        malformed = true; // parameters, quotes, spaces: chunked takes none
        return;
      }
      codings += codings.empty() ? "" : ", ";
      codings += member;
    });
  }
  if (members == 0) {
    return fail(400, "empty Transfer-Encoding");
  }
  if (request && !last_is_chunked) {
    // RFC 9112 §6.3 rule 4: the length of such a request cannot be determined.
    return fail(400, "Transfer-Encoding does not end in chunked");
  }
  if (chunked > 1) {
    return fail(400, "chunked applied more than once"); // RFC 9112 §6.1
  }
  if (chunked == 1 && !last_is_chunked) {
    return fail(400, "chunked is not the final transfer coding"); // RFC 9112 §6.1
  }
  if (malformed) {
    return fail(400, "malformed Transfer-Encoding");
  }
  if (request && !codings.empty()) {
    return fail(501, "unsupported transfer coding"); // RFC 9112 §6.1: 501
  }
  // llhttp must have come to the same reading, or the body would be cut elsewhere.
  if (last_is_chunked ? (llhttp_.flags & F_CHUNKED) == 0
                      : llhttp_message_needs_eof(&llhttp_) == 0) {
    return fail(400, "ambiguous Transfer-Encoding");
  }
  framing_ = Framing{last_is_chunked ? Framing::Chunked : Framing::UntilClose, 0, codings};
  return 0;
}

int MessageParser::checkContentLength(std::uint64_t& length) {
  const Headers& h = isRequest(type_) ? request_.headers : response_.headers;
  std::optional<std::uint64_t> seen;
  for (const Field f : h) {
    if (!equalsIgnoreCase(f.name, "content-length")) {
      continue;
    }
    // RFC 9112 §6.3 rule 5: several fields or list members with differing values are an
    // unrecoverable error; llhttp already refuses any repetition, this is the backstop.
    std::uint64_t value = 0;
    if (!chars::parseDecimal(f.value, UINT64_MAX, value)) {
      return fail(400, "invalid Content-Length");
    }
    if (seen && *seen != value) {
      return fail(400, "conflicting Content-Length values");
    }
    seen = value;
  }
  if (!seen || (llhttp_.flags & F_CONTENT_LENGTH) == 0 || llhttp_.content_length != *seen) {
    return fail(400, "ambiguous Content-Length");
  }
  length = *seen;
  return 0;
}

int MessageParser::completeRequestHead() {
  RequestHead& head = request_;
  head.version_major = llhttp_.http_major;
  head.version_minor = llhttp_.http_minor;
  if (head.version_major != 1) {
    return fail(505, "HTTP version not supported"); // RFC 9110 §15.6.6
  }
  target_ = parseTarget(head.method, head.target);
  if (!target_.isValid()) {
    error_ = target_.error;
    return HPE_USER;
  }

  // RFC 9112 §3.2: 400 for an HTTP/1.1 request without Host, with several Host lines or with
  // an invalid Host value.
  if (host_count_ > 1) {
    return fail(400, "several Host fields");
  }
  const std::optional<std::string_view> host = head.headers.get("Host");
  if (!host && head.isHttp11()) {
    return fail(400, "missing Host");
  }
  std::optional<HostPort> host_port;
  if (host && !host->empty()) {
    host_port = parseHostPort(*host);
    if (!host_port) {
      return fail(400, "invalid Host");
    }
  }
  if (target_.form == TargetForm::Absolute) {
    // RFC 9112 §3.2.2: a proxy MUST ignore the received Host of an absolute-form request and
    // replace it with the target's authority. Chosen over refusing a disagreeing Host: the
    // RFC mandates it, and nothing downstream (routing, cache key, the forwarded Host) reads
    // the received value, so no two parties can see different hosts.
    head.headers.set("Host", target_.authority());
  } else if (target_.form == TargetForm::Origin && host_port) {
    target_.scheme = "http";
    target_.host = std::move(host_port->host);
    target_.port = host_port->has_port ? host_port->port : 80;
  }

  const bool connect = target_.form == TargetForm::Authority;
  if (int rc = framingFromFields(head.headers, head.isHttp11(), 400, connect); rc != 0) {
    return rc;
  }
  if (!connect) {
    // Upgrade is hop-by-hop and never forwarded, so the client stays on HTTP/1.1 and the
    // request is framed like any other.
    llhttp_.upgrade = 0;
  }
  return 0;
}

int MessageParser::completeResponseHead() {
  ResponseHead& head = response_;
  head.version_major = llhttp_.http_major;
  head.version_minor = llhttp_.http_minor;
  head.status = llhttp_.status_code;
  if (head.version_major != 1) {
    return fail(502, "origin HTTP version not supported");
  }
  if (head.status < 100 || head.status > 599) {
    return fail(502, "invalid status code"); // RFC 9110 §15
  }
  if (head.status == 101 && expect_ != Expect::Upgrade) {
    // RFC 9110 §15.2.2: only in answer to an Upgrade the request carried.
    return fail(502, "unexpected 101 Switching Protocols");
  }
  // A 2xx to CONNECT and a 101 to an upgrade end HTTP on this connection (RFC 9112 §6.3).
  const bool tunnel =
      (expect_ == Expect::Connect && head.status >= 200 && head.status < 300) || head.status == 101;
  // RFC 9112 §6.3 rules 1-2: no content whatever the fields say.
  if (expect_ == Expect::Head || head.isInterim() || head.status == 204 || head.status == 304 ||
      tunnel) {
    llhttp_.flags |= F_SKIPBODY;
    if (tunnel) {
      llhttp_.upgrade = 1;
    }
    interim_ = head.isInterim() && !tunnel;
    framing_ = Framing{Framing::None, 0};
    return 0;
  }
  if (int rc = framingFromFields(head.headers, head.isHttp11(), 502, false); rc != 0) {
    return rc;
  }
  if (framing_.kind == Framing::None) {
    // RFC 9112 §6.3 rule 8: the body ends when the origin closes.
    if (llhttp_message_needs_eof(&llhttp_) == 0) {
      return fail(502, "ambiguous response framing");
    }
    framing_ = Framing{Framing::UntilClose, 0};
  }
  return 0;
}

// RFC 9112 §6.1-§6.3: the framing the fields announce, shared by both directions: Chunked,
// Length, or None when neither field is present (rule 7 for requests; responses then read
// until close). Refusals carry `status` (400 for requests, 502 for responses); a CONNECT
// request may carry no body (RFC 9110 §9.3.6).
int MessageParser::framingFromFields(const Headers& headers, bool http11, int status,
                                     bool connect) {
  const bool has_te = headers.has("Transfer-Encoding");
  const bool has_cl = headers.has("Content-Length");
  if (has_te && has_cl) {
    return fail(status, "both Content-Length and Transfer-Encoding");
  }
  if (has_te) {
    if (!http11) {
      return fail(status, "Transfer-Encoding in an HTTP/1.0 message");
    }
    if (connect) {
      return fail(status, "CONNECT request with a body");
    }
    if (int rc = checkTransferEncoding(); rc != 0) {
      return rc;
    }
  } else if (has_cl) {
    std::uint64_t length = 0;
    if (int rc = checkContentLength(length); rc != 0) {
      return rc;
    }
    if (connect && length != 0) {
      return fail(status, "CONNECT request with a body");
    }
    framing_ = Framing{Framing::Length, length};
  } else {
    framing_ = Framing{Framing::None, 0};
  }
  return 0;
}

// ---- driving llhttp ---------------------------------------------------------------------

// Every byte that is not body data: start line, fields, chunk-size lines, trailers.
// RFC 9112 §2.2: no bare CR, and (ferry's choice, as most proxies) no bare LF either;
// RFC 9110 §5.5: no NUL or other control byte but HTAB; RFC 9112 §5.2: no obs-fold, and no
// whitespace at the start of any line (before the first field, before a chunk size).
bool MessageParser::scanProtocolBytes(std::string_view bytes) noexcept {
  // Classes: 0 field-vchar / obs-text, 1 SP HTAB, 2 CR, 3 forbidden (LF alone, NUL, CTLs).
  static constexpr std::array<std::uint8_t, 256> Class = [] {
    std::array<std::uint8_t, 256> t{};
    for (int c = 0; c < 0x20; ++c) {
      t[c] = 3;
    }
    t[0x7f] = 3;
    t[' '] = 1;
    t['\t'] = 1;
    t['\r'] = 2;
    return t;
  }();
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  const std::size_t n = bytes.size();
  std::size_t i = 0;
  if (scan_.after_cr) {
    if (n == 0) {
      return true;
    }
    if (p[0] != '\n') {
      return false;
    }
    scan_.after_cr = false;
    scan_.line_start = true;
    i = 1;
  }
  while (i < n) {
    if (scan_.line_start) {
      if (p[i] == ' ' || p[i] == '\t') {
        return false; // obs-fold, or whitespace before a line
      }
      scan_.line_start = false;
    }
    while (i < n && Class[p[i]] <= 1) {
      ++i;
    }
    if (i == n) {
      break;
    }
    if (p[i] != '\r') {
      return false;
    }
    if (i + 1 == n) {
      scan_.after_cr = true;
      return true;
    }
    if (p[i + 1] != '\n') {
      return false;
    }
    i += 2;
    scan_.line_start = true;
  }
  return true;
}

Step MessageParser::mapLlhttpError(llhttp_errno_t code, const char* data) {
  // A bare CR/LF, control byte or fold before the error position is the root defect: report
  // it rather than what llhttp or a field check made of the damaged bytes.
  const char* pos = llhttp_get_error_pos(&llhttp_);
  if (pos != nullptr && pos >= data && !scanProtocolBytes(std::string_view(data, pos - data))) {
    error_ = ParseError{};
    fail(400, "bare CR or LF, control byte or folded line");
    return failed();
  }
  if (error_.isError()) {
    return failed(); // one of our callbacks refused
  }
  const char* reason = llhttp_get_error_reason(&llhttp_);
  if (reason == nullptr) {
    reason = "malformed message";
  }
  if (!isRequest(type_)) {
    error_ = ParseError{502, reason};
    return failed();
  }
  int status = 400;
  switch (code) {
  case HPE_INVALID_METHOD:
    // A token that is no method llhttp knows: 501 (RFC 9110 §9.1). Anything else (a TLS
    // handshake on the plain port, binary noise) is malformed: 400.
    if (pos != nullptr && pos >= data && chars::TokenTable[static_cast<unsigned char>(*pos)]) {
      status = 501;
      reason = "method not implemented";
    }
    break;
  case HPE_INVALID_VERSION:
    if (std::string_view(reason) == "Invalid HTTP version") {
      status = 505;
      reason = "HTTP version not supported";
    }
    break;
  case HPE_PAUSED_H2_UPGRADE:
    status = 505;
    reason = "HTTP/2 prior knowledge not supported";
    break;
  default:
    break;
  }
  error_ = ParseError{status, reason};
  return failed();
}

std::size_t MessageParser::headAllowance() const noexcept {
  // RFC 9112 §3, §5: the head may take header_bytes; while the start line is open, it may
  // take request_line_bytes (CRLF not counted). llhttp knows a request-line complete at the
  // last digit of its version, a status-line only once it has read the CRLF after it.
  std::size_t allowed = limits_.header_bytes - head_bytes_;
  if (in_start_line_) {
    const std::size_t line = limits_.request_line_bytes + (isRequest(type_) ? 0 : 2);
    allowed = std::min(allowed, head_bytes_ < line ? line - head_bytes_ : 0);
  }
  return allowed;
}

Step MessageParser::parse(std::string_view input) {
  llhttp_.data = this;
  switch (state_) {
  case State::Failed:
    return Step{Event::Error, 0, {}};
  case State::Tunnel:
    fail(400, "bytes after CONNECT are tunnel data");
    return failed();
  case State::Closed:
    fail(400, "parse after finish");
    return failed();
  case State::Head:
  case State::Body:
    break;
  }

  const char* const base = input.empty() ? EmptyInput : input.data();
  std::size_t done = 0; // bytes of input consumed by this call
  for (;;) {
    // Limits are windows: llhttp never sees a head byte beyond them, so the verdict does not
    // depend on how the bytes were split (a check in a span callback would).
    const std::size_t available = input.size() - done;
    std::size_t window = available;
    if (state_ == State::Head) {
      window = std::min(window, headAllowance());
    }
    if (paused_) {
      llhttp_resume(&llhttp_);
      paused_ = false;
    }
    pending_ = Pending::None;
    body_ = {};
    const char* const data = base + done;
    const llhttp_errno_t rc = llhttp_execute(&llhttp_, data, window);
    std::size_t consumed = window;
    if (rc == HPE_PAUSED) {
      paused_ = true;
      consumed = static_cast<std::size_t>(llhttp_get_error_pos(&llhttp_) - data);
      FERRY_ASSERT(consumed <= window && pending_ != Pending::None);
    } else if (rc != HPE_OK) {
      return mapLlhttpError(rc, data);
    }

    const std::size_t protocol_end =
        pending_ == Pending::Body ? static_cast<std::size_t>(body_.data() - data) : consumed;
    if (!scanProtocolBytes(std::string_view(data, protocol_end))) {
      fail(400, "bare CR or LF, control byte or folded line");
      return failed();
    }
    done += consumed;
    if (state_ != State::Head) {
      framing_bytes_ += protocol_end;
      if (framing_bytes_ > limits_.header_bytes) {
        fail(400, "chunk framing or trailers too large");
        return failed();
      }
      break;
    }
    head_bytes_ += consumed;
    if (pending_ != Pending::None || window == available) {
      break;
    }
    // llhttp took every byte the window allowed and wants more.
    if (headAllowance() == 0) {
      if (!in_start_line_) {
        fail(431, "header section too large");
      } else {
        fail(414, isRequest(type_) ? "request line too long" : "status line too long");
      }
      return failed();
    }
    // The start line ended inside the window: go on with the header section's allowance.
  }

  switch (pending_) {
  case Pending::None:
    return Step{Event::NeedMore, done, {}};
  case Pending::Head:
    if (interim_) {
      // A 1xx head: the next bytes start the final response's head.
      head_bytes_ = 0;
      in_start_line_ = true;
      scan_ = Scan{};
    } else {
      state_ = State::Body;
      framing_bytes_ = 0;
    }
    return Step{Event::Head, done, {}};
  case Pending::Body:
    framing_bytes_ = 0;
    scan_ = Scan{false, false};
    return Step{Event::Body, done, body_};
  case Pending::End:
    begun_ = false;
    head_bytes_ = 0;
    in_start_line_ = true;
    scan_ = Scan{};
    if ((isRequest(type_) && target_.form == TargetForm::Authority) ||
        (!isRequest(type_) && expect_ == Expect::Connect && response_.status >= 200 &&
         response_.status < 300) ||
        (!isRequest(type_) && response_.status == 101)) {
      state_ = State::Tunnel;
    } else {
      state_ = State::Head;
    }
    expect_ = Expect::Get;
    return Step{Event::MessageEnd, done, {}};
  }
  FERRY_ASSERT(false);
  return failed();
}

Step MessageParser::finish() {
  switch (state_) {
  case State::Failed:
    return Step{Event::Error, 0, {}};
  case State::Tunnel:
  case State::Closed:
    state_ = State::Closed;
    return Step{Event::NeedMore, 0, {}};
  case State::Head:
    if (!begun_) {
      state_ = State::Closed;
      return Step{Event::NeedMore, 0, {}};
    }
    fail(400, "connection closed inside a head");
    return failed();
  case State::Body:
    break;
  }
  if (framing_.kind == Framing::UntilClose || framing_.kind == Framing::None) {
    state_ = State::Closed; // RFC 9112 §6.3 rule 8: the close ends the body
    return Step{Event::MessageEnd, 0, {}};
  }
  // RFC 9112 §8: an incomplete message; a cache must not store it (RFC 9111 §3.3).
  fail(400, framing_.kind == Framing::Chunked ? "truncated chunked body"
                                              : "truncated body: Content-Length not reached");
  return failed();
}

} // namespace ferry::http::detail

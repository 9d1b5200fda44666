// Incremental HTTP/1.x parsers on top of llhttp (strict mode), one per connection direction,
// plus the checks llhttp does not make: framing ambiguities, bare CR/LF, control bytes,
// obs-fold, Host rules, size limits. Bytes in; heads, body spans and errors out. No sockets,
// no buffering of bodies, no exceptions on bad input.
//
// The pull loop (same for both parsers):
//
//   for (;;) {
//     Step step = parser.parse(input);
//     input.remove_prefix(step.consumed);   // drain that many bytes from the buffer
//     if (step.event == Event::NeedMore) break;          // wait for more bytes
//     switch (step.event) {
//       case Event::Head: ...        // head(), target(), framing() are ready
//       case Event::Body: ...        // step.body: a span of `input`
//       case Event::MessageEnd: ...  // bytes after the message stay in `input`
//       case Event::Error: ...       // error(); the connection is done
//     }
//   }
//
// NeedMore is the only event that asks for more bytes: after any other event call parse()
// again, even with empty input (a message without body ends with Head then MessageEnd).
#pragma once

#include <llhttp.h>

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "ferry/http/framing.h"
#include "ferry/http/message.h"
#include "ferry/http/parse_error.h"
#include "ferry/http/settings.h"
#include "ferry/http/target.h"

namespace ferry::http {

enum class Event {
  NeedMore,   // every byte of input is consumed; feed more
  Head,       // a complete head was parsed (responses: possibly a 1xx interim head)
  Body,       // Step::body holds the next span of body bytes
  MessageEnd, // the message is complete; the parser is ready for the next one
  Error       // error() says why; the parser stays failed until reset()
};

struct Step {
  Event event = Event::NeedMore;
  std::size_t consumed = 0; // bytes of the input used by this call (a prefix of it)
  std::string_view body;    // Event::Body only: points into the caller's input
};

namespace detail {

// The llhttp wrapper shared by both parsers; use RequestParser or ResponseParser.
class MessageParser {
public:
  MessageParser(llhttp_type_t type, const Limits& limits);
  MessageParser(const MessageParser&) = delete;
  MessageParser& operator=(const MessageParser&) = delete;
  MessageParser(MessageParser&&) noexcept;
  MessageParser& operator=(MessageParser&&) noexcept;
  ~MessageParser();

  Step parse(std::string_view input);
  Step finish();
  void reset();
  void expect(std::string_view request_method, bool upgrade) noexcept;

  RequestHead& requestHead() noexcept { return request_; }
  ResponseHead& responseHead() noexcept { return response_; }
  const RequestHead& requestHead() const noexcept { return request_; }
  const ResponseHead& responseHead() const noexcept { return response_; }
  const Target& target() const noexcept { return target_; }
  Framing framing() const noexcept { return framing_; }
  const ParseError& error() const noexcept { return error_; }
  const Headers& trailers() const noexcept { return trailers_; }
  bool isIdle() const noexcept;

private:
  enum class State { Head, Body, Tunnel, Closed, Failed };
  enum class Expect { Get, Head, Connect, Upgrade };
  enum class Pending { None, Head, Body, End }; // the event a callback paused llhttp for
  struct Scan {
    bool after_cr = false;
    bool line_start = true;
  };

  static const llhttp_settings_t Callbacks;
  static int onMessageBegin(llhttp_t* p);
  static int onMethod(llhttp_t* p, const char* at, std::size_t size);
  static int onUrl(llhttp_t* p, const char* at, std::size_t size);
  static int onStatus(llhttp_t* p, const char* at, std::size_t size);
  static int onVersionComplete(llhttp_t* p);
  static int onStatusComplete(llhttp_t* p);
  static int onHeaderField(llhttp_t* p, const char* at, std::size_t size);
  static int onHeaderFieldComplete(llhttp_t* p);
  static int onHeaderValue(llhttp_t* p, const char* at, std::size_t size);
  static int onHeaderValueComplete(llhttp_t* p);
  static int onHeadersComplete(llhttp_t* p);
  static int onBody(llhttp_t* p, const char* at, std::size_t size);
  static int onMessageComplete(llhttp_t* p);

  int fail(int status, const char* reason);
  std::size_t headAllowance() const noexcept;
  void openField();
  Headers& fieldsInProgress() noexcept;
  int completeRequestHead();
  int completeResponseHead();
  int checkTransferEncoding();
  int framingFromFields(const Headers& headers, bool http11, int status, bool connect);
  int checkContentLength(std::uint64_t& length);
  bool scanProtocolBytes(std::string_view bytes) noexcept;
  void startMessage();
  Step failed();
  Step mapLlhttpError(llhttp_errno_t code, const char* data);

  llhttp_t llhttp_;
  llhttp_type_t type_;
  Limits limits_;
  State state_ = State::Head;
  Expect expect_ = Expect::Get;
  Pending pending_ = Pending::None;
  bool paused_ = false;           // llhttp is paused after an event and must be resumed
  bool begun_ = false;            // the current message has started (more than CR/LF seen)
  bool interim_ = false;          // the head being reported is a 1xx interim response
  bool in_start_line_ = true;     // still inside the request-line / status-line
  bool field_open_ = false;       // a field name has started, its value is not complete
  std::size_t head_bytes_ = 0;    // bytes of the current head consumed so far
  std::size_t framing_bytes_ = 0; // chunk framing and trailer bytes since the last body span
  std::size_t field_count_ = 0;
  std::size_t host_count_ = 0;
  Scan scan_;
  std::string_view body_;
  RequestHead request_;
  ResponseHead response_;
  Target target_;
  Framing framing_;
  Headers trailers_;
  ParseError error_;
};

} // namespace detail

// Parses requests from one client connection. Reusable across messages; stops after each
// message so pipelined requests stay unconsumed. Not thread-safe; movable.
class RequestParser {
public:
  explicit RequestParser(const Limits& limits) : parser_(HTTP_REQUEST, limits) {}

  // Consumes a prefix of input and reports at most one event (see the loop above).
  // Errors: 400 malformed or ambiguous, 414 request line too long, 431 header section or
  // field count too large, 501 unknown method or transfer coding, 505 HTTP version not 1.x.
  // After MessageEnd of a CONNECT request the stream is a tunnel: parse() reports Error.
  Step parse(std::string_view input) { return parser_.parse(input); }
  // The client closed its side (call after parse() returned NeedMore): NeedMore if no
  // request was in progress, Error otherwise.
  Step finish() { return parser_.finish(); }
  // Forgets everything, as if newly constructed.
  void reset() { parser_.reset(); }

  // Valid from Head until the next message begins. For absolute-form requests the Host field
  // already holds target().authority() (see target()); the proxy may move fields out.
  const RequestHead& head() const noexcept { return parser_.requestHead(); }
  RequestHead& head() noexcept { return parser_.requestHead(); }
  // The parsed request-target, valid with head(). For Origin form, scheme "http", host and
  // port come from the Host field when it has one; form stays Origin so the proxy can refuse.
  const Target& target() const noexcept { return parser_.target(); }
  // The body framing decided at Head: None, Length or Chunked.
  Framing framing() const noexcept { return parser_.framing(); }
  // Trailer fields of a chunked body, valid at MessageEnd (ferry does not forward them).
  const Headers& trailers() const noexcept { return parser_.trailers(); }
  const ParseError& error() const noexcept { return parser_.error(); }
  // No request in progress: between messages (only CR/LF consumed since the last one).
  bool isIdle() const noexcept { return parser_.isIdle(); }

private:
  detail::MessageParser parser_;
};

// Parses responses from one origin connection. Errors are always status 502. 1xx interim
// responses come as Head events without Body or MessageEnd, then the final response follows;
// 101 Switching Protocols is an error unless expect() was told the request asked to upgrade.
class ResponseParser {
public:
  explicit ResponseParser(const Limits& limits) : parser_(HTTP_RESPONSE, limits) {}

  // Tells the parser the method of the request this response answers, before its first
  // byte: "HEAD" (no body whatever the fields say) and "CONNECT" (a 2xx opens a tunnel and
  // has no body) matter (RFC 9112 §6.3). `upgrade`: the request asked to switch protocols
  // (Upgrade, forwarded by the proxy), so a 101 is its final answer and opens a tunnel
  // (RFC 9110 §7.8); otherwise a 101 is an error. Resets to GET semantics after each final
  // response.
  void expect(std::string_view request_method, bool upgrade = false) noexcept {
    parser_.expect(request_method, upgrade);
  }
  Step parse(std::string_view input) { return parser_.parse(input); }
  // The origin closed (call after parse() returned NeedMore): MessageEnd for a body
  // delimited by close; Error (502, "truncated ...") when a head, a Content-Length body or a
  // chunked body is incomplete — such a response must not be stored; NeedMore when no
  // response was in progress (the origin closed an idle connection).
  Step finish() { return parser_.finish(); }
  void reset() { parser_.reset(); }

  const ResponseHead& head() const noexcept { return parser_.responseHead(); }
  ResponseHead& head() noexcept { return parser_.responseHead(); }
  // The body framing decided at Head: None, Length, Chunked or UntilClose.
  Framing framing() const noexcept { return parser_.framing(); }
  const Headers& trailers() const noexcept { return parser_.trailers(); }
  const ParseError& error() const noexcept { return parser_.error(); }
  bool isIdle() const noexcept { return parser_.isIdle(); }

private:
  detail::MessageParser parser_;
};

} // namespace ferry::http

// The one pump from a libevent input buffer into an http parser, for the client session
// (requests) and the origin exchange (responses): it feeds the buffered bytes, chunk after
// chunk, and drains what each step consumed. It decides nothing itself.
#pragma once

#include "ferry/http/parser.h"

#include <event2/buffer.h>

#include <string_view>

namespace ferry::proxy {

// Calls `on_step(step)` for each parser event until the parser needs bytes that `in` does
// not hold (that NeedMore is passed to on_step too, so it can tell the buffer is empty) or
// on_step returns false; after false nothing of `in` or `parser` is touched again, so the
// handler may hand the connection away. A Body step's view points into `in`, which is
// drained after on_step; any other step is drained before it. The parser wants another call
// after every event, even with no bytes left (a message ends with its last Body event, then
// MessageEnd): only NeedMore on an empty buffer ends the loop.
template <class Parser, class OnStep>
void pumpParser(evbuffer* in, Parser& parser, OnStep&& on_step) {
  for (;;) {
    std::string_view input;
    evbuffer_iovec chunk;
    if (evbuffer_peek(in, -1, nullptr, &chunk, 1) > 0)
      input = {static_cast<const char*>(chunk.iov_base), chunk.iov_len};
    const http::Step step = parser.parse(input);
    if (step.event == http::Event::Body) {
      const bool go_on = on_step(step);
      evbuffer_drain(in, step.consumed);
      if (!go_on)
        return;
      continue;
    }
    evbuffer_drain(in, step.consumed);
    const bool drained = step.event == http::Event::NeedMore && evbuffer_get_length(in) == 0;
    if (!on_step(step) || drained)
      return;
  }
}

} // namespace ferry::proxy

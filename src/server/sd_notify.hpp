// sd_notify: tells a service manager (systemd, Type=notify) the daemon's state by one
// datagram per message to the AF_UNIX socket named in $NOTIFY_SOCKET ("@name" is an
// abstract socket) — the protocol of sd_notify(3), without linking libsystemd. Without
// NOTIFY_SOCKET every call does nothing. Messages: READY=1 once every listener is bound;
// RELOADING=1 (+ MONOTONIC_USEC) then READY=1 around a SIGHUP reload; STOPPING=1 when the
// drain starts; STATUS=... a line for `systemctl status`. Errors are ignored (best effort:
// the manager's own timeouts cover a lost message).
#pragma once

#include <string_view>

namespace hlscache {

// Sends `state` (newline-separated KEY=VALUE lines); true if a datagram was sent.
bool sd_notify(std::string_view state);

}  // namespace hlscache

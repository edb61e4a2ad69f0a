// The exit statuses of every `protos7` command: 0 and 1 as a test tool's (like diff and grep),
// the rest from BSD's <sysexits.h>, so a service manager or a script can tell a mistake in the
// command line from a busy port or an unreachable PLC. README.md ("Exit statuses") and the man
// pages list them.
#pragma once

namespace protos7::exit_code {

inline constexpr int ok = 0;
// The command ran and the answer is "no": replay found mismatches, a PLC refused an item or a
// request, a health check found the server answering but not healthy.
inline constexpr int findings = 1;
inline constexpr int usage = 64;        // EX_USAGE: a bad command line (unknown flag, bad value)
inline constexpr int data_error = 65;   // EX_DATAERR: bad input data (a truncated capture, a
                                        // profile or SQLite file that does not load)
inline constexpr int no_input = 66;     // EX_NOINPUT: an input file is missing or unreadable
inline constexpr int unavailable = 69;  // EX_UNAVAILABLE: an address is in use or cannot be
                                        // bound; a server to talk to does not answer
inline constexpr int software = 70;     // EX_SOFTWARE: an internal error (a bug)
inline constexpr int cant_create = 73;  // EX_CANTCREAT: an output file or directory cannot be
                                        // created
inline constexpr int io_error = 74;     // EX_IOERR: writing or syncing data failed
inline constexpr int temp_fail = 75;    // EX_TEMPFAIL: the data directory is in use by another
                                        // protos7 (try again once it has stopped)
inline constexpr int protocol = 76;     // EX_PROTOCOL: the peer broke the protocol
inline constexpr int no_perm = 77;      // EX_NOPERM: a privileged port without the privilege
inline constexpr int config = 78;       // EX_CONFIG: settings that contradict each other or
                                        // the system (the file descriptor limit, a token file)

}  // namespace protos7::exit_code

#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "common/status.h"

namespace studio::deploy::internal {

// A free loopback TCP port (bound and released; the child binds it a moment later).
Result<int> FreeLoopbackPort();

// fork+exec `argv` in its own process group with stdout/stderr appended to `log_path`, every
// other descriptor closed and the signal mask cleared. With `die_with_parent`, the child gets
// SIGKILL when the calling *thread* exits (PR_SET_PDEATHSIG), so call it from a thread that
// lives as long as the child should.
// `env` entries (NAME=value) are added to (or replace) the inherited environment.
Result<pid_t> Spawn(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                    const std::string& log_path, bool die_with_parent);

// Signals the child's process group.
void SignalGroup(pid_t pid, int sig);

// The last `max_bytes` of a log file, for error messages.
std::string LogTail(const std::string& path, size_t max_bytes = 600);

// The running binary (/proc/self/exe).
std::string SelfExe();

}  // namespace studio::deploy::internal

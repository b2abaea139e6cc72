#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "common/status.h"

// Child processes for stage attempts: each runs in its own session (so its process group is
// its pid and a timeout or cancel can kill everything it started), with stdout and stderr
// appended to the attempt's log file and no other descriptor of ours inherited.
namespace studio::orchestrator {

struct LaunchSpec {
  std::string binary;             // absolute path
  std::vector<std::string> argv;  // argv[0] included
  std::vector<std::string> env;   // KEY=VALUE, the child's whole environment
  std::string log_file;           // created (with parent directories) or appended to
};

struct ChildProcess {
  pid_t pid = -1;  // also the process group id
  int pidfd = -1;  // readable when the child exits; -1 when the kernel has no pidfd_open
};

Result<ChildProcess> Spawn(const LaunchSpec& spec);

// Non-blocking reap: true with the wait status once the child exited (closes its pidfd).
bool TryReap(ChildProcess& child, int* wait_status);

// Signals the whole process group; ignores a group that is already gone.
void SignalGroup(pid_t pgid, int sig);
// Whether any process of the group is alive.
bool GroupAlive(pid_t pgid);
// Whether `pid` is alive and its command line contains every one of `needles`.
bool ProcessMatches(pid_t pid, const std::vector<std::string>& needles);
// Pids whose command line contains every one of `needles` (scans /proc).
std::vector<pid_t> FindProcesses(const std::vector<std::string>& needles);

// "exited with code 3" / "killed by signal 9 (Killed)".
std::string DescribeWaitStatus(int wait_status);

// The running executable (/proc/self/exe), for spawning `studio run-stage`.
std::string SelfExecutable();

}  // namespace studio::orchestrator

#include "orchestrator/process.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

namespace studio::orchestrator {

Result<ChildProcess> Spawn(const LaunchSpec& spec) {
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(spec.log_file).parent_path(), ec);
  if (ec)
    return Internal("cannot create the log directory for " + spec.log_file + ": " + ec.message());
  int log_fd = open(spec.log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (log_fd < 0) return Internal("cannot open " + spec.log_file + ": " + strerror(errno));

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, log_fd, 1);
  posix_spawn_file_actions_adddup2(&actions, log_fd, 2);
  // Listening sockets, database connections and other children's logs stay with us: a child
  // that outlives a killed control plane must not hold its port.
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);  // the server blocks SIGTERM in every thread
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  std::vector<char*> argv, envp;
  for (const auto& a : spec.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (const auto& e : spec.env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, spec.binary.c_str(), &actions, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  close(log_fd);
  if (rc != 0) return Internal("cannot start " + spec.binary + ": " + strerror(rc));
  ChildProcess child;
  child.pid = pid;
  child.pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  return child;
}

bool TryReap(ChildProcess& child, int* wait_status) {
  if (child.pid <= 0) return false;
  int status = 0;
  pid_t r = waitpid(child.pid, &status, WNOHANG);
  if (r == 0) return false;
  if (r < 0 && errno == EINTR) return false;
  *wait_status = r == child.pid ? status : (W_EXITCODE(2, 0));
  if (child.pidfd >= 0) close(child.pidfd);
  child.pidfd = -1;
  return true;
}

void SignalGroup(pid_t pgid, int sig) {
  if (pgid > 1) kill(-pgid, sig);
}

bool GroupAlive(pid_t pgid) { return pgid > 1 && kill(-pgid, 0) == 0; }

namespace {
std::string CmdLine(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline", std::ios::binary);
  std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  for (char& c : s)
    if (c == '\0') c = ' ';
  return s;
}
}  // namespace

bool ProcessMatches(pid_t pid, const std::vector<std::string>& needles) {
  if (pid <= 1) return false;
  std::string cmd = CmdLine(pid);
  if (cmd.empty()) return false;
  for (const auto& n : needles)
    if (cmd.find(n) == std::string::npos) return false;
  return true;
}

std::vector<pid_t> FindProcesses(const std::vector<std::string>& needles) {
  std::vector<pid_t> out;
  DIR* d = opendir("/proc");
  if (!d) return out;
  while (dirent* e = readdir(d)) {
    char* end = nullptr;
    long pid = std::strtol(e->d_name, &end, 10);
    if (*end != '\0' || pid <= 1) continue;
    if (ProcessMatches(static_cast<pid_t>(pid), needles)) out.push_back(static_cast<pid_t>(pid));
  }
  closedir(d);
  return out;
}

std::string DescribeWaitStatus(int st) {
  if (WIFEXITED(st)) return "exited with code " + std::to_string(WEXITSTATUS(st));
  if (WIFSIGNALED(st))
    return "killed by signal " + std::to_string(WTERMSIG(st)) + " (" + strsignal(WTERMSIG(st)) +
           ")";
  return "ended (status " + std::to_string(st) + ")";
}

std::string SelfExecutable() {
  // Resolved in the child at exec time, where it still names our image even when the file was
  // replaced on disk (a rebuild or an upgrade while the control plane runs).
  return "/proc/self/exe";
}

}  // namespace studio::orchestrator

// command: runs `with.command` (an argv list; no shell unless argv[0] is one) with the
// stage's extra environment (`with.env`), streaming its stdout and stderr to the attempt's
// log. Exit status 0 succeeds; anything else fails the stage.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>

#include "pipelines/stages/internal/stage_bodies.h"
#include "pipelines/stages/internal/util.h"

extern char** environ;

namespace studio::pipelines::stages::internal {

Result<nlohmann::json> RunCommand(const StageContext& ctx) {
  auto cmd = ctx.stage.with.find("command");
  if (cmd == ctx.stage.with.end() || !cmd->is_array() || cmd->empty())
    return InvalidArgument("command stages need 'command': a non-empty argv list");
  std::vector<std::string> argv_s;
  for (const auto& a : *cmd) {
    if (!a.is_string()) return InvalidArgument("'command' must be a list of strings");
    argv_s.push_back(a.get<std::string>());
  }
  std::map<std::string, std::string> env_map;
  for (char** e = environ; e && *e; ++e) {
    std::string kv(*e);
    size_t eq = kv.find('=');
    if (eq != std::string::npos) env_map[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  if (auto env = ctx.stage.with.find("env"); env != ctx.stage.with.end() && env->is_object())
    for (auto it = env->begin(); it != env->end(); ++it) {
      if (!it->is_string()) return InvalidArgument("'env' values must be strings");
      if (it.key().empty() || it.key().find('=') != std::string::npos)
        return InvalidArgument("invalid environment variable name '" + it.key() + "'");
      env_map[it.key()] = it->get<std::string>();
    }
  env_map["STUDIO_RUN_ID"] = ctx.run_id;
  env_map["STUDIO_STAGE_ID"] = ctx.stage.id;
  std::vector<std::string> env_s;
  for (const auto& [k, v] : env_map) env_s.push_back(k + "=" + v);
  // Built before fork: the child only calls async-signal-safe functions.
  std::vector<char*> argv, envp;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (auto& e : env_s) envp.push_back(e.data());
  envp.push_back(nullptr);

  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return Internal(std::string("pipe: ") + strerror(errno));
  int err_pipe[2];  // exec failure reporting
  if (pipe2(err_pipe, O_CLOEXEC) != 0) {
    close(fds[0]);
    close(fds[1]);
    return Internal(std::string("pipe: ") + strerror(errno));
  }
  Log(ctx, "exec: " + cmd->dump());
  pid_t pid = fork();
  if (pid < 0) return Internal(std::string("fork: ") + strerror(errno));
  if (pid == 0) {
    dup2(fds[1], 1);
    dup2(fds[1], 2);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, 0);
    execvpe(argv[0], argv.data(), envp.data());
    int e = errno;
    ssize_t ignored = write(err_pipe[1], &e, sizeof e);
    (void)ignored;
    _exit(127);
  }
  close(fds[1]);
  close(err_pipe[1]);
  int64_t bytes = 0;
  bool killed = false;
  char buf[8192];
  // Output is read until the command exits; what it left in the pipe is drained then. A
  // background process that keeps the pipe open does not hold the stage.
  int status = 0;
  bool reaped = false;
  auto append = [&](const char* data, ssize_t n) {
    bytes += n;
    if (ctx.log) {
      ctx.log->write(data, n);
      ctx.log->flush();
    }
  };
  while (!reaped) {
    pollfd p{fds[0], POLLIN, 0};
    int r = poll(&p, 1, 200);
    if (!killed && ctx.cancelled && ctx.cancelled()) {
      kill(pid, SIGKILL);
      killed = true;
    }
    if (r > 0) {
      ssize_t n = read(fds[0], buf, sizeof buf);
      if (n > 0) {
        append(buf, n);
        continue;
      }
      if (n == 0) {  // EOF: wait for the exit itself
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
        reaped = true;
        break;
      }
    }
    pid_t w = waitpid(pid, &status, WNOHANG);
    if (w == pid) reaped = true;
  }
  // Drain without blocking.
  fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK);
  for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) > 0;) append(buf, n);
  close(fds[0]);
  int exec_errno = 0;
  ssize_t got = read(err_pipe[0], &exec_errno, sizeof exec_errno);
  close(err_pipe[0]);
  if (got == static_cast<ssize_t>(sizeof exec_errno))
    return InvalidArgument("cannot run '" + argv_s[0] + "': " + strerror(exec_errno));
  if (killed)
    return Status(ErrorCode::kResourceConflict, "stage '" + ctx.stage.id + "' was cancelled");
  if (WIFSIGNALED(status))
    return InvalidArgument("command " + cmd->dump() + " was killed by signal " +
                           std::to_string(WTERMSIG(status)));
  int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  Log(ctx, "exit status " + std::to_string(code));
  if (code != 0)
    return InvalidArgument("command " + cmd->dump() + " exited with status " +
                           std::to_string(code));
  return nlohmann::json{{"exit_code", code}, {"output_bytes", bytes}};
}

}  // namespace studio::pipelines::stages::internal

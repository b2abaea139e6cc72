// A /ping server for measuring the HTTP floor with wrk (not a test):
//   http_ping_bench [port] [threads] &
//   wrk -t2 -c16 -d5s http://127.0.0.1:PORT/ping ; wrk -t1 -c1 -d5s --latency http://...
// Stops (draining) on SIGINT/SIGTERM and prints the server's counters.

#include <signal.h>

#include <cstdio>
#include <cstdlib>

#include "serving/http/http_server.h"

int main(int argc, char** argv) {
  namespace http = studio::serving::http;
  http::Options opt;
  opt.port = argc > 1 ? std::atoi(argv[1]) : 8089;
  opt.threads = argc > 2 ? std::atoi(argv[2]) : 0;
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);  // before the server's threads inherit the mask

  auto server = http::Server::Create(opt);
  if (!server.ok()) {
    std::fprintf(stderr, "%s\n", server.status().ToString().c_str());
    return 2;
  }
  (*server)->Handle("GET", "/ping", [](const http::Request&, http::Response& r) {
    r.content_type = "text/plain";
    r.body = "pong\n";
  });
  (*server)->Handle("POST", "/echo",
                    [](const http::Request& req, http::Response& r) { r.body.assign(req.body); });
  if (auto st = (*server)->Start(); !st.ok()) {
    std::fprintf(stderr, "%s\n", st.ToString().c_str());
    return 2;
  }
  std::printf("listening on %d\n", (*server)->port());
  std::fflush(stdout);
  int sig = 0;
  sigwait(&set, &sig);
  (*server)->Stop(std::chrono::milliseconds(2000));
  auto s = (*server)->stats();
  std::printf("requests %llu connections %llu nodelay %llu overload %llu\n",
              static_cast<unsigned long long>(s.requests_total),
              static_cast<unsigned long long>(s.connections_total),
              static_cast<unsigned long long>(s.nodelay_sockets),
              static_cast<unsigned long long>(s.rejected_overload));
  return 0;
}

// `studio pipeline run|runs|logs|cancel`: start a run from a spec file and follow it with a
// live stage table, list runs, print or follow a stage attempt's log, cancel a run.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "cli/internal/api_client.h"
#include "cli/internal/run_commands.h"
#include "common/time_util.h"
#include "pipelines/spec.h"

namespace studio::cli {
namespace {

using nlohmann::json;

int Report(const Status& st) {
  std::cerr << "error: " << st.message() << "\n";
  for (const auto& [field, problem] : st.details())
    std::cerr << "  " << field << ": " << problem << "\n";
  return kExitError;
}

Result<std::unique_ptr<ApiClient>> Connect(const PipelineRunOptions& o) {
  return ApiClient::Create(ServerOptions{o.server, o.token}.Resolved());
}

std::string Str(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

std::string Duration(const json& ms) {
  if (!ms.is_number()) return "-";
  char buf[32];
  double s = ms.get<double>() / 1000.0;
  if (s < 60)
    snprintf(buf, sizeof(buf), "%.2fs", s);
  else
    snprintf(buf, sizeof(buf), "%dm%02ds", static_cast<int>(s) / 60, static_cast<int>(s) % 60);
  return buf;
}

// A running stage shows its current attempt's elapsed time.
std::string StageDuration(const json& s) {
  if (s["duration_ms"].is_number()) return Duration(s["duration_ms"]);
  if (Str(s, "status") != "running" || !s["attempts"].is_array() || s["attempts"].empty())
    return "-";
  auto started = ParseRfc3339(Str(s["attempts"].back(), "started_at"));
  if (!started.ok()) return "-";
  return Duration(json(NowMillis() - *started));
}

std::string Table(const json& run) {
  std::ostringstream out;
  char line[256];
  snprintf(line, sizeof(line), "%-20s %-20s %-10s %-8s %-9s %s\n", "STAGE", "TYPE", "STATUS",
           "ATTEMPT", "DURATION", "ERROR");
  out << line;
  for (const auto& s : run["stages"]) {
    std::string err = Str(s, "error");
    if (err.size() > 60) err = err.substr(0, 57) + "...";
    snprintf(
        line, sizeof(line), "%-20s %-20s %-10s %-8s %-9s %s\n", Str(s, "id").c_str(),
        Str(s, "type").c_str(), Str(s, "status").c_str(),
        (std::to_string(s.value("attempt", 0)) + "/" + std::to_string(s.value("max_attempts", 1)))
            .c_str(),
        StageDuration(s).c_str(), err.c_str());
    std::string row = line;  // no trailing blanks when there is no error
    row.erase(row.find_last_not_of(" \n") + 1);
    out << row << "\n";
  }
  out << "run " << Str(run, "id") << ": " << Str(run, "status");
  if (run["duration_ms"].is_number()) out << " in " << Duration(run["duration_ms"]);
  out << "\n";
  return out.str();
}

int ExitFor(const json& run) {
  std::string st = Str(run, "status");
  return st == "succeeded" ? kExitOk : kExitFailed;
}

bool Terminal(const std::string& st) {
  return st == "succeeded" || st == "failed" || st == "cancelled";
}

// Polls the run until it ends: a redrawn table on a terminal, one line per change otherwise.
int Wait(ApiClient& client, json run, bool as_json) {
  bool tty = isatty(1) == 1 && !as_json;
  std::map<std::string, std::string> seen;
  int drawn_lines = 0;
  std::string path = "/api/v1/runs/" + UrlEncode(Str(run, "id"));
  int errors = 0;
  for (;;) {
    if (tty) {
      std::string t = Table(run);
      if (drawn_lines) std::cout << "\x1b[" << drawn_lines << "A\x1b[J";
      std::cout << t << std::flush;
      drawn_lines = static_cast<int>(std::count(t.begin(), t.end(), '\n'));
    } else if (!as_json) {
      for (const auto& s : run["stages"]) {
        std::string key = Str(s, "status") + "#" + std::to_string(s.value("attempt", 0));
        std::string id = Str(s, "id");
        if (seen[id] == key) continue;
        seen[id] = key;
        std::cout << "stage " << id << ": " << Str(s, "status") << " (attempt "
                  << s.value("attempt", 0) << ", " << StageDuration(s) << ")";
        if (!Str(s, "error").empty() && Str(s, "status") != "running")
          std::cout << ": " << Str(s, "error");
        std::cout << std::endl;
      }
    }
    if (Terminal(Str(run, "status"))) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    auto next = client.Get(path);
    if (!next.ok()) {
      if (++errors > 40) return Report(next.status());  // ~10 s of a missing server
      continue;
    }
    errors = 0;
    run = *next;
  }
  if (as_json) {
    std::cout << run.dump(2) << "\n";
  } else if (!tty) {
    // Not a terminal (CI logs): the change lines above, then the final stage table.
    std::cout << "\n" << Table(run);
    if (!Str(run, "error").empty()) std::cout << "error: " << Str(run, "error") << "\n";
    std::cout << std::flush;
  }
  return ExitFor(run);
}

}  // namespace

int RunPipelineRun(const PipelineRunOptions& o) {
  json body = json::object();
  if (!o.file.empty()) {
    std::string text;
    if (o.file == "-") {
      std::ostringstream ss;
      ss << std::cin.rdbuf();
      text = ss.str();
    } else {
      std::ifstream in(o.file, std::ios::binary);
      if (!in) return Report(InvalidArgument("cannot read " + o.file));
      std::ostringstream ss;
      ss << in.rdbuf();
      text = ss.str();
    }
    if (text.size() > pipelines::kMaxSpecBytes)
      return Report(InvalidArgument(o.file + " is larger than 1 MiB"));
    body["spec"] = text;
  } else if (!o.pipeline.empty()) {
    body["pipeline"] = o.pipeline;
    if (o.version > 0) body["version"] = o.version;
  } else {
    return Report(InvalidArgument("give a spec FILE or --pipeline NAME --project P"));
  }
  if (!o.project.empty()) body["project"] = o.project;
  if (!o.git_sha.empty()) body["git_sha"] = o.git_sha;
  if (o.executor != "local") body["executor"] = o.executor;
  if (o.noop) body["noop"] = true;
  auto client = Connect(o);
  if (!client.ok()) return Report(client.status());
  auto run = (*client)->Send("POST", "/api/v1/runs", body);
  if (!run.ok()) return Report(run.status());
  if (!o.wait) {
    if (o.json)
      std::cout << run->dump(2) << "\n";
    else
      std::cout << "run " << Str(*run, "id") << " " << Str(*run, "status") << " ("
                << Str(*run, "pipeline") << " v" << run->value("version", 0) << ")\n";
    return kExitOk;
  }
  if (!o.json) std::cerr << "run " << Str(*run, "id") << " started\n";
  return Wait(**client, *run, o.json);
}

int RunPipelineRuns(const PipelineRunOptions& o) {
  auto client = Connect(o);
  if (!client.ok()) return Report(client.status());
  std::string path = "/api/v1/runs?max_results=" + std::to_string(o.max_results);
  if (!o.project.empty()) path += "&project=" + UrlEncode(o.project);
  if (!o.status.empty()) path += "&status=" + UrlEncode(o.status);
  auto page = (*client)->Get(path);
  if (!page.ok()) return Report(page.status());
  if (o.json) {
    std::cout << page->dump(2) << "\n";
    return kExitOk;
  }
  printf("%-36s %-16s %-20s %-4s %-10s %-24s %s\n", "RUN", "PROJECT", "PIPELINE", "VER", "STATUS",
         "CREATED", "DURATION");
  for (const auto& r : (*page)["items"])
    printf("%-36s %-16s %-20s %-4d %-10s %-24s %s\n", Str(r, "id").c_str(),
           Str(r, "project").c_str(), Str(r, "pipeline").c_str(), r.value("version", 0),
           Str(r, "status").c_str(), Str(r, "created_at").c_str(),
           Duration(r["duration_ms"]).c_str());
  return kExitOk;
}

int RunPipelineLogs(const PipelineRunOptions& o) {
  auto client = Connect(o);
  if (!client.ok()) return Report(client.status());
  std::string path = "/api/v1/runs/" + UrlEncode(o.run_id) + "/stages/" + UrlEncode(o.stage) +
                     "/logs?follow=" + (o.follow ? "1" : "0");
  if (o.attempt > 0) path += "&attempt=" + std::to_string(o.attempt);
  Status st = (*client)->Download(path, [](const char* data, size_t n) {
    std::cout.write(data, static_cast<std::streamsize>(n));
    std::cout.flush();
    return true;
  });
  if (!st.ok()) return Report(st);
  return kExitOk;
}

int RunPipelineCancel(const PipelineRunOptions& o) {
  auto client = Connect(o);
  if (!client.ok()) return Report(client.status());
  auto run =
      (*client)->Send("POST", "/api/v1/runs/" + UrlEncode(o.run_id) + "/cancel", json::object());
  if (!run.ok()) return Report(run.status());
  if (o.json)
    std::cout << run->dump(2) << "\n";
  else
    std::cout << "run " << Str(*run, "id") << ": cancel requested (" << Str(*run, "status")
              << ")\n";
  return kExitOk;
}

}  // namespace studio::cli

// `studio deploy`, `studio approve|reject|rollback ID`, `studio deployments list`: thin clients
// of /api/v1/deployments (docs/cli.md "Deployments").
#include <chrono>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <thread>

#include "cli/commands.h"
#include "cli/internal/api_client.h"

namespace studio::cli {
namespace {

std::string WeightsText(const nlohmann::json& w) {
  std::string out;
  if (w.is_object())
    for (auto it = w.begin(); it != w.end(); ++it)
      out +=
          (out.empty() ? "" : " ") + it.key() + "=" + std::to_string(it.value().get<int>()) + "%";
  return out.empty() ? "-" : out;
}

std::string Progress(const nlohmann::json& d) {
  std::string line = d.value("status", "?");
  if (line == "PENDING_APPROVAL")
    line += " (" + std::to_string(d.value("approvals_received", 0)) + " of " +
            std::to_string(d.value("approvals_required", 0)) + " approvals)";
  line += "  weights: " + WeightsText(d.value("weights", nlohmann::json::object()));
  std::string slot = d.value("slot", "");
  if (d.contains("live") && !slot.empty()) {
    const auto& slots = d["live"].value("slots", nlohmann::json::object());
    if (slots.contains(slot)) {
      const auto& m = slots[slot];
      char buf[160];
      std::snprintf(buf, sizeof buf, "  %s: %lld requests, error rate %.3f, p99 %.1f ms",
                    slot.c_str(), static_cast<long long>(m.value("requests", 0)),
                    m.value("error_rate", 0.0), m.value("p99_ms", 0.0));
      line += buf;
    }
  }
  return line;
}

int ExitFor(const std::string& status) {
  if (status == "LIVE") return kExitOk;
  return kExitFailed;
}

bool Terminal(const std::string& s) {
  return s == "LIVE" || s == "ROLLED_BACK" || s == "FAILED" || s == "REJECTED";
}

void PrintDeployment(const nlohmann::json& d, bool json) {
  if (json) {
    std::cout << d.dump(2) << "\n";
    return;
  }
  std::cout << "deployment " << d.value("id", "") << ": " << d.value("model", "") << " version "
            << d.value("version", "") << " to " << d.value("project", "") << "/"
            << d.value("environment", "") << " (" << d.value("strategy", "") << ")\n"
            << "status: " << Progress(d) << "\n";
  if (!d.value("error", "").empty()) std::cout << "reason: " << d.value("error", "") << "\n";
}

}  // namespace

int RunDeploy(const DeployCommandOptions& o, const std::string& model, const std::string& env,
              const std::string& project, const std::string& strategy, bool wait,
              int timeout_seconds) {
  nlohmann::json body = {{"environment", env}};
  size_t at = model.rfind('@');
  size_t slash = model.rfind('/');
  if (at != std::string::npos && at > 0 && at + 1 < model.size()) {
    body["model"] = model.substr(0, at);
    body["alias"] = model.substr(at + 1);
  } else if (slash != std::string::npos && slash > 0 && slash + 1 < model.size()) {
    body["model"] = model.substr(0, slash);
    body["version"] = model.substr(slash + 1);
  } else {
    std::cerr << "error: --model must be NAME@ALIAS or NAME/VERSION, not '" << model << "'\n";
    return kExitError;
  }
  if (!project.empty()) body["project"] = project;
  if (!strategy.empty()) body["strategy"] = strategy;
  auto client = ApiClient::Create({o.server, o.token});
  if (!client.ok()) return ReportApiError(client.status());
  auto created = (*client)->Send("POST", "/api/v1/deployments", body);
  if (!created.ok()) return ReportApiError(created.status());
  std::string id = (*created)["id"];
  if (!wait) {
    PrintDeployment(*created, o.json);
    return kExitOk;
  }
  std::cerr << "deployment " << id << " requested; waiting (Ctrl-C stops waiting, not the "
            << "deployment)\n";
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_seconds);
  std::string last;
  nlohmann::json d = *created;
  while (true) {
    auto got = (*client)->Get("/api/v1/deployments/" + UrlEncode(id));
    if (!got.ok()) return ReportApiError(got.status());
    d = *got;
    std::string line = Progress(d);
    if (line != last) {
      std::cerr << line << "\n";
      last = line;
    }
    if (Terminal(d.value("status", ""))) break;
    if (timeout_seconds > 0 && std::chrono::steady_clock::now() > deadline) {
      std::cerr << "error: deployment " << id << " still " << d.value("status", "") << " after "
                << timeout_seconds << " s\n";
      return kExitError;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  PrintDeployment(d, o.json);
  return ExitFor(d.value("status", ""));
}

int RunDeploymentDecision(const DeployCommandOptions& o, const std::string& id,
                          const std::string& verb, const std::string& text) {
  auto client = ApiClient::Create({o.server, o.token});
  if (!client.ok()) return ReportApiError(client.status());
  nlohmann::json body = nlohmann::json::object();
  if (!text.empty()) body[verb == "rollback" ? "reason" : "comment"] = text;
  auto out = (*client)->Send("POST", "/api/v1/deployments/" + UrlEncode(id) + "/" + verb, body);
  if (!out.ok()) return ReportApiError(out.status());
  PrintDeployment(*out, o.json);
  return kExitOk;
}

int RunDeploymentsList(const DeployCommandOptions& o, const std::string& env,
                       const std::string& project, const std::string& status, int max_results) {
  auto client = ApiClient::Create({o.server, o.token});
  if (!client.ok()) return ReportApiError(client.status());
  std::string q = "?max_results=" + std::to_string(max_results);
  if (!env.empty()) q += "&environment=" + UrlEncode(env);
  if (!project.empty()) q += "&project=" + UrlEncode(project);
  if (!status.empty()) q += "&status=" + UrlEncode(status);
  auto out = (*client)->Get("/api/v1/deployments" + q);
  if (!out.ok()) return ReportApiError(out.status());
  if (o.json) {
    std::cout << out->dump(2) << "\n";
    return kExitOk;
  }
  std::printf("%-36s %-12s %-8s %-20s %-8s %-11s %-17s %s\n", "ID", "PROJECT", "ENV", "MODEL",
              "VERSION", "STRATEGY", "STATUS", "WEIGHTS");
  for (const auto& d : (*out)["items"])
    std::printf("%-36s %-12s %-8s %-20s %-8s %-11s %-17s %s\n", d.value("id", "").c_str(),
                d.value("project", "").c_str(), d.value("environment", "").c_str(),
                d.value("model", "").c_str(), d.value("version", "").c_str(),
                d.value("strategy", "").c_str(), d.value("status", "").c_str(),
                WeightsText(d.value("weights", nlohmann::json::object())).c_str());
  return kExitOk;
}

}  // namespace studio::cli

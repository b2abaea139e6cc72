// SfnExecutor and SfnClient over real HTTP (an in-process endpoint on loopback): concurrent
// polls of one execution, spec-filtered adoption, and malformed responses.
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "orchestrator/sfn/sfn_executor.h"

namespace studio::orchestrator::sfn {
namespace {

using nlohmann::json;

class Endpoint {
 public:
  Endpoint() {
    server_.Post("/", [this](const httplib::Request& req, httplib::Response& res) {
      std::string op = req.get_header_value("X-Amz-Target");
      op = op.substr(op.find('.') + 1);
      std::lock_guard<std::mutex> lock(mu_);
      ++calls_[op];
      auto it = raw_.find(op);
      if (it != raw_.end()) {
        res.set_content(it->second, "application/x-amz-json-1.0");
        return;
      }
      json body = json::parse(req.body);
      json out;
      if (op == "DescribeExecution") {
        out = {{"executionArn", body["executionArn"]}, {"status", status_}, {"startDate", 1.0}};
      } else if (op == "GetExecutionHistory") {
        json events = history_;
        if (body["reverseOrder"].get<bool>()) std::reverse(events.begin(), events.end());
        out = {{"events", events}};
      } else if (op == "StartExecution") {
        out = {{"executionArn", "arn:exec:" + body["name"].get<std::string>()}, {"startDate", 1.0}};
      }
      res.set_content(out.dump(), "application/x-amz-json-1.0");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~Endpoint() {
    server_.stop();
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  void AddEvent(const std::string& type, int64_t prev, const std::string& name = "") {
    std::lock_guard<std::mutex> lock(mu_);
    json e = {
        {"id", history_.size() + 1}, {"previousEventId", prev}, {"timestamp", 2.5}, {"type", type}};
    if (!name.empty()) e["stateEnteredEventDetails"] = {{"name", name}};
    history_.push_back(std::move(e));
  }
  void SetStatus(std::string s) {
    std::lock_guard<std::mutex> lock(mu_);
    status_ = std::move(s);
  }
  void SetRaw(const std::string& op, std::string body) {
    std::lock_guard<std::mutex> lock(mu_);
    raw_[op] = std::move(body);
  }
  int Calls(const std::string& op) {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_[op];
  }

 private:
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  std::mutex mu_;
  json history_ = json::array();
  std::string status_ = "RUNNING";
  std::map<std::string, std::string> raw_;
  std::map<std::string, int> calls_;
};

std::unique_ptr<SfnExecutor> MakeExecutor(const Endpoint& e) {
  SfnExecutorOptions o;
  o.state_machine_arn = "arn:aws:states:us-east-1:111122223333:stateMachine:p";
  o.client.endpoint = e.url();
  o.client.credentials = {"AKIDEXAMPLE", "secret", ""};
  o.client.max_attempts = 1;
  auto ex = SfnExecutor::Create(o);
  EXPECT_TRUE(ex.ok()) << ex.status().ToString();
  return std::move(*ex);
}

pipelines::PipelineSpec Spec(std::vector<std::string> ids) {
  pipelines::PipelineSpec spec;
  for (auto& id : ids) {
    pipelines::StageSpec s;
    s.id = std::move(id);
    spec.stages.push_back(std::move(s));
  }
  return spec;
}

TEST(SfnExecutorHttp, ConcurrentPollsReportEachUpdateOnce) {
  Endpoint e;
  // Four stages each entered and scheduled: 8 events, 4 "running" updates.
  for (const char* s : {"a", "b", "c", "d"}) {
    e.AddEvent("TaskStateEntered", 0, s);
    e.AddEvent("TaskScheduled", static_cast<int64_t>(2 * (s[0] - 'a') + 1));
  }
  auto ex = MakeExecutor(e);
  auto handle = ex->Start("run-1", Spec({"a", "b", "c", "d"}));
  ASSERT_TRUE(handle.ok()) << handle.status().ToString();
  EXPECT_EQ(*handle, "arn:exec:run-1");

  std::mutex mu;
  std::vector<std::string> seen;
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 3; ++i) {
        auto poll = ex->Poll(*handle);
        if (!poll.ok()) {
          ++errors;
          continue;
        }
        std::lock_guard<std::mutex> lock(mu);
        for (const auto& u : poll->updates) seen.push_back(u.stage_id + ":" + u.status);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(errors.load(), 0);
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(seen, (std::vector<std::string>{"a:running", "b:running", "c:running", "d:running"}));
  EXPECT_EQ(e.Calls("DescribeExecution"), 12);

  // The end: everything still running is cancelled once, and the poll says finished.
  e.SetStatus("ABORTED");
  auto last = ex->Poll(*handle);
  ASSERT_TRUE(last.ok());
  EXPECT_TRUE(last->finished);
  EXPECT_EQ(last->status, "ABORTED");
  EXPECT_EQ(last->updates.size(), 4u);
  for (const auto& u : last->updates) EXPECT_EQ(u.status, "cancelled");
  auto again = ex->Poll(*handle);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->finished);
  EXPECT_TRUE(again->updates.empty());
}

TEST(SfnExecutorHttp, AdoptedHandlesUseTheSpecsStageIds) {
  Endpoint e;
  e.AddEvent("TaskStateEntered", 0, "a");
  e.AddEvent("TaskScheduled", 1);
  e.AddEvent("TaskStateEntered", 0, "helper");
  e.AddEvent("TaskScheduled", 3);
  auto ex = MakeExecutor(e);
  // Not adopted: every lowercase state is a stage.
  auto all = ex->Poll("arn:exec:other");
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->updates.size(), 2u);
  ex->Adopt("arn:exec:adopted", Spec({"a"}));
  auto some = ex->Poll("arn:exec:adopted");
  ASSERT_TRUE(some.ok());
  ASSERT_EQ(some->updates.size(), 1u);
  EXPECT_EQ(some->updates[0].stage_id, "a");
}

TEST(SfnExecutorHttp, MalformedResponsesAreErrors) {
  Endpoint e;
  auto ex = MakeExecutor(e);
  e.SetRaw("StartExecution", "not json");
  EXPECT_EQ(ex->Start("run-1", Spec({"a"})).status().code(), ErrorCode::kInternalError);
  e.SetRaw("StartExecution", R"({"startDate": 1})");
  auto r = ex->Start("run-1", Spec({"a"}));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("no executionArn"), std::string::npos);
  e.SetRaw("DescribeExecution", R"({"executionArn": "x"})");
  EXPECT_FALSE(ex->Poll("x").ok());
  e.SetRaw("DescribeExecution", R"({"executionArn": "x", "status": "RUNNING"})");
  e.SetRaw("GetExecutionHistory", R"({"events": {}})");
  EXPECT_FALSE(ex->Poll("x").ok());
  e.SetRaw("GetExecutionHistory", R"({"events": [{"id": "1", "type": "TaskScheduled"}]})");
  EXPECT_FALSE(ex->Poll("x").ok());
  // A server that hands out the same token forever cannot loop the client.
  e.SetRaw("GetExecutionHistory", R"({"events": [{"id": 9, "type": "X"}], "nextToken": "t"})");
  auto loop = ex->Poll("y");
  ASSERT_FALSE(loop.ok());
  EXPECT_NE(loop.status().message().find("nextToken"), std::string::npos);
}

}  // namespace
}  // namespace studio::orchestrator::sfn

// Test driver for the ECS wire-format test (testdata/ecs_wire_test.py): runs a deployment's
// EcsTarget calls against one endpoint that plays ECS, ELBv2 and Application Auto Scaling, and
// prints one JSON line per step ({"step", "ok", "code", "message", "value"}) on stdout.
//
//   ecs_wire_driver ENDPOINT bluegreen|create-error|dev|unhealthy
//
// Credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN.
#include <iostream>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "deploy/aws/ecs_target.h"

namespace {

using studio::Status;
using namespace studio::deploy;

void Report(const std::string& step, const Status& st, const nlohmann::json& value = nullptr) {
  nlohmann::json j = {{"step", step},
                      {"ok", st.ok()},
                      {"code", std::string(studio::ErrorCodeName(st.code()))},
                      {"message", st.message()},
                      {"value", value}};
  std::cout << j.dump() << std::endl;
}

aws::EcsInfra Infra() {
  aws::EcsInfra i;
  i.image = "111122223333.dkr.ecr.us-east-1.amazonaws.com/studio:1.4.0";
  i.cluster = "mlops";
  i.subnets = {"subnet-0a1b2c3d", "subnet-4e5f6a7b"};
  i.security_groups = {"sg-0123456789abcdef0"};
  i.execution_role_arn = "arn:aws:iam::111122223333:role/studio-task-execution";
  i.task_role_arn = "arn:aws:iam::111122223333:role/studio-model-server";
  i.vpc_id = "vpc-0abc";
  i.listener_arn =
      "arn:aws:elasticloadbalancing:us-east-1:111122223333:listener/app/studio-prod/"
      "50dc6c495c0c9188/f2f7dc8efc522ab2";
  i.control_plane_url = "https://studio.internal.example.com";
  i.token_secret_arn = "arn:aws:secretsmanager:us-east-1:111122223333:secret:studio/serving-token";
  i.log_group = "/studio/serving";
  return i;
}

SlotSpec Slot(const std::string& name, const std::string& version) {
  SlotSpec s;
  s.name = name;
  s.model_name = "churn";
  s.model_version = version;
  s.model_uri = "models:/churn/" + version;
  return s;  // replicas left at the defaults: the environment's sizing (prod: 3 → 10)
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: ecs_wire_driver ENDPOINT bluegreen|create-error|dev|unhealthy\n";
    return 2;
  }
  const std::string endpoint = argv[1];
  const std::string scenario = argv[2];
  aws::EcsTargetOptions o;
  o.region = "us-east-1";
  o.ecs_endpoint = o.elbv2_endpoint = o.autoscaling_endpoint = o.monitoring_endpoint = endpoint;
  o.environments["prod"] = Infra();
  o.environments["dev"] = Infra();
  o.poll_interval = std::chrono::milliseconds(5);
  // "unhealthy" waits for a slot that never becomes healthy: keep that bounded wait short.
  o.ready_timeout =
      scenario == "unhealthy" ? std::chrono::milliseconds(300) : std::chrono::milliseconds(20000);
  auto target = aws::EcsTarget::Create(o);
  if (!target.ok()) {
    Report("create", target.status());
    return 2;
  }
  auto& t = **target;
  TargetScope scope{"churn", "prod", "dep-0192"};

  if (scenario == "create-error") {
    Report("start_blue", t.StartSlot(scope, Slot("blue", "1")));
    return 0;
  }
  if (scenario == "dev") {
    // dev: direct deployment (blue replaced in place), then a shift to green with two weight
    // changes racing each other.
    TargetScope dev{"churn", "dev", "dep-0193"};
    Report("start_blue", t.StartSlot(dev, Slot("blue", "1")));
    Report("weights_blue_100", t.SetWeights(dev, {{"blue", 100}}));
    Report("start_blue_v2", t.StartSlot(dev, Slot("blue", "2")));
    Report("start_green", t.StartSlot(dev, Slot("green", "3")));
    Status a, b;
    std::thread ta([&] { a = t.SetWeights(dev, {{"blue", 50}, {"green", 50}}); });
    std::thread tb([&] { b = t.SetWeights(dev, {{"blue", 20}, {"green", 80}}); });
    ta.join();
    tb.join();
    Report("weights_race_a", a);
    Report("weights_race_b", b);
    Report("weights_green_100", t.SetWeights(dev, {{"green", 100}}));
    Report("stop_blue", t.StopSlot(dev, "blue"));
    return 0;
  }
  if (scenario == "unhealthy") {
    TargetScope dev{"churn", "dev", "dep-0194"};
    Report("start_blue", t.StartSlot(dev, Slot("blue", "1")));
    Report("weights_blue_100", t.SetWeights(dev, {{"blue", 100}}));
    Report("start_green", t.StartSlot(dev, Slot("green", "2")));
    auto healthy = t.SlotHealthy(dev, "green");
    Report("green_healthy", healthy.status(), healthy.ok() ? nlohmann::json(*healthy) : nullptr);
    Report("stop_green", t.StopSlot(dev, "green"));
    return 0;
  }
  Report("start_blue", t.StartSlot(scope, Slot("blue", "1")));
  Report("weights_blue_100", t.SetWeights(scope, {{"blue", 100}}));
  Report("start_green", t.StartSlot(scope, Slot("green", "2")));
  auto healthy = t.SlotHealthy(scope, "green");
  Report("green_healthy", healthy.status(), healthy.ok() ? nlohmann::json(*healthy) : nullptr);
  Report("weights_bad_sum", t.SetWeights(scope, {{"blue", 50}, {"green", 40}}));
  Report("weights_unknown_slot", t.SetWeights(scope, {{"purple", 100}}));
  Report("weights_green_100", t.SetWeights(scope, {{"blue", 0}, {"green", 100}}));
  Report("stop_green_refused", t.StopSlot(scope, "green"));
  Report("stop_blue", t.StopSlot(scope, "blue"));
  auto blue = t.SlotHealthy(scope, "blue");
  Report("blue_healthy_after_stop", blue.status());
  auto m = t.Metrics(scope, "green");
  Report("metrics", m.status(),
         m.ok() ? nlohmann::json{{"requests", m->requests},
                                 {"errors", m->errors},
                                 {"p50_ms", m->p50_ms},
                                 {"p99_ms", m->p99_ms}}
                : nlohmann::json(nullptr));
  Report("metrics_stopped_slot", t.Metrics(scope, "blue").status());
  // A new version into the live slot in place (UpdateService, auto-scaled: the count is kept).
  Report("start_green_v3", t.StartSlot(scope, Slot("green", "3")));
  return 0;
}

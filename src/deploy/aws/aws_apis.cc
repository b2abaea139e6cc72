#include "deploy/aws/aws_apis.h"

#include <charconv>

#include "common/strings.h"
#include "deploy/aws/internal/api_util.h"
#include "integrations/aws/sigv4.h"
#include "integrations/aws/xml.h"

namespace studio::deploy::aws {
namespace {

namespace sa = studio::aws;

constexpr std::string_view kEcsTargetPrefix = "AmazonEC2ContainerServiceV20141113";
constexpr std::string_view kAutoScalingTargetPrefix = "AnyScaleFrontendService";
constexpr std::string_view kElbVersion = "2015-12-01";
constexpr std::string_view kJsonContentType = "application/x-amz-json-1.1";
constexpr std::string_view kFormContentType = "application/x-www-form-urlencoded; charset=utf-8";

}  // namespace

Result<std::unique_ptr<sa::Client>> MakeAwsClient(const ApiOptions& o, std::string_view service,
                                                  const std::string& endpoint,
                                                  std::string_view host_prefix) {
  sa::ClientOptions co;
  co.service = std::string(service);
  co.region = o.region;
  co.credentials = o.credentials;
  co.max_attempts = o.max_attempts;
  co.endpoint = endpoint.empty()
                    ? "https://" + std::string(host_prefix) + "." + o.region + ".amazonaws.com"
                    : endpoint;
  return sa::Client::Create(std::move(co));
}

// "POST /: HTTP 400 X: m" → "<api> <action>: HTTP 400 X: m".
Status PrefixedAwsError(const Status& st, std::string_view api, std::string_view action) {
  std::string msg = st.message();
  if (msg.starts_with("POST /: ")) msg.erase(0, 8);
  return Status(st.code(), std::string(api) + " " + std::string(action) + ": " + msg);
}

Result<std::string> QueryCall(sa::Client& client, std::string_view version, std::string_view api,
                              std::string_view action, const ojson& input) {
  sa::QueryList params = {{"Action", std::string(action)}, {"Version", std::string(version)}};
  FlattenQuery(input, "", params);
  const std::string body = FormEncode(params);
  sa::Request req;
  req.method = "POST";
  req.path = "/";
  req.headers = {{"Content-Type", std::string(kFormContentType)}};
  req.body = body;
  Result<sa::Response> r = client.Send(req);
  if (!r.ok()) return PrefixedAwsError(r.status(), api, action);
  return std::move(r->body);
}

namespace {

Result<nlohmann::json> JsonCall(sa::Client& client, std::string_view api,
                                std::string_view target_prefix, std::string_view action,
                                const ojson& input) {
  ASSIGN_OR_RETURN(std::string text,
                   sa::JsonProtocolCall(client, kJsonContentType,
                                        std::string(target_prefix) + "." + std::string(action),
                                        input.dump(), api, action));
  if (text.empty()) return nlohmann::json::object();
  nlohmann::json out = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (out.is_discarded() || !out.is_object()) {
    return Internal(std::string(api) + " " + std::string(action) + ": response is not JSON");
  }
  return out;
}

int IntField(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number_integer() ? it->get<int>() : 0;
}

std::string StringField(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

EcsServiceState ParseService(const nlohmann::json& s) {
  EcsServiceState st;
  st.arn = StringField(s, "serviceArn");
  st.status = StringField(s, "status");
  st.desired_count = IntField(s, "desiredCount");
  st.running_count = IntField(s, "runningCount");
  st.pending_count = IntField(s, "pendingCount");
  st.task_definition = StringField(s, "taskDefinition");
  if (auto d = s.find("deployments"); d != s.end() && d->is_array()) {
    for (const auto& dep : *d) {
      if (StringField(dep, "status") == "PRIMARY") {
        st.rollout_state = StringField(dep, "rolloutState");
        st.rollout_reason = StringField(dep, "rolloutStateReason");
      }
    }
  }
  return st;
}

Result<EcsServiceState> ServiceFrom(const nlohmann::json& body, std::string_view action) {
  auto it = body.find("service");
  if (it == body.end() || !it->is_object()) {
    return Internal("ECS " + std::string(action) + ": response has no service");
  }
  return ParseService(*it);
}

int ParseInt(std::string_view s) {
  int v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

}  // namespace

std::string AwsErrorCode(const Status& status) {
  // "<api> <action>: HTTP <status> <Code>: <message> (request id …)"
  const std::string& m = status.message();
  size_t p = m.find(": HTTP ");
  if (p == std::string::npos) return "";
  p += 7;
  while (p < m.size() && m[p] >= '0' && m[p] <= '9') ++p;
  if (p >= m.size() || m[p] != ' ') return "";
  ++p;
  size_t e = p;
  while (e < m.size() && m[e] != ':' && m[e] != ' ') ++e;
  return m.substr(p, e - p);
}

void FlattenQuery(const ojson& input, std::string_view prefix, sa::QueryList& out) {
  const std::string pre(prefix);
  auto join = [&](std::string_view key) {
    return pre.empty() ? std::string(key) : pre + "." + std::string(key);
  };
  switch (input.type()) {
    case ojson::value_t::object:
      for (const auto& [k, v] : input.items()) FlattenQuery(v, join(k), out);
      break;
    case ojson::value_t::array: {
      if (input.empty()) {
        out.emplace_back(pre, "");  // botocore's spelling of an empty list
        break;
      }
      int i = 1;
      for (const auto& v : input) FlattenQuery(v, join("member." + std::to_string(i++)), out);
      break;
    }
    case ojson::value_t::boolean:
      out.emplace_back(pre, input.get<bool>() ? "true" : "false");
      break;
    case ojson::value_t::string:
      out.emplace_back(pre, input.get<std::string>());
      break;
    case ojson::value_t::number_integer:
    case ojson::value_t::number_unsigned:
      out.emplace_back(pre, input.dump());
      break;
    case ojson::value_t::number_float: {
      std::string s;
      AppendJsonNumber(s, input.get<double>());
      out.emplace_back(pre, s);
      break;
    }
    default:
      break;  // null: the member is absent
  }
}

std::string FormEncode(const sa::QueryList& params) {
  std::string out;
  for (const auto& [k, v] : params) {
    if (!out.empty()) out.push_back('&');
    out += sa::UriEncode(k, false) + "=" + sa::UriEncode(v, false);
  }
  return out;
}

// ---- ECS ------------------------------------------------------------------------------------

Result<std::unique_ptr<EcsApi>> EcsApi::Create(const ApiOptions& options) {
  ASSIGN_OR_RETURN(auto c, MakeAwsClient(options, "ecs", options.ecs_endpoint, "ecs"));
  return std::unique_ptr<EcsApi>(new EcsApi(std::move(c)));
}

Result<nlohmann::json> EcsApi::Call(std::string_view action, const ojson& input) {
  return JsonCall(*client_, "ECS", kEcsTargetPrefix, action, input);
}

Result<std::string> EcsApi::RegisterTaskDefinition(const ojson& input) {
  ASSIGN_OR_RETURN(nlohmann::json body, Call("RegisterTaskDefinition", input));
  std::string arn;
  if (auto td = body.find("taskDefinition"); td != body.end() && td->is_object()) {
    arn = StringField(*td, "taskDefinitionArn");
  }
  if (arn.empty()) return Internal("ECS RegisterTaskDefinition: response has no taskDefinitionArn");
  return arn;
}

Result<EcsServiceState> EcsApi::CreateService(const ojson& input) {
  ASSIGN_OR_RETURN(nlohmann::json body, Call("CreateService", input));
  return ServiceFrom(body, "CreateService");
}

Result<EcsServiceState> EcsApi::UpdateService(const ojson& input) {
  ASSIGN_OR_RETURN(nlohmann::json body, Call("UpdateService", input));
  return ServiceFrom(body, "UpdateService");
}

Result<std::optional<EcsServiceState>> EcsApi::DescribeService(const std::string& cluster,
                                                               const std::string& service) {
  ojson in = {{"cluster", cluster}, {"services", {service}}};
  ASSIGN_OR_RETURN(nlohmann::json body, Call("DescribeServices", in));
  if (auto s = body.find("services"); s != body.end() && s->is_array()) {
    for (const auto& svc : *s) {
      if (svc.is_object()) return std::optional<EcsServiceState>(ParseService(svc));
    }
  }
  if (auto f = body.find("failures"); f != body.end() && f->is_array()) {
    for (const auto& fail : *f) {
      std::string reason = StringField(fail, "reason");
      if (reason == "MISSING") return std::optional<EcsServiceState>();
      return Status(ErrorCode::kInternalError, "ECS DescribeServices: " + service + ": " + reason +
                                                   " " + StringField(fail, "detail"));
    }
  }
  return std::optional<EcsServiceState>();
}

Status EcsApi::DeleteService(const std::string& cluster, const std::string& service, bool force) {
  ojson in = {{"cluster", cluster}, {"service", service}, {"force", force}};
  return Call("DeleteService", in).status();
}

// ---- Elastic Load Balancing v2 ---------------------------------------------------------------

Result<std::unique_ptr<Elbv2Api>> Elbv2Api::Create(const ApiOptions& options) {
  ASSIGN_OR_RETURN(auto c, MakeAwsClient(options, "elasticloadbalancing", options.elbv2_endpoint,
                                         "elasticloadbalancing"));
  return std::unique_ptr<Elbv2Api>(new Elbv2Api(std::move(c)));
}

Result<std::string> Elbv2Api::Call(std::string_view action, const ojson& input) {
  return QueryCall(*client_, kElbVersion, "ELBv2", action, input);
}

Result<std::string> Elbv2Api::CreateTargetGroup(const ojson& input) {
  ASSIGN_OR_RETURN(std::string xml, Call("CreateTargetGroup", input));
  std::optional<std::string> arn = sa::xml::FindText(xml, "TargetGroupArn");
  if (!arn || arn->empty())
    return Internal("ELBv2 CreateTargetGroup: response has no TargetGroupArn");
  return *arn;
}

Result<std::optional<std::string>> Elbv2Api::FindTargetGroup(const std::string& name) {
  Result<std::string> xml = Call("DescribeTargetGroups", {{"Names", {name}}});
  if (!xml.ok()) {
    if (AwsErrorCode(xml.status()) == "TargetGroupNotFound") return std::optional<std::string>();
    return xml.status();
  }
  std::optional<std::string> arn = sa::xml::FindText(*xml, "TargetGroupArn");
  if (!arn || arn->empty()) return std::optional<std::string>();
  return arn;
}

Result<std::vector<TargetHealth>> Elbv2Api::DescribeTargetHealth(const std::string& arn) {
  ASSIGN_OR_RETURN(std::string xml, Call("DescribeTargetHealth", {{"TargetGroupArn", arn}}));
  std::vector<TargetHealth> out;
  auto list = sa::xml::FindAll(xml, "TargetHealthDescriptions");
  if (list.empty()) return out;
  for (std::string_view m : sa::xml::FindAll(list.front(), "member")) {
    TargetHealth t;
    auto target = sa::xml::FindAll(m, "Target");
    if (!target.empty()) {
      t.id = sa::xml::FindText(target.front(), "Id").value_or("");
      t.port = sa::xml::FindText(target.front(), "Port").value_or("");
    }
    auto health = sa::xml::FindAll(m, "TargetHealth");
    if (!health.empty()) {
      t.state = sa::xml::FindText(health.front(), "State").value_or("");
      t.reason = sa::xml::FindText(health.front(), "Reason").value_or("");
    }
    out.push_back(std::move(t));
  }
  return out;
}

Result<std::vector<std::pair<std::string, int>>> Elbv2Api::GetForward(
    const std::string& listener_arn, const std::string& rule_arn) {
  std::string xml, actions_tag;
  if (!rule_arn.empty()) {
    ASSIGN_OR_RETURN(xml, Call("DescribeRules", {{"RuleArns", {rule_arn}}}));
    actions_tag = "Actions";
  } else {
    ASSIGN_OR_RETURN(xml, Call("DescribeListeners", {{"ListenerArns", {listener_arn}}}));
    actions_tag = "DefaultActions";
  }
  std::vector<std::pair<std::string, int>> out;
  auto actions = sa::xml::FindAll(xml, actions_tag);
  if (actions.empty()) return out;
  auto forward = sa::xml::FindAll(actions.front(), "ForwardConfig");
  if (forward.empty()) {
    // A plain forward (TargetGroupArn without ForwardConfig) sends everything to one group.
    if (auto arn = sa::xml::FindText(actions.front(), "TargetGroupArn"); arn && !arn->empty()) {
      out.emplace_back(*arn, 100);
    }
    return out;
  }
  for (std::string_view m : sa::xml::FindAll(forward.front(), "member")) {
    std::string arn = sa::xml::FindText(m, "TargetGroupArn").value_or("");
    if (arn.empty()) continue;
    out.emplace_back(arn, ParseInt(sa::xml::FindText(m, "Weight").value_or("1")));
  }
  return out;
}

Status Elbv2Api::SetActions(const std::string& listener_arn, const std::string& rule_arn,
                            const ojson& actions) {
  if (!rule_arn.empty()) {
    return Call("ModifyRule", {{"RuleArn", rule_arn}, {"Actions", actions}}).status();
  }
  return Call("ModifyListener", {{"ListenerArn", listener_arn}, {"DefaultActions", actions}})
      .status();
}

Status Elbv2Api::DeleteTargetGroup(const std::string& arn) {
  return Call("DeleteTargetGroup", {{"TargetGroupArn", arn}}).status();
}

// ---- Application Auto Scaling ---------------------------------------------------------------

Result<std::unique_ptr<AutoScalingApi>> AutoScalingApi::Create(const ApiOptions& options) {
  ASSIGN_OR_RETURN(auto c, MakeAwsClient(options, "application-autoscaling",
                                         options.autoscaling_endpoint, "application-autoscaling"));
  return std::unique_ptr<AutoScalingApi>(new AutoScalingApi(std::move(c)));
}

Result<nlohmann::json> AutoScalingApi::Call(std::string_view action, const ojson& input) {
  return JsonCall(*client_, "ApplicationAutoScaling", kAutoScalingTargetPrefix, action, input);
}

Status AutoScalingApi::RegisterScalableTarget(const ojson& input) {
  return Call("RegisterScalableTarget", input).status();
}

Status AutoScalingApi::PutScalingPolicy(const ojson& input) {
  return Call("PutScalingPolicy", input).status();
}

Status AutoScalingApi::DeregisterEcsService(const std::string& resource_id) {
  ojson in = {{"ServiceNamespace", "ecs"},
              {"ResourceId", resource_id},
              {"ScalableDimension", "ecs:service:DesiredCount"}};
  Status st = Call("DeregisterScalableTarget", in).status();
  if (!st.ok() && AwsErrorCode(st) == "ObjectNotFoundException") return Status::Ok();
  return st;
}

}  // namespace studio::deploy::aws

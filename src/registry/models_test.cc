#include "registry/models.h"

#include <gtest/gtest.h>

#include "audit/audit_log.h"
#include "registry/projects.h"
#include "registry/source_uri.h"
#include "store/audit_repo.h"
#include "store/internal/test_stores.h"

namespace studio::registry {
namespace {

const char* kRoot = "file:///srv/studio/artifacts";

TEST(SourceUriTest, AcceptsTheStoreAndMlflowSchemes) {
  for (const char* ok :
       {"file:///srv/studio/artifacts/m/1", "file://localhost/srv/studio/artifacts/x",
        "/srv/studio/artifacts/a//b/", "mlflow-artifacts:/models", "mlflow-artifacts:/a//b/",
        "mlflow-artifacts://host:9000/models/x", "runs:/0123abc/model", "models:/fraud/3",
        "mlflow-artifacts:/models/..../x", "file:///srv/studio/artifacts"})
    EXPECT_TRUE(ValidateModelSource(ok, kRoot).ok()) << ok;
  EXPECT_TRUE(ValidateModelSource("s3://bucket/prefix/models/1", "s3://bucket/prefix").ok());
}

TEST(SourceUriTest, RefusesTraversalAndEscapes) {
  for (const char* bad : {"file:///etc",
                          "file:///etc/",
                          "file://./etc",
                          "//proc/self/root",
                          "/proc/self/root",
                          "file:///srv/studio/artifacts/../../etc",
                          "/srv/studio/artifacts/%2e%2e/x",
                          "/srv/studio/artifacts/%252e%252e/%252e%252e/etc",
                          "mlflow-artifacts://h:9/models/../../",
                          "mlflow-artifacts://h:9/models/..%2f..%2fartifacts",
                          "http://host:9000/models/../../../",
                          "https://example.com/model",
                          "ftp://host/x",
                          "s3a://bucket/x/../../",
                          "http:///?/../../../../etc/",
                          "http:///#/../../etc/",
                          "file:///srv/studio/artifacts?x",
                          "file:///srv/studio/artifacts#frag",
                          "/srv/studio/artifacts/x%00",
                          "relative/path",
                          "models",
                          "file://123.456.789.123/path",
                          "/srv/studio/artifacts-evil/x",
                          "/srv/studio/artifacts /x",
                          "C:\\x",
                          "file:/srv/studio/artifactsX",
                          "runs:",
                          "",
                          "dbfs:/x"}) {
    Status st = ValidateModelSource(bad, kRoot);
    EXPECT_EQ(st.code(), ErrorCode::kInvalidParameterValue) << bad;
  }
  EXPECT_FALSE(ValidateModelSource("s3://other/prefix/x", "s3://bucket/prefix").ok());
  EXPECT_FALSE(ValidateModelSource("s3://bucket/prefixevil/x", "s3://bucket/prefix").ok());
  EXPECT_FALSE(ValidateModelSource("s3://bucket/prefix/x", kRoot).ok());
  EXPECT_FALSE(ValidateModelSource("/srv/studio/artifacts/x", "s3://bucket/prefix").ok());
}

TEST(ModelValidationTest, NamesAliasesStagesVersions) {
  EXPECT_TRUE(ValidateModelName("fraud model.v2").ok());
  EXPECT_FALSE(ValidateModelName("").ok());
  EXPECT_FALSE(ValidateModelName("a/b").ok());
  EXPECT_FALSE(ValidateModelName(std::string("a\nb")).ok());
  EXPECT_TRUE(ValidateAlias("champion").ok());
  for (const char* bad : {"", "latest", "v1", "V12", "a b", "a/b"})
    EXPECT_FALSE(ValidateAlias(bad).ok()) << bad;
  EXPECT_EQ(*CanonicalStage("staging"), "Staging");
  EXPECT_EQ(*CanonicalStage("None"), "None");
  EXPECT_FALSE(CanonicalStage("Deleted_Internal").ok());
  EXPECT_EQ(*ParseVersion("12"), 12);
  for (const char* bad : {"", "0", "-1", "1.0", "x", "99999999999999999999"})
    EXPECT_FALSE(ParseVersion(bad).ok()) << bad;
}

class ModelsServiceTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (!store::testing::BackendAvailable(GetParam())) GTEST_SKIP() << "no PostgreSQL fixture";
    t_ = store::testing::OpenTestStore(GetParam());
    models_ = std::make_unique<Models>(*t_->store, kRoot);
  }
  store::ModelVersionRecord NewVersion(const std::string& model, const std::string& run = "") {
    VersionInput in;
    in.model = model;
    in.source = "mlflow-artifacts:/m";
    in.run_id = run;
    auto v = models_->CreateVersion(actor_, in);
    EXPECT_TRUE(v.ok()) << v.status().ToString();
    return v.ok() ? *v : store::ModelVersionRecord{};
  }
  std::unique_ptr<store::testing::TestStore> t_;
  std::unique_ptr<Models> models_;
  auth::Actor actor_{"alice", "req-1"};
};

TEST_P(ModelsServiceTest, LifecycleIsAudited) {
  ModelInput in;
  in.name = "fraud";
  in.description = "card fraud";
  in.tags = {{"team", "risk"}};
  auto m = models_->Create(actor_, in);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(models_->Create(actor_, in).status().code(), ErrorCode::kAlreadyExists);
  // MLflow-created models land in the `default` project, created once.
  auto p = Projects(*t_->store).Get("default");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(m->project_id, p->id);

  EXPECT_EQ(NewVersion("fraud", "r1").version, 1);
  EXPECT_EQ(NewVersion("fraud", "r2").version, 2);
  EXPECT_EQ(NewVersion(m->id).version, 3);  // by id too
  ASSERT_TRUE(models_->DeleteVersion(actor_, "fraud", 3).ok());
  EXPECT_EQ(NewVersion("fraud").version, 4);  // numbers are never reused
  EXPECT_EQ(models_->GetVersion("fraud", 3).status().code(), ErrorCode::kResourceDoesNotExist);

  ASSERT_TRUE(models_->SetAlias(actor_, "fraud", "champion", 1).ok());
  ASSERT_TRUE(models_->SetAlias(actor_, "fraud", "champion", 2).ok());  // overwrites
  ASSERT_TRUE(models_->SetAlias(actor_, "fraud", "challenger", 2).ok());
  EXPECT_EQ(models_->GetByAlias("fraud", "champion")->version, 2);
  EXPECT_EQ(models_->SetAlias(actor_, "fraud", "x", 99).code(), ErrorCode::kResourceDoesNotExist);
  ASSERT_TRUE(models_->SetVersionTag(actor_, "fraud", 2, "validated", "yes").ok());

  auto got = models_->Get("fraud");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->tags.at("team"), "risk");
  ASSERT_EQ(got->aliases.size(), 2u);
  EXPECT_EQ(got->aliases[0], (std::pair<std::string, int64_t>{"challenger", 2}));
  ASSERT_EQ(got->latest_versions.size(), 1u);
  EXPECT_EQ(got->latest_versions[0].version, 4);

  // Transition with archive_existing_versions archives the other Production versions.
  ASSERT_TRUE(models_->TransitionStage(actor_, "fraud", 1, "production", false).ok());
  auto t = models_->TransitionStage(actor_, "fraud", 2, "Production", true);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->current_stage, "Production");
  EXPECT_EQ(models_->GetVersion("fraud", 1)->current_stage, "Archived");
  EXPECT_EQ(models_->TransitionStage(actor_, "fraud", 2, "Archived", true).status().code(),
            ErrorCode::kInvalidParameterValue);
  auto latest = models_->LatestVersions("fraud", {"Production"});
  ASSERT_TRUE(latest.ok());
  ASSERT_EQ(latest->size(), 1u);
  EXPECT_EQ((*latest)[0].version, 2);
  EXPECT_EQ((*latest)[0].aliases, (std::vector<std::string>{"challenger", "champion"}));

  auto renamed = models_->Rename(actor_, "fraud", "fraud-v2");
  ASSERT_TRUE(renamed.ok());
  EXPECT_EQ(models_->GetVersion("fraud-v2", 2)->name, "fraud-v2");
  ModelInput other;
  other.name = "other";
  ASSERT_TRUE(models_->Create(actor_, other).ok());
  EXPECT_EQ(models_->Rename(actor_, "other", "fraud-v2").status().code(),
            ErrorCode::kAlreadyExists);

  // Deleting a version drops the aliases that pointed at it.
  ASSERT_TRUE(models_->DeleteVersion(actor_, "fraud-v2", 2).ok());
  EXPECT_TRUE(models_->Get("fraud-v2")->aliases.empty());
  // A project with models cannot be deleted.
  EXPECT_EQ(Projects(*t_->store).Delete(actor_, "default").code(), ErrorCode::kResourceConflict);
  ASSERT_TRUE(models_->Delete(actor_, "fraud-v2").ok());
  EXPECT_EQ(models_->Get("fraud-v2").status().code(), ErrorCode::kResourceDoesNotExist);

  std::vector<store::AuditEventRecord> events;
  ASSERT_TRUE(t_->store
                  ->Read([&](store::Tx& tx) -> Status {
                    ASSIGN_OR_RETURN(events, store::AuditEvents(tx).List({}, 0, 1000));
                    return Status::Ok();
                  })
                  .ok());
  std::map<std::string, int> counts;
  for (const auto& e : events) counts[e.action]++;
  EXPECT_EQ(counts["project.create"], 1);
  EXPECT_EQ(counts["registered_model.create"], 2);
  EXPECT_EQ(counts["model_version.create"], 4);
  EXPECT_EQ(counts["model_version.transition_stage"], 2);
  EXPECT_EQ(counts["registered_model.set_alias"], 3);
  EXPECT_EQ(counts["registered_model.rename"], 1);
  EXPECT_EQ(counts["registered_model.delete"], 1);
  EXPECT_TRUE(audit::Verify(*t_->store)->ok);
}

TEST_P(ModelsServiceTest, SearchFiltersOrdersAndPages) {
  for (const char* name : {"alpha", "Beta", "beta-2", "gamma_x", "gammaYx"}) {
    ModelInput in;
    in.name = name;
    if (std::string(name).rfind("gamma", 0) == 0) in.tags = {{"team", "risk"}};
    ASSERT_TRUE(models_->Create(actor_, in).ok());
  }
  auto names = [&](const std::string& filter, std::vector<std::string> order = {}, int max = 100) {
    SearchRequest req;
    req.filter = filter;
    req.order_by = std::move(order);
    req.max_results = max;
    std::vector<std::string> out;
    auto page = models_->Search(req);
    EXPECT_TRUE(page.ok()) << filter << ": " << page.status().ToString();
    if (page.ok())
      for (const auto& m : page->items) out.push_back(m.name);
    return out;
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(names(""), (V{"Beta", "alpha", "beta-2", "gammaYx", "gamma_x"}));
  EXPECT_EQ(names("name LIKE 'beta%'"), (V{"beta-2"}));  // case-sensitive on both backends
  EXPECT_EQ(names("name ILIKE 'beta%'"), (V{"Beta", "beta-2"}));
  EXPECT_EQ(names("name LIKE 'gamma_x'"), (V{"gammaYx", "gamma_x"}));
  EXPECT_EQ(names("name LIKE 'gamma\\_x'"), (V{"gamma_x"}));
  EXPECT_EQ(names("name = 'alpha'"), (V{"alpha"}));
  EXPECT_EQ(names("name != 'alpha' AND tags.team = 'risk'"), (V{"gammaYx", "gamma_x"}));
  EXPECT_EQ(names("name = ''' OR 1=1 --'"), V{});
  EXPECT_EQ(names("", {"name DESC"}), (V{"gamma_x", "gammaYx", "beta-2", "alpha", "Beta"}));

  SearchRequest req;
  req.max_results = 2;
  std::vector<std::string> all;
  for (int i = 0; i < 10; ++i) {
    auto page = models_->Search(req);
    ASSERT_TRUE(page.ok());
    for (const auto& m : page->items) all.push_back(m.name);
    if (page->next_page_token.empty()) break;
    req.page_token = page->next_page_token;
  }
  EXPECT_EQ(all, (V{"Beta", "alpha", "beta-2", "gammaYx", "gamma_x"}));
  req.page_token = "not-a-token!";
  EXPECT_EQ(models_->Search(req).status().code(), ErrorCode::kInvalidParameterValue);
  req.page_token = "";
  req.max_results = 1001;
  EXPECT_EQ(models_->Search(req).status().code(), ErrorCode::kInvalidParameterValue);

  // Versions: run_id IN, version_number, tags, and aliases populated in the search results.
  NewVersion("alpha", "r1");
  NewVersion("alpha", "r2");
  NewVersion("Beta", "r1");
  ASSERT_TRUE(models_->SetAlias(actor_, "alpha", "champion", 2).ok());
  ASSERT_TRUE(models_->SetVersionTag(actor_, "alpha", 1, "ok", "yes").ok());
  auto versions = [&](const std::string& filter) {
    SearchRequest r;
    r.filter = filter;
    r.max_results = 1000;
    std::vector<std::string> out;
    auto page = models_->SearchVersions(r);
    EXPECT_TRUE(page.ok()) << filter << ": " << page.status().ToString();
    if (page.ok())
      for (const auto& v : page->items) {
        std::string s = v.name + "/" + std::to_string(v.version);
        for (const auto& a : v.aliases) s += "@" + a;
        out.push_back(s);
      }
    return out;
  };
  EXPECT_EQ(versions(""), (V{"Beta/1", "alpha/2@champion", "alpha/1"}));
  EXPECT_EQ(versions("run_id IN ('r1', 'zz')"), (V{"Beta/1", "alpha/1"}));
  EXPECT_EQ(versions("name = 'alpha' AND version_number > 1"), (V{"alpha/2@champion"}));
  EXPECT_EQ(versions("tags.ok = 'yes'"), (V{"alpha/1"}));
  EXPECT_EQ(versions("source_path LIKE 'mlflow-artifacts:%' AND name = 'Beta'"), (V{"Beta/1"}));
}

TEST_P(ModelsServiceTest, RepositoryBatchesAndBindsEverything) {
  Status st = t_->store->Write([&](store::Tx& tx) -> Status {
    store::Models repo(tx);
    bool created = false;
    ASSIGN_OR_RETURN(std::string p1, repo.EnsureProject("default", "alice", 1, &created));
    EXPECT_TRUE(created);
    ASSIGN_OR_RETURN(std::string p2, repo.EnsureProject("default", "bob", 2, &created));
    EXPECT_FALSE(created);
    EXPECT_EQ(p1, p2);
    for (int i = 0; i < 3; ++i) {
      store::ModelRecord m;
      m.id = "id-" + std::to_string(i);
      m.project_id = p1;
      m.name = "model'" + std::to_string(i);  // a quote in a value is just data
      m.tags = {{"k", std::to_string(i)}};
      m.created_at = m.updated_at = 10 + i;
      RETURN_IF_ERROR(repo.InsertModel(m));
      for (int v = 1; v <= 2; ++v) {
        store::ModelVersionRecord rec;
        rec.model_id = m.id;
        ASSIGN_OR_RETURN(rec.version, repo.NextVersion(m.id));
        rec.source = "mlflow-artifacts:/x";
        rec.current_stage = v == 1 ? "Production" : "None";
        rec.tags = {{"v", std::to_string(v)}};
        RETURN_IF_ERROR(repo.InsertVersion(rec));
      }
      RETURN_IF_ERROR(repo.SetAlias(m.id, "champion", 1));
    }
    return Status::Ok();
  });
  ASSERT_TRUE(st.ok()) << st.ToString();
  // A duplicate name is ALREADY_EXISTS (its own transaction: PostgreSQL aborts it).
  Status dup_st = t_->store->Write([&](store::Tx& tx) -> Status {
    store::Models repo(tx);
    ASSIGN_OR_RETURN(store::ModelRecord dup, repo.GetModel("model'1"));
    dup.id = "id-dup";
    dup.name = "model'0";
    return repo.InsertModel(dup);
  });
  EXPECT_EQ(dup_st.code(), ErrorCode::kAlreadyExists);
  ASSERT_TRUE(t_->store
                  ->Read([&](store::Tx& tx) -> Status {
                    store::Models repo(tx);
                    store::SqlQuery all;
                    ASSIGN_OR_RETURN(auto models, repo.SearchModels(all, 10, 0));
                    EXPECT_EQ(models.size(), 3u);
                    RETURN_IF_ERROR(repo.LoadModelExtras(models));
                    for (const auto& m : models) {
                      EXPECT_EQ(m.tags.size(), 1u);
                      EXPECT_EQ(m.aliases.size(), 1u);
                      EXPECT_EQ(m.latest_versions.size(), 2u);  // one per stage
                    }
                    ASSIGN_OR_RETURN(auto versions, repo.SearchVersions(all, 10, 0));
                    EXPECT_EQ(versions.size(), 6u);
                    RETURN_IF_ERROR(repo.LoadVersionExtras(versions));
                    for (const auto& v : versions) {
                      EXPECT_EQ(v.tags.at("v"), std::to_string(v.version));
                      EXPECT_EQ(v.aliases.size(), v.version == 1 ? 1u : 0u);
                    }
                    ASSIGN_OR_RETURN(auto page, repo.SearchModels(all, 2, 2));
                    EXPECT_EQ(page.size(), 1u);
                    return Status::Ok();
                  })
                  .ok());
}

INSTANTIATE_TEST_SUITE_P(Backends, ModelsServiceTest,
                         ::testing::ValuesIn(store::testing::Backends()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace studio::registry

#include "integrations/aws/aws_client.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <ctime>
#include <thread>

#include "common/crypto.h"
#include "common/strings.h"
#include "integrations/aws/xml.h"

namespace studio::aws {
namespace {

TEST(Xml, FindsElementsAndDecodesEntities) {
  std::string doc =
      "<?xml version=\"1.0\"?><ListBucketResult><Keys>no</Keys><Contents><Key>a&amp;b "
      "&lt;c&gt; &#x20AC;&#65;</Key><Size>3</Size></Contents><Contents><Key>d</Key>"
      "</Contents><Empty/><IsTruncated>false</IsTruncated></ListBucketResult>";
  auto contents = xml::FindAll(doc, "Contents");
  ASSERT_EQ(contents.size(), 2u);
  EXPECT_EQ(xml::FindText(contents[0], "Key"),
            "a&b <c> \xe2\x82\xac"
            "A");
  EXPECT_EQ(xml::FindText(contents[1], "Key"), "d");
  EXPECT_EQ(xml::FindText(doc, "Empty"), "");
  EXPECT_EQ(xml::FindText(doc, "Missing"), std::nullopt);
  EXPECT_EQ(xml::Escape("a<&>\"'"), "a&lt;&amp;&gt;&quot;&apos;");
}

TEST(AwsClient, MapsErrorBodies) {
  Response r;
  r.status = 404;
  r.body =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>NoSuchKey</Code><Message>The "
      "specified key does not exist.</Message><Key>x</Key></Error>";
  r.headers.emplace_back("x-amz-request-id", "REQ1");
  Status st = ErrorFromResponse(r, "GET /b/x");
  EXPECT_EQ(st.code(), ErrorCode::kResourceDoesNotExist);
  EXPECT_EQ(st.message(),
            "GET /b/x: HTTP 404 NoSuchKey: The specified key does not exist. (request id REQ1)");

  r.status = 403;
  r.body = "<Error><Code>SignatureDoesNotMatch</Code><Message>bad</Message></Error>";
  EXPECT_EQ(ErrorFromResponse(r, "op").code(), ErrorCode::kPermissionDenied);
  r.status = 503;
  r.body = "<Error><Code>SlowDown</Code></Error>";
  EXPECT_EQ(ErrorFromResponse(r, "op").code(), ErrorCode::kRequestLimitExceeded);
  r.status = 400;
  r.body = R"({"__type":"com.amazonaws.states#InvalidArn","message":"Invalid Arn"})";
  r.headers.clear();
  EXPECT_EQ(ErrorFromResponse(r, "StartExecution").message(),
            "StartExecution: HTTP 400 InvalidArn: Invalid Arn");
  r.body = R"({"__type":"com.amazonaws.states#ExecutionDoesNotExist","message":"none"})";
  EXPECT_EQ(ErrorFromResponse(r, "op").code(), ErrorCode::kResourceDoesNotExist);
  r.body = R"({"__type":"ExecutionAlreadyExists","message":"taken"})";
  EXPECT_EQ(ErrorFromResponse(r, "op").code(), ErrorCode::kAlreadyExists);
  r.status = 404;  // HEAD: no body
  r.body.clear();
  EXPECT_EQ(ErrorFromResponse(r, "HEAD /b/k").code(), ErrorCode::kResourceDoesNotExist);
}

TEST(AwsClient, ValidatesOptions) {
  ClientOptions o;
  o.service = "s3";
  o.endpoint = "ftp://x";
  EXPECT_FALSE(Client::Create(o).ok());
  o.endpoint = "http://h:1/path";
  EXPECT_FALSE(Client::Create(o).ok());
  o.endpoint = "http://127.0.0.1:1/";
  auto c = Client::Create(o);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ((*c)->host(), "127.0.0.1:1");
}

// A loopback server that checks every request's SigV4 signature the way AWS does: it rebuilds
// the canonical request from what arrived on the wire (raw target, signed headers, body) and
// recomputes the signature with the shared secret. s3rver cannot do this; AWS would.
class VerifyingServer {
 public:
  using Handler = std::function<void(const httplib::Request&, httplib::Response&)>;

  explicit VerifyingServer(Credentials creds) : creds_(std::move(creds)) {
    auto route = [this](const httplib::Request& req, httplib::Response& res) {
      std::string why = Verify(req);
      if (!why.empty()) {
        ++bad_;
        last_error_ = why;
        res.status = 403;
        res.set_content("<Error><Code>SignatureDoesNotMatch</Code><Message>" + xml::Escape(why) +
                            "</Message></Error>",
                        "application/xml");
        return;
      }
      ++good_;
      last_body_ = req.body;
      last_target_ = req.target;
      if (handler_) handler_(req, res);
    };
    server_.Get(".*", route);
    server_.Put(".*", route);
    server_.Post(".*", route);
    server_.Delete(".*", route);
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~VerifyingServer() {
    server_.stop();
    thread_.join();
  }

  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }
  void set_handler(Handler h) { handler_ = std::move(h); }
  int good() const { return good_; }
  int bad() const { return bad_; }
  const std::string& last_error() const { return last_error_; }
  const std::string& last_body() const { return last_body_; }
  const std::string& last_target() const { return last_target_; }

 private:
  std::string Verify(const httplib::Request& req) {
    const std::string auth = req.get_header_value("Authorization");
    auto field = [&](const std::string& name) {
      size_t p = auth.find(name + "=");
      if (p == std::string::npos) return std::string();
      p += name.size() + 1;
      size_t e = auth.find(',', p);
      return auth.substr(p, e == std::string::npos ? std::string::npos : e - p);
    };
    std::vector<std::string> scope;  // AKID, date, region, service, aws4_request
    for (const std::string& part : SplitAndTrim(field("Credential"), '/')) scope.push_back(part);
    if (scope.size() != 5 || scope[0] != creds_.access_key_id) return "bad Credential: " + auth;
    const std::string amz_date = req.get_header_value("X-Amz-Date");
    std::tm tm{};
    if (!strptime(amz_date.c_str(), "%Y%m%dT%H%M%SZ", &tm)) return "bad X-Amz-Date";

    SignableRequest sr;
    sr.method = req.method;
    size_t q = req.target.find('?');
    sr.path = req.target.substr(0, q);
    if (q != std::string::npos) {
      for (const std::string& pair : SplitAndTrim(req.target.substr(q + 1), '&')) {
        size_t eq = pair.find('=');
        sr.query.emplace_back(
            ::studio::PercentDecode(pair.substr(0, eq)),
            eq == std::string::npos ? "" : ::studio::PercentDecode(pair.substr(eq + 1)));
      }
    }
    for (const std::string& h : SplitAndTrim(field("SignedHeaders"), ';')) {
      if (h == "x-amz-date" || h == "x-amz-content-sha256") continue;  // the signer adds them
      if (h == "x-amz-security-token") continue;
      if (!req.has_header(h.c_str())) return "signed header " + h + " was not sent";
      sr.headers.emplace_back(h, req.get_header_value(h.c_str()));
    }
    const bool s3 = scope[3] == "s3";
    const std::string body_hash = crypto::Sha256Hex(req.body);
    if (s3) {
      sr.payload_sha256 = req.get_header_value("x-amz-content-sha256");
      if (sr.payload_sha256 != kUnsignedPayload && sr.payload_sha256 != body_hash)
        return "x-amz-content-sha256 does not match the body";
    } else {
      sr.payload_sha256 = body_hash;
    }
    if (req.get_header_value("X-Amz-Security-Token") != creds_.session_token)
      return "wrong session token";
    SigningParams params = s3 ? SigningParams::ForS3(scope[2], timegm(&tm))
                              : SigningParams::ForService(scope[3], scope[2], timegm(&tm));
    auto r = SignRequest(sr, creds_, params);
    if (!r.ok()) return r.status().ToString();
    if (r->signed_headers != field("SignedHeaders")) return "signed headers differ";
    if (r->signature != field("Signature"))
      return "signature mismatch; canonical request:\n" + r->canonical_request;
    return "";
  }

  Credentials creds_;
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  Handler handler_;
  std::atomic<int> good_{0}, bad_{0};
  std::string last_error_, last_body_, last_target_;
};

std::unique_ptr<Client> MakeClient(const std::string& endpoint, const std::string& service,
                                   const Credentials& creds) {
  ClientOptions o;
  o.endpoint = endpoint;
  o.service = service;
  o.region = "eu-central-1";
  o.credentials = creds;
  auto c = Client::Create(o);
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  return c.ok() ? std::move(c).value() : nullptr;
}

TEST(AwsClientWire, SignsWhatItSends) {
  Credentials creds{"AKIDTEST", "secret/with+chars", "session-token/xyz=="};
  VerifyingServer server(creds);
  server.set_handler([](const httplib::Request&, httplib::Response& res) {
    res.set_header("ETag", "\"abc\"");
    res.set_content("<Ok/>", "application/xml");
  });
  auto client = MakeClient(server.endpoint(), "s3", creds);
  ASSERT_TRUE(client);

  Request req;
  req.method = "PUT";
  req.path = "/bkt/dir/a b+c&d=e\xe2\x82\xac~(1).bin";
  req.query = {{"partNumber", "2"}, {"uploadId", "id/with+=&?chars"}};
  // (No empty header values here: cpp-httplib drops them when parsing; libcurl does send them.)
  req.headers = {{"Content-Type", "application/octet-stream"}, {"x-amz-meta-note", "a  b"}};
  std::string body = "hello body";
  req.body = body;
  auto r = client->Send(req);
  ASSERT_TRUE(r.ok()) << r.status().ToString() << " / " << server.last_error();
  EXPECT_EQ(r->status, 200);
  ASSERT_NE(r->Header("etag"), nullptr);
  EXPECT_EQ(*r->Header("etag"), "\"abc\"");
  EXPECT_EQ(r->body, "<Ok/>");
  EXPECT_EQ(server.last_body(), body);
  EXPECT_EQ(server.last_target(),
            "/bkt/dir/a%20b%2Bc%26d%3De%E2%82%AC~%281%29.bin?partNumber=2&uploadId=id%2Fwith%2B%3D%"
            "26%3Fchars");

  // A GET and a HEAD with no body, and a POST with an empty body.
  for (const char* method : {"GET", "HEAD", "DELETE", "POST"}) {
    Request simple;
    simple.method = method;
    simple.path = "/bkt";
    simple.query = {{"list-type", "2"}, {"prefix", "a b/"}, {"uploads", ""}};
    auto s = client->Send(simple);
    EXPECT_TRUE(s.ok()) << method << ": " << s.status().ToString() << " / " << server.last_error();
  }
  EXPECT_EQ(server.bad(), 0);
}

TEST(AwsClientWire, StreamsBodiesBothWays) {
  Credentials creds{"AKIDTEST", "secret", ""};
  VerifyingServer server(creds);
  const std::string big = [] {
    std::string s(3 << 20, '\0');
    for (size_t i = 0; i < s.size(); ++i) s[i] = static_cast<char>(i * 131 + (i >> 9));
    return s;
  }();
  server.set_handler([&](const httplib::Request& req, httplib::Response& res) {
    if (req.method == "GET") res.set_content(big, "application/octet-stream");
  });
  auto client = MakeClient(server.endpoint(), "s3", creds);
  ASSERT_TRUE(client);

  Request put;
  put.method = "PUT";
  put.path = "/b/big";
  size_t pos = 0;
  put.body_size = static_cast<int64_t>(big.size());
  put.body_source = [&](char* buf, size_t cap) -> Result<size_t> {
    size_t n = std::min({cap, big.size() - pos, size_t{70001}});
    std::memcpy(buf, big.data() + pos, n);
    pos += n;
    return n;
  };
  auto r = client->Send(put);  // unsigned payload: the hash is not known up front
  ASSERT_TRUE(r.ok()) << r.status().ToString() << " / " << server.last_error();
  EXPECT_TRUE(server.last_body() == big);

  std::string got;
  int chunks = 0;
  Request get;
  get.path = "/b/big";
  get.response_sink = [&](std::string_view c) {
    got.append(c);
    ++chunks;
    return Status::Ok();
  };
  auto g = client->Send(get);
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  EXPECT_TRUE(got == big);
  EXPECT_GT(chunks, 1);
  EXPECT_TRUE(g->body.empty());

  // A source that fails aborts the upload with its own error.
  Request bad = put;
  pos = 0;
  bad.body_source = [](char*, size_t) -> Result<size_t> {
    return Status(ErrorCode::kBadRequest, "disk gone");
  };
  EXPECT_EQ(client->Send(bad).status().message(), "disk gone");
  // A source that ends early is an error, not a short object.
  Request short_body = put;
  short_body.body_size = 10;
  short_body.body_source = [](char* buf, size_t) -> Result<size_t> {
    static int calls = 0;
    if (calls++ > 0) return size_t{0};
    buf[0] = 'x';
    return size_t{1};
  };
  EXPECT_FALSE(client->Send(short_body).ok());
}

TEST(AwsClientWire, JsonServiceWithSessionToken) {
  Credentials creds{"AKIDTEST", "secret", "tok"};
  VerifyingServer server(creds);
  server.set_handler([](const httplib::Request&, httplib::Response& res) {
    res.set_content(R"({"executionArn":"arn:x"})", "application/x-amz-json-1.0");
  });
  auto client = MakeClient(server.endpoint(), "states", creds);
  ASSERT_TRUE(client);
  Request req;
  req.method = "POST";
  req.path = "/";
  req.headers = {{"Content-Type", "application/x-amz-json-1.0"},
                 {"X-Amz-Target", "AWSStepFunctions.StartExecution"}};
  std::string body = R"({"stateMachineArn":"arn:aws:states:eu-central-1:1:stateMachine:x"})";
  req.body = body;
  auto r = client->Send(req);
  ASSERT_TRUE(r.ok()) << r.status().ToString() << " / " << server.last_error();
  EXPECT_EQ(r->body, R"({"executionArn":"arn:x"})");
}

TEST(AwsClientWire, ErrorsAndRetries) {
  Credentials creds{"AKIDTEST", "secret", ""};
  VerifyingServer server(creds);
  std::atomic<int> calls{0};
  server.set_handler([&](const httplib::Request& req, httplib::Response& res) {
    if (req.path == "/missing") {
      res.status = 404;
      res.set_header("x-amz-request-id", "RID");
      res.set_content(
          "<Error><Code>NoSuchKey</Code><Message>The specified key does not "
          "exist.</Message></Error>",
          "application/xml");
    } else if (req.path == "/flaky") {
      res.status = ++calls <= 2 ? 503 : 200;
    } else if (req.path == "/down") {
      res.status = 503;
    }
  });
  auto client = MakeClient(server.endpoint(), "s3", creds);
  ASSERT_TRUE(client);

  Request missing;
  missing.path = "/missing";
  auto r = client->Send(missing);
  EXPECT_EQ(r.status().code(), ErrorCode::kResourceDoesNotExist);
  EXPECT_EQ(r.status().message(),
            "GET /missing: HTTP 404 NoSuchKey: The specified key does not exist. (request id RID)");

  Request flaky;
  flaky.path = "/flaky";
  EXPECT_TRUE(client->Send(flaky).ok());  // two 503s, then success
  EXPECT_EQ(calls.load(), 3);

  Request down;
  down.path = "/down";
  down.method = "PUT";
  down.body_size = 1;
  down.body_source = [](char* buf, size_t) -> Result<size_t> {
    buf[0] = 'x';
    return size_t{1};
  };
  int before = server.good();
  EXPECT_EQ(client->Send(down).status().code(), ErrorCode::kTemporarilyUnavailable);
  EXPECT_EQ(server.good() - before, 1);  // a streamed body cannot be replayed
  EXPECT_EQ(server.bad(), 0);

  // The server does notice a wrong signature (so the checks above mean something).
  auto forged = MakeClient(server.endpoint(), "s3", Credentials{"AKIDTEST", "not-the-secret", ""});
  ASSERT_TRUE(forged);
  Request any_path;
  any_path.path = "/x";
  auto f = forged->Send(any_path);
  EXPECT_EQ(f.status().code(), ErrorCode::kPermissionDenied);
  EXPECT_NE(f.status().message().find("SignatureDoesNotMatch"), std::string::npos);
  EXPECT_EQ(server.bad(), 1);

  // Nothing listening: a transport error.
  auto nowhere = MakeClient("http://127.0.0.1:1", "s3", creds);
  ASSERT_TRUE(nowhere);
  Request any;
  EXPECT_EQ(nowhere->Send(any).status().code(), ErrorCode::kTemporarilyUnavailable);
}

}  // namespace
}  // namespace studio::aws

// POST /batch-predict: rows stream in (CSV with a header, NDJSON rows, or a JSON document) and
// predictions stream out (CSV or NDJSON) in blocks, so memory stays flat whatever the size.
#include <array>
#include <chrono>
#include <future>

#include "common/error_mapping.h"
#include "common/strings.h"
#include "serving/http/http_server.h"
#include "serving/server/model_server.h"
#include "serving/server/predictions.h"
#include "serving/server/rows.h"

namespace studio::serving {
namespace {

enum class InFormat { kCsv, kNdjson, kJson };

// Rows of NDJSON input: one JSON row (array or record) per line.
class NdjsonRowReader {
 public:
  explicit NdjsonRowReader(const InputSchema& schema) : schema_(schema) {}
  Status Feed(std::string_view data, RowMatrix* out) {
    tail_.append(data);
    size_t start = 0;
    while (true) {
      size_t nl = tail_.find('\n', start);
      if (nl == std::string::npos) break;
      Status st = Line(std::string_view(tail_).substr(start, nl - start), out);
      if (!st.ok()) return st;
      start = nl + 1;
    }
    tail_.erase(0, start);
    if (tail_.size() > (16 << 20)) return InvalidArgument("an NDJSON line is longer than 16 MiB");
    return Status::Ok();
  }
  Status Finish(RowMatrix* out) {
    Status st = Line(tail_, out);
    tail_.clear();
    return st;
  }

 private:
  Status Line(std::string_view line, RowMatrix* out) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
    if (line.empty()) return Status::Ok();
    return ParseJsonRow(line, schema_, nullptr, out);
  }
  const InputSchema& schema_;
  std::string tail_;
};

void FailBeforeBegin(http::ChunkedWriter& out, const Status& st) {
  std::string body = ErrorBody(st);
  std::vector<http::StringPair> headers;
  if (HttpStatusFor(st.code()) == 503) headers.emplace_back("Retry-After", "1");
  if (out.Begin(HttpStatusFor(st.code()), "application/json", headers).ok()) {
    (void)out.Write(body);
    (void)out.End();
  }
}

}  // namespace

void ModelServer::BatchPredict(const http::Request& req, http::BodyReader& body,
                               http::ChunkedWriter& out) {
  const auto start = std::chrono::steady_clock::now();
  int status = 200;
  auto finish = [&] {
    metrics_.ObserveRequest(
        ServingMetrics::kBatch, status,
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  };
  auto m = model();
  auto fail = [&](const Status& st) {
    status = HttpStatusFor(st.code());
    FailBeforeBegin(out, st);
    finish();
  };
  if (!m) return fail(Status(ErrorCode::kTemporarilyUnavailable, "the model is loading"));
  const std::string ct = ToLower(req.Header("content-type"));
  InFormat in;
  if (ct.rfind("text/csv", 0) == 0)
    in = InFormat::kCsv;
  else if (ct.rfind("application/x-ndjson", 0) == 0 || ct.rfind("application/jsonl", 0) == 0)
    in = InFormat::kNdjson;
  else if (ct.rfind("application/json", 0) == 0)
    in = InFormat::kJson;
  else
    return fail(Status(ErrorCode::kUnsupportedMediaType,
                       "send text/csv (with a header row), application/x-ndjson or "
                       "application/json, not '" +
                           ct + "'"));
  // Output: CSV for CSV input, NDJSON otherwise, unless Accept asks for the other one.
  const std::string accept = ToLower(req.Header("accept"));
  bool csv_out = in == InFormat::kCsv;
  if (accept.find("text/csv") != std::string::npos) csv_out = true;
  if (accept.find("ndjson") != std::string::npos) csv_out = false;

  CsvRowReader csv(m->schema);
  NdjsonRowReader ndjson(m->schema);
  JsonRowStream json(m->schema);
  RowMatrix rows;
  rows.Reset(m->schema.width);
  const int64_t block = options_.batch_block_rows;
  int64_t total = 0;
  bool eof = false;
  std::vector<char> buf(1 << 20);

  // Pipeline: this thread reads and parses while up to two helpers predict and format the
  // previous blocks (each block is ~4096 rows, so a thread per block costs nothing next to
  // the work), which keeps both cores busy. Outputs are written in block order, and the socket
  // is only touched from this thread.
  struct Stage {
    RowMatrix rows;
    std::vector<Tensor> outputs;
    std::string text;
    std::future<Status> done;
  };
  std::array<Stage, 2> stages;
  int64_t started = 0, collected = 0;  // blocks
  bool header_written = false;
  auto collect_one = [&]() -> Status {
    Stage& stage = stages[collected % 2];
    ++collected;
    Status st = stage.done.get();
    if (!st.ok()) return st;
    if (!out.begun()) {
      st = out.Begin(200, csv_out ? "text/csv" : "application/x-ndjson");
      if (!st.ok()) return st;
    }
    st = out.Write(stage.text);
    if (!st.ok()) return st;
    total += stage.rows.rows;
    metrics_.AddBatchRows(stage.rows.rows);
    metrics_.AddPredictions(stage.rows.rows);
    return Status::Ok();
  };
  auto predict_block = [&](bool final) -> Status {
    while (rows.rows >= block || (final && rows.rows > 0)) {
      if (started - collected == 2) {
        Status st = collect_one();
        if (!st.ok()) return st;
      }
      Stage& stage = stages[started % 2];
      ++started;
      const int64_t n = std::min<int64_t>(rows.rows, block);
      stage.rows.Reset(rows.cols);
      stage.rows.values.assign(rows.values.begin(), rows.values.begin() + n * rows.cols);
      stage.rows.rows = n;
      // Keep the unpredicted tail (rows beyond this block) at the front.
      rows.values.erase(rows.values.begin(), rows.values.begin() + n * rows.cols);
      rows.rows -= n;
      const bool with_header = csv_out && !header_written;
      header_written = true;
      stage.done = std::async(std::launch::async, [&stage, &m, csv_out, with_header]() -> Status {
        stage.outputs.clear();
        stage.text.clear();
        Status st = m->runtime->PredictRows(stage.rows.values.data(), stage.rows.rows,
                                            stage.rows.cols, &stage.outputs);
        if (!st.ok()) return st;
        if (with_header) AppendCsvHeader(stage.text, stage.outputs, m->runtime->Outputs());
        for (int64_t r = 0; r < stage.rows.rows; ++r) {
          if (csv_out)
            AppendCsvRow(stage.text, stage.outputs, r);
          else
            AppendNdjsonRow(stage.text, stage.outputs, m->runtime->Outputs(), r);
        }
        return Status::Ok();
      });
    }
    while (final && collected < started) {
      Status st = collect_one();
      if (!st.ok()) return st;
    }
    return Status::Ok();
  };

  Status st;
  while (st.ok() && !eof) {
    auto n = body.Read(buf.data(), buf.size());
    if (!n.ok()) {
      st = n.status();
      break;
    }
    std::string_view data(buf.data(), *n);
    if (*n == 0) {
      eof = true;
      st = in == InFormat::kCsv      ? csv.Finish(&rows)
           : in == InFormat::kNdjson ? ndjson.Finish(&rows)
                                     : json.Finish();
    } else {
      st = in == InFormat::kCsv      ? csv.Feed(data, &rows)
           : in == InFormat::kNdjson ? ndjson.Feed(data, &rows)
                                     : json.Feed(data, &rows);
    }
    if (st.ok()) st = predict_block(eof);
  }
  if (!st.ok()) {
    for (auto& stage : stages)  // never leave a helper running
      if (stage.done.valid()) stage.done.wait();
    if (!out.begun()) return fail(st);
    // Headers are gone: say what failed in the stream itself, after the rows that succeeded.
    status = HttpStatusFor(st.code());
    std::string line;
    if (csv_out) {
      line = "# error after " + std::to_string(total) + " rows: " + st.message() + "\n";
    } else {
      line = "{\"error\":";
      AppendJsonString(line, st.message());
      line += ",\"rows_before_error\":" + std::to_string(total) + "}\n";
    }
    (void)out.Write(line);
    (void)out.End();
    return finish();
  }
  if (!out.begun()) {
    if (total == 0 && rows.rows == 0) return fail(InvalidArgument("the request has no rows"));
  }
  (void)out.End();
  finish();
}

}  // namespace studio::serving

// Incremental scanner for JSON batch bodies: finds the rows array and hands each complete row
// to ParseJsonRow, never holding more than one row (plus a read chunk) in memory.
#include <simdjson.h>

#include "serving/server/rows.h"

namespace studio::serving {
namespace {

constexpr size_t kMaxValueBytes = 16 << 20;  // one row, the columns list, or a skipped value

bool IsSpace(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

Status Syntax(const std::string& what) {
  return Status(ErrorCode::kBadRequest, "batch body: " + what);
}

}  // namespace

size_t JsonRowStream::CompleteValue(size_t from) const {
  size_t i = from;
  const size_t n = buf_.size();
  if (i >= n) return 0;
  char c = buf_[i];
  if (c == '[' || c == '{') {
    int depth = 0;
    bool in_str = false;
    for (; i < n; ++i) {
      char ch = buf_[i];
      if (in_str) {
        if (ch == '\\')
          ++i;
        else if (ch == '"')
          in_str = false;
        continue;
      }
      if (ch == '"')
        in_str = true;
      else if (ch == '[' || ch == '{')
        ++depth;
      else if ((ch == ']' || ch == '}') && --depth == 0)
        return i + 1 - from;
    }
    return 0;
  }
  if (c == '"') {
    for (++i; i < n; ++i) {
      if (buf_[i] == '\\')
        ++i;
      else if (buf_[i] == '"')
        return i + 1 - from;
    }
    return 0;
  }
  for (; i < n; ++i)
    if (buf_[i] == ',' || buf_[i] == ']' || buf_[i] == '}' || IsSpace(buf_[i])) return i - from;
  return 0;
}

Status JsonRowStream::Step(RowMatrix* out, bool* progress) {
  *progress = false;
  while (pos_ < buf_.size() && IsSpace(buf_[pos_])) ++pos_;
  if (pos_ >= buf_.size()) return Status::Ok();
  const char c = buf_[pos_];
  switch (state_) {
    case State::kStart:
      if (c != '{') return Syntax("must be a JSON object");
      ++pos_;
      depth_ = 1;
      state_ = State::kKey;
      break;
    case State::kAfterValue:
    case State::kKey:
      if (c == ',' && state_ == State::kAfterValue) {
        ++pos_;
        state_ = State::kKey;
        break;
      }
      if (c == '}') {
        ++pos_;
        if (--depth_ == 0) {
          state_ = State::kDone;
        } else {
          in_split_ = false;
          state_ = State::kAfterValue;
        }
        break;
      }
      if (c != '"') return Syntax("expected a key");
      {
        size_t len = CompleteValue(pos_);
        if (len == 0) return Status::Ok();
        key_ = buf_.substr(pos_ + 1, len - 2);
        pos_ += len;
        state_ = State::kColon;
      }
      break;
    case State::kColon:
      if (c != ':') return Syntax("expected ':' after \"" + key_ + "\"");
      ++pos_;
      state_ = State::kValue;
      break;
    case State::kValue:
      if (depth_ == 1 && (key_ == "instances" || key_ == "inputs" || key_ == "dataframe_records")) {
        if (rows_seen_)
          return Syntax(
              "has more than one of instances, inputs, dataframe_records, dataframe_split");
        if (c != '[')
          return Syntax("\"" + key_ +
                        "\" must be a list of rows (columnar inputs cannot be streamed)");
        rows_seen_ = true;
        ++pos_;
        state_ = State::kRows;
      } else if (depth_ == 1 && key_ == "dataframe_split") {
        if (rows_seen_)
          return Syntax(
              "has more than one of instances, inputs, dataframe_records, dataframe_split");
        if (c != '{') return Syntax("dataframe_split must be an object");
        rows_seen_ = true;
        in_split_ = true;
        ++pos_;
        depth_ = 2;
        state_ = State::kKey;
      } else if (depth_ == 2 && key_ == "columns") {
        size_t len = CompleteValue(pos_);
        if (len == 0) return Status::Ok();
        simdjson::dom::parser parser;
        simdjson::dom::element cols;
        if (parser.parse(buf_.data() + pos_, len, true).get(cols) || !cols.is_array())
          return Syntax("dataframe_split columns must be a list of strings");
        std::vector<std::string_view> names;
        for (auto e : simdjson::dom::array(cols.get_array().value_unsafe())) {
          std::string_view s;
          if (e.get_string().get(s)) return Syntax("dataframe_split columns must be strings");
          names.push_back(s);
        }
        Status st = MapColumns(names, schema_, &positions_);
        if (!st.ok()) return st;
        if (out->cols <= 0) out->cols = static_cast<int64_t>(names.size());
        have_positions_ = true;
        pos_ += len;
        state_ = State::kAfterValue;
      } else if (depth_ == 2 && key_ == "data") {
        if (c != '[') return Syntax("dataframe_split data must be a list of rows");
        ++pos_;
        state_ = State::kRows;
      } else if ((depth_ == 1 && key_ == "params") || (depth_ == 2 && key_ == "index")) {
        state_ = State::kSkip;
      } else {
        return Syntax("unknown key '" + key_ + "'");
      }
      break;
    case State::kSkip: {
      size_t len = CompleteValue(pos_);
      if (len == 0) return Status::Ok();
      pos_ += len;
      state_ = State::kAfterValue;
      break;
    }
    case State::kRows: {
      if (c == ',') {
        ++pos_;
        break;
      }
      if (c == ']') {
        ++pos_;
        state_ = State::kAfterValue;
        break;
      }
      size_t len = CompleteValue(pos_);
      if (len == 0) return Status::Ok();
      Status st = ParseJsonRow(std::string_view(buf_).substr(pos_, len), schema_,
                               in_split_ && have_positions_ ? &positions_ : nullptr, out);
      if (!st.ok()) return st;
      pos_ += len;
      break;
    }
    case State::kDone:
      return Syntax("has data after the end of the JSON document");
  }
  *progress = true;
  return Status::Ok();
}

Status JsonRowStream::Feed(std::string_view data, RowMatrix* out) {
  buf_.append(data);
  bool progress = true;
  while (progress) {
    Status st = Step(out, &progress);
    if (!st.ok()) return st;
  }
  buf_.erase(0, pos_);
  pos_ = 0;
  if (buf_.size() > kMaxValueBytes) return Syntax("a single row or value is larger than 16 MiB");
  return Status::Ok();
}

Status JsonRowStream::Finish() {
  if (state_ != State::kDone) return Syntax("ended before the JSON document was complete");
  if (!rows_seen_)
    return Syntax("needs one of instances, inputs, dataframe_records or dataframe_split");
  return Status::Ok();
}

}  // namespace studio::serving

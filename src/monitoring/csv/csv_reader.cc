#include "monitoring/csv/csv_reader.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <limits>
#include <optional>
#include <thread>
#include <utility>

namespace studio::monitoring {
namespace {

// Kinds are inferred on the first rows; a later non-number in a column inferred numeric makes
// that column categorical through one more pass over the file for that column only.
constexpr int64_t kSampleRows = 1000;
constexpr size_t kMinBytesPerThread = size_t{1} << 20;

enum class Sink : uint8_t { kSkip, kNumber, kText };

struct Plan {
  std::vector<Sink> sink;    // per header field
  std::vector<int> slot;     // per header field: output slot or -1
  std::vector<char> strict;  // per header field: declared numeric (a non-number is an error)
  size_t fields = 0;
  size_t slots = 0;
};

struct ChunkOut {
  std::vector<std::vector<double>> numbers;  // per slot
  std::vector<std::vector<std::string>> texts;
  std::vector<char> not_numeric;  // per slot: a non-number met in a column parsed as numeric
  int64_t rows = 0;
  const char* end = nullptr;  // start of the first row not parsed
  const char* error_at = nullptr;
  std::string error;  // non-empty: parsing stopped at error_at
};

constexpr double kPow10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                             1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

// Plain decimals ([-+]digits[.digits], an integer mantissa <= 2^53, <= 22 fraction digits) are
// exact as one IEEE division of two exact doubles (Clinger's fast path): the same correctly
// rounded value strtod/from_chars give, at about half the cost. Anything else (exponents, long
// mantissas, nan/inf spellings, spaces) goes to monitoring::ParseNumericField.
inline bool FastNumber(std::string_view f, double& out) {
  const char* p = f.data();
  const char* e = p + f.size();
  bool negative = false;
  if (p < e && (*p == '-' || *p == '+')) negative = *p++ == '-';
  uint64_t mantissa = 0;
  const char* digits_start = p;
  while (p < e && static_cast<unsigned>(*p - '0') < 10) mantissa = mantissa * 10 + (*p++ - '0');
  int64_t digits = p - digits_start;
  int64_t fraction = 0;
  if (p < e && *p == '.') {
    const char* fraction_start = ++p;
    while (p < e && static_cast<unsigned>(*p - '0') < 10) mantissa = mantissa * 10 + (*p++ - '0');
    fraction = p - fraction_start;
    digits += fraction;
  }
  if (p != e || digits == 0 || digits > 19 || fraction > 22 || mantissa > (uint64_t{1} << 53)) {
    return false;
  }
  double v = static_cast<double>(mantissa) / kPow10[fraction];
  out = negative ? -v : v;
  return true;
}

// Valid UTF-8 is copied; any byte that does not start a valid sequence is read as Latin-1.
std::string ToUtf8(std::string_view s) {
  auto is_ascii = [](std::string_view v) {
    for (unsigned char c : v)
      if (c >= 0x80) return false;
    return true;
  };
  if (is_ascii(s)) return std::string(s);
  std::string out;
  out.reserve(s.size() + 8);
  const auto* u = reinterpret_cast<const unsigned char*>(s.data());
  size_t n = s.size();
  for (size_t i = 0; i < n;) {
    unsigned char c = u[i];
    size_t len = c < 0x80           ? 1
                 : (c >> 5) == 0x6  ? 2
                 : (c >> 4) == 0xE  ? 3
                 : (c >> 3) == 0x1E ? 4
                                    : 0;
    bool ok = len > 0 && i + len <= n;
    for (size_t k = 1; ok && k < len; ++k) ok = (u[i + k] & 0xC0) == 0x80;
    if (ok && len > 1) {
      uint32_t cp = len == 2 ? (c & 0x1Fu) : len == 3 ? (c & 0x0Fu) : (c & 0x07u);
      for (size_t k = 1; k < len; ++k) cp = (cp << 6) | (u[i + k] & 0x3Fu);
      static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
      ok = cp >= kMin[len] && cp <= 0x10FFFF && (cp < 0xD800 || cp > 0xDFFF);
    }
    if (ok) {
      out.append(s.data() + i, len);
      i += len;
    } else {  // Latin-1 byte → U+0080..U+00FF
      out.push_back(static_cast<char>(0xC0 | (c >> 6)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
      ++i;
    }
  }
  return out;
}

// Tokenizes the record starting at `p` (not a blank line), calling on_field(index, view) for
// each field. Returns the start of the next record, or nullptr with `error`/`error_at` set.
template <typename OnField>
const char* ReadRecord(const char* p, const char* eof, char delim, std::string& scratch,
                       size_t& fields, std::string& error, const char*& error_at,
                       OnField&& on_field) {
  fields = 0;
  for (;;) {
    std::string_view field;
    if (p < eof && *p == '"') {
      const char* open = p++;
      const char* start = p;
      bool escaped = false;
      for (;;) {
        const char* q = static_cast<const char*>(std::memchr(p, '"', eof - p));
        if (q == nullptr) {
          error = "unterminated quoted field (column " + std::to_string(fields + 1) + ")";
          error_at = open;
          return nullptr;
        }
        if (q + 1 < eof && q[1] == '"') {  // "" is one quote
          if (!escaped)
            scratch.assign(start, q + 1);
          else
            scratch.append(p, q + 1);
          escaped = true;
          p = q + 2;
          continue;
        }
        if (escaped) scratch.append(p, q);
        field = escaped ? std::string_view(scratch) : std::string_view(start, q - start);
        p = q + 1;
        break;
      }
      if (p < eof && *p != delim && *p != '\n' && *p != '\r') {
        error = "unexpected character after the closing quote of column " +
                std::to_string(fields + 1) + " (quotes inside a field must be doubled)";
        error_at = open;
        return nullptr;
      }
    } else {
      const char* start = p;
      while (p < eof && *p != delim && *p != '\n' && *p != '\r') ++p;
      field = std::string_view(start, p - start);
    }
    on_field(fields, field);
    ++fields;
    if (p >= eof) return p;
    char c = *p++;
    if (c == delim) continue;
    if (c == '\r' && p < eof && *p == '\n') ++p;
    return p;
  }
}

// Large column vectors are filled once, front to back: transparent huge pages (madvise mode on
// most distributions) turn ~500 page faults into one, a third of the parse time in a VM.
void AdviseHugePages(const void* data, size_t bytes) {
  constexpr uintptr_t kHuge = uintptr_t{2} << 20;
  if (bytes < 2 * kHuge) return;
  uintptr_t begin = (reinterpret_cast<uintptr_t>(data) + kHuge - 1) & ~(kHuge - 1);
  uintptr_t end = (reinterpret_cast<uintptr_t>(data) + bytes) & ~(kHuge - 1);
  if (end > begin) madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
}

template <typename T>
void ReserveHuge(std::vector<T>& v, int64_t n) {
  v.reserve(static_cast<size_t>(n));
  AdviseHugePages(v.data(), v.capacity() * sizeof(T));
}

inline const char* SkipBlankLines(const char* p, const char* eof) {
  while (p < eof && (*p == '\n' || *p == '\r')) ++p;
  return p;
}

// Parses rows starting before `limit` (the row straddling it is finished), at most max_rows.
void ParseRows(const char* p, const char* limit, const char* eof, int64_t max_rows,
               const Plan& plan, char delim, int64_t reserve, ChunkOut& out) {
  out.numbers.assign(plan.slots, {});
  out.texts.assign(plan.slots, {});
  out.not_numeric.assign(plan.slots, 0);
  for (size_t f = 0; f < plan.fields; ++f) {
    if (plan.sink[f] == Sink::kNumber) ReserveHuge(out.numbers[plan.slot[f]], reserve);
    if (plan.sink[f] == Sink::kText) ReserveHuge(out.texts[plan.slot[f]], reserve);
  }
  std::string scratch;
  size_t fields = 0;
  const char* row = nullptr;
  auto on_field = [&](size_t i, std::string_view field) {
    if (i >= plan.fields || plan.sink[i] == Sink::kSkip || !out.error.empty()) return;
    int s = plan.slot[i];
    if (plan.sink[i] == Sink::kNumber) {
      double v = std::numeric_limits<double>::quiet_NaN();
      if (!field.empty() && !FastNumber(field, v)) {
        std::optional<double> parsed = ParseNumericField(field);
        if (parsed) {
          v = *parsed;
        } else if (plan.strict[i]) {
          std::string shown(field.substr(0, 40));
          out.error = "column " + std::to_string(i + 1) + ": '" + ToUtf8(shown) +
                      "' is not a number, but the column was declared numeric";
          out.error_at = row;
        } else {
          out.not_numeric[s] = 1;
        }
      }
      out.numbers[s].push_back(v);
    } else if (field.empty() || IsMissingField(field)) {
      out.texts[s].emplace_back();
    } else {
      out.texts[s].push_back(ToUtf8(field));
    }
  };
  p = SkipBlankLines(p, eof);
  while (p < limit && p < eof && out.rows < max_rows) {
    row = p;
    const char* next =
        ReadRecord(p, eof, delim, scratch, fields, out.error, out.error_at, on_field);
    if (next == nullptr || !out.error.empty()) {
      out.end = row;
      return;
    }
    if (fields != plan.fields) {
      out.error = "expected " + std::to_string(plan.fields) + " fields (as in the header), found " +
                  std::to_string(fields);
      out.error_at = row;
      out.end = row;
      return;
    }
    ++out.rows;
    p = SkipBlankLines(next, eof);
  }
  out.end = p;
}

// The start of the first row at or after `target`, assuming `begin` starts a row: quote parity
// from `begin` tells whether a newline is inside a quoted field. (A stray quote in an unquoted
// field breaks the parity; the caller checks that chunks meet and re-parses if they do not.)
const char* RowStartAfter(const char* begin, const char* target, const char* eof, bool has_quotes) {
  bool in_quotes = has_quotes && (std::count(begin, target, '"') % 2 == 1);
  for (const char* p = target; p < eof; ++p) {
    if (*p == '"')
      in_quotes = !in_quotes;
    else if (*p == '\n' && !in_quotes)
      return p + 1;
  }
  return eof;
}

int64_t LineOf(const char* data, const char* at) { return 1 + std::count(data, at, '\n'); }

class MappedFile {
 public:
  ~MappedFile() {
    if (map_ != nullptr) munmap(map_, size_);
  }
  Status Open(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return NotFound("cannot open " + path + ": " + std::strerror(errno));
    struct stat st {};
    Status status;
    if (fstat(fd, &st) != 0) {
      status = NotFound("cannot stat " + path + ": " + std::strerror(errno));
    } else if (S_ISDIR(st.st_mode)) {
      status = InvalidArgument(path + " is a directory, not a CSV file");
    } else if (S_ISREG(st.st_mode) && st.st_size > 0) {
      size_ = static_cast<size_t>(st.st_size);
      void* m = mmap(nullptr, size_, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
      if (m == MAP_FAILED) {
        status = Internal("cannot map " + path + ": " + std::strerror(errno));
      } else {
        map_ = m;
        madvise(map_, size_, MADV_SEQUENTIAL);
        view_ = std::string_view(static_cast<const char*>(map_), size_);
      }
    } else if (!S_ISREG(st.st_mode)) {  // a pipe or device: read it whole, in large blocks
      std::vector<char> block(size_t{1} << 20);
      for (;;) {
        ssize_t n = ::read(fd, block.data(), block.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
          status = Internal("cannot read " + path + ": " + std::strerror(errno));
          break;
        }
        if (n == 0) break;
        buffer_.append(block.data(), static_cast<size_t>(n));
      }
      view_ = buffer_;
    }
    ::close(fd);
    return status;
  }
  std::string_view view() const { return view_; }

 private:
  void* map_ = nullptr;
  size_t size_ = 0;
  std::string buffer_;
  std::string_view view_;
};

std::string ColumnList(const std::vector<std::string>& names) {
  std::string out;
  for (size_t i = 0; i < names.size() && i < 30; ++i) out += (i ? ", " : "") + names[i];
  if (names.size() > 30) out += ", ...";
  return out;
}

}  // namespace

Result<Dataset> ParseCsv(std::string_view data, std::string_view source,
                         const CsvReadOptions& options) {
  const std::string src(source);
  const char* const base = data.data();
  const char* const eof = base + data.size();
  auto fail_at = [&](const char* at, const std::string& msg) {
    return InvalidArgument(src + ":" + std::to_string(LineOf(base, at)) + ": " + msg);
  };
  const char* p = base;
  if (data.size() >= 3 && std::memcmp(p, "\xEF\xBB\xBF", 3) == 0) p += 3;
  p = SkipBlankLines(p, eof);
  if (p >= eof) return InvalidArgument(src + ": empty file (a header row is required)");

  // Header.
  std::vector<std::string> header;
  std::string scratch, error;
  const char* error_at = nullptr;
  size_t nfields = 0;
  const char* body =
      ReadRecord(p, eof, options.delimiter, scratch, nfields, error, error_at,
                 [&](size_t i, std::string_view f) {
                   header.push_back(f.empty() ? "Unnamed: " + std::to_string(i) : ToUtf8(f));
                 });
  if (body == nullptr) return fail_at(error_at, error);
  std::map<std::string_view, size_t> index;
  for (size_t i = 0; i < header.size(); ++i) {
    if (!index.emplace(header[i], i).second) {
      return fail_at(p, "duplicate column name '" + header[i] + "' in the header");
    }
  }

  // Which columns, in which order, of which kind.
  Plan plan;
  plan.fields = header.size();
  plan.sink.assign(plan.fields, Sink::kSkip);
  plan.slot.assign(plan.fields, -1);
  plan.strict.assign(plan.fields, 0);
  std::vector<size_t> selected;  // header index per slot
  if (options.columns.empty()) {
    for (size_t i = 0; i < header.size(); ++i) selected.push_back(i);
  } else {
    for (const std::string& name : options.columns) {
      auto it = index.find(name);
      if (it == index.end()) {
        return InvalidArgument(src + ": no column '" + name + "' (columns: " + ColumnList(header) +
                               ")");
      }
      if (plan.slot[it->second] >= 0) continue;
      plan.slot[it->second] = static_cast<int>(selected.size());
      selected.push_back(it->second);
    }
  }
  for (size_t s = 0; s < selected.size(); ++s) plan.slot[selected[s]] = static_cast<int>(s);
  plan.slots = selected.size();
  for (const auto& [name, kind] : options.kinds) {
    auto it = index.find(name);
    if (it == index.end()) {
      return InvalidArgument(src + ": no column '" + name + "' (columns: " + ColumnList(header) +
                             ")");
    }
  }
  std::vector<char> inferred(plan.fields, 0);  // kind comes from the data
  for (size_t f : selected) {
    auto it = options.kinds.find(header[f]);
    if (it == options.kinds.end()) {
      inferred[f] = 1;
      plan.sink[f] = Sink::kNumber;
    } else {
      plan.sink[f] = it->second == ColumnKind::kNumeric ? Sink::kNumber : Sink::kText;
      plan.strict[f] = it->second == ColumnKind::kNumeric;
    }
  }

  // Infer kinds on a sample.
  ChunkOut sample;
  ParseRows(body, eof, eof, kSampleRows, plan, options.delimiter, kSampleRows, sample);
  if (!sample.error.empty()) return fail_at(sample.error_at, sample.error);
  for (size_t f : selected) {
    if (inferred[f] && sample.not_numeric[plan.slot[f]]) plan.sink[f] = Sink::kText;
  }
  double row_bytes = sample.rows > 0 ? static_cast<double>(sample.end - body) / sample.rows : 64;

  // Split at row boundaries and parse.
  size_t bytes = static_cast<size_t>(eof - body);
  int threads = options.threads > 0
                    ? options.threads
                    : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  threads = static_cast<int>(
      std::clamp<size_t>(bytes / kMinBytesPerThread, 1, static_cast<size_t>(threads)));
  bool has_quotes = std::memchr(body, '"', bytes) != nullptr;
  std::vector<const char*> starts{body};
  for (int t = 1; t < threads; ++t) {
    const char* s = RowStartAfter(starts.back(), body + bytes * t / threads, eof, has_quotes);
    if (s <= starts.back() || s >= eof) break;
    starts.push_back(s);
  }
  size_t n = starts.size();
  std::vector<ChunkOut> chunks(n);
  auto estimate = [&](const char* a, const char* b) {
    return static_cast<int64_t>(static_cast<double>(b - a) / row_bytes * 1.05) + 16;
  };
  {
    std::vector<std::jthread> workers;
    for (size_t t = 1; t < n; ++t) {
      const char* limit = t + 1 < n ? starts[t + 1] : eof;
      workers.emplace_back([&, t, limit] {
        ParseRows(starts[t], limit, eof, std::numeric_limits<int64_t>::max(), plan,
                  options.delimiter, estimate(starts[t], limit), chunks[t]);
      });
    }
    ParseRows(starts[0], n > 1 ? starts[1] : eof, eof, std::numeric_limits<int64_t>::max(), plan,
              options.delimiter, estimate(body, eof), chunks[0]);
  }
  for (size_t t = 0; t < n; ++t) {
    if (!chunks[t].error.empty()) return fail_at(chunks[t].error_at, chunks[t].error);
    if (t + 1 < n && chunks[t].end != starts[t + 1]) {
      // The quote-parity guess split inside a record: parse the rest in one piece.
      chunks.resize(t + 2);
      ParseRows(chunks[t].end, eof, eof, std::numeric_limits<int64_t>::max(), plan,
                options.delimiter, estimate(chunks[t].end, eof), chunks[t + 1]);
      if (!chunks[t + 1].error.empty()) {
        return fail_at(chunks[t + 1].error_at, chunks[t + 1].error);
      }
      n = t + 2;
      break;
    }
  }

  // A column inferred numeric that met a non-number later: read it again as text.
  Plan late = plan;
  bool any_late = false;
  for (size_t f : selected) {
    int s = plan.slot[f];
    bool bad = false;
    for (size_t t = 0; t < n; ++t) bad = bad || chunks[t].not_numeric[s];
    late.sink[f] = bad ? Sink::kText : Sink::kSkip;
    if (bad) plan.sink[f] = Sink::kText;
    any_late = any_late || bad;
  }
  ChunkOut again;
  if (any_late) {
    ParseRows(body, eof, eof, std::numeric_limits<int64_t>::max(), late, options.delimiter,
              estimate(body, eof), again);
    if (!again.error.empty()) return fail_at(again.error_at, again.error);
  }

  Dataset dataset;
  for (size_t t = 0; t < n; ++t) dataset.rows += chunks[t].rows;
  dataset.columns.resize(selected.size());
  for (size_t s = 0; s < selected.size(); ++s) {
    size_t f = selected[s];
    Column& column = dataset.columns[s];
    column.name = header[f];
    if (any_late && late.sink[f] == Sink::kText) {
      column.kind = ColumnKind::kCategorical;
      column.categorical = std::move(again.texts[s]);
    } else if (plan.sink[f] == Sink::kNumber) {
      column.kind = ColumnKind::kNumeric;
      column.numeric = std::move(chunks[0].numbers[s]);
      if (column.numeric.capacity() < static_cast<size_t>(dataset.rows)) {
        std::vector<double> all;
        ReserveHuge(all, dataset.rows);
        all.insert(all.end(), column.numeric.begin(), column.numeric.end());
        column.numeric.swap(all);
      }
      for (size_t t = 1; t < n; ++t) {
        column.numeric.insert(column.numeric.end(), chunks[t].numbers[s].begin(),
                              chunks[t].numbers[s].end());
        std::vector<double>().swap(chunks[t].numbers[s]);
      }
    } else {
      column.kind = ColumnKind::kCategorical;
      column.categorical = std::move(chunks[0].texts[s]);
      if (column.categorical.capacity() < static_cast<size_t>(dataset.rows)) {
        std::vector<std::string> all;
        ReserveHuge(all, dataset.rows);
        all.insert(all.end(), std::make_move_iterator(column.categorical.begin()),
                   std::make_move_iterator(column.categorical.end()));
        column.categorical.swap(all);
      }
      for (size_t t = 1; t < n; ++t) {
        auto& part = chunks[t].texts[s];
        column.categorical.insert(column.categorical.end(), std::make_move_iterator(part.begin()),
                                  std::make_move_iterator(part.end()));
        std::vector<std::string>().swap(part);
      }
    }
  }
  return dataset;
}

Result<Dataset> ReadCsvFile(const std::string& path, const CsvReadOptions& options) {
  MappedFile file;
  RETURN_IF_ERROR(file.Open(path));
  return ParseCsv(file.view(), path, options);
}

}  // namespace studio::monitoring

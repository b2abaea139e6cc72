#include "serving/trees/internal/model_dom.h"

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>

#include <nlohmann/json.hpp>

namespace studio::serving::trees::internal {
namespace {

constexpr int kMaxDepth = 128;

DomValue MakeInt(int64_t v) {
  DomValue d;
  d.kind = DomValue::Kind::kInt;
  d.i = v;
  d.f64 = static_cast<double>(v);
  d.f32 = static_cast<float>(v);
  return d;
}

DomValue MakeFloat(double v, float f) {
  DomValue d;
  d.kind = DomValue::Kind::kFloat;
  d.f64 = v;
  d.f32 = f;
  d.i = std::isfinite(v) && std::fabs(v) < 9.2e18 ? static_cast<int64_t>(v) : 0;
  return d;
}

// Builds the DOM from nlohmann's SAX events so JSON floats can be parsed from their text.
class DomBuilder final : public nlohmann::json_sax<nlohmann::json> {
 public:
  bool null() override { return Put(DomValue{}); }
  bool boolean(bool v) override {
    DomValue d;
    d.kind = DomValue::Kind::kBool;
    d.b = v;
    return Put(std::move(d));
  }
  bool number_integer(number_integer_t v) override { return Put(MakeInt(v)); }
  bool number_unsigned(number_unsigned_t v) override {
    if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return Put(MakeFloat(static_cast<double>(v), static_cast<float>(v)));
    }
    return Put(MakeInt(static_cast<int64_t>(v)));
  }
  bool number_float(number_float_t v, const string_t& raw) override {
    float f = static_cast<float>(v);
    if (!raw.empty()) {
      auto r = std::from_chars(raw.data(), raw.data() + raw.size(), f);
      if (r.ec != std::errc()) f = static_cast<float>(v);
    }
    return Put(MakeFloat(v, f));
  }
  bool string(string_t& v) override {
    DomValue d;
    d.kind = DomValue::Kind::kString;
    d.str = std::move(v);
    return Put(std::move(d));
  }
  bool binary(binary_t&) override {
    error_ = "binary values are not supported";
    return false;
  }
  bool start_object(std::size_t) override { return Open(DomValue::Kind::kObject); }
  bool key(string_t& k) override {
    keys_.push_back(std::move(k));
    return true;
  }
  bool end_object() override { return Close(); }
  bool start_array(std::size_t) override { return Open(DomValue::Kind::kArray); }
  bool end_array() override { return Close(); }
  bool parse_error(std::size_t pos, const std::string&,
                   const nlohmann::detail::exception& ex) override {
    error_ = "at byte " + std::to_string(pos) + ": " + ex.what();
    return false;
  }

  DomValue& root() { return root_; }
  const std::string& error() const { return error_; }

 private:
  bool Open(DomValue::Kind kind) {
    if (stack_.size() >= kMaxDepth) {
      error_ = "nesting deeper than " + std::to_string(kMaxDepth);
      return false;
    }
    DomValue d;
    d.kind = kind;
    stack_.push_back(std::move(d));
    return true;
  }
  bool Close() {
    DomValue d = std::move(stack_.back());
    stack_.pop_back();
    return Put(std::move(d));
  }
  bool Put(DomValue v) {
    if (stack_.empty()) {
      root_ = std::move(v);
      return true;
    }
    DomValue& top = stack_.back();
    if (top.kind == DomValue::Kind::kArray) {
      top.items.push_back(std::move(v));
    } else {
      top.members.emplace_back(std::move(keys_.back()), std::move(v));
      keys_.pop_back();
    }
    return true;
  }

  DomValue root_;
  std::vector<DomValue> stack_;
  std::vector<std::string> keys_;
  std::string error_;
};

// UBJSON reader. Every read is bounds-checked; counts are checked against the bytes left
// before anything is reserved, so a corrupt count cannot trigger a huge allocation.
class UbjReader {
 public:
  explicit UbjReader(std::string_view b) : b_(b) {}

  Status ReadDocument(DomValue* out) {
    RETURN_IF_ERROR(ReadValue(Next(), out, 0));
    if (pos_ != b_.size() && !failed_) {
      return Fail("trailing bytes after the document");
    }
    return failed_ ? Fail(error_) : Status::Ok();
  }

 private:
  Status Fail(const std::string& what) {
    return InvalidArgument("invalid UBJSON at byte " + std::to_string(pos_) + ": " + what);
  }
  bool Has(size_t n) const { return b_.size() - pos_ >= n; }
  char Next() {
    if (!Has(1)) {
      failed_ = true;
      error_ = "unexpected end of data";
      return '\0';
    }
    return b_[pos_++];
  }
  template <class T>
  bool ReadBE(T* out) {
    if (!Has(sizeof(T))) return false;
    unsigned char buf[sizeof(T)];
    for (size_t k = 0; k < sizeof(T); ++k)
      buf[k] = static_cast<unsigned char>(b_[pos_ + sizeof(T) - 1 - k]);
    std::memcpy(out, buf, sizeof(T));
    pos_ += sizeof(T);
    return true;
  }
  Status ReadLength(char marker, int64_t* n) {
    bool ok = false;
    switch (marker) {
      case 'i': {
        int8_t v{};
        ok = ReadBE(&v);
        *n = v;
        break;
      }
      case 'U': {
        uint8_t v{};
        ok = ReadBE(&v);
        *n = v;
        break;
      }
      case 'I': {
        int16_t v{};
        ok = ReadBE(&v);
        *n = v;
        break;
      }
      case 'l': {
        int32_t v{};
        ok = ReadBE(&v);
        *n = v;
        break;
      }
      case 'L': {
        int64_t v{};
        ok = ReadBE(&v);
        *n = v;
        break;
      }
      default:
        return Fail(std::string("expected an integer length, got marker '") + marker + "'");
    }
    if (!ok) return Fail("unexpected end of data in a length");
    if (*n < 0) return Fail("negative length");
    return Status::Ok();
  }
  Status ReadString(std::string* s) {
    int64_t n = 0;
    RETURN_IF_ERROR(ReadLength(Next(), &n));
    if (!Has(static_cast<size_t>(n))) return Fail("string runs past the end of data");
    s->assign(b_.data() + pos_, static_cast<size_t>(n));
    pos_ += static_cast<size_t>(n);
    return Status::Ok();
  }
  static size_t MinSize(char type) {
    switch (type) {
      case 'T':
      case 'F':
      case 'Z':
      case 'N':
        return 0;
      case 'i':
      case 'U':
      case 'C':
        return 1;
      case 'I':
        return 2;
      case 'l':
      case 'd':
        return 4;
      case 'L':
      case 'D':
        return 8;
      default:
        return 1;
    }
  }
  Status ReadValue(char marker, DomValue* out, int depth) {
    if (failed_) return Fail(error_);
    if (depth > kMaxDepth) return Fail("nesting too deep");
    bool ok = true;
    switch (marker) {
      case 'Z':
        *out = DomValue{};
        return Status::Ok();
      case 'T':
      case 'F':
        *out = DomValue{};
        out->kind = DomValue::Kind::kBool;
        out->b = marker == 'T';
        return Status::Ok();
      case 'i': {
        int8_t v{};
        ok = ReadBE(&v);
        *out = MakeInt(v);
        break;
      }
      case 'U': {
        uint8_t v{};
        ok = ReadBE(&v);
        *out = MakeInt(v);
        break;
      }
      case 'I': {
        int16_t v{};
        ok = ReadBE(&v);
        *out = MakeInt(v);
        break;
      }
      case 'l': {
        int32_t v{};
        ok = ReadBE(&v);
        *out = MakeInt(v);
        break;
      }
      case 'L': {
        int64_t v{};
        ok = ReadBE(&v);
        *out = MakeInt(v);
        break;
      }
      case 'd': {
        float v{};
        ok = ReadBE(&v);
        *out = MakeFloat(v, v);
        break;
      }
      case 'D': {
        double v{};
        ok = ReadBE(&v);
        *out = MakeFloat(v, static_cast<float>(v));
        break;
      }
      case 'C': {
        uint8_t v{};
        ok = ReadBE(&v);
        *out = DomValue{};
        out->kind = DomValue::Kind::kString;
        out->str.assign(1, static_cast<char>(v));
        break;
      }
      case 'S':
      case 'H':
        *out = DomValue{};
        out->kind = DomValue::Kind::kString;
        return ReadString(&out->str);
      case '[':
        return ReadContainer(false, out, depth);
      case '{':
        return ReadContainer(true, out, depth);
      default:
        if (failed_) return Fail(error_);
        return Fail(std::string("unknown marker 0x") + "0123456789abcdef"[(marker >> 4) & 0xf] +
                    "0123456789abcdef"[marker & 0xf]);
    }
    if (!ok) return Fail("unexpected end of data in a number");
    return Status::Ok();
  }
  Status ReadContainer(bool object, DomValue* out, int depth) {
    *out = DomValue{};
    out->kind = object ? DomValue::Kind::kObject : DomValue::Kind::kArray;
    char type = 0;
    int64_t count = -1;
    if (Has(1) && b_[pos_] == '$') {
      ++pos_;
      type = Next();
      if (Next() != '#') return Fail("a typed container needs a count");
      --pos_;
    }
    if (Has(1) && b_[pos_] == '#') {
      ++pos_;
      RETURN_IF_ERROR(ReadLength(Next(), &count));
      size_t min_each = (type ? MinSize(type) : 1) + (object ? 1 : 0);
      const uint64_t left = b_.size() - pos_;
      if (min_each > 0 ? static_cast<uint64_t>(count) > left / min_each : count > (1 << 20)) {
        return Fail("container count " + std::to_string(count) + " exceeds the data left");
      }
      // Reserve modestly: a DomValue is far larger than its encoding.
      const size_t reserve = static_cast<size_t>(std::min<int64_t>(count, 1 << 16));
      if (object) {
        out->members.reserve(reserve);
      } else {
        out->items.reserve(reserve);
      }
    }
    const char close = object ? '}' : ']';
    for (int64_t k = 0; count < 0 || k < count; ++k) {
      if (count < 0) {
        if (!Has(1)) return Fail("unexpected end of data in a container");
        if (b_[pos_] == close) {
          ++pos_;
          return Status::Ok();
        }
      }
      std::string key;
      if (object) RETURN_IF_ERROR(ReadString(&key));
      char vm = type ? type : Next();
      DomValue v;
      RETURN_IF_ERROR(ReadValue(vm, &v, depth + 1));
      if (object) {
        out->members.emplace_back(std::move(key), std::move(v));
      } else {
        out->items.push_back(std::move(v));
      }
    }
    return Status::Ok();
  }

  std::string_view b_;
  size_t pos_ = 0;
  bool failed_ = false;
  std::string error_;
};

}  // namespace

const DomValue* DomValue::Find(std::string_view key) const {
  if (kind != Kind::kObject) return nullptr;
  for (const auto& [k, v] : members) {
    if (k == key) return &v;
  }
  return nullptr;
}

Result<DomValue> ParseJson(std::string_view text) {
  DomBuilder builder;
  bool ok = false;
  try {
    ok = nlohmann::json::sax_parse(text.begin(), text.end(), &builder,
                                   nlohmann::json::input_format_t::json, true);
  } catch (const std::exception& e) {
    return InvalidArgument(std::string("invalid JSON: ") + e.what());
  }
  if (!ok) return InvalidArgument("invalid JSON " + builder.error());
  return std::move(builder.root());
}

Result<DomValue> ParseUbjson(std::string_view bytes) {
  UbjReader reader(bytes);
  DomValue root;
  RETURN_IF_ERROR(reader.ReadDocument(&root));
  return root;
}

}  // namespace studio::serving::trees::internal

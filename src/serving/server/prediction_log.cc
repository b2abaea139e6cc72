#include "serving/server/prediction_log.h"

#include <algorithm>
#include <chrono>
#include <random>

#include "common/log.h"
#include "common/time_util.h"

namespace studio::serving {

Result<std::unique_ptr<PredictionLog>> PredictionLog::Create(const PredictionLogOptions& options) {
  if (options.sample_rate < 0 || options.sample_rate > 1)
    return InvalidArgument("the prediction-log sample rate must be between 0 and 1");
  auto store = artifacts::OpenArtifactStore(options.target);
  if (!store.ok()) return store.status();
  return std::unique_ptr<PredictionLog>(new PredictionLog(options, std::move(*store)));
}

PredictionLog::PredictionLog(PredictionLogOptions options,
                             std::unique_ptr<artifacts::ArtifactStore> store)
    : options_(std::move(options)), store_(std::move(store)) {
  threshold_ = options_.sample_rate >= 1.0
                   ? UINT64_MAX
                   : static_cast<uint64_t>(options_.sample_rate * 18446744073709551616.0);
  writer_ = std::thread([this] { Run(); });
}

PredictionLog::~PredictionLog() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  writer_.join();
}

bool PredictionLog::ShouldSample() {
  if (threshold_ == 0) return false;
  if (threshold_ == UINT64_MAX) return true;
  thread_local std::mt19937_64 gen(std::random_device{}());
  return gen() < threshold_;
}

void PredictionLog::Append(std::string record) {
  {
    std::lock_guard lock(mu_);
    if (queue_.size() >= options_.queue_capacity) {
      dropped_.fetch_add(1);
      return;
    }
    queue_.push_back(std::move(record));
  }
  cv_.notify_one();
}

void PredictionLog::Flush() {
  std::unique_lock lock(mu_);
  const uint64_t target = flushes_done_ + 1;
  flush_requested_ = true;
  cv_.notify_all();
  flushed_cv_.wait(lock, [&] { return flushes_done_ >= target || stop_; });
}

void PredictionLog::Run() {
  using Clock = std::chrono::steady_clock;
  std::string batch;
  uint64_t records = 0;
  auto opened = Clock::now();
  std::unique_lock lock(mu_);
  while (true) {
    const auto deadline = opened + std::chrono::milliseconds(options_.flush_interval_ms);
    cv_.wait_until(lock, deadline, [&] { return stop_ || flush_requested_ || !queue_.empty(); });
    while (!queue_.empty()) {
      batch += queue_.front();
      batch += '\n';
      ++records;
      queue_.pop_front();
    }
    const bool flush = flush_requested_;
    const bool due = records > 0 && (batch.size() >= options_.max_object_bytes ||
                                     Clock::now() >= deadline || flush || stop_);
    if (due) {
      lock.unlock();
      WriteBatch(std::move(batch), records);
      lock.lock();
      batch.clear();
      records = 0;
    }
    if (records == 0) opened = Clock::now();
    if (flush) {
      flush_requested_ = false;
      ++flushes_done_;
      flushed_cv_.notify_all();
    }
    if (stop_ && queue_.empty()) break;
  }
  flushed_cv_.notify_all();
}

void PredictionLog::WriteBatch(std::string batch, uint64_t records) {
  // Sortable names: UTC time then a sequence number.
  std::string ts = FormatRfc3339(NowMillis());
  ts.erase(std::remove_if(ts.begin(), ts.end(), [](char c) { return c == ':' || c == '-'; }),
           ts.end());
  char seq[16];
  std::snprintf(seq, sizeof seq, "%06llu", static_cast<unsigned long long>(++seq_));
  const std::string name = "predictions-" + ts + "-" + seq + ".ndjson";
  size_t offset = 0;
  auto put = store_->Put(name, [&](char* buf, size_t cap) -> Result<size_t> {
    size_t n = std::min(cap, batch.size() - offset);
    std::copy_n(batch.data() + offset, n, buf);
    offset += n;
    return n;
  });
  if (!put.ok()) {
    dropped_.fetch_add(records);
    log::Warn("prediction log write failed",
              {{"object", name}, {"error", put.status().ToString()}});
    return;
  }
  written_.fetch_add(records);
  Prune();
}

void PredictionLog::Prune() {
  if (options_.max_objects <= 0 || store_->uri().rfind("file:", 0) != 0) return;
  auto list = store_->List("");
  if (!list.ok()) return;
  std::vector<std::string> files;
  for (const auto& f : *list)
    if (!f.is_dir && f.path.rfind("predictions-", 0) == 0) files.push_back(f.path);
  if (static_cast<int>(files.size()) <= options_.max_objects) return;
  std::sort(files.begin(), files.end());
  for (size_t i = 0; i + options_.max_objects < files.size(); ++i) (void)store_->Delete(files[i]);
}

}  // namespace studio::serving

#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "artifacts/artifact_store.h"
#include "common/status.h"

namespace studio::serving {

struct PredictionLogOptions {
  // file:///abs/dir or s3://bucket/prefix (any ArtifactStore URI); empty = off.
  std::string target;
  double sample_rate = 0.1;           // fraction of requests recorded
  size_t max_object_bytes = 8 << 20;  // a file/object is closed at this size ...
  int flush_interval_ms = 10'000;     // ... or after this long
  size_t queue_capacity = 10'000;     // records waiting for the writer; more are dropped
  int max_objects = 100;              // local retention: oldest files deleted beyond this
};

// The sampled request/response log that monitoring reads. Requests only pay for the sampling
// decision and, when sampled, building one NDJSON line and a queue push; a background thread
// writes closed batches as objects `predictions-<UTC time>-<seq>.ndjson` through the
// ArtifactStore, so local files and S3 use the same code.
class PredictionLog {
 public:
  static Result<std::unique_ptr<PredictionLog>> Create(const PredictionLogOptions& options);
  ~PredictionLog();  // flushes what is queued, joins the writer

  bool ShouldSample();  // thread-local generator; cheap
  // Queues one complete JSON object (no newline). Never blocks; drops when the queue is full.
  void Append(std::string record);
  void Flush();  // writes the current batch now (tests, shutdown)

  uint64_t written() const { return written_.load(); }
  uint64_t dropped() const { return dropped_.load(); }

 private:
  PredictionLog(PredictionLogOptions options, std::unique_ptr<artifacts::ArtifactStore> store);
  void Run();
  void WriteBatch(std::string batch, uint64_t records);
  void Prune();

  PredictionLogOptions options_;
  std::unique_ptr<artifacts::ArtifactStore> store_;
  uint64_t threshold_;  // sample when the random value < threshold_
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> queue_;
  bool stop_ = false;
  bool flush_requested_ = false;
  uint64_t flushes_done_ = 0;
  std::condition_variable flushed_cv_;
  std::atomic<uint64_t> written_{0};
  std::atomic<uint64_t> dropped_{0};
  uint64_t seq_ = 0;
  std::thread writer_;
};

}  // namespace studio::serving

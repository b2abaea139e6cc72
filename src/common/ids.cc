#include "common/ids.h"

#include <atomic>
#include <cstdio>

#include "common/crypto.h"
#include "common/time_util.h"

namespace studio {

std::string NewUuidV7() {
  // Monotonic within a process even when two ids share a millisecond: the 12-bit rand_a
  // field carries a counter seeded randomly each new millisecond.
  static std::atomic<uint64_t> last{0};
  uint64_t ms = static_cast<uint64_t>(NowMillis());
  uint64_t prev = last.load();
  uint64_t packed;
  std::string rnd = crypto::RandomBytes(10);
  do {
    uint64_t prev_ms = prev >> 12;
    if (ms > prev_ms) {
      packed = (ms << 12) | (static_cast<uint8_t>(rnd[0]) & 0x7f);
    } else {
      packed = prev + 1;  // same (or clock went back) millisecond: count up
    }
  } while (!last.compare_exchange_weak(prev, packed));
  uint64_t ts = packed >> 12;
  uint16_t rand_a = packed & 0xfff;
  unsigned char b[16];
  for (int i = 0; i < 6; ++i) b[i] = static_cast<unsigned char>(ts >> (40 - 8 * i));
  b[6] = static_cast<unsigned char>(0x70 | (rand_a >> 8));
  b[7] = static_cast<unsigned char>(rand_a & 0xff);
  for (int i = 0; i < 8; ++i) b[8 + i] = static_cast<unsigned char>(rnd[2 + i]);
  b[8] = (b[8] & 0x3f) | 0x80;
  char out[37];
  snprintf(out, sizeof(out), "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
           b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
           b[14], b[15]);
  return out;
}

}  // namespace studio

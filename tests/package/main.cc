// Links against the installed exactly::exactly and runs one duplicate
// through the engine: exits non-zero unless the duplicate is dropped.
#include <cstdio>
#include <vector>

#include "exactly/engine.h"

int main() {
  using namespace exactly;
  std::vector<HeaderView> headers = {{"eo.producer", "p1"}, {"eo.epoch", "1"}, {"eo.seq", "7"}};
  RecordView r{"in", Partition(0), Offset(0), TimestampMs(0), std::nullopt, "hello", headers};
  Engine engine;
  int delivered = 0;
  auto count = [&](const Message&) { ++delivered; };
  const Outcome first = engine.Process(r, count);
  r.offset = Offset(1);
  const Outcome second = engine.Process(r, count);
  const bool ok = first == Outcome::kDelivered && second == Outcome::kDuplicate && delivered == 1;
  std::printf("package consumer: %s (delivered %d)\n", ok ? "ok" : "FAILED", delivered);
  return ok ? 0 : 1;
}

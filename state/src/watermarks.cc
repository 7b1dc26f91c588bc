// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
#include "watermarks.h"

#include <algorithm>

namespace exactly::state {

void BuildOverlay(std::vector<DeltaOp>* ops) {
  std::stable_sort(ops->begin(), ops->end(),
                   [](const DeltaOp& a, const DeltaOp& b) { return a.producer < b.producer; });
  // Keep the last op of each run of equal producers.
  std::size_t out = 0;
  for (std::size_t i = 0; i < ops->size(); ++i) {
    if (i + 1 < ops->size() && (*ops)[i + 1].producer == (*ops)[i].producer) continue;
    (*ops)[out++] = (*ops)[i];
  }
  ops->resize(out);
}

void ApplyOverlay(std::vector<ProducerState>* base, std::span<const DeltaOp> overlay) {
  if (overlay.empty()) return;
  std::vector<ProducerState> out;
  out.reserve(base->size() + overlay.size());
  auto b = base->begin();
  auto o = overlay.begin();
  auto emit_op = [&out](const DeltaOp& op) {
    if (op.erased) return;
    out.push_back(ProducerState{std::string(op.producer), op.watermark, op.last_seen});
  };
  while (b != base->end() && o != overlay.end()) {
    if (b->producer < o->producer) {
      out.push_back(std::move(*b++));
    } else if (o->producer < b->producer) {
      emit_op(*o++);
    } else {
      // Same producer: keep its string, take the op's fields.
      if (!o->erased) out.push_back(ProducerState{std::move(b->producer), o->watermark, o->last_seen});
      ++o;
      ++b;
    }
  }
  for (; b != base->end(); ++b) out.push_back(std::move(*b));
  for (; o != overlay.end(); ++o) emit_op(*o);
  *base = std::move(out);
}

}  // namespace exactly::state

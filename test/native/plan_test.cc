// plan_passes: how a merged batch of `total` images is cut into forward passes.
#include <set>
#include <vector>

#include "check.h"
#include "engine/executor.h"

using namespace mobilenet;

namespace {
// The one line to change if the planner is renamed.
std::vector<Pass> plan(int total, int max_batch) { return plan_passes(total, max_batch); }

// The batch sizes whose primitives the backend caches: powers of two below max_batch, and max_batch.
std::set<int> cached_sizes(int max_batch) {
  std::set<int> sizes{max_batch};
  for (int b = 1; b < max_batch; b *= 2) sizes.insert(b);
  return sizes;
}

const int kMaxBatches[] = {1, 2, 3, 4, 5, 7, 8, 12, 16, 24, 32, 33, 64};
}  // namespace

TEST(plan, covers_every_row_once_in_order) {
  for (int max_batch : kMaxBatches) {
    for (int total = 1; total <= 300; ++total) {
      const std::vector<Pass> passes = plan(total, max_batch);
      REQUIRE(!passes.empty());
      int next = 0;  // the first row not yet covered
      for (size_t i = 0; i < passes.size(); ++i) {
        CHECK_MSG(passes[i].row == next, "total " << total << " max_batch " << max_batch << ": pass " << i
                                                  << " starts at row " << passes[i].row << ", expected " << next);
        CHECK_MSG(passes[i].size >= 1, "total " << total << " max_batch " << max_batch << ": empty pass " << i);
        next = passes[i].row + passes[i].size;
        // Only the last pass may extend past the real rows.
        if (i + 1 < passes.size())
          CHECK_MSG(next <= total, "total " << total << " max_batch " << max_batch << ": pass " << i << " pads");
      }
      CHECK_MSG(next >= total, "total " << total << " max_batch " << max_batch << ": rows " << next << ".." << total
                                        << " are in no pass");
    }
  }
}

TEST(plan, sizes_come_from_the_cached_set) {
  for (int max_batch : kMaxBatches) {
    const std::set<int> sizes = cached_sizes(max_batch);
    for (int total = 1; total <= 300; ++total)
      for (const Pass& c : plan(total, max_batch))
        CHECK_MSG(sizes.count(c.size) == 1, "total " << total << " max_batch " << max_batch << ": pass of " << c.size);
  }
}

TEST(plan, padding_is_at_most_a_quarter_of_the_last_pass) {
  for (int max_batch : kMaxBatches) {
    for (int total = 1; total <= 300; ++total) {
      const std::vector<Pass> passes = plan(total, max_batch);
      REQUIRE(!passes.empty());
      const Pass last = passes.back();
      const int padding = last.row + last.size - total;
      CHECK_MSG(padding >= 0 && padding <= last.size / 4,
                "total " << total << " max_batch " << max_batch << ": " << padding << " padding rows in a pass of " << last.size);
    }
  }
}

TEST(plan, full_passes_first_and_few_passes) {
  for (int max_batch : kMaxBatches) {
    int log2 = 0;
    while ((1 << log2) < max_batch) ++log2;
    for (int total = 1; total <= 300; ++total) {
      const std::vector<Pass> passes = plan(total, max_batch);
      // Every image count the queue can hold fills max_batch passes before it uses smaller ones.
      for (size_t i = 0; i < passes.size(); ++i) {
        if (passes[i].row + max_batch <= total)
          CHECK_MSG(passes[i].size == max_batch,
                    "total " << total << " max_batch " << max_batch << ": pass " << i << " of " << passes[i].size << " with "
                             << total - passes[i].row << " rows left");
        if (i > 0) CHECK_MSG(passes[i].size <= passes[i - 1].size, "total " << total << " max_batch " << max_batch << ": sizes grow");
      }
      // The remainder after the full passes takes at most one pass per power of two.
      CHECK_MSG(int(passes.size()) <= total / max_batch + log2 + 1,
                "total " << total << " max_batch " << max_batch << ": " << passes.size() << " passes");
    }
  }
}

TEST(plan, a_cached_size_is_one_pass) {
  for (int max_batch : kMaxBatches)
    for (int size : cached_sizes(max_batch)) {
      const std::vector<Pass> passes = plan(size, max_batch);
      CHECK_MSG(passes.size() == 1 && passes[0].row == 0 && passes[0].size == size,
                "total " << size << " max_batch " << max_batch << ": " << passes.size() << " passes");
    }
}

// The plans of the batch sizes run most recently (primitives only: activations live in the Arena).
#pragma once
#include <list>
#include <memory>

#include "plan.h"

namespace mobilenet {

class PlanCache {
 public:
  static constexpr size_t kCapacity = 8;
  // The plan for `batch`, made most recent, or nullptr.
  Plan* find(int batch) {
    for (auto it = plans_.begin(); it != plans_.end(); ++it) {
      if ((*it)->batch != batch) continue;
      plans_.splice(plans_.begin(), plans_, it);
      return plans_.front().get();
    }
    return nullptr;
  }
  // Adds `plan` as most recent; returns the least recent one if that made the cache overflow.
  std::unique_ptr<Plan> insert(std::unique_ptr<Plan> plan) {
    plans_.push_front(std::move(plan));
    if (plans_.size() <= kCapacity) return nullptr;
    std::unique_ptr<Plan> evicted = std::move(plans_.back());
    plans_.pop_back();
    return evicted;
  }
  Plan& front() { return *plans_.front(); }

 private:
  std::list<std::unique_ptr<Plan>> plans_;  // most recently used first
};

}  // namespace mobilenet

// Atomic accesses over std::atomic_ref, and a process-wide waiter queue keyed by address (a
// shared memory is one reservation whichever store or thread uses it, so its host address
// names the same cell for every waiter).
#include "runtime/atomics.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <list>
#include <mutex>
#include <unordered_map>

#include "jit/vmcontext.hpp"

namespace kiln::runtime {

namespace {

template <typename T>
uint64_t access(jit::AtomicGroup group, uint8_t* address, uint64_t operand, uint64_t replacement) {
  std::atomic_ref<T> cell(*reinterpret_cast<T*>(address));
  const T value = T(operand);
  switch (group) {
    case jit::AtomicGroup::Load:
      return cell.load();
    case jit::AtomicGroup::Store:
      cell.store(value);
      return 0;
    case jit::AtomicGroup::Add:
      return cell.fetch_add(value);
    case jit::AtomicGroup::Sub:
      return cell.fetch_sub(value);
    case jit::AtomicGroup::And:
      return cell.fetch_and(value);
    case jit::AtomicGroup::Or:
      return cell.fetch_or(value);
    case jit::AtomicGroup::Xor:
      return cell.fetch_xor(value);
    case jit::AtomicGroup::Xchg:
      return cell.exchange(value);
    case jit::AtomicGroup::Cmpxchg: {
      T expected = value;
      cell.compare_exchange_strong(expected, T(replacement));
      return expected;  // the old value, whether or not it was replaced
    }
    default:
      return 0;
  }
}

// One thread waiting at an address.
struct Waiter {
  std::condition_variable wake;
  bool notified = false;
};

struct WaiterQueue {
  std::mutex lock;
  std::unordered_map<const uint8_t*, std::list<Waiter*>> waiting;
};

WaiterQueue& waiter_queue() {
  static WaiterQueue queue;
  return queue;
}

uint64_t notify(const uint8_t* address, uint32_t count) {
  WaiterQueue& queue = waiter_queue();
  std::lock_guard<std::mutex> guard(queue.lock);
  auto found = queue.waiting.find(address);
  if (found == queue.waiting.end()) return 0;
  uint32_t woken = 0;
  std::list<Waiter*>& waiters = found->second;
  while (woken < count && !waiters.empty()) {
    Waiter* waiter = waiters.front();
    waiters.pop_front();
    waiter->notified = true;
    waiter->wake.notify_one();
    ++woken;
  }
  if (waiters.empty()) queue.waiting.erase(found);
  return woken;
}

template <typename T>
uint64_t wait(uint8_t* address, uint64_t expected, int64_t timeout_ns) {
  WaiterQueue& queue = waiter_queue();
  std::unique_lock<std::mutex> guard(queue.lock);
  // Compared under the queue's lock: a notify after a store that changed the value either
  // happens before (the value differs here) or finds this waiter queued.
  if (std::atomic_ref<T>(*reinterpret_cast<T*>(address)).load() != T(expected)) return 1;
  Waiter self;
  std::list<Waiter*>& waiters = queue.waiting[address];
  waiters.push_back(&self);
  auto woken = [&] { return self.notified; };
  if (timeout_ns < 0) {
    self.wake.wait(guard, woken);
  } else {
    self.wake.wait_for(guard, std::chrono::nanoseconds(timeout_ns), woken);
  }
  if (self.notified) return 0;
  // Timed out: leave the queue (notify removed this waiter only when it set `notified`).
  auto at = queue.waiting.find(address);
  at->second.remove(&self);
  if (at->second.empty()) queue.waiting.erase(at);
  return 2;
}

}  // namespace

uint64_t atomic_operation(uint32_t code, uint8_t* address, uint64_t operand,
                          uint64_t replacement) {
  if (code == jit::kAtomicFence) {
    std::atomic_thread_fence(std::memory_order_seq_cst);
    return 0;
  }
  const jit::AtomicAccess op = jit::atomic_access(code);
  if (op.group == jit::AtomicGroup::Notify) return notify(address, uint32_t(operand));
  if (op.group == jit::AtomicGroup::Wait) {
    return op.bytes == 4 ? wait<uint32_t>(address, operand, int64_t(replacement))
                         : wait<uint64_t>(address, operand, int64_t(replacement));
  }
  switch (op.bytes) {
    case 1:
      return access<uint8_t>(op.group, address, operand, replacement);
    case 2:
      return access<uint16_t>(op.group, address, operand, replacement);
    case 4:
      return access<uint32_t>(op.group, address, operand, replacement);
    default:
      return access<uint64_t>(op.group, address, operand, replacement);
  }
}

}  // namespace kiln::runtime

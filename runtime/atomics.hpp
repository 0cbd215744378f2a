// The threads proposal's atomic accesses, as the Atomic builtin performs them on an address
// compiled code has already checked (in bounds and aligned to the access width), and the
// waiter queue behind memory.atomic.wait32/wait64 and memory.atomic.notify.
#pragma once

#include <cstdint>

namespace kiln::runtime {

// Performs the 0xFE operator `code` (jit::atomic_access describes it) at `address`: loads and
// read-modify-writes return the old value (zero-extended from the access width), stores return
// 0, cmpxchg stores `replacement` where the old value equals `operand` (both truncated to the
// width). Every access is sequentially consistent.
//   notify: wakes up to `operand` waiters at `address`; returns how many woke.
//   wait32/wait64: returns 1 at once when the value differs from `operand`, else waits until
//   notified (0) or until `replacement` nanoseconds pass (2; negative: no timeout).
// atomic.fence (code 3) is a full fence; `address` is unused.
uint64_t atomic_operation(uint32_t code, uint8_t* address, uint64_t operand, uint64_t replacement);

}  // namespace kiln::runtime

// The x86-64 glue between C++ and compiled wasm code (see docs/jit-abi.md):
//
//   entry trampoline   int entry(const uint8_t* code, VMContext* vmctx, uint64_t* values,
//                                uint32_t param_slots, uint32_t result_slots,
//                                EntryRecord* record)
//                      System V in, Kiln's wasm convention out: saves the callee-saved
//                      registers, records its rsp/rbp in `record` (where the signal handler
//                      resumes a trapped thread), copies `param_slots` slots from `values` into
//                      an args area, calls `code` with r14 = vmctx and copies `result_slots`
//                      slots back. Returns 0; returns 1 when resumed at the trap landing.
//   trap landing       where the signal handler sends a trapped thread, with rsp/rbp set to
//                      the values recorded by the entry: restores and returns 1.
//   host-call stub     the `code` of a host function's VMFuncRef: called with Kiln's wasm
//                      convention (r14 = host function data), calls
//                      `uint32_t data->callback(VMContext* caller, void* data, uint64_t* args)`
//                      and returns; a non-zero result means "trap" and executes a ud2 whose
//                      trap code the runtime recorded before returning.
//   interrupt stub     what a failed fuel or epoch check calls (jit::Builtin::InterruptStub),
//                      with r14 = the caller's VMContext: saves every register compiled code
//                      allocates, calls the InterruptCheck builtin and either returns with them
//                      restored or, when it says trap, executes the host-call stub's ud2.
//
// The code is position-independent; the runtime copies it into executable memory once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "kiln/error.hpp"

namespace kiln::jit::x64 {

// What the entry trampoline records for the trap landing: the first fields of the runtime's
// per-call activation record.
struct EntryRecord {
  uintptr_t saved_rsp = 0;
  uintptr_t saved_rbp = 0;
};
inline constexpr int32_t kEntryRecordSavedRsp = offsetof(EntryRecord, saved_rsp);
inline constexpr int32_t kEntryRecordSavedRbp = offsetof(EntryRecord, saved_rbp);

// The host function data a host-call stub receives in r14: its first field is the callback.
using HostCallback = uint32_t (*)(void* caller_vmctx, void* host_data, uint64_t* args);

struct Trampolines {
  std::vector<uint8_t> code;
  uint32_t entry_offset = 0;
  uint32_t trap_landing_offset = 0;
  uint32_t host_stub_offset = 0;
  uint32_t host_stub_trap_offset = 0;  // the ud2 a failing host call executes
  uint32_t interrupt_stub_offset = 0;
};

using EntryFunction = int (*)(const uint8_t* code, void* vmctx, uint64_t* values,
                              uint32_t param_slots, uint32_t result_slots, EntryRecord* record);

Result<Trampolines> build_trampolines();

}  // namespace kiln::jit::x64

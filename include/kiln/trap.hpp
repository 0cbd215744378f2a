// Trap codes: why WebAssembly execution stopped abnormally. One table holds each code's name
// and the message the spec testsuite expects, so every layer (the JIT's trap sites, the signal
// handler, the API's Trap objects) agrees.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "kiln/error.hpp"

namespace kiln {

// X(code, name, message)
#define KILN_TRAP_CODES(X)                                                                \
  X(StackOverflow, "stack overflow", "call stack exhausted")                              \
  X(MemoryOutOfBounds, "memory out of bounds", "out of bounds memory access")             \
  X(HeapMisaligned, "misaligned atomic", "unaligned atomic")                              \
  X(TableOutOfBounds, "table out of bounds", "out of bounds table access")                \
  X(IndirectCallToNull, "indirect call to null", "uninitialized element")                 \
  X(UndefinedElement, "undefined element", "undefined element")                           \
  X(BadSignature, "bad signature", "indirect call type mismatch")                         \
  X(IntegerOverflow, "integer overflow", "integer overflow")                              \
  X(IntegerDivisionByZero, "integer division by zero", "integer divide by zero")          \
  X(BadConversionToInteger, "bad conversion to integer", "invalid conversion to integer") \
  X(UnreachableCodeReached, "unreachable", "unreachable")                                 \
  X(Interrupt, "interrupt", "interrupt")                                                  \
  X(OutOfFuel, "out of fuel", "all fuel consumed by WebAssembly")                         \
  X(NullReference, "null reference", "null reference")                                    \
  X(ArrayOutOfBounds, "array out of bounds", "out of bounds array access")                \
  X(AllocationTooLarge, "allocation too large", "allocation size too large")              \
  X(CastFailure, "cast failure", "cast failure")                                          \
  X(UncaughtException, "uncaught exception", "uncaught exception")                        \
  X(AtomicWaitNonSharedMemory, "atomic wait on non-shared memory", "expected shared memory")

enum class TrapCode : uint8_t {
#define KILN_TRAP_ENUM(code, name, message) code,
  KILN_TRAP_CODES(KILN_TRAP_ENUM)
#undef KILN_TRAP_ENUM
};

// The spec testsuite's wording for a trap ("integer divide by zero", ...).
constexpr std::string_view trap_message(TrapCode code) {
  switch (code) {
#define KILN_TRAP_MESSAGE(code, name, message) \
  case TrapCode::code:                         \
    return message;
    KILN_TRAP_CODES(KILN_TRAP_MESSAGE)
#undef KILN_TRAP_MESSAGE
  }
  return "unknown trap";
}

// A short name for the trap code ("integer overflow").
constexpr std::string_view trap_name(TrapCode code) {
  switch (code) {
#define KILN_TRAP_NAME(code, name, message) \
  case TrapCode::code:                      \
    return name;
    KILN_TRAP_CODES(KILN_TRAP_NAME)
#undef KILN_TRAP_NAME
  }
  return "unknown";
}

// ---- Traps as the embedding API returns them

// One frame of a trap's backtrace, innermost first.
class FrameRef {
 public:
  FrameRef(uint32_t func_index, std::optional<std::string> func_name,
           std::optional<std::string> module_name, size_t func_offset, size_t module_offset)
      : func_index_(func_index),
        func_name_(std::move(func_name)),
        module_name_(std::move(module_name)),
        func_offset_(func_offset),
        module_offset_(module_offset) {}
  // The function's index in its module's function index space (imports first).
  uint32_t func_index() const { return func_index_; }
  // Byte offset of the trapping instruction from the start of the function's body.
  size_t func_offset() const { return func_offset_; }
  // Byte offset of the trapping instruction from the start of the module.
  size_t module_offset() const { return module_offset_; }
  // Names from the module's name section, when it has them.
  std::optional<std::string_view> func_name() const {
    return func_name_ ? std::optional<std::string_view>(*func_name_) : std::nullopt;
  }
  std::optional<std::string_view> module_name() const {
    return module_name_ ? std::optional<std::string_view>(*module_name_) : std::nullopt;
  }

 private:
  uint32_t func_index_;
  std::optional<std::string> func_name_, module_name_;
  size_t func_offset_, module_offset_;
};

class Trace {
 public:
  explicit Trace(std::vector<FrameRef> frames) : frames_(std::move(frames)) {}
  using iterator = std::vector<FrameRef>::const_iterator;
  iterator begin() const { return frames_.begin(); }
  iterator end() const { return frames_.end(); }
  size_t size() const { return frames_.size(); }
  const FrameRef& operator[](size_t i) const { return frames_[i]; }

 private:
  std::vector<FrameRef> frames_;
};

// Why wasm stopped: a trap of compiled code (with a code and a backtrace) or one a host
// function raised (a message, no code).
class Trap {
 public:
  explicit Trap(std::string_view message) : message_(message) {}
  Trap(TrapCode code)
      : code_(code),
        message_(std::string("wasm trap: ") + std::string(trap_message(code))) {}  // implicit
  Trap(std::optional<TrapCode> code, std::string message, std::vector<FrameRef> frames)
      : code_(code), message_(std::move(message)), frames_(std::move(frames)) {}

  // "wasm trap: <the spec's text>" for a code trap, the host's message otherwise.
  std::string message() const { return message_; }
  std::optional<TrapCode> code() const { return code_; }
  Trace trace() const { return Trace(frames_); }

 private:
  std::optional<TrapCode> code_;
  std::string message_;
  std::vector<FrameRef> frames_;
};

// What a call that runs wasm can fail with: a trap, or an error (wrong arguments, a link
// error, resource exhaustion).
struct TrapError {
  std::variant<Trap, Error> data;
  TrapError(Trap trap) : data(std::move(trap)) {}
  TrapError(Error error) : data(std::move(error)) {}
  std::string message() const {
    if (const Trap* trap = std::get_if<Trap>(&data)) return trap->message();
    return std::get<Error>(data).message();
  }
};

template <typename T>
using TrapResult = Result<T, TrapError>;

}  // namespace kiln

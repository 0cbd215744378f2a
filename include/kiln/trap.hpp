// Trap codes: why WebAssembly execution stopped abnormally. One table holds each code's name
// and the message the spec testsuite expects, so every layer (the JIT's trap sites, the signal
// handler, the API's Trap objects) agrees.
#pragma once

#include <cstdint>
#include <string_view>

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
  X(UncaughtException, "uncaught exception", "uncaught exception")

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

}  // namespace kiln

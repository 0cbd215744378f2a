// The WebAssembly script format (.wast) as data: text/ parses a script into these commands,
// spec-tests/ runs them. Modules written as text are already encoded to binary here, so the
// runner only ever sees bytes (except `module quote`, whose text is kept and parsed on demand
// because assert_malformed expects the *parse* to fail).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "decoder/features.hpp"
#include "decoder/module.hpp"
#include "kiln/error.hpp"

namespace kiln::text {

struct Location {
  uint32_t line = 0;
  uint32_t column = 0;
};

// A module as a script writes it.
struct ScriptModule {
  enum class Form : uint8_t {
    Text,    // (module ...) in text: `binary` holds its encoding
    Binary,  // (module binary "...") : `binary` holds the bytes as written
    Quote,   // (module quote "...") : `quote` holds the concatenated text, not yet parsed
  };
  Form form = Form::Text;
  std::optional<std::string> id;  // $name, without the '$'
  bool definition = false;        // (module definition ...): define, do not instantiate
  std::vector<uint8_t> binary;
  std::string quote;
  Location location;
};

// A value in an action's arguments (and the bits of an exact expected result).
struct Value {
  enum class Kind : uint8_t {
    I32,
    I64,
    F32,
    F64,
    V128,
    RefNull,    // (ref.null ht): `heap` says which null
    RefExtern,  // (ref.extern N): a host reference with payload N
    RefHost,    // (ref.host N): a host reference (custom-descriptors tests)
  };
  Kind kind = Kind::I32;
  uint64_t bits = 0;               // I32/I64 (zero-extended), F32/F64 raw bits, Ref* payload
  std::array<uint8_t, 16> v128{};  // V128, little-endian lane bytes
  wasm::HeapType heap{};           // RefNull
};

// An expected result of assert_return.
struct ResultPattern {
  enum class Kind : uint8_t {
    I32,
    I64,
    F32,
    F64,  // exact bits (float patterns may also be NaN kinds below)
    F32CanonicalNan,
    F32ArithmeticNan,
    F64CanonicalNan,
    F64ArithmeticNan,
    V128,       // per-lane patterns in `lanes` with the shape in `lane_shape`
    RefNull,    // (ref.null): null of any type; `heap` set when the script names one
    RefExtern,  // (ref.extern) any non-null extern ref, or (ref.extern N) a specific one
    RefHost,    // (ref.host N)
    RefFunc,    // (ref.func) any non-null funcref, or (ref.func $f / N)
    RefStruct,
    RefArray,
    RefI31,
    RefAny,
    RefEq,
    RefExn,
    RefNullOrAny,
    Either,  // one of `alternatives`
  };
  Kind kind = Kind::I32;
  uint64_t bits = 0;
  bool has_payload = false;  // RefExtern/RefHost/RefFunc/RefI31 with a specific payload
  wasm::HeapType heap{};
  bool heap_given = false;
  // V128: shape ("i8x16", "i16x8", "i32x4", "i64x2", "f32x4", "f64x2") and one pattern per lane,
  // each of kind I32/I64/F32/F64 (exact bits) or a NaN kind.
  std::string lane_shape;
  std::vector<ResultPattern> lanes;
  std::vector<ResultPattern> alternatives;
};

struct Action {
  enum class Kind : uint8_t { Invoke, Get };
  Kind kind = Kind::Invoke;
  std::optional<std::string> module;  // $name of the module, without '$'
  std::string field;                  // export name (decoded UTF-8)
  std::vector<Value> args;
  Location location;
};

struct Command;

struct Command {
  enum class Kind : uint8_t {
    Module,          // module
    ModuleInstance,  // (module instance $i $m)
    Register,        // register "name" $m?
    Action,          // a bare (invoke ...) or (get ...)
    AssertReturn,
    AssertTrap,  // on an action, or on a module (instantiation traps)
    AssertExhaustion,
    AssertException,
    AssertMalformed,
    AssertInvalid,
    AssertUnlinkable,
    AssertUninstantiable,
    AssertMalformedCustom,  // custom/ folder: a custom-section or annotation error
    AssertInvalidCustom,
    Thread,  // (thread $t (shared (module $m))* command*)
    Wait,    // (wait $t)
  };
  Kind kind = Kind::Module;
  Location location;
  std::optional<ScriptModule> module;       // Module, AssertTrap on a module, assert_* on modules
  std::optional<Action> action;             // Action, AssertReturn/Trap/Exhaustion/Exception
  std::vector<ResultPattern> results;       // AssertReturn
  std::string text;                         // expected failure message; register name
  std::optional<std::string> name;          // Register: module $name; Thread/Wait: thread name;
                                            // ModuleInstance: instance name
  std::optional<std::string> module_name;   // ModuleInstance: the defined module's name
  std::vector<std::string> shared_modules;  // Thread: (shared (module $m)) names
  std::vector<Command> body;                // Thread: the thread's commands
};

// The keyword of a command kind as scripts write it ("assert_return", "module", ...).
std::string_view command_keyword(Command::Kind kind);

struct Script {
  std::vector<Command> commands;
};

// Parse a whole .wast script. `file` names it in error messages ("file:line:column: ...").
// Text modules are encoded to binary while parsing; `module quote` text is kept as is.
// `features` shapes the grammar as for wat_to_binary.
Result<Script> parse_wast(std::string_view source, std::string_view file = "<input>",
                          const wasm::Features& features = wasm::Features::everything());

}  // namespace kiln::text

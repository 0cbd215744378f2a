// The validator: module-level rules and function-body typing, as a visitor over operators
// that the JIT drives in the same pass (see ../shared/DESIGN.md).
//
//   TypeRegistry   engine-wide canonical ids for iso-recursive rec groups (thread-safe)
//   ModuleTypes    per-module type facts: canonical ids, subtyping, function types, the set of
//                  declared function references; built once per module
//   FuncValidator  the operand/control-stack machine for one function body (or one constant
//                  expression); reusable across functions so validation never allocates per op
//
// Typical JIT use:
//   auto types = ModuleTypes::build(module, bytes, features);          // + module rules
//   FuncValidator v(types.ok());
//   v.reset(func_index, module.bodies[i].locals);
//   for each operator: v.visit(op) then lower it (v.reachable(), v.operand_type(0), ...)
//   v.finish();
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <unordered_map>
#include <vector>

#include "decoder/features.hpp"
#include "decoder/module.hpp"
#include "decoder/operators.hpp"
#include "kiln/error.hpp"

namespace kiln::wasm {

// Implementation limits (the spec leaves them to the embedder; these are V8's).
inline constexpr uint32_t kMaxSubtypingDepth = 63;
inline constexpr uint64_t kMaxFunctionLocals = 50000;
inline constexpr uint32_t kMaxFunctionSize = 7654321;  // bytes of one body
inline constexpr uint32_t kMaxControlDepth = 100000;   // nested blocks in one body
inline constexpr uint32_t kMaxArrayNewFixed = 10000;   // operands of one array.new_fixed

// Canonical type ids. Two rec groups that are structurally identical (references to types
// outside the group compared by canonical id, references inside by position) get the same ids,
// whichever module they come from, so a canonical id can be compared across modules and
// instances (call_indirect signature checks, import matching, casts).
//
// One registry is shared engine-wide: `TypeRegistry::global()` is the default everywhere, an
// Engine may own its own. Lookups hash the group's encoding (linear in its size), so
// canonicalising a module is linear, never pairwise. Entries are never freed: the registry
// grows with the number of distinct rec groups seen, which an embedder bounds by the modules
// it accepts. A mutex guards it; a module takes the lock once per rec group at build time and
// never on the validation hot path (ModuleTypes caches everything it needs).
class TypeRegistry {
 public:
  static TypeRegistry& global();

  // Canonical description of one type: SubType with every Concrete heap index replaced by a
  // canonical id and `supertype` a canonical id.
  struct Entry {
    SubType type;
    uint32_t depth = 0;  // length of the declared supertype chain
  };

  // Canonicalises the rec group [first, first+count) of `types`, whose references to types
  // below `first` resolve through `canonical_of_earlier`. Returns the canonical id of `first`
  // (the group's types get consecutive ids).
  uint32_t intern_group(std::span<const SubType> group, uint32_t first,
                        std::span<const uint32_t> canonical_of_earlier);

  // True when canonical type `sub` is `super` or declares it (transitively) as supertype.
  bool is_subtype(uint32_t sub, uint32_t super) const;
  Entry entry(uint32_t canonical_id) const;
  size_t size() const;

 private:
  struct KeyHash {
    size_t operator()(const std::vector<uint32_t>& key) const;
  };
  mutable std::mutex mutex_;
  std::unordered_map<std::vector<uint32_t>, uint32_t, KeyHash> groups_;
  std::vector<Entry> entries_;
};

// Module-level type facts, built once per module after the type section is validated.
class ModuleTypes {
 public:
  // Validates the type section (references, rec groups, declared supertypes, depth) and
  // canonicalises it; also collects the function references declared outside function bodies
  // (exports, element segments, constant expressions), which `ref.func` in a body needs.
  static Result<ModuleTypes> build(const ModuleInfo& module, std::span<const uint8_t> bytes,
                                   const Features& features,
                                   TypeRegistry& registry = TypeRegistry::global());

  const ModuleInfo& module() const { return *module_; }
  const Features& features() const { return features_; }
  std::span<const uint8_t> bytes() const { return bytes_; }
  TypeRegistry& registry() const { return *registry_; }

  uint32_t canonical_id(uint32_t type_index) const { return canonical_[type_index]; }
  bool types_equal(uint32_t a, uint32_t b) const { return canonical_[a] == canonical_[b]; }
  // Type-index subtyping: walks a's declared supertype chain (at most kMaxSubtypingDepth).
  bool is_subtype_index(uint32_t sub, uint32_t super) const;
  bool is_subtype(HeapType sub, HeapType super) const;
  bool is_subtype(ValType sub, ValType super) const;
  bool is_subtype(const FuncType& sub, const FuncType& super) const;
  bool heap_types_equal(HeapType a, HeapType b) const;
  bool val_types_equal(ValType a, ValType b) const;
  // The top of a heap type's hierarchy: Any, Func, Extern or Exn.
  HeapKind top_of(HeapType heap) const;
  // The bottom of a heap type's hierarchy: None, NoFunc, NoExtern or NoExn.
  HeapKind bottom_of(HeapType heap) const;

  const FuncType& func_type(uint32_t func_index) const { return module_->func_type_of(func_index); }
  bool is_declared_func_ref(uint32_t func_index) const {
    return func_index < declared_funcs_.size() && declared_funcs_[func_index];
  }

  // Value/heap types written in the module must name existing types: "unknown type".
  Result<void> check_val_type(ValType type, uint32_t offset) const;
  Result<void> check_heap_type(HeapType heap, uint32_t offset) const;

 private:
  const ModuleInfo* module_ = nullptr;
  std::span<const uint8_t> bytes_;
  Features features_;
  TypeRegistry* registry_ = nullptr;
  std::vector<uint32_t> canonical_;
  std::vector<uint8_t> declared_funcs_;
};

// One frame of the control stack, as the JIT sees it.
enum class FrameKind : uint8_t {
  Function,
  Block,
  Loop,
  If,
  Else,
  TryTable,
  LegacyTry,
  LegacyCatch,
  LegacyCatchAll,
  ConstExpr,
};

struct ControlFrame {
  FrameKind kind = FrameKind::Block;
  BlockType block;             // as written (Function/ConstExpr frames: the result, if any)
  uint32_t height = 0;         // operand-stack height below the frame's own operands
  uint32_t init_height = 0;    // local-initialisation log height at entry
  uint32_t offset = 0;         // byte offset of the opening operator
  bool unreachable = false;    // the rest of the frame is unreachable (stack is polymorphic)
  uint32_t br_table_mark = 0;  // the validator's: last br_table that checked this label

  std::span<const ValType> params() const { return {param_data, param_count}; }
  std::span<const ValType> results() const {
    if (block.kind == BlockType::Kind::Value) return {&block.value, 1};
    return {result_data, result_count};
  }
  // Types a branch to this frame carries: the params of a loop, else the results.
  std::span<const ValType> label_types() const {
    return kind == FrameKind::Loop ? params() : results();
  }

  // Point into ModuleInfo's function types (stable for the module's lifetime).
  const ValType* param_data = nullptr;
  const ValType* result_data = nullptr;
  uint32_t param_count = 0;
  uint32_t result_count = 0;
};

struct OpRule;  // per-opcode typing, precomputed from the opcode table

// How FuncValidator::validate_body types a one-byte opcode straight from the bytes: one entry
// per byte value, derived from the opcode table (see function.cpp). `kind` 0 means "decode it
// with OperatorReader and type it with visit()". Eight bytes: one load, indexed by a shift.
struct alignas(8) FastOp {
  uint8_t kind = 0;
  ValKind pop0 = ValKind::Bottom;  // operand types (numeric), deepest first
  ValKind pop1 = ValKind::Bottom;
  ValKind push = ValKind::Bottom;  // the result type (numeric), if any
  uint8_t align_limit = 0;         // memory accesses: log2 of the natural alignment
};

// The operand and control stacks: plain growable arrays whose push/pop stay inline on the hot
// path (std::vector's push_back keeps its reallocation inline and is not inlined itself).
template <typename T>
class FlatStack {
 public:
  size_t size() const { return size_; }
  size_t capacity() const { return capacity_; }
  bool empty() const { return size_ == 0; }
  T* data() { return data_.get(); }
  const T* data() const { return data_.get(); }
  T& back() { return data_[size_ - 1]; }
  const T& back() const { return data_[size_ - 1]; }
  T& operator[](size_t i) { return data_[i]; }
  const T& operator[](size_t i) const { return data_[i]; }
  std::span<const T> view(size_t from) const { return {data_.get() + from, size_ - from}; }
  [[gnu::always_inline]] void push_back(const T& value) {
    if (size_ == capacity_) [[unlikely]]
      grow(size_ + 1);
    data_[size_++] = value;
  }
  [[gnu::always_inline]] void append(std::span<const T> values) {
    if (values.size() > capacity_ - size_) [[unlikely]]
      grow(size_ + values.size());
    for (const T& v : values) data_[size_++] = v;
  }
  void pop_back() { --size_; }
  void shrink_to(size_t size) { size_ = size; }  // never grows
  void set_size(size_t size) { size_ = size; }   // within capacity, elements already written
  void clear() { size_ = 0; }
  void reserve(size_t capacity) {
    if (capacity > capacity_) grow(capacity);
  }

 private:
  [[gnu::noinline]] void grow(size_t minimum) {
    size_t capacity = capacity_ ? capacity_ * 2 : 64;
    while (capacity < minimum) capacity *= 2;
    auto bigger = std::make_unique<T[]>(capacity);
    for (size_t i = 0; i < size_; ++i) bigger[i] = data_[i];
    data_ = std::move(bigger);
    capacity_ = capacity;
  }
  std::unique_ptr<T[]> data_;
  size_t size_ = 0;
  size_t capacity_ = 0;
};
using OperandStack = FlatStack<ValType>;

class FuncValidator {
 public:
  explicit FuncValidator(const ModuleTypes& types);

  // Starts function `func_index` (in the function index space: imports first, so a defined
  // function's index is imported_funcs + its position in `bodies`) with its declared locals.
  Result<void> reset(uint32_t func_index, std::span<const LocalRun> locals);
  // Starts a constant expression that must produce `result`. Only constant operators are
  // accepted ("constant expression required"); global.get may name globals below
  // `visible_globals` that are immutable.
  void reset_const_expr(ValType result, uint32_t visible_globals);

  Result<void> visit(const Operator& op);
  // Decodes and types the operators of one function body (after reset()) and checks its end:
  // the same result as OperatorReader::read + visit() over every operator, in one loop. The
  // frequent one-byte operators are typed straight from the bytes through a dense table; any
  // other operator, and any operator the fast path is not sure of (errors included), goes
  // through OperatorReader + visit(), so messages and offsets are exactly theirs.
  Result<void> validate_body(std::span<const uint8_t> bytes, ByteRange code);
  // Checks that the body ended exactly with the function's final `end`.
  Result<void> finish(uint32_t end_offset);

  // Queries for the compiler, valid between visits.
  bool reachable() const { return !frames_.empty() && !frames_.back().unreachable; }
  uint32_t control_depth() const { return uint32_t(frames_.size()); }
  const ControlFrame& frame(uint32_t depth) const {  // 0 = innermost
    return frames_[frames_.size() - 1 - depth];
  }
  uint32_t operand_height() const { return uint32_t(stack_.size()); }
  ValType operand_type(uint32_t depth) const {  // 0 = top; Bottom for a polymorphic unknown
    return stack_[stack_.size() - 1 - depth];
  }
  ValType local_type(uint32_t index) const { return locals_[index]; }
  bool allows(Proposal proposal) const { return enabled_proposals_ >> unsigned(proposal) & 1; }
  uint32_t local_count() const { return uint32_t(locals_.size()); }
  std::span<const ValType> results() const { return func_results_; }

 private:
  Result<void> visit_slow(const Operator& op, const OpRule& rule);
  static Error body_read_error(Error error);
  // validate_body's general path: reads the operator at `offset` of `code` and visits it;
  // returns where the next one starts.
  Result<size_t> visit_at(std::span<const uint8_t> bytes, ByteRange code, size_t offset);
  Error mismatch(uint32_t offset, ValType expected, const ValType* actual) const;

  // The top values (below `skip` others) are exactly the numeric `types`: fast paths only.
  [[gnu::always_inline]] bool top_matches_numeric(std::span<const ValType> types,
                                                  size_t skip) const;
  Result<ValType> pop(uint32_t offset);
  Result<ValType> pop_expect(uint32_t offset, ValType expected);
  Result<ValType> pop_ref(uint32_t offset);
  Result<void> pop_values(uint32_t offset, std::span<const ValType> types);
  void push(ValType type) { stack_.push_back(type); }
  void push_values(std::span<const ValType> types);
  // Checks the operands of a branch without popping them (br_table).
  Result<void> check_branch_values(uint32_t offset, std::span<const ValType> types);
  [[gnu::always_inline]] void set_unreachable();
  Result<void> block_signature(uint32_t offset, const BlockType& block, ControlFrame& frame);
  Result<void> push_frame(uint32_t offset, FrameKind kind, const BlockType& block,
                          bool pop_condition = false);
  // The innermost frame's results are on the stack and nothing else: pops them.
  Result<void> check_frame_end(uint32_t offset);
  void undo_local_inits(uint32_t height);
  Result<const ControlFrame*> label(uint32_t offset, uint32_t depth);
  Result<const FuncType*> func_type_at(uint32_t offset, uint32_t type_index);
  Result<const StructType*> struct_type(uint32_t offset, uint32_t type_index);
  Result<const ArrayType*> array_type(uint32_t offset, uint32_t type_index);
  Result<ValType> memory_index_type(uint32_t offset, uint32_t memory);
  Result<ValType> table_index_type(uint32_t offset, uint32_t table);
  Result<void> check_data_index(uint32_t offset, uint32_t index);
  Result<const ElementSegment*> elem_segment(uint32_t offset, uint32_t index);
  Result<void> check_return_call(uint32_t offset, const FuncType& callee);
  Result<std::span<const ValType>> tag_params(uint32_t offset, uint32_t tag);

  const ModuleTypes& types_;
  const ModuleInfo& module_;
  const OpRule* rules_;
  std::array<FastOp, 256> fast_ops_{};         // by first byte; proposals not enabled stay slow
  std::array<FastOp, 32> fast_fc_ops_{};       // by the byte after the 0xFC prefix
  std::array<const void*, 256> dispatch_{};    // validate_body's handler per first byte
  std::array<const void*, 32> dispatch_fc_{};  // and per byte after 0xFC
  uint32_t enabled_proposals_ = 0;             // bit per Proposal
  uint32_t br_table_mark_ = 0;
  OperandStack stack_;
  FlatStack<ControlFrame> frames_;
  std::vector<ValType> locals_;
  std::vector<uint8_t> local_initialized_;  // 1 for params and defaultable locals
  std::vector<uint32_t> init_log_;          // locals initialised, undone at the end of blocks
  std::span<const ValType> func_results_;
  uint32_t visible_globals_ = 0;
  bool const_mode_ = false;
  bool ended_ = false;
};

// Everything except the function bodies: types, imports, functions, tables, memories, globals
// and their initialisers, tags, exports, start, elements, data. Returns the type facts the
// body validator (or the JIT driving it) needs.
Result<ModuleTypes> validate_module_sections(const ModuleInfo& module,
                                             std::span<const uint8_t> bytes,
                                             const Features& features,
                                             TypeRegistry& registry = TypeRegistry::global());

// A body's checks before its operators (it lies inside the module, is not too large, its locals
// are valid) and `validator` reset for it: the start both validate_function_body and a
// read + visit driver (the JIT, the differential tests) share.
Result<void> begin_function_body(const ModuleTypes& types, uint32_t defined_index,
                                 FuncValidator& validator);

// One defined function's body (`defined_index` counts defined functions only).
Result<void> validate_function_body(const ModuleTypes& types, uint32_t defined_index,
                                    FuncValidator& scratch);

// The whole module: sections and every function body.
Result<void> validate_module(const ModuleInfo& module, std::span<const uint8_t> bytes,
                             const Features& features);

}  // namespace kiln::wasm

namespace kiln {
// decode_module + validate_module, for the spec runner and tools.
Result<wasm::ModuleInfo> decode_and_validate(std::span<const uint8_t> bytes,
                                             const wasm::Features& features);
}  // namespace kiln

// The single-pass compiler. One walk over a function body: each operator is read once,
// validated by the FuncValidator, and — when reachable or structural — lowered once through the
// MacroAssembler. Code shape follows docs/jit-abi.md.
//
// The abstract value stack (as in V8's Liftoff and Wasmtime's Winch): each entry is a constant, a
// register, a lazy reference to a local (`local.get` emits nothing), or a spill slot. Locals live
// in the frame, and some are also cached in a register (parameters as they arrive, values just
// stored by local.set/tee) until a call, register pressure or a merge drops the cache; a loop
// header keeps the caches it was entered with (back edges put them back) and an else arm starts
// with those of its if. Every stack depth owns a fixed frame slot, so spilling is one store and rsp
// never moves inside a body. Control flow merges are canonical (Winch): entering a block, loop or
// if spills the stack; branch values travel through the target's slots, except the first result of
// a block or an if, which travels in the return register of its class (rax or xmm0), as a call's
// first result does.
#include "jit/compiler.hpp"

#include <algorithm>
#include <bit>
#include <cassert>
#include <cstring>
#include <optional>
#include <string>

#include "decoder/operators.hpp"
#include "jit/vmcontext.hpp"
#include "jit/x64/masm_x64.hpp"

namespace kiln::jit {

namespace {

using wasm::Op;
using wasm::Operator;
using wasm::ValKind;
using wasm::ValType;

// How a value is held in machine registers.
enum class Class : uint8_t { I32, I64, F32, F64, Ref };

Class class_of(ValType type) {
  switch (type.kind) {
    case ValKind::I32:
      return Class::I32;
    case ValKind::I64:
      return Class::I64;
    case ValKind::F32:
      return Class::F32;
    case ValKind::F64:
      return Class::F64;
    default:
      return Class::Ref;
  }
}
bool is_float(Class c) {
  return c == Class::F32 || c == Class::F64;
}
Width width_of(Class c) {
  return (c == Class::I32 || c == Class::F32) ? Width::W32 : Width::W64;
}
RegClass reg_class_of(Class c) {
  return is_float(c) ? RegClass::Fp : RegClass::Gp;
}

enum class Loc : uint8_t { Const, Register, Local, Slot, PendingCompare };

struct StackValue {
  Class cls = Class::I32;
  Loc loc = Loc::Const;
  Reg reg{};
  uint32_t local = 0;
  int64_t imm = 0;  // Const: the value (floats as raw bits)
};

// The abstract value stack's storage. Pushes happen for nearly every operator, so the common
// case must inline to a store and an increment: the elements stay constructed in `storage_`
// (its size is the capacity) and only `size_` moves; growing is out of line. Kept across the
// functions of a module, so it rarely grows at all.
class ValueStack {
 public:
  uint32_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  StackValue& operator[](uint32_t i) { return storage_[i]; }
  const StackValue& operator[](uint32_t i) const { return storage_[i]; }
  StackValue& back() { return storage_[size_ - 1]; }
  const StackValue& back() const { return storage_[size_ - 1]; }
  const StackValue* begin() const { return storage_.data(); }
  const StackValue* end() const { return storage_.data() + size_; }
  [[gnu::always_inline]] void push_back(const StackValue& v) {
    if (size_ == storage_.size()) [[unlikely]]
      grow(size_ + 1);
    storage_[size_++] = v;
  }
  void pop_back() { --size_; }
  void clear() { size_ = 0; }
  // Truncates, or extends with default entries.
  void resize(uint32_t n) {
    if (n > storage_.size()) grow(n);
    for (uint32_t i = size_; i < n; ++i) storage_[i] = StackValue{};
    size_ = n;
  }
  void assign(const ValueStack& other) {
    if (other.size_ > storage_.size()) grow(other.size_);
    std::copy(other.begin(), other.end(), storage_.begin());
    size_ = other.size_;
  }
  void swap(ValueStack& other) {
    storage_.swap(other.storage_);
    std::swap(size_, other.size_);
  }

 private:
  [[gnu::noinline]] void grow(uint32_t at_least) {
    storage_.resize(std::max<size_t>({at_least, 2 * storage_.size(), 64}));
  }
  std::vector<StackValue> storage_;
  uint32_t size_ = 0;
};

// A compare whose flags have not been materialised: the next br_if/if/select consumes it as a
// conditional jump (compare+branch fusion); anything else materialises it with setcc.
struct PendingCompare {
  IntCond cond = IntCond::Eq;
  Reg lhs{};  // invalid: the left operand is `memory` (compared with `imm`)
  Reg rhs{};  // invalid: compare with `memory` if `rhs_in_memory`, else with `imm`
  int32_t imm = 0;
  Width width = Width::W32;
  bool rhs_in_memory = false;
  // A local's home: only local.set/tee and returns write it, and those materialise the compare
  // first.
  Address memory{};
};

// Fuel (docs/fuel-epochs.md has the table): one unit per operator, as Wasmtime counts, except
// the structural ones and those that do nothing at run time.
uint32_t fuel_cost(Op op) {
  switch (op) {
    case Op::Nop:
    case Op::Drop:
    case Op::Block:
    case Op::Loop:
    case Op::Unreachable:
    case Op::Return:
    case Op::Else:
    case Op::End:
      return 0;
    default:
      return 1;
  }
}

// Operators before which the pending fuel is charged: where control may leave the straight
// line (branches, merges, calls, returns, a trap the program asked for). Between two of them
// the code is one run, charged once.
bool ends_fuel_run(Op op) {
  switch (op) {
    case Op::Loop:
    case Op::If:
    case Op::Else:
    case Op::End:
    case Op::Br:
    case Op::BrIf:
    case Op::BrTable:
    case Op::Return:
    case Op::Unreachable:
    case Op::Call:
    case Op::CallIndirect:
    case Op::ReturnCall:
    case Op::ReturnCallIndirect:
    case Op::CallRef:
    case Op::ReturnCallRef:
      return true;
    default:
      return false;
  }
}

bool is_call(Op op) {
  return op == Op::Call || op == Op::CallIndirect || op == Op::ReturnCall ||
         op == Op::ReturnCallIndirect || op == Op::CallRef || op == Op::ReturnCallRef;
}

enum class FrameKind : uint8_t { Function, Block, Loop, If, Else };

// Compiles the functions of one module, one at a time; its buffers (stacks, the assembler's)
// are reused from one function to the next.
template <typename M>
class FunctionCompiler {
 public:
  FunctionCompiler(const wasm::ModuleTypes& types, wasm::FuncValidator& validator)
      : types_(types), module_(types.module()), validator_(validator) {}

  Result<CompiledFunction> compile(uint32_t defined_index, const CompileOptions& options);

 private:
  using Label = typename M::Label;

  struct Frame {
    FrameKind kind = FrameKind::Block;
    bool dead = false;        // entered in unreachable code: no code is emitted for it
    bool label_used = false;  // some branch targets the end label
    uint32_t base = 0;        // stack height below the frame's params
    // Where branch values and the results land: `base`, except for an `if` with params, whose
    // params are copied above the originals (the else arm needs them after the then arm has
    // reused their slots), so its results land at the originals' place, base - params.
    uint32_t result_base = 0;
    uint32_t param_count = 0;
    uint32_t result_count = 0;
    uint32_t types = 0;  // index into type_pool_: params then results
    // A block's or an if's first result arrives at the end in this register rather than in its
    // slot (every branch and the fallthrough put it there); invalid: all results in slots.
    Reg result_reg{};
    // The local caches a loop's header keeps (those it was entered with; back edges put them
    // back), or an if's else arm starts with (those at the branch): [header_caches,
    // header_caches + header_cache_count) in header_cache_pool_.
    uint32_t header_caches = 0;
    uint32_t header_cache_count = 0;
    Label label{};  // loop: header; otherwise: end
    Label else_label{};
  };

  // ---- errors
  Error unsupported(const Operator& op) const {
    return Error("unsupported operator " + std::string(wasm::opcode_info(op.op).mnemonic) +
                     " at offset " + std::to_string(op.offset) +
                     " (not yet implemented by the x86-64 JIT)",
                 op.offset);
  }

  // ---- frame layout
  Address local_address(uint32_t index) const {
    if (index < param_count_) return Address::at(M::kFramePointer, 16 + 8 * int32_t(index));
    return Address::at(M::kFramePointer, -16 - 8 * int32_t(index - param_count_));
  }
  int32_t slot_offset(uint32_t depth) const {
    return -16 - 8 * int32_t(declared_locals_) - 8 * int32_t(depth);
  }
  Address slot_address(uint32_t depth) {
    if (depth + 1 > max_depth_) max_depth_ = depth + 1;
    return Address::at(M::kFramePointer, slot_offset(depth));
  }
  Address outgoing_address(uint32_t slot) {
    return Address::at(M::kStackPointer, 8 * int32_t(slot));
  }

  // ---- registers
  bool is_free(Reg r) const {
    return r.cls == RegClass::Gp ? (free_gp_ >> r.id) & 1 : (free_fp_ >> r.id) & 1;
  }
  void take(Reg r) {
    if (r.cls == RegClass::Gp)
      free_gp_ &= ~(1u << r.id);
    else
      free_fp_ &= ~(1u << r.id);
  }
  void release(Reg r) {
    if (!r.valid()) return;
    if (r.cls == RegClass::Gp)
      free_gp_ |= 1u << r.id;
    else
      free_fp_ |= 1u << r.id;
  }
  Reg alloc(RegClass cls) {
    for (int attempt = 0; attempt < 2; ++attempt) {
      if (cls == RegClass::Gp) {
        for (Reg r : M::kGpAllocatable)
          if (is_free(r)) return take(r), r;
      } else {
        for (Reg r : M::kFpAllocatable)
          if (is_free(r)) return take(r), r;
      }
      // A cached local costs nothing to drop (its home is current); a value must be spilled.
      if (!evict_cache(cls)) spill_one(cls);
    }
    // Unreachable in practice: every operator holds at most a few registers at once.
    fatal_ = Error("register allocation failed");
    return cls == RegClass::Gp ? M::kGpAllocatable[0] : M::kFpAllocatable[0];
  }
  // Frees a specific register, spilling the stack entry that holds it.
  void claim(Reg r) {
    if (is_free(r)) {
      take(r);
      return;
    }
    if (const uint32_t owner = cache_owner_[reg_key(r)]) {
      drop_cache(owner - 1);
      take(r);
      return;
    }
    materialize_pending();
    for (uint32_t depth = 0; depth < stack_.size(); ++depth) {
      StackValue& v = stack_[depth];
      if (v.loc == Loc::Register && v.reg == r) {
        spill(depth);
        take(r);
        return;
      }
    }
    fatal_ = Error("internal error: register claimed while in use by an operator");
  }
  void spill_one(RegClass cls) {
    materialize_pending();
    for (uint32_t depth = 0; depth < stack_.size(); ++depth) {
      StackValue& v = stack_[depth];
      if (v.loc == Loc::Register && v.reg.cls == cls) {
        spill(depth);
        return;
      }
    }
  }
  // After a merge or a call: only the stack's registers hold anything (caches are dropped).
  void reset_registers() {
    drop_all_caches();
    free_gp_ = 0;
    free_fp_ = 0;
    for (Reg r : M::kGpAllocatable) free_gp_ |= 1u << r.id;
    for (Reg r : M::kFpAllocatable) free_fp_ |= 1u << r.id;
    if (options_->consume_fuel) free_gp_ &= ~(1u << M::kFuel.id);  // holds the fuel counter
    if (options_->epoch_interruption) free_gp_ &= ~(1u << M::kEpochDeadline.id);
    for (const StackValue& v : stack_)
      if (v.loc == Loc::Register) take(v.reg);
  }

  // ---- the local cache
  // A local may also be in a register (its cache): a parameter as it arrives, a value just
  // written by local.set/tee. Its home (frame slot or args area) is always current too (write
  // through), so a cache is dropped without code: when its register is needed, at every merge
  // (labels, the else arm), after calls (every register is caller-saved). A cache register is
  // taken, like a stack value's, and owned by the cache alone.
  static uint32_t reg_key(Reg r) { return (r.cls == RegClass::Fp ? 16u : 0u) + r.id; }
  Reg cached(uint32_t local) const { return local_cache_[local]; }
  void set_cache(uint32_t local, Reg r) {  // r: taken, owned by no one else
    drop_cache(local);
    if (options_->opt_level == OptLevel::None) {
      // Homes are written through, so a cache is only ever an extra copy: without one, every
      // read of the local loads its home.
      release(r);
      return;
    }
    local_cache_[local] = r;
    cache_owner_[reg_key(r)] = local + 1;
    cache_mask_ |= 1u << reg_key(r);
  }
  void drop_cache(uint32_t local) {
    const Reg r = local_cache_[local];
    if (!r.valid()) return;
    local_cache_[local] = Reg{};
    cache_owner_[reg_key(r)] = 0;
    cache_mask_ &= ~(1u << reg_key(r));
    release(r);
  }
  void drop_all_caches() {
    while (cache_mask_) {
      const uint32_t key = uint32_t(std::countr_zero(cache_mask_));
      drop_cache(cache_owner_[key] - 1);
    }
  }
  bool evict_cache(RegClass cls) {
    const uint32_t mask = cache_mask_ & ~pinned_ & (cls == RegClass::Fp ? 0xFFFF0000u : 0xFFFFu);
    if (!mask) return false;
    drop_cache(cache_owner_[std::countr_zero(mask)] - 1);
    return true;
  }

  // ---- moving values
  void load_local(Reg dst, uint32_t local, Class cls) {
    if (const Reg r = cached(local); r.valid())
      masm_.mov(dst, r, width_of(cls));
    else
      masm_.load(dst, local_address(local), load_kind(cls));
  }
  static LoadKind load_kind(Class cls) {
    switch (cls) {
      case Class::I32:
        return LoadKind::I32;
      case Class::F32:
        return LoadKind::F32;
      case Class::F64:
        return LoadKind::F64;
      default:
        return LoadKind::I64;
    }
  }
  static StoreKind store_kind(Class cls) {
    switch (cls) {
      case Class::I32:
        return StoreKind::I32;
      case Class::F32:
        return StoreKind::F32;
      case Class::F64:
        return StoreKind::F64;
      default:
        return StoreKind::I64;
    }
  }
  void load_const(Reg dst, Class cls, int64_t imm) {
    if (dst.cls == RegClass::Gp) {
      masm_.mov_imm(dst, imm, width_of(cls));
    } else {
      masm_.load_fp_const(dst, uint64_t(imm), cls == Class::F32 ? FpWidth::F32 : FpWidth::F64);
    }
  }
  // Writes a value to memory without changing the stack state (used on one branch path).
  void store_value(const StackValue& v, Address dst, uint32_t depth) {
    const StoreKind kind = store_kind(v.cls);
    switch (v.loc) {
      // Slots and the args area hold i32 zero-extended to 64 bits (docs/jit-abi.md), so
      // integers are always written whole.
      case Loc::Const:
        if (v.imm >= INT32_MIN && v.imm <= INT32_MAX) {
          masm_.store_imm(dst, int32_t(v.imm), StoreKind::I64);
        } else {
          masm_.mov_imm(M::kScratch, v.imm, Width::W64);
          masm_.store(dst, M::kScratch, StoreKind::I64);
        }
        break;
      case Loc::Register:
        masm_.store(dst, v.reg, v.cls == Class::I32 ? StoreKind::I64 : kind);
        break;
      case Loc::Local:
        if (const Reg r = cached(v.local); r.valid()) {
          masm_.store(dst, r, v.cls == Class::I32 ? StoreKind::I64 : kind);
        } else {
          masm_.load(M::kScratch, local_address(v.local), LoadKind::I64);
          masm_.store(dst, M::kScratch, StoreKind::I64);
        }
        break;
      case Loc::Slot: {
        Address src = slot_address(depth);
        if (src.disp == dst.disp && src.base == dst.base) break;
        masm_.load(M::kScratch, src, LoadKind::I64);
        masm_.store(dst, M::kScratch, StoreKind::I64);
        break;
      }
      case Loc::PendingCompare:
        break;  // materialised before any store
    }
  }
  void spill(uint32_t depth) {
    StackValue& v = stack_[depth];
    if (v.loc == Loc::Slot || v.loc == Loc::Const) return;
    store_value(v, slot_address(depth), depth);
    if (v.loc == Loc::Register) release(v.reg);
    v.loc = Loc::Slot;
  }
  void spill_all() {
    materialize_pending();
    for (uint32_t depth = 0; depth < stack_.size(); ++depth) spill(depth);
  }
  // Before `local.set/tee index`: entries that still read the local lazily must take its value.
  void detach_local(uint32_t index) {
    for (uint32_t depth = 0; depth < stack_.size(); ++depth) {
      StackValue& v = stack_[depth];
      if (v.loc == Loc::Local && v.local == index) {
        Reg r = alloc(reg_class_of(v.cls));
        load_local(r, index, v.cls);
        v.loc = Loc::Register;
        v.reg = r;
      }
    }
  }

  // Pops the top value into a register (any register of its class).
  Reg pop_to_reg() {
    materialize_pending();
    StackValue v = stack_.back();
    const uint32_t depth = uint32_t(stack_.size() - 1);
    stack_.pop_back();
    switch (v.loc) {
      case Loc::Register:
        return v.reg;
      case Loc::Const: {
        Reg r = alloc(reg_class_of(v.cls));
        load_const(r, v.cls, v.imm);
        return r;
      }
      case Loc::Local: {
        Reg r = alloc(reg_class_of(v.cls));
        load_local(r, v.local, v.cls);
        return r;
      }
      case Loc::Slot: {
        Reg r = alloc(reg_class_of(v.cls));
        masm_.load(r, slot_address(depth), load_kind(v.cls));
        return r;
      }
      case Loc::PendingCompare:
        break;
    }
    return alloc(RegClass::Gp);
  }
  // Makes the entry at `depth` live in a register (no state change for the others).
  void to_register(uint32_t depth) {
    StackValue& v = stack_[depth];
    if (v.loc == Loc::Register) return;
    Reg r = alloc(reg_class_of(v.cls));
    StackValue& entry = stack_[depth];  // alloc may spill, but never this non-register entry
    switch (entry.loc) {
      case Loc::Const:
        load_const(r, entry.cls, entry.imm);
        break;
      case Loc::Local:
        load_local(r, entry.local, entry.cls);
        break;
      case Loc::Slot:
        masm_.load(r, slot_address(depth), load_kind(entry.cls));
        break;
      default:
        break;
    }
    entry.loc = Loc::Register;
    entry.reg = r;
  }
  // Loads the value at `depth` into `dst` (after spill_all: a constant or a slot).
  void load_into(Reg dst, uint32_t depth) {
    const StackValue& v = stack_[depth];
    if (v.loc == Loc::Const)
      load_const(dst, v.cls, v.imm);
    else if (v.loc == Loc::Slot)
      masm_.load(dst, slot_address(depth), load_kind(v.cls));
  }
  void push_reg(Class cls, Reg r) { stack_.push_back({cls, Loc::Register, r, 0, 0}); }
  void push_const(Class cls, int64_t imm) { stack_.push_back({cls, Loc::Const, Reg{}, 0, imm}); }
  bool top_is_const() const { return stack_.back().loc == Loc::Const; }
  // A constant that fits an instruction's sign-extended 32-bit immediate.
  bool top_is_imm32() const {
    const StackValue& v = stack_.back();
    return v.loc == Loc::Const &&
           (v.cls == Class::I32 || (v.imm >= INT32_MIN && v.imm <= INT32_MAX));
  }

  // ---- pending compares
  void materialize_pending() {
    if (!pending_) return;
    pending_ = false;
    StackValue& v = stack_[pending_depth_];
    // The compare's register takes the 0/1 result, if it has one (allocating may spill: stores,
    // which leave the flags alone, but before the compare all the same).
    const PendingCompare& c = pending_cmp_;
    const Reg dst = c.lhs.valid() ? c.lhs : alloc(RegClass::Gp);
    emit_compare(c);
    release(c.rhs);
    masm_.set_cond(c.cond, dst);
    v.loc = Loc::Register;
    v.reg = dst;
  }
  void emit_compare(const PendingCompare& c) {
    if (!c.lhs.valid())
      masm_.cmp_mem_imm(c.memory, c.imm, c.width);
    else if (c.rhs.valid())
      masm_.cmp(c.lhs, c.rhs, c.width);
    else if (c.rhs_in_memory)
      masm_.cmp_mem(c.lhs, c.memory, c.width);
    else
      masm_.cmp_imm(c.lhs, c.imm, c.width);
  }
  // Pops an i32 condition and returns the IntCond under which it is true (flags are set).
  IntCond pop_condition() {
    if (pending_ && pending_depth_ == stack_.size() - 1) {
      pending_ = false;
      stack_.pop_back();
      emit_compare(pending_cmp_);
      release(pending_cmp_.lhs);
      release(pending_cmp_.rhs);
      return pending_cmp_.cond;
    }
    materialize_pending();
    if (const StackValue& v = stack_.back(); v.loc == Loc::Local) {
      // A local is tested where it is.
      if (const Reg r = cached(v.local); r.valid())
        masm_.test(r, r, Width::W32);
      else
        masm_.cmp_mem_imm(local_address(v.local), 0, Width::W32);
      stack_.pop_back();
      return IntCond::Ne;
    }
    Reg r = pop_to_reg();
    masm_.test(r, r, Width::W32);
    release(r);
    return IntCond::Ne;
  }

  // ---- control
  Frame& frame(uint32_t depth) { return frames_[frames_.size() - 1 - depth]; }
  std::span<const ValType> frame_params(const Frame& f) const {
    return {type_pool_.data() + f.types, f.param_count};
  }
  std::span<const ValType> frame_results(const Frame& f) const {
    return {type_pool_.data() + f.types + f.param_count, f.result_count};
  }
  uint32_t label_arity(const Frame& f) const {
    return f.kind == FrameKind::Loop ? f.param_count : f.result_count;
  }
  // The validator already checked the block type; read its params/results from its frame.
  void push_frame(FrameKind kind, bool dead) {
    const wasm::ControlFrame& vf = validator_.frame(0);
    Frame f;
    f.kind = kind;
    f.dead = dead;
    f.types = uint32_t(type_pool_.size());
    for (ValType t : vf.params()) type_pool_.push_back(t);
    for (ValType t : vf.results()) type_pool_.push_back(t);
    f.param_count = uint32_t(vf.params().size());
    f.result_count = uint32_t(vf.results().size());
    f.base = dead ? 0 : uint32_t(stack_.size()) - f.param_count;
    f.result_base = f.base;
    // The first result in a register saves a store and a load on every path into the end (an
    // if's value, a block's br value). Not for an if with params: its false path without else
    // would bring the result from a slot.
    if (!dead && kind != FrameKind::Loop && f.result_count > 0 &&
        !(kind == FrameKind::If && f.param_count > 0)) {
      f.result_reg = return_register(class_of(vf.results()[0]));
    }
    f.label = masm_.new_label();
    frames_.push_back(f);
  }
  static Reg return_register(Class cls) { return is_float(cls) ? M::kReturnFp : M::kReturnGp; }
  // Where parameter `i` (< kRegisterParams) also travels: by its position and class.
  static Reg param_register(uint32_t i, Class cls) {
    return is_float(cls) ? M::kParamFp[i] : M::kParamGp[i];
  }
  // Copies the value at `depth` into `dst` without changing the stack state.
  void copy_to_register(Reg dst, uint32_t depth) {
    const StackValue& v = stack_[depth];
    switch (v.loc) {
      case Loc::Const:
        load_const(dst, v.cls, v.imm);
        break;
      case Loc::Register:
        masm_.mov(dst, v.reg, width_of(v.cls));
        break;
      case Loc::Local:
        load_local(dst, v.local, v.cls);
        break;
      case Loc::Slot:
        masm_.load(dst, slot_address(depth), load_kind(v.cls));
        break;
      case Loc::PendingCompare:
        break;  // materialised before
    }
  }
  // Moves the top values to where the frame's label expects them (slots from the base, the first
  // result in the frame's result register), without changing the stack state.
  void store_branch_values(const Frame& target) {
    materialize_pending();
    const uint32_t count = label_arity(target);
    const uint32_t dest_base = target.kind == FrameKind::Loop ? target.base : target.result_base;
    const uint32_t first = uint32_t(stack_.size()) - count;
    const bool first_in_reg = target.kind != FrameKind::Loop && target.result_reg.valid();
    for (uint32_t i = first_in_reg ? 1 : 0; i < count; ++i) {
      if (first + i == dest_base + i && stack_[first + i].loc == Loc::Slot) continue;
      store_value(stack_[first + i], slot_address(dest_base + i), first + i);
    }
    // Last: the register may hold one of the values stored above.
    if (first_in_reg) copy_to_register(target.result_reg, first);
  }
  // Whether the top values already are where the frame's label expects them.
  bool branch_values_in_place(const Frame& target, bool with_caches = true) const {
    const uint32_t count = label_arity(target);
    const uint32_t dest_base = target.kind == FrameKind::Loop ? target.base : target.result_base;
    const uint32_t first = uint32_t(stack_.size()) - count;
    const bool first_in_reg = target.kind != FrameKind::Loop && target.result_reg.valid();
    for (uint32_t i = 0; i < count; ++i) {
      const StackValue& v = stack_[first + i];
      const bool ok = (i == 0 && first_in_reg)
                          ? v.loc == Loc::Register && v.reg == target.result_reg
                          : first + i == dest_base + i && v.loc == Loc::Slot;
      if (!ok) return false;
    }
    return !with_caches || target.kind != FrameKind::Loop || header_caches_in_place(target);
  }
  // Whether a stack value lives in one of the registers the loop's header keeps a cache in.
  bool header_registers_hold_values(const Frame& loop) const {
    uint32_t registers = 0;
    for (const auto& entry : header_caches(loop)) registers |= 1u << reg_key(entry.second);
    for (const StackValue& v : stack_)
      if (v.loc == Loc::Register && (registers >> reg_key(v.reg)) & 1) return true;
    return false;
  }
  // After restore_header_caches on the fallthrough path too: the state says what the registers
  // now hold (the caches they replaced are gone).
  void adopt_header_caches(const Frame& loop) {
    for (const auto& [local, reg] : header_caches(loop)) {
      if (const uint32_t owner = cache_owner_[reg_key(reg)]; owner && owner - 1 != local)
        drop_cache(owner - 1);
    }
    for (const auto& [local, reg] : header_caches(loop)) {
      if (cached(local) == reg) continue;
      drop_cache(local);
      take(reg);
      set_cache(local, reg);
    }
  }
  void record_caches(Frame& f) {
    f.header_caches = uint32_t(header_cache_pool_.size());
    for (uint32_t m = cache_mask_; m; m &= m - 1) {
      const uint32_t local = cache_owner_[std::countr_zero(m)] - 1;
      header_cache_pool_.push_back({local, local_cache_[local]});
    }
    f.header_cache_count = uint32_t(header_cache_pool_.size()) - f.header_caches;
  }
  std::span<const std::pair<uint32_t, Reg>> header_caches(const Frame& loop) const {
    return {header_cache_pool_.data() + loop.header_caches, loop.header_cache_count};
  }
  bool header_caches_in_place(const Frame& loop) const {
    for (const auto& [local, reg] : header_caches(loop))
      if (cached(local) != reg) return false;
    return true;
  }
  // On a back edge: puts each local the loop header expects in a register there, from its
  // current cache or from its home. A parallel move, as for call arguments: in a cycle, one
  // local is reloaded from its home (always current) instead of its register.
  void restore_header_caches(const Frame& loop) {
    const auto entries = header_caches(loop);
    uint32_t pending = 0, from_home = 0;
    for (uint32_t i = 0; i < entries.size(); ++i)
      if (cached(entries[i].first) != entries[i].second) pending |= 1u << i;
    auto source = [&](uint32_t i) {
      return from_home & (1u << i) ? Reg{} : cached(entries[i].first);
    };
    while (pending) {
      uint32_t ready = 0;
      for (uint32_t m = pending; m; m &= m - 1) {
        const uint32_t i = uint32_t(std::countr_zero(m));
        bool needed = false;
        for (uint32_t o = pending & ~(1u << i); o; o &= o - 1)
          needed |= source(uint32_t(std::countr_zero(o))) == entries[i].second;
        if (!needed) ready |= 1u << i;
      }
      if (!ready) {
        from_home |= 1u << std::countr_zero(pending);
        continue;
      }
      const uint32_t i = uint32_t(std::countr_zero(ready));
      const auto [local, reg] = entries[i];
      const Class cls = local_classes_[local];
      if (const Reg src = source(i); src.valid())
        masm_.mov(reg, src, width_of(cls));
      else
        masm_.load(reg, local_address(local), load_kind(cls));
      pending &= ~(1u << i);
    }
  }
  // Emits the jump of a branch to frame `depth` (values moved first). State is unchanged.
  void emit_branch(uint32_t depth) {
    Frame& target = frame(depth);
    if (target.kind == FrameKind::Function) {
      emit_return();
      return;
    }
    store_branch_values(target);
    if (target.kind == FrameKind::Loop) restore_header_caches(target);
    if (target.kind != FrameKind::Loop) target.label_used = true;
    masm_.jump(target.label);
  }
  void emit_return() {
    materialize_pending();
    const uint32_t count = uint32_t(results_.size());
    const uint32_t first = uint32_t(stack_.size()) - count;
    // Results overwrite the args area, where the parameters live: values that still read a
    // parameter lazily must load it first.
    for (uint32_t i = 0; i < count; ++i) {
      StackValue& v = stack_[first + i];
      if (v.loc == Loc::Local && v.local < count) {
        Reg r = alloc(reg_class_of(v.cls));
        load_local(r, v.local, v.cls);
        v.loc = Loc::Register;
        v.reg = r;
      }
    }
    for (uint32_t i = 1; i < count; ++i) {
      store_value(stack_[first + i], Address::at(M::kFramePointer, 16 + 8 * int32_t(i)), first + i);
    }
    // The first result also leaves in a register, where a wasm caller takes it from: put it
    // there first (the others are stored: the register may have held one), then store it.
    if (count > 0) {
      const StackValue& v = stack_[first];
      const Reg ret = return_register(v.cls);
      copy_to_register(ret, first);
      masm_.store(Address::at(M::kFramePointer, 16), ret,
                  v.cls == Class::I32 ? StoreKind::I64 : store_kind(v.cls));
    }
    store_fuel();  // leaves the return register alone
    masm_.leave_frame();
    masm_.ret();
  }
  // Runs `emit` on a copy of the state, then restores it: code for a path the fallthrough
  // does not take (the taken side of br_if, the arms of br_table).
  template <typename Emit>
  void on_side_path(Emit emit) {
    saved_stack_.assign(stack_);
    const uint32_t gp = free_gp_, fp = free_fp_;
    const uint32_t cache_mask = cache_mask_;
    uint32_t owners[32];
    std::copy(std::begin(cache_owner_), std::end(cache_owner_), owners);
    emit();
    stack_.swap(saved_stack_);
    // The side path's evictions emitted no code: the registers still hold what they held.
    for (uint32_t m = cache_mask_; m; m &= m - 1)
      local_cache_[cache_owner_[std::countr_zero(m)] - 1] = Reg{};
    cache_mask_ = cache_mask;
    std::copy(std::begin(owners), std::end(owners), cache_owner_);
    for (uint32_t m = cache_mask_; m; m &= m - 1) {
      const uint32_t key = uint32_t(std::countr_zero(m));
      local_cache_[cache_owner_[key] - 1] =
          key >= 16 ? Reg::fp(uint8_t(key - 16)) : Reg::gp(uint8_t(key));
    }
    free_gp_ = gp;
    free_fp_ = fp;
  }
  void enter_block(FrameKind kind) {
    spill_all();
    push_frame(kind, false);
  }
  // Truncates the stack below the frame and pushes its results where its label has them.
  void restore_after_frame(const Frame& f, uint32_t arity, std::span<const ValType> types) {
    stack_.resize(f.result_base);
    for (uint32_t i = 0; i < arity; ++i) stack_.push_back({class_of(types[i]), Loc::Slot});
    if (arity > 0 && f.result_reg.valid()) {
      stack_[f.result_base].loc = Loc::Register;
      stack_[f.result_base].reg = f.result_reg;
    }
    reset_registers();
  }

  // ---- fuel and epochs (docs/fuel-epochs.md)
  bool has_interrupt_checks() const {
    return options_->consume_fuel || options_->epoch_interruption;
  }
  // Fuel lives in a register (M::kFuel) for the whole function: charging is one add to it, the
  // check one compare, with no memory traffic on a loop's back edge. VMStoreContext::fuel_consumed
  // is current only at the sync points: before calls (callees and host functions start from it),
  // after them (reloaded: a host function may have changed it), at returns, before `unreachable`
  // and around the slow path of a failed check.
  void charge_fuel() {
    if (fuel_pending_ == 0) return;
    masm_.alu_imm(AluOp::Add, M::kFuel, M::kFuel, int32_t(fuel_pending_), Width::W64);
    fuel_pending_ = 0;
  }
  // Whether the `end` about to be lowered only falls through: a block or loop no branch
  // leaves through it (a loop's label is its header). Then the run goes on past it, uncharged.
  bool end_continues_run() const {
    const Frame& f = frames_.back();
    return f.kind == FrameKind::Loop || (f.kind == FrameKind::Block && !f.label_used);
  }
  void store_fuel() {
    if (!options_->consume_fuel) return;
    masm_.load(M::kScratch, Address::at(M::kVmctx, vm_offsets::kStore), LoadKind::I64);
    masm_.store(Address::at(M::kScratch, vm_offsets::kFuelConsumed), M::kFuel, StoreKind::I64);
  }
  void load_fuel() {
    if (!options_->consume_fuel) return;
    masm_.load(M::kScratch, Address::at(M::kVmctx, vm_offsets::kStore), LoadKind::I64);
    masm_.load(M::kFuel, Address::at(M::kScratch, vm_offsets::kFuelConsumed), LoadKind::I64);
  }
  // The epoch deadline is read-only to wasm: kept in M::kEpochDeadline for the function, loaded
  // in the prologue and again wherever the host may have moved it (after calls, after the slow
  // path), so a check is the engine's epoch compared with a register.
  void load_epoch_deadline() {
    if (!options_->epoch_interruption) return;
    masm_.load(M::kScratch, Address::at(M::kVmctx, vm_offsets::kStore), LoadKind::I64);
    masm_.load(M::kEpochDeadline, Address::at(M::kScratch, vm_offsets::kEpochDeadline),
               LoadKind::I64);
  }
  // The checks of a function entry or a loop header: no fuel left (fuel_consumed >= 0), the
  // engine's epoch at or past the store's deadline. Either jumps to a slow path that calls the
  // runtime (InterruptStub), which preserves every register: the loop's cached locals stay.
  void emit_interrupt_checks(uint32_t wasm_offset) {
    InterruptSlowPath path{masm_.new_label(), masm_.new_label(), wasm_offset};
    if (options_->consume_fuel) {
      masm_.test(M::kFuel, M::kFuel, Width::W64);
      masm_.branch(IntCond::GeS, path.slow);
    }
    if (options_->epoch_interruption) {
      // Past the deadline once deadline <= epoch.
      masm_.load(M::kScratch, Address::at(M::kVmctx, vm_offsets::kEpochCounter), LoadKind::I64);
      masm_.cmp_mem(M::kEpochDeadline, Address::at(M::kScratch, 0), Width::W64);
      masm_.branch(IntCond::LeU, path.slow);
    }
    masm_.bind(path.resume);
    interrupt_paths_.push_back(path);
  }
  void emit_interrupt_slow_paths() {
    for (const InterruptSlowPath& path : interrupt_paths_) {
      masm_.bind(path.slow);
      source_map_.emplace_back(masm_.offset(), path.wasm_offset);
      store_fuel();
      call_builtin(Builtin::InterruptStub);
      load_fuel();  // a refuel callback may have added some
      load_epoch_deadline();  // a deadline callback may have moved it
      masm_.jump(path.resume);
    }
  }

  void reset(const CompileOptions& options);
  Result<void> lower(const Operator& op);
  Result<void> lower_control(const Operator& op);
  Result<void> lower_call(const Operator& op);
  Result<void> lower_memory(const Operator& op);
  Result<void> lower_atomic(const Operator& op);
  // Moves the arguments of a call to `type` into the args area and (unless `registers_later`,
  // then load_register_arguments does it from the area) the parameter registers.
  void call_arguments(const wasm::FuncType& type, bool registers_later = false);
  void load_register_arguments(const wasm::FuncType& type);
  void call_results(const wasm::FuncType& type);
  void call_builtin(Builtin builtin);
  void builtin_call(Builtin builtin, std::initializer_list<uint32_t> immediates, uint32_t operands);
  void push_builtin_result(Class cls);
  void trap_on_builtin_failure(TrapCode code, uint32_t offset);
  void push_ref(Reg r) { push_reg(Class::Ref, r); }
  void load_memory0_base() {
    masm_.load(M::kMemory0Base, Address::at(M::kVmctx, vm_offsets::kMemory0Base), LoadKind::I64);
  }
  // After a call that may have entered another instance (an import, call_indirect): our vmctx
  // from the frame, and memory 0's base of this instance again (the callee may have pinned its
  // own).
  void reload_instance_registers() {
    masm_.load(M::kVmctx, Address::at(M::kFramePointer, -8), LoadKind::I64);
    if (has_memory0_) load_memory0_base();
  }

  // ---- integer helpers
  void binop(AluOp op, Class cls);
  void shiftop(ShiftOp op, Class cls);
  void compare(IntCond cond, Class cls);
  void divop(DivOp op, Class cls, uint32_t offset);
  void fp_binop(FpBinOp op, FpWidth w);
  // For a binary operator: when the right operand (or, for an operator that commutes, the left
  // one, with the other in a register) may be used where it is (`in_place` says), pops both and
  // returns the accumulator register (the other operand, now the destination), the in-place
  // operand and its stack depth. Otherwise leaves the stack as it is.
  struct InPlaceOperand {
    Reg acc;
    StackValue operand;
    uint32_t depth;
  };
  template <typename InPlace>
  std::optional<InPlaceOperand> take_in_place_operand(bool commutes, InPlace in_place);
  // Where an in-place operand that is not in a cache register lives: its local's frame slot or
  // its spill slot.
  Address in_place_address(const InPlaceOperand& in) {
    return in.operand.loc == Loc::Local ? local_address(in.operand.local) : slot_address(in.depth);
  }
  void fp_unop(FpUnOp op, FpWidth w);
  void fp_compare(FpCond cond, FpWidth w);
  void truncate(TruncKind kind, uint32_t offset);
  void convert_int(Width from, bool is_signed, FpWidth to);
  void reinterpret(Class to, Width width);

  const wasm::ModuleTypes& types_;
  const wasm::ModuleInfo& module_;
  wasm::FuncValidator& validator_;
  const CompileOptions* options_ = nullptr;
  M masm_;

  ValueStack stack_;
  ValueStack saved_stack_;
  std::vector<Frame> frames_;
  std::vector<ValType> type_pool_;
  std::vector<Class> local_classes_;
  std::vector<Reg> local_cache_;  // per local: its cache register, or invalid
  std::vector<std::pair<uint32_t, Reg>> header_cache_pool_;  // (local, register) per loop
  uint32_t cache_owner_[32] = {};  // per register (reg_key): 1 + the local it caches, or 0
  uint32_t cache_mask_ = 0;        // the registers that hold caches (reg_key bits)
  uint32_t pinned_ = 0;  // caches a memory access reads in place (reg_key bits): not evicted
  std::span<const ValType> results_;
  uint32_t free_gp_ = 0, free_fp_ = 0;
  uint32_t param_count_ = 0, declared_locals_ = 0;
  uint32_t max_depth_ = 0, outgoing_slots_ = 0;
  static constexpr uint32_t kMaxCallSlots = 1000;  // the JS-API limit on params and results
  bool reachable_ = true;
  bool has_memory0_ = false;  // the module has a memory: kMemory0Base is loaded in the prologue
  bool pending_ = false;
  uint32_t pending_depth_ = 0;
  PendingCompare pending_cmp_;
  std::optional<Error> fatal_;
  // Fuel (docs/fuel-epochs.md): the cost of the operators lowered since the last charge.
  uint32_t fuel_pending_ = 0;
  // The slow paths of the fuel and epoch checks, emitted after the body: a failed check jumps to
  // `slow`, which calls the interrupt stub and comes back to `resume`.
  struct InterruptSlowPath {
    Label slow, resume;
    uint32_t wasm_offset;
  };
  std::vector<InterruptSlowPath> interrupt_paths_;
  // (code offset, wasm offset) pairs; copied out at the end so the buffer is reused.
  std::vector<std::pair<uint32_t, uint32_t>> source_map_;
};

template <typename M>
void FunctionCompiler<M>::reset(const CompileOptions& options) {
  options_ = &options;
  masm_.reset();
  stack_.clear();
  frames_.clear();
  type_pool_.clear();
  source_map_.clear();
  header_cache_pool_.clear();
  max_depth_ = 0;
  outgoing_slots_ = 0;
  reachable_ = true;
  pending_ = false;
  cache_mask_ = 0;
  pinned_ = 0;
  std::fill(std::begin(cache_owner_), std::end(cache_owner_), 0);
  fatal_.reset();
  fuel_pending_ = 0;
  interrupt_paths_.clear();
}

template <typename M>
Result<CompiledFunction> FunctionCompiler<M>::compile(uint32_t defined_index,
                                                      const CompileOptions& options) {
  reset(options);
  const uint32_t func_index = module_.imported_funcs + defined_index;
  const wasm::FunctionBody& body = module_.bodies[defined_index];
  const wasm::FuncType& type = module_.func_type_of(func_index);
  if (uint64_t(body.code.offset) + body.code.size > types_.bytes().size())
    return Error("unexpected end", body.code.offset);
  if (body.range.size > wasm::kMaxFunctionSize)
    return Error("function too large", body.range.offset);
  if (auto reset = validator_.reset(func_index, body.locals); !reset) return std::move(reset).err();

  param_count_ = uint32_t(type.params.size());
  results_ = type.results;
  for (ValType t : type.params) {
    if (t.kind == ValKind::V128) return Error("unsupported value type v128 (SIMD) in the JIT");
  }
  for (ValType t : type.results) {
    if (t.kind == ValKind::V128) return Error("unsupported value type v128 (SIMD) in the JIT");
  }
  if (type.params.size() > kMaxCallSlots || type.results.size() > kMaxCallSlots)
    return Error("too many parameters or results for the JIT");
  declared_locals_ = uint32_t(validator_.local_count()) - param_count_;
  for (uint32_t i = 0; i < validator_.local_count(); ++i) {
    if (validator_.local_type(i).kind == ValKind::V128)
      return Error("unsupported value type v128 (SIMD) in the JIT");
  }
  local_classes_.clear();
  for (uint32_t i = 0; i < validator_.local_count(); ++i)
    local_classes_.push_back(class_of(validator_.local_type(i)));
  local_cache_.assign(validator_.local_count(), Reg{});
  reset_registers();

  // Prologue: frame, stack check, vmctx, zeroed locals. The check comes before anything
  // touches the new frame: a frame larger than the stack margin must trap, not write below the
  // stack.
  masm_.enter_frame();
  masm_.cmp_stack_pointer(Address::at(M::kVmctx, vm_offsets::kStackLimit));
  masm_.trap_if(IntCond::LtU, TrapCode::StackOverflow, body.code.offset);
  masm_.store(Address::at(M::kFramePointer, -8), M::kVmctx, StoreKind::I64);
  // Memory 0's base never moves for the life of an instance: it stays pinned for the whole body
  // (docs/jit-abi.md, "memory 0's base").
  has_memory0_ = !module_.memories.empty();
  if (has_memory0_) load_memory0_base();
  masm_.zero_frame(-16 - 8 * int32_t(declared_locals_) + 8, 8 * declared_locals_);
  // The first parameters also arrive in registers (docs/jit-abi.md): they start cached there.
  for (uint32_t i = 0; i < std::min<uint32_t>(param_count_, M::kRegisterParams); ++i) {
    const Reg r = param_register(i, local_classes_[i]);
    take(r);
    set_cache(i, r);
  }
  load_fuel();
  load_epoch_deadline();
  if (has_interrupt_checks()) emit_interrupt_checks(body.code.offset);

  Frame function;
  function.kind = FrameKind::Function;
  function.types = 0;
  for (ValType t : type.results) type_pool_.push_back(t);
  function.result_count = uint32_t(type.results.size());
  function.label = masm_.new_label();
  frames_.push_back(function);

  wasm::OperatorReader reader(types_.bytes(), body.code);
  Operator op;
  uint32_t last_code_offset = UINT32_MAX;
  while (!reader.at_end()) {
    if (auto read = reader.read(op); !read) return std::move(read).err();
    if (auto valid = validator_.visit(op); !valid) return std::move(valid).err();
    if (masm_.offset() != last_code_offset) {
      source_map_.emplace_back(masm_.offset(), op.offset);
      last_code_offset = masm_.offset();
    }
    if (frames_.empty()) continue;  // after the final `end`: the validator reports it
    if (options.consume_fuel && reachable_) {
      // Charged where control may leave the straight line (docs/fuel-epochs.md), before the
      // operator's own code (flags of a fused compare are set later, by its lowering).
      fuel_pending_ += fuel_cost(op.op);
      if (ends_fuel_run(op.op) && !(op.op == Op::End && end_continues_run())) charge_fuel();
      if (op.op == Op::Unreachable || is_call(op.op)) store_fuel();
    }
    const bool call_runs = has_interrupt_checks() && reachable_ && is_call(op.op);
    if (auto lowered = lower(op); !lowered) return std::move(lowered).err();
    if (call_runs) {
      load_fuel();
      load_epoch_deadline();
    }
    if (fatal_) return std::move(*fatal_);
  }
  if (auto finished = validator_.finish(body.code.end()); !finished)
    return std::move(finished).err();
  emit_interrupt_slow_paths();

  // Frame: vmctx, locals, stack slots, then the outgoing args area at rsp.
  masm_.set_frame_size(8 + 8 * declared_locals_ + 8 * max_depth_ + 8 * outgoing_slots_);
  auto code = masm_.finish();
  if (!code) return std::move(code).err();
  CompiledFunction out;
  out.code = std::move(code.ok());
  // Sites are recorded as code is emitted (the out-of-line stubs last), so in code order.
  out.trap_sites = masm_.trap_sites();
  assert(std::is_sorted(
      out.trap_sites.begin(), out.trap_sites.end(),
      [](const TrapSite& a, const TrapSite& b) { return a.code_offset < b.code_offset; }));
  out.call_sites = masm_.call_sites();
  out.source_map = source_map_;
  return out;
}

template <typename M>
template <typename InPlace>
auto FunctionCompiler<M>::take_in_place_operand(bool commutes, InPlace in_place)
    -> std::optional<InPlaceOperand> {
  const uint32_t height = stack_.size();
  const bool swap =
      commutes && stack_[height - 1].loc == Loc::Register && in_place(stack_[height - 2]);
  if (!swap && !in_place(stack_[height - 1])) return std::nullopt;
  const uint32_t depth = swap ? height - 2 : height - 1;
  InPlaceOperand in{Reg{}, stack_[depth], depth};
  if (swap) {
    in.acc = stack_.back().reg;
    stack_.pop_back();
    stack_.pop_back();
  } else {
    stack_.pop_back();
    in.acc = pop_to_reg();
  }
  return in;
}

template <typename M>
void FunctionCompiler<M>::binop(AluOp op, Class cls) {
  const Width w = width_of(cls);
  if (top_is_const() && stack_[stack_.size() - 2].loc == Loc::Const) {
    // Both constant: fold at compile time.
    uint64_t b = uint64_t(stack_.back().imm);
    stack_.pop_back();
    uint64_t a = uint64_t(stack_.back().imm);
    stack_.pop_back();
    uint64_t r = 0;
    switch (op) {
      case AluOp::Add:
        r = a + b;
        break;
      case AluOp::Sub:
        r = a - b;
        break;
      case AluOp::Mul:
        r = a * b;
        break;
      case AluOp::And:
        r = a & b;
        break;
      case AluOp::Or:
        r = a | b;
        break;
      case AluOp::Xor:
        r = a ^ b;
        break;
    }
    push_const(cls, w == Width::W32 ? int64_t(uint32_t(r)) : int64_t(r));
    return;
  }
  if (top_is_imm32()) {
    int32_t imm = int32_t(stack_.back().imm);
    stack_.pop_back();
    if (op == AluOp::Sub && imm != INT32_MIN) {  // x - c == x + -c: the lea form below
      op = AluOp::Add;
      imm = -imm;
    }
    const StackValue& operand = stack_.back();
    if (operand.loc == Loc::Local && cached(operand.local).valid() &&
        (op == AluOp::Add || op == AluOp::Mul)) {
      // Three-operand forms (lea, imul) read the cached local where it is.
      const uint32_t local = operand.local;
      stack_.pop_back();
      const Reg dst = alloc(RegClass::Gp);
      if (const Reg src = cached(local); src.valid()) {  // alloc may have dropped the cache
        masm_.alu_imm(op, dst, src, imm, w);
      } else {
        load_local(dst, local, cls);
        masm_.alu_imm(op, dst, dst, imm, w);
      }
      push_reg(cls, dst);
      return;
    }
    Reg lhs = pop_to_reg();
    masm_.alu_imm(op, lhs, lhs, imm, w);
    push_reg(cls, lhs);
    return;
  }
  // An operand that is a local or a spilled value is used where it is (a cache register, or a
  // memory operand) rather than copied into a register first; the operations but sub commute,
  // so for them either side may be that operand.
  auto in_place = [](const StackValue& v) { return v.loc == Loc::Local || v.loc == Loc::Slot; };
  if (auto in = take_in_place_operand(op != AluOp::Sub, in_place)) {
    const Reg cache = in->operand.loc == Loc::Local ? cached(in->operand.local) : Reg{};
    if (cache.valid())
      masm_.alu(op, in->acc, in->acc, cache, w);
    else
      masm_.alu_mem(op, in->acc, in_place_address(*in), w);
    push_reg(cls, in->acc);
    return;
  }
  Reg rhs = pop_to_reg();
  Reg lhs = pop_to_reg();
  masm_.alu(op, lhs, lhs, rhs, w);
  release(rhs);
  push_reg(cls, lhs);
}

template <typename M>
void FunctionCompiler<M>::shiftop(ShiftOp op, Class cls) {
  const Width w = width_of(cls);
  if (top_is_const()) {
    uint32_t count = uint32_t(stack_.back().imm);
    stack_.pop_back();
    Reg lhs = pop_to_reg();
    masm_.shift_imm(op, lhs, lhs, count, w);
    push_reg(cls, lhs);
    return;
  }
  // The count must sit in the masm's shift register: claim it before popping anything.
  const Reg count_reg = M::shift_count_register();
  Reg count = pop_to_reg();
  if (count != count_reg) {
    claim(count_reg);
    masm_.mov(count_reg, count, Width::W64);
    release(count);
  }
  Reg lhs = pop_to_reg();
  masm_.shift(op, lhs, lhs, count_reg, w);
  release(count_reg);
  push_reg(cls, lhs);
}

template <typename M>
void FunctionCompiler<M>::compare(IntCond cond, Class cls) {
  materialize_pending();  // one pending compare at a time
  PendingCompare c;
  c.cond = cond;
  c.width = width_of(cls);
  // A local in no register is compared in memory rather than loaded first. A cached one is
  // copied into a register of the compare's own: measured, comparing the cache register in
  // place made fib's run times swing by a third from one process to the next on Zen 4 (a
  // front-end effect: same work, two bytes less code), for no gain on the other kernels.
  auto uncached_local = [&](const StackValue& v) {
    return v.loc == Loc::Local && !cached(v.local).valid();
  };
  if (top_is_imm32()) {
    c.imm = int32_t(stack_.back().imm);
    stack_.pop_back();
    if (uncached_local(stack_.back())) {
      c.memory = local_address(stack_.back().local);
      stack_.pop_back();
    } else {
      c.lhs = pop_to_reg();
    }
  } else if (uncached_local(stack_.back())) {
    c.memory = local_address(stack_.back().local);
    c.rhs_in_memory = true;
    stack_.pop_back();
    c.lhs = pop_to_reg();
  } else {
    c.rhs = pop_to_reg();
    c.lhs = pop_to_reg();
  }
  stack_.push_back({Class::I32, Loc::PendingCompare});
  pending_ = true;
  pending_depth_ = uint32_t(stack_.size() - 1);
  pending_cmp_ = c;
}

template <typename M>
void FunctionCompiler<M>::divop(DivOp op, Class cls, uint32_t offset) {
  // The x64 division clobbers two fixed registers: keep them out of the operands.
  for (Reg r : M::kDivScratch) claim(r);
  Reg rhs = pop_to_reg();
  Reg lhs = pop_to_reg();
  masm_.div(op, lhs, lhs, rhs, width_of(cls), offset);
  release(rhs);
  for (Reg r : M::kDivScratch)
    if (r != lhs && r != rhs) release(r);
  push_reg(cls, lhs);
}

template <typename M>
void FunctionCompiler<M>::fp_binop(FpBinOp op, FpWidth w) {
  // As for integers: a local or spilled operand is used where it is, a cache register or a
  // memory operand (min and max take registers only).
  const bool memory_ok = op != FpBinOp::Min && op != FpBinOp::Max;
  auto in_place = [&](const StackValue& v) {
    if (v.loc == Loc::Local) return cached(v.local).valid() || memory_ok;
    return v.loc == Loc::Slot && memory_ok;
  };
  const uint32_t height = stack_.size();
  const bool commutes = op == FpBinOp::Add || op == FpBinOp::Mul;
  if (memory_ok && stack_[height - 1].loc == Loc::Const) {
    // A constant operand comes from the constant pool.
    const uint64_t bits = uint64_t(stack_.back().imm);
    stack_.pop_back();
    const Reg acc = pop_to_reg();
    masm_.fp_binop_const(op, acc, bits, w);
    push_reg(w == FpWidth::F32 ? Class::F32 : Class::F64, acc);
    return;
  }
  if (auto in = take_in_place_operand(commutes, in_place)) {
    const Reg cache = in->operand.loc == Loc::Local ? cached(in->operand.local) : Reg{};
    if (cache.valid())
      masm_.fp_binop(op, in->acc, in->acc, cache, w);
    else
      masm_.fp_binop_mem(op, in->acc, in_place_address(*in), w);
    push_reg(w == FpWidth::F32 ? Class::F32 : Class::F64, in->acc);
    return;
  }
  Reg rhs = pop_to_reg();
  Reg lhs = pop_to_reg();
  masm_.fp_binop(op, lhs, lhs, rhs, w);
  release(rhs);
  push_reg(w == FpWidth::F32 ? Class::F32 : Class::F64, lhs);
}

template <typename M>
void FunctionCompiler<M>::fp_unop(FpUnOp op, FpWidth w) {
  Reg r = pop_to_reg();
  masm_.fp_unop(op, r, r, w);
  push_reg(w == FpWidth::F32 ? Class::F32 : Class::F64, r);
}

template <typename M>
void FunctionCompiler<M>::fp_compare(FpCond cond, FpWidth w) {
  Reg rhs = pop_to_reg();
  Reg lhs = pop_to_reg();
  Reg dst = alloc(RegClass::Gp);
  masm_.fp_set_cond(cond, dst, lhs, rhs, w);
  release(lhs);
  release(rhs);
  push_reg(Class::I32, dst);
}

template <typename M>
void FunctionCompiler<M>::truncate(TruncKind kind, uint32_t offset) {
  Reg src = pop_to_reg();
  Reg dst = alloc(RegClass::Gp);
  masm_.fp_to_int(dst, src, kind, offset);
  release(src);
  push_reg(kind.to == Width::W64 ? Class::I64 : Class::I32, dst);
}

template <typename M>
void FunctionCompiler<M>::convert_int(Width from, bool is_signed, FpWidth to) {
  Reg src = pop_to_reg();
  Reg dst = alloc(RegClass::Fp);
  masm_.int_to_fp(dst, src, from, is_signed, to);
  release(src);
  push_reg(to == FpWidth::F32 ? Class::F32 : Class::F64, dst);
}

template <typename M>
void FunctionCompiler<M>::reinterpret(Class to, Width width) {
  Reg src = pop_to_reg();
  Reg dst = alloc(reg_class_of(to));
  masm_.mov(dst, src, width);
  release(src);
  push_reg(to, dst);
}

template <typename M>
void FunctionCompiler<M>::call_arguments(const wasm::FuncType& type, bool registers_later) {
  const uint32_t count = uint32_t(type.params.size());
  materialize_pending();
  // Every register is caller-saved: what stays on the stack across the call is spilled; the
  // arguments go straight from wherever they are to the outgoing args area.
  const uint32_t first = uint32_t(stack_.size()) - count;
  for (uint32_t depth = 0; depth < first; ++depth) spill(depth);
  // The first arguments also go into their parameter registers. The moves form a parallel
  // move (a register may be the source of one argument and the destination of another): each
  // one goes once no other pending move reads its destination; when all of them wait on one
  // another (a cycle), one argument is taken from the args area instead of its register.
  const uint32_t in_registers = registers_later ? 0 : std::min<uint32_t>(count, M::kRegisterParams);
  constexpr uint8_t kNone = 0xFF;
  uint8_t source[M::kRegisterParams], target[M::kRegisterParams];  // reg_keys
  uint32_t pending = 0;
  for (uint32_t i = 0; i < in_registers; ++i) {
    const StackValue& v = stack_[first + i];
    const Reg from = v.loc == Loc::Register ? v.reg : v.loc == Loc::Local ? cached(v.local) : Reg{};
    source[i] = from.valid() ? uint8_t(reg_key(from)) : kNone;
    target[i] = uint8_t(reg_key(param_register(i, v.cls)));
    if (source[i] != target[i]) pending |= 1u << i;  // else already in place
  }
  // Into the area first, before any register is overwritten: the arguments past the registers,
  // and those in registers or constant. One read from memory (a local's home, a slot) is
  // instead loaded into its parameter register once and stored from there.
  uint32_t store_later = 0;
  for (uint32_t i = 0; i < count; ++i) {
    const StackValue& v = stack_[first + i];
    if (i < in_registers && v.loc != Loc::Const && source[i] == kNone)
      store_later |= 1u << i;
    else
      store_value(v, outgoing_address(i), first + i);
  }
  uint32_t from_area = 0;
  while (pending) {
    uint32_t reads = 0;  // the registers pending moves still read
    for (uint32_t m = pending & ~from_area; m; m &= m - 1) {
      const uint8_t key = source[std::countr_zero(m)];
      if (key != kNone) reads |= 1u << key;
    }
    uint32_t ready = 0;
    for (uint32_t m = pending; m; m &= m - 1) {
      const uint32_t i = uint32_t(std::countr_zero(m));
      if (!((reads >> target[i]) & 1)) ready |= 1u << i;
    }
    if (!ready) {
      // Breaks the cycle: it blocks no one now. Its value is in the area (a register source).
      from_area |= 1u << std::countr_zero(pending);
      continue;
    }
    const uint32_t i = uint32_t(std::countr_zero(ready));
    const StackValue& v = stack_[first + i];
    const Reg dst = param_register(i, v.cls);
    if (from_area & (1u << i))
      masm_.load(dst, outgoing_address(i), load_kind(v.cls));
    else
      copy_to_register(dst, first + i);
    if (store_later & (1u << i))
      masm_.store(outgoing_address(i), dst,
                  v.cls == Class::I32 ? StoreKind::I64 : store_kind(v.cls));
    pending &= ~(1u << i);
  }
  for (uint32_t i = 0; i < count; ++i)
    if (stack_[first + i].loc == Loc::Register) release(stack_[first + i].reg);
  stack_.resize(first);
  outgoing_slots_ = std::max<uint32_t>(outgoing_slots_,
                                       uint32_t(std::max(type.params.size(), type.results.size())));
}

template <typename M>
void FunctionCompiler<M>::load_register_arguments(const wasm::FuncType& type) {
  const uint32_t count = std::min<uint32_t>(uint32_t(type.params.size()), M::kRegisterParams);
  for (uint32_t i = 0; i < count; ++i) {
    const Class cls = class_of(type.params[i]);
    masm_.load(param_register(i, cls), outgoing_address(i), load_kind(cls));
  }
}

template <typename M>
void FunctionCompiler<M>::call_results(const wasm::FuncType& type) {
  reset_registers();
  // The first result comes back in a register (docs/jit-abi.md), the others in the args area.
  for (uint32_t i = 0; i < type.results.size(); ++i) {
    const Class cls = class_of(type.results[i]);
    if (i == 0) {
      const Reg r = return_register(cls);
      take(r);
      push_reg(cls, r);
      continue;
    }
    Reg r = alloc(reg_class_of(cls));
    masm_.load(r, outgoing_address(i), load_kind(cls));
    push_reg(cls, r);
  }
}

template <typename M>
void FunctionCompiler<M>::builtin_call(Builtin builtin, std::initializer_list<uint32_t> immediates,
                                       uint32_t operands) {
  // System V call: (vmctx, immediates..., the top `operands` stack values in order).
  spill_all();
  uint32_t arg = 0;
  masm_.mov(M::kCArgs[arg++], M::kVmctx, Width::W64);
  for (uint32_t imm : immediates) masm_.mov_imm(M::kCArgs[arg++], imm, Width::W32);
  const uint32_t first = uint32_t(stack_.size()) - operands;
  for (uint32_t i = 0; i < operands; ++i) load_into(M::kCArgs[arg++], first + i);
  stack_.resize(first);
  call_builtin(builtin);
  reset_registers();
}

template <typename M>
void FunctionCompiler<M>::push_builtin_result(Class cls) {
  Reg r = alloc(RegClass::Gp);
  masm_.mov(r, M::kCReturn, width_of(cls));
  push_reg(cls, r);
}

template <typename M>
void FunctionCompiler<M>::trap_on_builtin_failure(TrapCode code, uint32_t offset) {
  masm_.test(M::kCReturn, M::kCReturn, Width::W32);
  masm_.trap_if(IntCond::Ne, code, offset);
}

template <typename M>
void FunctionCompiler<M>::call_builtin(Builtin builtin) {
  masm_.load(M::kScratch, Address::at(M::kVmctx, vm_offsets::kBuiltins), LoadKind::I64);
  masm_.call_mem(Address::at(M::kScratch, 8 * int32_t(builtin)));
}

template <typename M>
Result<void> FunctionCompiler<M>::lower_call(const Operator& op) {
  switch (op.op) {
    case Op::Call: {
      const wasm::FuncType& type = module_.func_type_of(op.index);
      call_arguments(type);
      if (op.index < module_.imported_funcs) {
        // Through the import's VMFuncRef: its own vmctx, then ours back.
        const Reg refs = M::kGpAllocatable[0];
        masm_.load(refs, Address::at(M::kVmctx, vm_offsets::kFuncRefs), LoadKind::I64);
        const int32_t entry = int32_t(op.index) * vm_offsets::kFuncRefSize;
        masm_.load(M::kVmctx, Address::at(refs, entry + vm_offsets::kFuncRefVmctx), LoadKind::I64);
        masm_.call_mem(Address::at(refs, entry + vm_offsets::kFuncRefCode));
        reload_instance_registers();
      } else {
        masm_.call_function(op.index);
      }
      call_results(type);
      return {};
    }
    case Op::CallIndirect: {
      const wasm::FuncType& type = module_.types[op.index].func;
      if (module_.table_types[op.index2].index_type == wasm::IndexType::I64)
        return Error("unsupported: call_indirect on a 64-bit table (memory64) in the JIT",
                     op.offset);
      // The callee index is on top, the arguments below it.
      spill_all();
      // The index stays in kGpAllocatable[0] for the null-entry trap (docs/jit-abi.md); the
      // entry and the expected id sit where the subtype builtin takes them, so its slow path
      // needs no moves that could overwrite one another.
      const Reg index = M::kGpAllocatable[0], entry = M::kCArgs[1], expected = M::kCArgs[2];
      load_into(index, uint32_t(stack_.size() - 1));
      stack_.pop_back();
      // The parameter registers are loaded last: the type check may call the runtime.
      call_arguments(type, /*registers_later=*/true);
      masm_.load(entry, Address::at(M::kVmctx, vm_offsets::kTables), LoadKind::I64);
      masm_.load(entry, Address::at(entry, 8 * int32_t(op.index2)), LoadKind::I64);
      masm_.cmp_mem(index, Address::at(entry, vm_offsets::kTableSize), Width::W64);
      masm_.trap_if(IntCond::GeU, TrapCode::UndefinedElement, op.offset);
      masm_.load(entry, Address::at(entry, vm_offsets::kTableElements), LoadKind::I64);
      masm_.load(entry, Address{entry, index, 3, 0}, LoadKind::I64);
      masm_.test(entry, entry, Width::W64);
      masm_.trap_if(IntCond::Eq, TrapCode::IndirectCallToNull, op.offset);
      masm_.load(expected, Address::at(M::kVmctx, vm_offsets::kTypeIds), LoadKind::I64);
      masm_.load(expected, Address::at(expected, 4 * int32_t(op.index)), LoadKind::I32);
      // Canonical ids are equal for equal types: one compare accepts the exact type inline. A
      // declared subtype of the expected type is accepted too (GC), through the runtime.
      masm_.cmp_mem(expected, Address::at(entry, vm_offsets::kFuncRefTypeId), Width::W32);
      typename M::Label type_ok = masm_.new_label();
      masm_.branch(IntCond::Eq, type_ok);
      masm_.mov(M::kCArgs[0], M::kVmctx, Width::W64);
      call_builtin(Builtin::FuncRefSubtype);
      masm_.test(M::kCReturn, M::kCReturn, Width::W64);
      masm_.trap_if(IntCond::Eq, TrapCode::BadSignature, op.offset);
      masm_.mov(entry, M::kCReturn, Width::W64);
      masm_.bind(type_ok);
      load_register_arguments(type);
      masm_.load(M::kVmctx, Address::at(entry, vm_offsets::kFuncRefVmctx), LoadKind::I64);
      masm_.call_mem(Address::at(entry, vm_offsets::kFuncRefCode));
      reload_instance_registers();
      call_results(type);
      return {};
    }
    default:
      return unsupported(op);
  }
}

template <typename M>
Result<void> FunctionCompiler<M>::lower_memory(const Operator& op) {
  const wasm::OpcodeInfo& info = wasm::opcode_info(op.op);
  const wasm::MemoryType& memory = module_.memories[op.memarg.memory];
  if (memory.index_type == wasm::IndexType::I64)
    return Error("unsupported: memory64 accesses in the JIT (" + std::string(info.mnemonic) + ")",
                 op.offset);
  // With a 4 GiB reservation plus guard, index + offset + width stays inside the reservation
  // whenever offset + width <= guard size: no bounds check. Larger static offsets are checked.
  const uint64_t end = op.memarg.offset + info.memory_bytes;

  LoadKind load = LoadKind::I32;
  StoreKind store = StoreKind::I32;
  Class cls = Class::I32;
  bool storing = false;
  switch (op.op) {
    case Op::I32Load:
      load = LoadKind::I32;
      cls = Class::I32;
      break;
    case Op::I64Load:
      load = LoadKind::I64;
      cls = Class::I64;
      break;
    case Op::F32Load:
      load = LoadKind::F32;
      cls = Class::F32;
      break;
    case Op::F64Load:
      load = LoadKind::F64;
      cls = Class::F64;
      break;
    case Op::I32Load8S:
      load = LoadKind::S8To32;
      break;
    case Op::I32Load8U:
      load = LoadKind::U8To32;
      break;
    case Op::I32Load16S:
      load = LoadKind::S16To32;
      break;
    case Op::I32Load16U:
      load = LoadKind::U16To32;
      break;
    case Op::I64Load8S:
      load = LoadKind::S8To64;
      cls = Class::I64;
      break;
    case Op::I64Load8U:
      load = LoadKind::U8To64;
      cls = Class::I64;
      break;
    case Op::I64Load16S:
      load = LoadKind::S16To64;
      cls = Class::I64;
      break;
    case Op::I64Load16U:
      load = LoadKind::U16To64;
      cls = Class::I64;
      break;
    case Op::I64Load32S:
      load = LoadKind::S32To64;
      cls = Class::I64;
      break;
    case Op::I64Load32U:
      load = LoadKind::U32To64;
      cls = Class::I64;
      break;
    case Op::I32Store:
      store = StoreKind::I32;
      storing = true;
      break;
    case Op::I64Store:
      store = StoreKind::I64;
      storing = true;
      break;
    case Op::F32Store:
      store = StoreKind::F32;
      storing = true;
      break;
    case Op::F64Store:
      store = StoreKind::F64;
      storing = true;
      break;
    case Op::I32Store8:
    case Op::I64Store8:
      store = StoreKind::I8;
      storing = true;
      break;
    case Op::I32Store16:
    case Op::I64Store16:
      store = StoreKind::I16;
      storing = true;
      break;
    case Op::I64Store32:
      store = StoreKind::I32;
      storing = true;
      break;
    default:
      return unsupported(op);
  }

  // Guard pages only catch accesses past the mapped (host-page-rounded) size: a memory whose
  // pages are smaller than 64 KiB (custom-page-sizes: 1 byte) can end inside a host page, so its
  // accesses are checked against the exact size.
  // Without guard pages (Config::memory_guard_size(0)), every access is checked.
  const bool host_page_granular = memory.page_size_log2 >= 16;
  const bool checked = !(options_->guard_pages && host_page_granular &&
                         end <= options_->guard_size && op.memarg.offset <= INT32_MAX);
  // Operands are used where they are when possible: a constant to store as an immediate, a
  // cached local's register (borrowed: read only, pinned until the access is emitted so no
  // allocation here reuses it; not the index of a checked access, which is modified).
  auto borrow = [&](bool allowed) {
    const StackValue& v = stack_.back();
    const Reg r = allowed && v.loc == Loc::Local ? cached(v.local) : Reg{};
    if (r.valid()) {
      pinned_ |= 1u << reg_key(r);
      stack_.pop_back();
    }
    return r;
  };
  Reg value{};
  bool value_borrowed = false, value_is_imm = false;
  int32_t value_imm = 0;
  if (storing) {
    const StackValue& v = stack_.back();
    const bool wide = store == StoreKind::I64 || store == StoreKind::F64;
    if (v.loc == Loc::Const && (!wide || (v.imm >= INT32_MIN && v.imm <= INT32_MAX))) {
      value_is_imm = true;
      value_imm = int32_t(v.imm);
      stack_.pop_back();
    } else if ((value = borrow(true)).valid()) {
      value_borrowed = true;
    } else {
      value = pop_to_reg();
    }
  }
  Reg index = borrow(!checked);  // i32, zero-extended in its register
  const bool index_borrowed = index.valid();
  if (!index_borrowed) index = pop_to_reg();
  // Memory 0's base is pinned; another memory's is loaded into a register of its own.
  Reg base = M::kMemory0Base;
  if (op.memarg.memory != 0) {
    base = alloc(RegClass::Gp);
    masm_.load(base, Address::at(M::kVmctx, vm_offsets::kMemories), LoadKind::I64);
    masm_.load(base, Address::at(base, 8 * int32_t(op.memarg.memory)), LoadKind::I64);
    masm_.load(base, Address::at(base, vm_offsets::kMemoryBase), LoadKind::I64);
  }
  int32_t disp = 0;
  if (!checked) {
    disp = int32_t(op.memarg.offset);
  } else {
    // index + offset, checked against the current size, then used as the index.
    masm_.mov(M::kScratch, index, Width::W32);
    masm_.mov_imm(index, int64_t(op.memarg.offset), Width::W64);
    masm_.alu(AluOp::Add, index, index, M::kScratch, Width::W64);
    Reg size = M::kScratch;
    if (op.memarg.memory == 0) {
      masm_.load(size, Address::at(M::kVmctx, vm_offsets::kMemory0), LoadKind::I64);
    } else {
      masm_.load(size, Address::at(M::kVmctx, vm_offsets::kMemories), LoadKind::I64);
      masm_.load(size, Address::at(size, 8 * int32_t(op.memarg.memory)), LoadKind::I64);
    }
    masm_.load(size, Address::at(size, vm_offsets::kMemorySize), LoadKind::I64);
    masm_.alu_imm(AluOp::Sub, size, size, int32_t(info.memory_bytes), Width::W64);
    masm_.cmp(index, size, Width::W64);
    masm_.trap_if(IntCond::GtS, TrapCode::MemoryOutOfBounds, op.offset);
  }
  const Address address{base, index, 0, disp};
  masm_.record_trap_site(TrapCode::MemoryOutOfBounds, op.offset);
  pinned_ = 0;
  if (storing) {
    if (value_is_imm)
      masm_.store_imm(address, value_imm, store);
    else
      masm_.store(address, value, store);
    if (!value_borrowed) release(value);
    if (!index_borrowed) release(index);
    if (base != M::kMemory0Base) release(base);
  } else {
    if (!index_borrowed) release(index);
    if (base != M::kMemory0Base) release(base);
    // dst may be index or base (released, or a borrowed index whose cache the allocation
    // dropped): the load reads them before writing dst.
    Reg dst = alloc(is_float(cls) ? RegClass::Fp : RegClass::Gp);
    masm_.load(dst, address, load);
    push_reg(cls, dst);
  }
  return {};
}

// The threads proposal's atomic accesses. The address is computed and checked here (in
// bounds, then aligned to the access width: both trap in place); the access itself runs in
// the Atomic builtin on the host address (std::atomic_ref, sequentially consistent), which
// cannot fail. A call per access is slower than inline lock-prefixed instructions, but keeps
// every width and operator in one place that the x86 and AArch64 backends share.
template <typename M>
Result<void> FunctionCompiler<M>::lower_atomic(const Operator& op) {
  const wasm::OpcodeInfo& info = wasm::opcode_info(op.op);
  const uint32_t code = info.code;
  if (op.op == Op::AtomicFence) {
    spill_all();
    masm_.mov(M::kCArgs[0], M::kVmctx, Width::W64);
    masm_.mov_imm(M::kCArgs[1], code, Width::W32);
    call_builtin(Builtin::Atomic);
    reset_registers();
    return {};
  }
  const wasm::MemoryType& memory = module_.memories[op.memarg.memory];
  if (memory.index_type == wasm::IndexType::I64)
    return Error("unsupported: memory64 accesses in the JIT (" + std::string(info.mnemonic) + ")",
                 op.offset);
  const jit::AtomicAccess access = jit::atomic_access(code);
  const uint32_t operands = access.operands();
  spill_all();
  const uint32_t first = uint32_t(stack_.size()) - operands;
  const Reg address = M::kCArgs[2];
  load_into(address, first);
  masm_.mov(address, address, Width::W32);  // the i32 index, zero-extended
  if (op.memarg.offset != 0) {
    masm_.mov_imm(M::kScratch, int64_t(op.memarg.offset), Width::W64);
    masm_.alu(AluOp::Add, address, address, M::kScratch, Width::W64);
  }
  // In bounds: index + offset <= size - width (signed: a size below the width is negative).
  if (op.memarg.memory == 0) {
    masm_.load(M::kScratch, Address::at(M::kVmctx, vm_offsets::kMemory0), LoadKind::I64);
  } else {
    masm_.load(M::kScratch, Address::at(M::kVmctx, vm_offsets::kMemories), LoadKind::I64);
    masm_.load(M::kScratch, Address::at(M::kScratch, 8 * int32_t(op.memarg.memory)),
               LoadKind::I64);
  }
  masm_.load(M::kScratch, Address::at(M::kScratch, vm_offsets::kMemorySize), LoadKind::I64);
  masm_.alu_imm(AluOp::Sub, M::kScratch, M::kScratch, int32_t(access.bytes), Width::W64);
  masm_.cmp(address, M::kScratch, Width::W64);
  masm_.trap_if(IntCond::GtS, TrapCode::MemoryOutOfBounds, op.offset);
  if (access.bytes > 1) {
    masm_.mov_imm(M::kScratch, access.bytes - 1, Width::W64);
    masm_.test(address, M::kScratch, Width::W64);
    masm_.trap_if(IntCond::Ne, TrapCode::HeapMisaligned, op.offset);
  }
  if (access.group == jit::AtomicGroup::Wait && !memory.shared) {
    // Waiting needs another thread to notify, which only a shared memory can have.
    masm_.trap(TrapCode::AtomicWaitNonSharedMemory, op.offset);
  }
  if (op.memarg.memory == 0) {
    masm_.alu(AluOp::Add, address, address, M::kMemory0Base, Width::W64);
  } else {
    masm_.load(M::kScratch, Address::at(M::kVmctx, vm_offsets::kMemories), LoadKind::I64);
    masm_.load(M::kScratch, Address::at(M::kScratch, 8 * int32_t(op.memarg.memory)),
               LoadKind::I64);
    masm_.load(M::kScratch, Address::at(M::kScratch, vm_offsets::kMemoryBase), LoadKind::I64);
    masm_.alu(AluOp::Add, address, address, M::kScratch, Width::W64);
  }
  for (uint32_t i = 1; i < operands; ++i) load_into(M::kCArgs[2 + i], first + i);
  masm_.mov(M::kCArgs[0], M::kVmctx, Width::W64);
  masm_.mov_imm(M::kCArgs[1], code, Width::W32);
  stack_.resize(first);
  call_builtin(Builtin::Atomic);
  reset_registers();
  if (access.has_result()) push_builtin_result(access.result_wide() ? Class::I64 : Class::I32);
  return {};
}

template <typename M>
Result<void> FunctionCompiler<M>::lower_control(const Operator& op) {
  switch (op.op) {
    case Op::Block:
    case Op::Loop: {
      const FrameKind kind = op.op == Op::Block ? FrameKind::Block : FrameKind::Loop;
      if (!reachable_) {
        push_frame(kind, true);
        return {};
      }
      enter_block(kind);
      if (kind == FrameKind::Loop) {
        // The header is a merge with the back edges: the caches live on entry stay valid there
        // because every back edge restores them (restore_header_caches), so a local that is
        // carried around the loop can stay in its register.
        record_caches(frames_.back());
        // Back edges write the loop's params into their slots, so inside the loop a param is
        // always a slot, never the constant it happened to be on entry.
        const Frame& loop = frames_.back();
        for (uint32_t i = 0; i < loop.param_count; ++i) {
          StackValue& param = stack_[loop.base + i];
          if (param.loc == Loc::Const) {
            store_value(param, slot_address(loop.base + i), loop.base + i);
            param.loc = Loc::Slot;
          }
        }
        masm_.bind(loop.label);
        if (has_interrupt_checks()) emit_interrupt_checks(op.offset);
      }
      return {};
    }
    case Op::If: {
      if (!reachable_) {
        push_frame(FrameKind::If, true);
        return {};
      }
      const IntCond cond = pop_condition();
      // Spilling stores only, so the flags of the condition survive.
      spill_all();
      // The else arm needs the params too, but the then arm reuses their slots: copy them
      // above the originals (stores only: the condition's flags stay live).
      const uint32_t params = validator_.frame(0).param_count;
      const uint32_t originals = uint32_t(stack_.size()) - params;
      for (uint32_t i = 0; i < params; ++i) {
        // The false path of an if without else reaches the end with the originals as its
        // results, read from their slots: constants must be there too.
        StackValue& original = stack_[originals + i];
        if (original.loc == Loc::Const) {
          store_value(original, slot_address(originals + i), originals + i);
          original.loc = Loc::Slot;
        }
        StackValue copy = stack_[originals + i];
        store_value(copy, slot_address(originals + params + i), originals + i);
        if (copy.loc != Loc::Const) copy.loc = Loc::Slot;
        stack_.push_back(copy);
      }
      push_frame(FrameKind::If, false);
      Frame& f = frames_.back();
      f.result_base = originals;
      f.else_label = masm_.new_label();
      record_caches(f);  // the registers are as they are now when the else arm starts
      masm_.branch(negate(cond), f.else_label);
      return {};
    }
    case Op::Else: {
      Frame& f = frames_.back();
      if (f.dead) {
        f.kind = FrameKind::Else;
        return {};
      }
      if (reachable_) {
        store_branch_values(f);
        f.label_used = true;
        masm_.jump(f.label);
      }
      masm_.bind(f.else_label);
      f.kind = FrameKind::Else;
      // The else arm starts from the if's params: the copies made at the `if` are intact (the
      // then arm never writes below its base), the originals may not be.
      stack_.resize(f.base);
      for (uint32_t i = 0; i < f.param_count; ++i) {
        StackValue original = stack_[f.result_base + i];
        if (original.loc == Loc::Slot) {
          masm_.load(M::kScratch, slot_address(f.result_base + i), LoadKind::I64);
          masm_.store(slot_address(f.base + i), M::kScratch, StoreKind::I64);
        }
        stack_.push_back(original);
      }
      reset_registers();
      for (const auto& [local, reg] : header_caches(f)) {
        take(reg);
        set_cache(local, reg);
      }
      reachable_ = true;
      return {};
    }
    case Op::End: {
      Frame f = frames_.back();
      if (f.kind == FrameKind::Function) {
        if (reachable_) emit_return();
        frames_.pop_back();
        return {};
      }
      if (f.dead) {
        frames_.pop_back();
        return {};
      }
      if (f.kind == FrameKind::Loop) {
        // Only the fallthrough reaches a loop's end: the stack stays as it is.
        frames_.pop_back();
        return {};
      }
      const bool if_without_else = f.kind == FrameKind::If;
      if (!f.label_used && !if_without_else) {
        // No branch targets this block: its results are simply what is on the stack.
        frames_.pop_back();
        return {};
      }
      if (reachable_) store_branch_values(f);
      // An if without else: the false path arrives with the original params, which are the
      // results, already at result_base.
      if (if_without_else) masm_.bind(f.else_label);
      masm_.bind(f.label);
      frames_.pop_back();
      restore_after_frame(f, f.result_count, frame_results(f));
      reachable_ = true;
      return {};
    }
    case Op::Br: {
      emit_branch(op.index);
      reachable_ = false;
      return {};
    }
    case Op::BrIf: {
      const IntCond cond = pop_condition();
      Frame& target = frame(op.index);
      if (target.kind != FrameKind::Function && branch_values_in_place(target)) {
        if (target.kind != FrameKind::Loop) target.label_used = true;
        masm_.branch(cond, target.label);
        return {};
      }
      if (target.kind == FrameKind::Loop && branch_values_in_place(target, false) &&
          !header_registers_hold_values(target)) {
        // Only the loop's caches are out of place, and their registers hold nothing the
        // fallthrough needs: put them back on both paths (moves and loads leave the flags
        // alone), then branch straight to the header.
        restore_header_caches(target);
        adopt_header_caches(target);
        masm_.branch(cond, target.label);
        return {};
      }
      Label skip = masm_.new_label();
      masm_.branch(negate(cond), skip);
      on_side_path([&] { emit_branch(op.index); });
      masm_.bind(skip);
      return {};
    }
    case Op::BrTable: {
      Reg index = pop_to_reg();
      const std::span<const uint32_t> targets = op.targets;  // default last
      const uint32_t cases = uint32_t(targets.size() - 1);
      std::vector<Label> labels(cases);
      std::vector<std::pair<uint32_t, Label>> stubs;  // (depth, stub label)
      auto stub_for = [&](uint32_t depth) {
        for (auto& [d, l] : stubs)
          if (d == depth) return l;
        Label l = masm_.new_label();
        stubs.emplace_back(depth, l);
        return l;
      };
      for (uint32_t i = 0; i < cases; ++i) labels[i] = stub_for(targets[i]);
      Label fallback = stub_for(targets[cases]);
      materialize_pending();
      if (cases > 0) {
        masm_.cmp_imm(index, int32_t(cases), Width::W32);
        masm_.branch(IntCond::GeU, fallback);
        masm_.jump_table(index, labels);
      } else {
        masm_.jump(fallback);
      }
      release(index);
      for (const auto& stub : stubs) {
        const uint32_t depth = stub.first;  // a plain variable: lambdas capture it in clang 14
        masm_.bind(stub.second);
        on_side_path([&] { emit_branch(depth); });
      }
      reachable_ = false;
      return {};
    }
    case Op::Return: {
      emit_return();
      reachable_ = false;
      return {};
    }
    case Op::Unreachable: {
      masm_.trap(TrapCode::UnreachableCodeReached, op.offset);
      reachable_ = false;
      return {};
    }
    default:
      return unsupported(op);
  }
}

template <typename M>
Result<void> FunctionCompiler<M>::lower(const Operator& op) {
  switch (op.op) {
    case Op::Block:
    case Op::Loop:
    case Op::If:
    case Op::Else:
    case Op::End:
      return lower_control(op);
    default:
      break;
  }
  if (!reachable_) return {};
  if (pending_ && op.op != Op::BrIf && op.op != Op::Select && op.op != Op::SelectT)
    materialize_pending();

  switch (op.op) {
    case Op::Nop:
      return {};
    case Op::Br:
    case Op::BrIf:
    case Op::BrTable:
    case Op::Return:
    case Op::Unreachable:
      return lower_control(op);
    case Op::Call:
    case Op::CallIndirect:
      return lower_call(op);
    case Op::Drop: {
      StackValue v = stack_.back();
      stack_.pop_back();
      if (v.loc == Loc::Register) release(v.reg);
      return {};
    }
    case Op::Select:
    case Op::SelectT: {
      // Operands into registers first (their loads must not come between the condition's
      // compare and the conditional move), then the condition, then cmov.
      const uint32_t height = uint32_t(stack_.size());
      const Class cls = stack_[height - 2].cls;
      to_register(height - 3);
      to_register(height - 2);
      const IntCond cond = pop_condition();
      Reg b = pop_to_reg();
      Reg a = pop_to_reg();
      if (is_float(cls)) {
        Label keep = masm_.new_label();
        masm_.branch(cond, keep);
        masm_.mov(a, b, width_of(cls));
        masm_.bind(keep);
      } else {
        masm_.cmov(negate(cond), a, b, width_of(cls));  // condition false -> b
      }
      release(b);
      push_reg(cls, a);
      return {};
    }
    case Op::LocalGet: {
      stack_.push_back({local_classes_[op.index], Loc::Local, Reg{}, op.index, 0});
      return {};
    }
    case Op::LocalSet:
    case Op::LocalTee: {
      detach_local(op.index);
      StackValue v = stack_.back();
      const Address dst = local_address(op.index);
      const uint32_t depth = uint32_t(stack_.size() - 1);
      if (v.loc == Loc::Local && v.local == op.index) return {};  // its own value: nothing to do
      store_value(v, dst, depth);
      if (v.loc == Loc::Register) {
        // The value's register becomes the local's cache; a tee leaves a lazy read of the
        // local on the stack, so the register still has one owner.
        set_cache(op.index, v.reg);
        if (op.op == Op::LocalTee) stack_.back() = {v.cls, Loc::Local, Reg{}, op.index, 0};
      } else {
        drop_cache(op.index);
      }
      if (op.op == Op::LocalSet) stack_.pop_back();
      return {};
    }
    case Op::GlobalGet: {
      const Class cls = class_of(module_.global_types[op.index].type);
      if (module_.global_types[op.index].type.kind == ValKind::V128) return unsupported(op);
      Reg cell = alloc(RegClass::Gp);
      masm_.load(cell, Address::at(M::kVmctx, vm_offsets::kGlobals), LoadKind::I64);
      masm_.load(cell, Address::at(cell, 8 * int32_t(op.index)), LoadKind::I64);
      if (is_float(cls)) {
        Reg dst = alloc(RegClass::Fp);
        masm_.load(dst, Address::at(cell), load_kind(cls));
        release(cell);
        push_reg(cls, dst);
      } else {
        masm_.load(cell, Address::at(cell), load_kind(cls));
        push_reg(cls, cell);
      }
      return {};
    }
    case Op::GlobalSet: {
      const Class cls = class_of(module_.global_types[op.index].type);
      if (module_.global_types[op.index].type.kind == ValKind::V128) return unsupported(op);
      Reg value = pop_to_reg();
      masm_.load(M::kScratch, Address::at(M::kVmctx, vm_offsets::kGlobals), LoadKind::I64);
      masm_.load(M::kScratch, Address::at(M::kScratch, 8 * int32_t(op.index)), LoadKind::I64);
      masm_.store(Address::at(M::kScratch), value, store_kind(cls));
      release(value);
      return {};
    }
    case Op::I32Const:
      push_const(Class::I32, int64_t(uint32_t(op.value)));
      return {};
    case Op::I64Const:
      push_const(Class::I64, int64_t(op.value));
      return {};
    case Op::F32Const:
      push_const(Class::F32, int64_t(op.value));
      return {};
    case Op::F64Const:
      push_const(Class::F64, int64_t(op.value));
      return {};

    case Op::I32Add:
      binop(AluOp::Add, Class::I32);
      return {};
    case Op::I32Sub:
      binop(AluOp::Sub, Class::I32);
      return {};
    case Op::I32Mul:
      binop(AluOp::Mul, Class::I32);
      return {};
    case Op::I32And:
      binop(AluOp::And, Class::I32);
      return {};
    case Op::I32Or:
      binop(AluOp::Or, Class::I32);
      return {};
    case Op::I32Xor:
      binop(AluOp::Xor, Class::I32);
      return {};
    case Op::I64Add:
      binop(AluOp::Add, Class::I64);
      return {};
    case Op::I64Sub:
      binop(AluOp::Sub, Class::I64);
      return {};
    case Op::I64Mul:
      binop(AluOp::Mul, Class::I64);
      return {};
    case Op::I64And:
      binop(AluOp::And, Class::I64);
      return {};
    case Op::I64Or:
      binop(AluOp::Or, Class::I64);
      return {};
    case Op::I64Xor:
      binop(AluOp::Xor, Class::I64);
      return {};
    case Op::I32Shl:
      shiftop(ShiftOp::Shl, Class::I32);
      return {};
    case Op::I32ShrS:
      shiftop(ShiftOp::ShrS, Class::I32);
      return {};
    case Op::I32ShrU:
      shiftop(ShiftOp::ShrU, Class::I32);
      return {};
    case Op::I32Rotl:
      shiftop(ShiftOp::Rotl, Class::I32);
      return {};
    case Op::I32Rotr:
      shiftop(ShiftOp::Rotr, Class::I32);
      return {};
    case Op::I64Shl:
      shiftop(ShiftOp::Shl, Class::I64);
      return {};
    case Op::I64ShrS:
      shiftop(ShiftOp::ShrS, Class::I64);
      return {};
    case Op::I64ShrU:
      shiftop(ShiftOp::ShrU, Class::I64);
      return {};
    case Op::I64Rotl:
      shiftop(ShiftOp::Rotl, Class::I64);
      return {};
    case Op::I64Rotr:
      shiftop(ShiftOp::Rotr, Class::I64);
      return {};
    case Op::I32DivS:
      divop(DivOp::DivS, Class::I32, op.offset);
      return {};
    case Op::I32DivU:
      divop(DivOp::DivU, Class::I32, op.offset);
      return {};
    case Op::I32RemS:
      divop(DivOp::RemS, Class::I32, op.offset);
      return {};
    case Op::I32RemU:
      divop(DivOp::RemU, Class::I32, op.offset);
      return {};
    case Op::I64DivS:
      divop(DivOp::DivS, Class::I64, op.offset);
      return {};
    case Op::I64DivU:
      divop(DivOp::DivU, Class::I64, op.offset);
      return {};
    case Op::I64RemS:
      divop(DivOp::RemS, Class::I64, op.offset);
      return {};
    case Op::I64RemU:
      divop(DivOp::RemU, Class::I64, op.offset);
      return {};
    case Op::I32Clz:
    case Op::I32Ctz:
    case Op::I32Popcnt:
    case Op::I64Clz:
    case Op::I64Ctz:
    case Op::I64Popcnt: {
      const bool wide = op.op == Op::I64Clz || op.op == Op::I64Ctz || op.op == Op::I64Popcnt;
      const BitCountOp kind = (op.op == Op::I32Clz || op.op == Op::I64Clz)   ? BitCountOp::Clz
                              : (op.op == Op::I32Ctz || op.op == Op::I64Ctz) ? BitCountOp::Ctz
                                                                             : BitCountOp::Popcnt;
      Reg r = pop_to_reg();
      masm_.bit_count(kind, r, r, wide ? Width::W64 : Width::W32);
      push_reg(wide ? Class::I64 : Class::I32, r);
      return {};
    }
    case Op::I32Eqz:
      push_const(Class::I32, 0);
      compare(IntCond::Eq, Class::I32);
      return {};
    case Op::I64Eqz:
      push_const(Class::I64, 0);
      compare(IntCond::Eq, Class::I64);
      return {};
    case Op::I32Eq:
      compare(IntCond::Eq, Class::I32);
      return {};
    case Op::I32Ne:
      compare(IntCond::Ne, Class::I32);
      return {};
    case Op::I32LtS:
      compare(IntCond::LtS, Class::I32);
      return {};
    case Op::I32LtU:
      compare(IntCond::LtU, Class::I32);
      return {};
    case Op::I32GtS:
      compare(IntCond::GtS, Class::I32);
      return {};
    case Op::I32GtU:
      compare(IntCond::GtU, Class::I32);
      return {};
    case Op::I32LeS:
      compare(IntCond::LeS, Class::I32);
      return {};
    case Op::I32LeU:
      compare(IntCond::LeU, Class::I32);
      return {};
    case Op::I32GeS:
      compare(IntCond::GeS, Class::I32);
      return {};
    case Op::I32GeU:
      compare(IntCond::GeU, Class::I32);
      return {};
    case Op::I64Eq:
      compare(IntCond::Eq, Class::I64);
      return {};
    case Op::I64Ne:
      compare(IntCond::Ne, Class::I64);
      return {};
    case Op::I64LtS:
      compare(IntCond::LtS, Class::I64);
      return {};
    case Op::I64LtU:
      compare(IntCond::LtU, Class::I64);
      return {};
    case Op::I64GtS:
      compare(IntCond::GtS, Class::I64);
      return {};
    case Op::I64GtU:
      compare(IntCond::GtU, Class::I64);
      return {};
    case Op::I64LeS:
      compare(IntCond::LeS, Class::I64);
      return {};
    case Op::I64LeU:
      compare(IntCond::LeU, Class::I64);
      return {};
    case Op::I64GeS:
      compare(IntCond::GeS, Class::I64);
      return {};
    case Op::I64GeU:
      compare(IntCond::GeU, Class::I64);
      return {};
    case Op::I32WrapI64: {
      Reg r = pop_to_reg();
      masm_.sign_extend(r, r, LoadKind::U32To64);  // a 32-bit copy clears the high half
      push_reg(Class::I32, r);
      return {};
    }
    case Op::I64ExtendI32S:
    case Op::I64ExtendI32U:
    case Op::I32Extend8S:
    case Op::I32Extend16S:
    case Op::I64Extend8S:
    case Op::I64Extend16S:
    case Op::I64Extend32S: {
      LoadKind kind = LoadKind::S32To64;
      Class result = Class::I64;
      switch (op.op) {
        case Op::I64ExtendI32U:
          kind = LoadKind::U32To64;
          break;
        case Op::I32Extend8S:
          kind = LoadKind::S8To32;
          result = Class::I32;
          break;
        case Op::I32Extend16S:
          kind = LoadKind::S16To32;
          result = Class::I32;
          break;
        case Op::I64Extend8S:
          kind = LoadKind::S8To64;
          break;
        case Op::I64Extend16S:
          kind = LoadKind::S16To64;
          break;
        default:
          break;
      }
      Reg r = pop_to_reg();
      // i32 values are kept zero-extended, so extend_i32_u is free.
      if (kind != LoadKind::U32To64) masm_.sign_extend(r, r, kind);
      push_reg(result, r);
      return {};
    }
    case Op::F32Add:
      fp_binop(FpBinOp::Add, FpWidth::F32);
      return {};
    case Op::F32Sub:
      fp_binop(FpBinOp::Sub, FpWidth::F32);
      return {};
    case Op::F32Mul:
      fp_binop(FpBinOp::Mul, FpWidth::F32);
      return {};
    case Op::F32Div:
      fp_binop(FpBinOp::Div, FpWidth::F32);
      return {};
    case Op::F32Min:
      fp_binop(FpBinOp::Min, FpWidth::F32);
      return {};
    case Op::F32Max:
      fp_binop(FpBinOp::Max, FpWidth::F32);
      return {};
    case Op::F64Add:
      fp_binop(FpBinOp::Add, FpWidth::F64);
      return {};
    case Op::F64Sub:
      fp_binop(FpBinOp::Sub, FpWidth::F64);
      return {};
    case Op::F64Mul:
      fp_binop(FpBinOp::Mul, FpWidth::F64);
      return {};
    case Op::F64Div:
      fp_binop(FpBinOp::Div, FpWidth::F64);
      return {};
    case Op::F64Min:
      fp_binop(FpBinOp::Min, FpWidth::F64);
      return {};
    case Op::F64Max:
      fp_binop(FpBinOp::Max, FpWidth::F64);
      return {};
    case Op::F32Abs:
      fp_unop(FpUnOp::Abs, FpWidth::F32);
      return {};
    case Op::F32Neg:
      fp_unop(FpUnOp::Neg, FpWidth::F32);
      return {};
    case Op::F32Sqrt:
      fp_unop(FpUnOp::Sqrt, FpWidth::F32);
      return {};
    case Op::F32Ceil:
      fp_unop(FpUnOp::Ceil, FpWidth::F32);
      return {};
    case Op::F32Floor:
      fp_unop(FpUnOp::Floor, FpWidth::F32);
      return {};
    case Op::F32Trunc:
      fp_unop(FpUnOp::Trunc, FpWidth::F32);
      return {};
    case Op::F32Nearest:
      fp_unop(FpUnOp::Nearest, FpWidth::F32);
      return {};
    case Op::F64Abs:
      fp_unop(FpUnOp::Abs, FpWidth::F64);
      return {};
    case Op::F64Neg:
      fp_unop(FpUnOp::Neg, FpWidth::F64);
      return {};
    case Op::F64Sqrt:
      fp_unop(FpUnOp::Sqrt, FpWidth::F64);
      return {};
    case Op::F64Ceil:
      fp_unop(FpUnOp::Ceil, FpWidth::F64);
      return {};
    case Op::F64Floor:
      fp_unop(FpUnOp::Floor, FpWidth::F64);
      return {};
    case Op::F64Trunc:
      fp_unop(FpUnOp::Trunc, FpWidth::F64);
      return {};
    case Op::F64Nearest:
      fp_unop(FpUnOp::Nearest, FpWidth::F64);
      return {};
    case Op::F32Copysign:
    case Op::F64Copysign: {
      const FpWidth w = op.op == Op::F32Copysign ? FpWidth::F32 : FpWidth::F64;
      Reg rhs = pop_to_reg();
      Reg lhs = pop_to_reg();
      Reg temp = alloc(RegClass::Fp);
      masm_.fp_copysign(lhs, lhs, rhs, temp, w);
      release(temp);
      release(rhs);
      push_reg(w == FpWidth::F32 ? Class::F32 : Class::F64, lhs);
      return {};
    }
    case Op::F32Eq:
      fp_compare(FpCond::Eq, FpWidth::F32);
      return {};
    case Op::F32Ne:
      fp_compare(FpCond::Ne, FpWidth::F32);
      return {};
    case Op::F32Lt:
      fp_compare(FpCond::Lt, FpWidth::F32);
      return {};
    case Op::F32Gt:
      fp_compare(FpCond::Gt, FpWidth::F32);
      return {};
    case Op::F32Le:
      fp_compare(FpCond::Le, FpWidth::F32);
      return {};
    case Op::F32Ge:
      fp_compare(FpCond::Ge, FpWidth::F32);
      return {};
    case Op::F64Eq:
      fp_compare(FpCond::Eq, FpWidth::F64);
      return {};
    case Op::F64Ne:
      fp_compare(FpCond::Ne, FpWidth::F64);
      return {};
    case Op::F64Lt:
      fp_compare(FpCond::Lt, FpWidth::F64);
      return {};
    case Op::F64Gt:
      fp_compare(FpCond::Gt, FpWidth::F64);
      return {};
    case Op::F64Le:
      fp_compare(FpCond::Le, FpWidth::F64);
      return {};
    case Op::F64Ge:
      fp_compare(FpCond::Ge, FpWidth::F64);
      return {};
    case Op::I32TruncF32S:
      truncate({FpWidth::F32, Width::W32, true, false}, op.offset);
      return {};
    case Op::I32TruncF32U:
      truncate({FpWidth::F32, Width::W32, false, false}, op.offset);
      return {};
    case Op::I32TruncF64S:
      truncate({FpWidth::F64, Width::W32, true, false}, op.offset);
      return {};
    case Op::I32TruncF64U:
      truncate({FpWidth::F64, Width::W32, false, false}, op.offset);
      return {};
    case Op::I64TruncF32S:
      truncate({FpWidth::F32, Width::W64, true, false}, op.offset);
      return {};
    case Op::I64TruncF32U:
      truncate({FpWidth::F32, Width::W64, false, false}, op.offset);
      return {};
    case Op::I64TruncF64S:
      truncate({FpWidth::F64, Width::W64, true, false}, op.offset);
      return {};
    case Op::I64TruncF64U:
      truncate({FpWidth::F64, Width::W64, false, false}, op.offset);
      return {};
    case Op::I32TruncSatF32S:
      truncate({FpWidth::F32, Width::W32, true, true}, op.offset);
      return {};
    case Op::I32TruncSatF32U:
      truncate({FpWidth::F32, Width::W32, false, true}, op.offset);
      return {};
    case Op::I32TruncSatF64S:
      truncate({FpWidth::F64, Width::W32, true, true}, op.offset);
      return {};
    case Op::I32TruncSatF64U:
      truncate({FpWidth::F64, Width::W32, false, true}, op.offset);
      return {};
    case Op::I64TruncSatF32S:
      truncate({FpWidth::F32, Width::W64, true, true}, op.offset);
      return {};
    case Op::I64TruncSatF32U:
      truncate({FpWidth::F32, Width::W64, false, true}, op.offset);
      return {};
    case Op::I64TruncSatF64S:
      truncate({FpWidth::F64, Width::W64, true, true}, op.offset);
      return {};
    case Op::I64TruncSatF64U:
      truncate({FpWidth::F64, Width::W64, false, true}, op.offset);
      return {};
    case Op::F32ConvertI32S:
      convert_int(Width::W32, true, FpWidth::F32);
      return {};
    case Op::F32ConvertI32U:
      convert_int(Width::W32, false, FpWidth::F32);
      return {};
    case Op::F32ConvertI64S:
      convert_int(Width::W64, true, FpWidth::F32);
      return {};
    case Op::F32ConvertI64U:
      convert_int(Width::W64, false, FpWidth::F32);
      return {};
    case Op::F64ConvertI32S:
      convert_int(Width::W32, true, FpWidth::F64);
      return {};
    case Op::F64ConvertI32U:
      convert_int(Width::W32, false, FpWidth::F64);
      return {};
    case Op::F64ConvertI64S:
      convert_int(Width::W64, true, FpWidth::F64);
      return {};
    case Op::F64ConvertI64U:
      convert_int(Width::W64, false, FpWidth::F64);
      return {};
    case Op::F32DemoteF64:
    case Op::F64PromoteF32: {
      const bool promote = op.op == Op::F64PromoteF32;
      Reg r = pop_to_reg();
      masm_.fp_convert(r, r, promote ? FpWidth::F64 : FpWidth::F32);
      push_reg(promote ? Class::F64 : Class::F32, r);
      return {};
    }
    case Op::I32ReinterpretF32:
      reinterpret(Class::I32, Width::W32);
      return {};
    case Op::I64ReinterpretF64:
      reinterpret(Class::I64, Width::W64);
      return {};
    case Op::F32ReinterpretI32:
      reinterpret(Class::F32, Width::W32);
      return {};
    case Op::F64ReinterpretI64:
      reinterpret(Class::F64, Width::W64);
      return {};
    case Op::RefNull:
      push_const(Class::Ref, 0);
      return {};
    case Op::RefIsNull:
      push_const(Class::Ref, 0);
      compare(IntCond::Eq, Class::Ref);
      return {};
    case Op::RefEq:
      // eqref values are compared by identity: objects by address. This one 64-bit compare
      // holds i31ref's future representation to an unboxed value whose bits identify it.
      compare(IntCond::Eq, Class::Ref);
      return {};
    case Op::RefFunc: {
      Reg r = alloc(RegClass::Gp);
      masm_.load(r, Address::at(M::kVmctx, vm_offsets::kFuncRefs), LoadKind::I64);
      masm_.lea(r, Address::at(r, int32_t(op.index) * vm_offsets::kFuncRefSize), Width::W64);
      push_ref(r);
      return {};
    }
    case Op::TableGet:
    case Op::TableSet:
    case Op::TableSize: {
      if (module_.table_types[op.index].index_type == wasm::IndexType::I64)
        return Error("unsupported: 64-bit tables (memory64) in the JIT", op.offset);
      Reg value{};
      if (op.op == Op::TableSet) value = pop_to_reg();
      Reg table = alloc(RegClass::Gp);
      masm_.load(table, Address::at(M::kVmctx, vm_offsets::kTables), LoadKind::I64);
      masm_.load(table, Address::at(table, 8 * int32_t(op.index)), LoadKind::I64);
      if (op.op == Op::TableSize) {
        masm_.load(table, Address::at(table, vm_offsets::kTableSize), LoadKind::I32);
        push_reg(Class::I32, table);
        return {};
      }
      Reg index = pop_to_reg();
      masm_.cmp_mem(index, Address::at(table, vm_offsets::kTableSize), Width::W64);
      masm_.trap_if(IntCond::GeU, TrapCode::TableOutOfBounds, op.offset);
      masm_.load(table, Address::at(table, vm_offsets::kTableElements), LoadKind::I64);
      if (op.op == Op::TableSet) {
        masm_.store(Address{table, index, 3, 0}, value, StoreKind::I64);
        release(value);
        release(index);
        release(table);
      } else {
        masm_.load(table, Address{table, index, 3, 0}, LoadKind::I64);
        release(index);
        push_ref(table);
      }
      return {};
    }
    case Op::TableGrow: {
      if (module_.table_types[op.index].index_type == wasm::IndexType::I64)
        return Error("unsupported: 64-bit tables (memory64) in the JIT", op.offset);
      builtin_call(Builtin::TableGrow, {op.index}, 2);  // (table, init, delta)
      push_builtin_result(Class::I32);
      return {};
    }
    case Op::TableFill:
      builtin_call(Builtin::TableFill, {op.index}, 3);
      trap_on_builtin_failure(TrapCode::TableOutOfBounds, op.offset);
      return {};
    case Op::TableCopy:
      builtin_call(Builtin::TableCopy, {op.index, op.index2}, 3);
      trap_on_builtin_failure(TrapCode::TableOutOfBounds, op.offset);
      return {};
    case Op::TableInit:
      builtin_call(Builtin::TableInit, {op.index2, op.index}, 3);  // (table, elem, ...)
      trap_on_builtin_failure(TrapCode::TableOutOfBounds, op.offset);
      return {};
    case Op::ElemDrop:
      builtin_call(Builtin::ElemDrop, {op.index}, 0);
      return {};
    case Op::MemoryFill:
      builtin_call(Builtin::MemoryFill, {op.index}, 3);
      trap_on_builtin_failure(TrapCode::MemoryOutOfBounds, op.offset);
      return {};
    case Op::MemoryCopy:
      builtin_call(Builtin::MemoryCopy, {op.index, op.index2}, 3);
      trap_on_builtin_failure(TrapCode::MemoryOutOfBounds, op.offset);
      return {};
    case Op::MemoryInit:
      builtin_call(Builtin::MemoryInit, {op.index2, op.index}, 3);  // (memory, data, ...)
      trap_on_builtin_failure(TrapCode::MemoryOutOfBounds, op.offset);
      return {};
    case Op::DataDrop:
      builtin_call(Builtin::DataDrop, {op.index}, 0);
      return {};
    case Op::MemorySize: {
      const wasm::MemoryType& memory = module_.memories[op.index];
      Reg r = alloc(RegClass::Gp);
      if (op.index == 0) {
        masm_.load(r, Address::at(M::kVmctx, vm_offsets::kMemory0), LoadKind::I64);
      } else {
        masm_.load(r, Address::at(M::kVmctx, vm_offsets::kMemories), LoadKind::I64);
        masm_.load(r, Address::at(r, 8 * int32_t(op.index)), LoadKind::I64);
      }
      masm_.load(r, Address::at(r, vm_offsets::kMemorySize), LoadKind::I64);
      masm_.shift_imm(ShiftOp::ShrU, r, r, memory.page_size_log2, Width::W64);
      push_reg(memory.index_type == wasm::IndexType::I64 ? Class::I64 : Class::I32, r);
      return {};
    }
    case Op::MemoryGrow: {
      const wasm::MemoryType& memory = module_.memories[op.index];
      const bool wide = memory.index_type == wasm::IndexType::I64;
      spill_all();
      load_into(M::kCArgs[2], uint32_t(stack_.size() - 1));
      stack_.pop_back();
      masm_.mov(M::kCArgs[0], M::kVmctx, Width::W64);
      masm_.mov_imm(M::kCArgs[1], op.index, Width::W32);
      call_builtin(Builtin::MemoryGrow);
      reset_registers();
      Reg r = alloc(RegClass::Gp);
      masm_.mov(r, M::kCReturn, wide ? Width::W64 : Width::W32);
      if (!wide) masm_.sign_extend(r, r, LoadKind::U32To64);
      push_reg(wide ? Class::I64 : Class::I32, r);
      return {};
    }
    default:
      break;
  }
  if (wasm::opcode_info(op.op).prefix == 0xFE) return lower_atomic(op);
  if (wasm::opcode_info(op.op).imm == wasm::ImmKind::MemArg) return lower_memory(op);
  return unsupported(op);
}

}  // namespace

Result<CompiledFunction> compile_function(const wasm::ModuleTypes& types, uint32_t defined_index,
                                          wasm::FuncValidator& scratch,
                                          const CompileOptions& options) {
  FunctionCompiler<x64::X64Masm> compiler(types, scratch);
  return compiler.compile(defined_index, options);
}

struct CompileScratch::State {
  explicit State(const wasm::ModuleTypes& types) : validator(types), compiler(types, validator) {}
  wasm::FuncValidator validator;
  FunctionCompiler<x64::X64Masm> compiler;
};

CompileScratch::CompileScratch(const wasm::ModuleTypes& types)
    : state_(std::make_unique<State>(types)) {}
CompileScratch::~CompileScratch() = default;

Result<CompiledFunction> compile_function(uint32_t defined_index, CompileScratch& scratch,
                                          const CompileOptions& options) {
  return scratch.state_->compiler.compile(defined_index, options);
}

}  // namespace kiln::jit

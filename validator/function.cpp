// Function-body validation: the operand and control stacks, driven one operator at a time.
//
// Operators with a fixed signature in decoder/opcodes.def are typed from a table built once
// from the signature strings; memory accesses derive theirs from the mnemonic (the address type
// depends on the memory); everything else is a handler selected by the operator's encoding.
#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <string>

#include "validator/validator.hpp"

namespace kiln::wasm {

namespace {

enum Handler : uint8_t {
  kSimple,  // fixed signature
  kLane,    // fixed signature + lane index below `lanes`
  kShuffle,
  kMemory,  // loads, stores, atomics (address type from the memory)
  kUnsupported,
  // Control.
  kUnreachable,
  kBlock,
  kLoop,
  kIf,
  kElse,
  kEnd,
  kBr,
  kBrIf,
  kBrTable,
  kReturn,
  kCall,
  kCallIndirect,
  kReturnCall,
  kReturnCallIndirect,
  kCallRef,
  kReturnCallRef,
  kDrop,
  kSelect,
  kSelectTyped,
  kThrow,
  kThrowRef,
  kTryTable,
  kTry,
  kCatch,
  kCatchAll,
  kDelegate,
  kRethrow,
  // Variables.
  kLocalGet,
  kLocalSet,
  kLocalTee,
  kGlobalGet,
  kGlobalSet,
  // Tables and memories.
  kTableGet,
  kTableSet,
  kTableSize,
  kTableGrow,
  kTableFill,
  kTableCopy,
  kTableInit,
  kElemDrop,
  kMemorySize,
  kMemoryGrow,
  kMemoryFill,
  kMemoryCopy,
  kMemoryInit,
  kDataDrop,
  // References.
  kRefNull,
  kRefIsNull,
  kRefFunc,
  kRefEq,
  kRefAsNonNull,
  kBrOnNull,
  kBrOnNonNull,
  kRefTest,
  kRefTestNull,
  kRefCast,
  kRefCastNull,
  kBrOnCast,
  kBrOnCastFail,
  kAnyConvertExtern,
  kExternConvertAny,
  kRefI31,
  kI31Get,
  // GC aggregates.
  kStructNew,
  kStructNewDefault,
  kStructGet,
  kStructGetPacked,
  kStructSet,
  kArrayNew,
  kArrayNewDefault,
  kArrayNewFixed,
  kArrayNewData,
  kArrayNewElem,
  kArrayGet,
  kArrayGetPacked,
  kArraySet,
  kArrayLen,
  kArrayFill,
  kArrayCopy,
  kArrayInitData,
  kArrayInitElem,
};

struct SpecialEncoding {
  uint8_t prefix;
  uint32_t code;
  Handler handler;
};

constexpr SpecialEncoding kSpecials[] = {
    {0x00, 0x00, kUnreachable},
    {0x00, 0x02, kBlock},
    {0x00, 0x03, kLoop},
    {0x00, 0x04, kIf},
    {0x00, 0x05, kElse},
    {0x00, 0x06, kTry},
    {0x00, 0x07, kCatch},
    {0x00, 0x08, kThrow},
    {0x00, 0x09, kRethrow},
    {0x00, 0x0A, kThrowRef},
    {0x00, 0x0B, kEnd},
    {0x00, 0x0C, kBr},
    {0x00, 0x0D, kBrIf},
    {0x00, 0x0E, kBrTable},
    {0x00, 0x0F, kReturn},
    {0x00, 0x10, kCall},
    {0x00, 0x11, kCallIndirect},
    {0x00, 0x12, kReturnCall},
    {0x00, 0x13, kReturnCallIndirect},
    {0x00, 0x14, kCallRef},
    {0x00, 0x15, kReturnCallRef},
    {0x00, 0x18, kDelegate},
    {0x00, 0x19, kCatchAll},
    {0x00, 0x1A, kDrop},
    {0x00, 0x1B, kSelect},
    {0x00, 0x1C, kSelectTyped},
    {0x00, 0x1F, kTryTable},
    {0x00, 0x20, kLocalGet},
    {0x00, 0x21, kLocalSet},
    {0x00, 0x22, kLocalTee},
    {0x00, 0x23, kGlobalGet},
    {0x00, 0x24, kGlobalSet},
    {0x00, 0x25, kTableGet},
    {0x00, 0x26, kTableSet},
    {0x00, 0x3F, kMemorySize},
    {0x00, 0x40, kMemoryGrow},
    {0x00, 0xD0, kRefNull},
    {0x00, 0xD1, kRefIsNull},
    {0x00, 0xD2, kRefFunc},
    {0x00, 0xD3, kRefEq},
    {0x00, 0xD4, kRefAsNonNull},
    {0x00, 0xD5, kBrOnNull},
    {0x00, 0xD6, kBrOnNonNull},
    {0xFB, 0, kStructNew},
    {0xFB, 1, kStructNewDefault},
    {0xFB, 2, kStructGet},
    {0xFB, 3, kStructGetPacked},
    {0xFB, 4, kStructGetPacked},
    {0xFB, 5, kStructSet},
    {0xFB, 6, kArrayNew},
    {0xFB, 7, kArrayNewDefault},
    {0xFB, 8, kArrayNewFixed},
    {0xFB, 9, kArrayNewData},
    {0xFB, 10, kArrayNewElem},
    {0xFB, 11, kArrayGet},
    {0xFB, 12, kArrayGetPacked},
    {0xFB, 13, kArrayGetPacked},
    {0xFB, 14, kArraySet},
    {0xFB, 15, kArrayLen},
    {0xFB, 16, kArrayFill},
    {0xFB, 17, kArrayCopy},
    {0xFB, 18, kArrayInitData},
    {0xFB, 19, kArrayInitElem},
    {0xFB, 20, kRefTest},
    {0xFB, 21, kRefTestNull},
    {0xFB, 22, kRefCast},
    {0xFB, 23, kRefCastNull},
    {0xFB, 24, kBrOnCast},
    {0xFB, 25, kBrOnCastFail},
    {0xFB, 26, kAnyConvertExtern},
    {0xFB, 27, kExternConvertAny},
    {0xFB, 28, kRefI31},
    {0xFB, 29, kI31Get},
    {0xFB, 30, kI31Get},
    {0xFC, 8, kMemoryInit},
    {0xFC, 9, kDataDrop},
    {0xFC, 10, kMemoryCopy},
    {0xFC, 11, kMemoryFill},
    {0xFC, 12, kTableInit},
    {0xFC, 13, kElemDrop},
    {0xFC, 14, kTableCopy},
    {0xFC, 15, kTableGrow},
    {0xFC, 16, kTableSize},
    {0xFC, 17, kTableFill},
};

// The operators allowed in constant expressions (by encoding).
bool is_constant_operator(uint8_t prefix, uint32_t code) {
  if (prefix == 0x00) {
    switch (code) {
      case 0x0B:  // end
      case 0x23:  // global.get
      case 0x41:
      case 0x42:
      case 0x43:
      case 0x44:  // t.const
      case 0x6A:
      case 0x6B:
      case 0x6C:  // i32.add/sub/mul
      case 0x7C:
      case 0x7D:
      case 0x7E:  // i64.add/sub/mul
      case 0xD0:  // ref.null
      case 0xD2:  // ref.func
        return true;
      default:
        return false;
    }
  }
  if (prefix == 0xFB) return code <= 1 || (code >= 6 && code <= 8) || (code >= 26 && code <= 28);
  if (prefix == 0xFD) return code == 12;  // v128.const
  return false;
}

constexpr ValType kI32 = ValType::i32();
constexpr ValType kI64 = ValType::i64();
constexpr ValType kBottom = {ValKind::Bottom};
constexpr ValType kExnRef = ValType::exnref();

}  // namespace

struct OpRule {
  uint8_t handler = kUnsupported;
  uint8_t pop_count = 0;
  uint8_t push_count = 0;
  uint8_t lanes = 0;
  bool numeric_only = true;  // every operand is a number/vector: compare kinds only
  bool constant = false;
  bool atomic = false;        // memory accesses: alignment must be exactly natural
  uint8_t natural_bytes = 0;  // memory accesses: the access width
  Proposal proposal = Proposal::Mvp;
  std::array<ValType, 4> pops{};  // in operand order (pops[0] is deepest)
  std::array<ValType, 2> pushes{};
};

namespace {

std::optional<ValType> parse_type_token(std::string_view token) {
  if (token == "i32") return ValType::i32();
  if (token == "i64") return ValType::i64();
  if (token == "f32") return ValType::f32();
  if (token == "f64") return ValType::f64();
  if (token == "v128") return ValType::v128();
  auto nullable = [](HeapKind kind) { return ValType::ref({kind, 0}, true); };
  if (token == "funcref") return nullable(HeapKind::Func);
  if (token == "externref") return nullable(HeapKind::Extern);
  if (token == "exnref") return nullable(HeapKind::Exn);
  if (token == "anyref") return nullable(HeapKind::Any);
  if (token == "eqref") return nullable(HeapKind::Eq);
  if (token == "i31ref") return nullable(HeapKind::I31);
  if (token == "structref") return nullable(HeapKind::Struct);
  if (token == "arrayref") return nullable(HeapKind::Array);
  return std::nullopt;
}

// "i32 i32 -> i32" into the rule; false when a token is unknown or too many.
bool parse_signature(std::string_view sig, OpRule& rule) {
  size_t arrow = sig.find("->");
  if (arrow == std::string_view::npos) return false;
  auto parse_list = [](std::string_view list, auto& out, uint8_t& count, bool& numeric) {
    count = 0;
    size_t pos = 0;
    while (pos < list.size()) {
      while (pos < list.size() && list[pos] == ' ') ++pos;
      size_t end = list.find(' ', pos);
      if (end == std::string_view::npos) end = list.size();
      if (end > pos) {
        auto type = parse_type_token(list.substr(pos, end - pos));
        if (!type || count >= out.size()) return false;
        if (type->is_ref()) numeric = false;
        out[count++] = *type;
      }
      pos = end;
    }
    return true;
  };
  bool numeric = true;
  bool ok = parse_list(sig.substr(0, arrow), rule.pops, rule.pop_count, numeric) &&
            parse_list(sig.substr(arrow + 2), rule.pushes, rule.push_count, numeric);
  rule.numeric_only = numeric;
  return ok;
}

std::optional<ValType> type_prefix(std::string_view mnemonic) {
  return parse_type_token(mnemonic.substr(0, mnemonic.find('.')));
}

// Memory accesses: pops[0] is the address placeholder, replaced by the memory's index type.
bool memory_signature(const OpcodeInfo& info, OpRule& rule) {
  std::string_view m = info.mnemonic;
  auto contains = [&](std::string_view part) { return m.find(part) != std::string_view::npos; };
  rule.pops[0] = kI32;
  rule.pop_count = 1;
  rule.push_count = 0;
  auto pop = [&](ValType t) { rule.pops[rule.pop_count++] = t; };
  auto push = [&](ValType t) { rule.pushes[rule.push_count++] = t; };
  if (m == "memory.atomic.notify") {
    pop(kI32);
    push(kI32);
    return true;
  }
  if (m == "memory.atomic.wait32" || m == "memory.atomic.wait64") {
    pop(m.back() == '2' ? kI32 : kI64);
    pop(kI64);
    push(kI32);
    return true;
  }
  auto type = type_prefix(m);
  if (!type) return false;
  if (contains("_lane")) {
    pop(ValType::v128());
    if (contains(".load")) push(ValType::v128());
    rule.lanes = uint8_t(16 / (info.memory_bytes ? info.memory_bytes : 16));
    return true;
  }
  if (contains(".load")) {
    push(*type);
  } else if (contains(".store")) {
    pop(*type);
  } else if (contains("cmpxchg")) {
    pop(*type);
    pop(*type);
    push(*type);
  } else if (contains(".rmw")) {
    pop(*type);
    push(*type);
  } else {
    return false;
  }
  return true;
}

uint8_t lanes_of_shape(std::string_view mnemonic) {
  if (mnemonic.starts_with("i8x16")) return 16;
  if (mnemonic.starts_with("i16x8")) return 8;
  if (mnemonic.starts_with("i32x4") || mnemonic.starts_with("f32x4")) return 4;
  if (mnemonic.starts_with("i64x2") || mnemonic.starts_with("f64x2")) return 2;
  return 0;
}

// The kinds of FastOp (validator.hpp): one-byte operators that validate_body types straight
// from the bytes. kFastSlow must stay 0 (a default FastOp is slow).
enum FastKind : uint8_t {
  kFastSlow = 0,
  kFastNop,
  kFastUnary,   // pop0 -> push
  kFastBinary,  // pop0 pop1 -> push
  kFastI32Const,
  kFastI64Const,
  kFastF32Const,
  kFastF64Const,
  kFastLoad,   // address -> push
  kFastStore,  // address pop1 ->
  kFastLocalGet,
  kFastLocalSet,
  kFastLocalTee,
  kFastGlobalGet,
  kFastGlobalSet,
  kFastBlock,
  kFastLoop,
  kFastIf,
  kFastElse,
  kFastEnd,
  kFastBr,
  kFastBrIf,
  kFastReturn,
  kFastCall,
  kFastCallIndirect,
  kFastDrop,
  kFastSelect,
  kFastUnreachable,
  kFastPrefixFC,  // the 0xFC prefix: the second byte selects a kPrefixFCOps entry
  kFastMemoryCopy,
  kFastMemoryFill,
  kFastKindCount,
};

// The 0xFC operators with a fast entry (saturating truncations, memory.copy, memory.fill) have
// one-byte codes below this.
constexpr uint32_t kPrefixFCOps = 32;
constexpr uint8_t kEmptyBlockType = 0x40;
constexpr uint8_t kPrefixFC = 0xFC;

// The fast entry of a one-byte operator, from its rule; kFastSlow when it has none.
FastOp fast_op_of(const OpcodeInfo& info, const OpRule& rule) {
  FastOp fast;
  auto kind_of = [&](Handler handler) -> FastKind {
    switch (handler) {
      case kUnreachable:
        return kFastUnreachable;
      case kBlock:
        return kFastBlock;
      case kLoop:
        return kFastLoop;
      case kIf:
        return kFastIf;
      case kElse:
        return kFastElse;
      case kEnd:
        return kFastEnd;
      case kBr:
        return kFastBr;
      case kBrIf:
        return kFastBrIf;
      case kReturn:
        return kFastReturn;
      case kCall:
        return kFastCall;
      case kCallIndirect:
        return kFastCallIndirect;
      case kDrop:
        return kFastDrop;
      case kSelect:
        return kFastSelect;
      case kLocalGet:
        return kFastLocalGet;
      case kLocalSet:
        return kFastLocalSet;
      case kLocalTee:
        return kFastLocalTee;
      case kGlobalGet:
        return kFastGlobalGet;
      case kGlobalSet:
        return kFastGlobalSet;
      case kMemoryCopy:
        return kFastMemoryCopy;
      case kMemoryFill:
        return kFastMemoryFill;
      default:
        return kFastSlow;
    }
  };
  if (info.prefix != 0 && info.prefix != kPrefixFC) return fast;
  if (rule.handler == kSimple && rule.numeric_only) {
    if (info.imm == ImmKind::None) {
      if (rule.pop_count == 0 && rule.push_count == 0) fast.kind = kFastNop;
      if (rule.pop_count == 1 && rule.push_count == 1) fast.kind = kFastUnary;
      if (rule.pop_count == 2 && rule.push_count == 1) fast.kind = kFastBinary;
    } else if (rule.pop_count == 0 && rule.push_count == 1) {
      if (info.imm == ImmKind::I32) fast.kind = kFastI32Const;
      if (info.imm == ImmKind::I64) fast.kind = kFastI64Const;
      if (info.imm == ImmKind::F32) fast.kind = kFastF32Const;
      if (info.imm == ImmKind::F64) fast.kind = kFastF64Const;
    }
  } else if (rule.handler == kMemory && !rule.atomic && info.imm == ImmKind::MemArg) {
    if (rule.pop_count == 1 && rule.push_count == 1) fast.kind = kFastLoad;
    if (rule.pop_count == 2 && rule.push_count == 0) fast.kind = kFastStore;
    fast.align_limit = uint8_t(std::countr_zero(unsigned(rule.natural_bytes)));
  } else {
    fast.kind = kind_of(Handler(rule.handler));
  }
  if (rule.pop_count > 0) fast.pop0 = rule.pops[0].kind;
  if (rule.pop_count > 1) fast.pop1 = rule.pops[1].kind;
  if (rule.push_count > 0) fast.push = rule.pushes[0].kind;
  return fast;
}

struct RuleTable {
  std::vector<OpRule> rules;
  std::array<FastOp, 256> fast{};  // by opcode byte
  std::array<Proposal, 256> fast_proposal{};
  std::array<FastOp, kPrefixFCOps> fast_fc{};  // by the code after 0xFC
  std::array<Proposal, kPrefixFCOps> fast_fc_proposal{};
  RuleTable() {
    auto ops = all_opcodes();
    rules.resize(ops.size());
    for (const OpcodeInfo& info : ops) {
      OpRule& rule = rules[size_t(info.op)];
      rule.proposal = info.proposal;
      rule.constant = is_constant_operator(info.prefix, info.code);
      bool special = false;
      for (const SpecialEncoding& s : kSpecials) {
        if (s.prefix == info.prefix && s.code == info.code) {
          rule.handler = s.handler;
          special = true;
          break;
        }
      }
      if (special) continue;
      if (info.imm == ImmKind::MemArg || info.imm == ImmKind::MemArgLane) {
        rule.handler = memory_signature(info, rule) ? kMemory : kUnsupported;
        rule.atomic = info.prefix == 0xFE;
        rule.natural_bytes = info.memory_bytes;
        continue;
      }
      if (info.signature.empty() || !parse_signature(info.signature, rule)) {
        rule.handler = kUnsupported;
        continue;
      }
      rule.handler = kSimple;
      if (info.imm == ImmKind::Lane) {
        rule.handler = kLane;
        rule.lanes = lanes_of_shape(info.mnemonic);
      } else if (info.imm == ImmKind::Shuffle) {
        rule.handler = kShuffle;
      }
    }
    for (const OpcodeInfo& info : ops) {
      if (info.prefix == 0) {
        fast[info.code] = fast_op_of(info, rules[size_t(info.op)]);
        fast_proposal[info.code] = info.proposal;
      } else if (info.prefix == kPrefixFC && info.code < kPrefixFCOps) {
        fast_fc[info.code] = fast_op_of(info, rules[size_t(info.op)]);
        fast_fc_proposal[info.code] = info.proposal;
      }
    }
    fast[kPrefixFC].kind = kFastPrefixFC;
  }
};

const RuleTable& rule_table() {
  static const RuleTable table;
  return table;
}

std::string type_list(std::span<const ValType> types) {
  std::string out;
  for (const ValType& type : types) {
    if (!out.empty()) out += ' ';
    out += val_type_name(type);
  }
  return out;
}

bool is_defaultable(ValType type) {
  return type.kind != ValKind::Ref || type.nullable;
}

ValType unpacked(const FieldType& field) {
  return field.packed == PackedKind::None ? field.type : kI32;
}

bool is_numeric_or_vector(ValType type) {
  return type.kind == ValKind::I32 || type.kind == ValKind::I64 || type.kind == ValKind::F32 ||
         type.kind == ValKind::F64 || type.kind == ValKind::V128;
}

}  // namespace

FuncValidator::FuncValidator(const ModuleTypes& types)
    : types_(types), module_(types.module()), rules_(rule_table().rules.data()) {
  for (unsigned p = 0; p < 32; ++p)
    if (types.features().has(Proposal(p))) enabled_proposals_ |= uint32_t(1) << p;
  // Operators of proposals that are off keep the general path, which reports them.
  const RuleTable& table = rule_table();
  for (size_t byte = 0; byte < 256; ++byte)
    if (types.features().has(table.fast_proposal[byte])) fast_ops_[byte] = table.fast[byte];
  for (size_t code = 0; code < kPrefixFCOps; ++code)
    if (types.features().has(table.fast_fc_proposal[code]))
      fast_fc_ops_[code] = table.fast_fc[code];
  stack_.reserve(256);
  frames_.reserve(32);
  init_log_.reserve(16);
}

Error FuncValidator::mismatch(uint32_t offset, ValType expected, const ValType* actual) const {
  return Error("type mismatch: instruction requires [" + val_type_name(expected) + "] but stack has [" +
                   (actual ? val_type_name(*actual) : std::string()) + "]",
               offset);
}

Result<void> FuncValidator::reset(uint32_t func_index, std::span<const LocalRun> locals) {
  stack_.clear();
  frames_.clear();
  init_log_.clear();
  locals_.clear();
  local_initialized_.clear();
  const_mode_ = false;
  ended_ = false;
  if (func_index >= module_.func_types.size())
    return Error("unknown function " + std::to_string(func_index), 0);
  const FuncType& type = types_.func_type(func_index);
  uint64_t total = type.params.size();
  for (const LocalRun& run : locals) {
    total += run.count;
    if (total > kMaxFunctionLocals)
      return Error("too many locals (at most " + std::to_string(kMaxFunctionLocals) +
                       ", parameters included)",
                   0);
  }
  locals_.reserve(size_t(total));
  locals_.assign(type.params.begin(), type.params.end());
  bool all_defaultable = true;
  for (const LocalRun& run : locals) {
    if (!is_numeric_or_vector(run.type)) {  // references name types that must exist
      if (auto r = types_.check_val_type(run.type, 0); !r) return r;
      all_defaultable &= is_defaultable(run.type);
    }
    locals_.insert(locals_.end(), run.count, run.type);
  }
  // Params and defaultable locals start initialised; only non-nullable references do not.
  local_initialized_.assign(locals_.size(), 1);
  if (!all_defaultable)
    for (size_t i = type.params.size(); i < locals_.size(); ++i)
      local_initialized_[i] = is_defaultable(locals_[i]);
  ControlFrame frame;
  frame.kind = FrameKind::Function;
  frame.result_data = type.results.data();
  frame.result_count = uint32_t(type.results.size());
  frames_.push_back(frame);
  func_results_ = type.results;
  return {};
}

void FuncValidator::reset_const_expr(ValType result, uint32_t visible_globals) {
  stack_.clear();
  frames_.clear();
  init_log_.clear();
  locals_.clear();
  local_initialized_.clear();
  const_mode_ = true;
  ended_ = false;
  visible_globals_ = visible_globals;
  ControlFrame frame;
  frame.kind = FrameKind::ConstExpr;
  frame.block.kind = BlockType::Kind::Value;
  frame.block.value = result;
  frames_.push_back(frame);
  func_results_ = frames_.back().results();
}

Result<void> FuncValidator::finish(uint32_t end_offset) {
  if (!ended_) return Error("unexpected end of section or function", end_offset);
  return {};
}

// ---- Operand stack ----------------------------------------------------------------------------

Result<ValType> FuncValidator::pop(uint32_t offset) {
  const ControlFrame& frame = frames_.back();
  if (stack_.size() == frame.height) {
    if (frame.unreachable) return kBottom;
    return Error("type mismatch: instruction requires a value but stack is empty", offset);
  }
  ValType top = stack_.back();
  stack_.pop_back();
  return top;
}

Result<ValType> FuncValidator::pop_expect(uint32_t offset, ValType expected) {
  const ControlFrame& frame = frames_.back();
  if (stack_.size() == frame.height) {
    if (frame.unreachable) return kBottom;
    return mismatch(offset, expected, nullptr);
  }
  ValType top = stack_.back();
  if (top.kind != ValKind::Bottom && !types_.is_subtype(top, expected))
    return mismatch(offset, expected, &top);
  stack_.pop_back();
  return top;
}

Result<ValType> FuncValidator::pop_ref(uint32_t offset) {
  auto v = pop(offset);
  if (!v) return v;
  if (v.ok().kind != ValKind::Ref && v.ok().kind != ValKind::Bottom)
    return Error(
        "type mismatch: instruction requires a reference but stack has [" + val_type_name(v.ok()) + "]",
        offset);
  return v;
}

Result<void> FuncValidator::pop_values(uint32_t offset, std::span<const ValType> types) {
  for (size_t i = types.size(); i-- > 0;) {
    auto r = pop_expect(offset, types[i]);
    if (!r) return std::move(r).err();
  }
  return {};
}

void FuncValidator::push_values(std::span<const ValType> types) {
  stack_.append(types);
}

Result<void> FuncValidator::check_branch_values(uint32_t offset, std::span<const ValType> types) {
  const ControlFrame& frame = frames_.back();
  size_t available = stack_.size() - frame.height;
  for (size_t i = 0; i < types.size(); ++i) {
    const ValType& expected = types[types.size() - 1 - i];
    if (i >= available) {
      if (frame.unreachable) return {};
      return mismatch(offset, expected, nullptr);
    }
    const ValType& actual = stack_[stack_.size() - 1 - i];
    if (actual.kind != ValKind::Bottom && !types_.is_subtype(actual, expected))
      return mismatch(offset, expected, &actual);
  }
  return {};
}

inline void FuncValidator::set_unreachable() {
  ControlFrame& frame = frames_.back();
  stack_.shrink_to(frame.height);
  frame.unreachable = true;
}

// ---- Control stack ----------------------------------------------------------------------------

Result<void> FuncValidator::block_signature(uint32_t offset, const BlockType& block,
                                            ControlFrame& frame) {
  frame.block = block;
  switch (block.kind) {
    case BlockType::Kind::Empty:
      return {};
    case BlockType::Kind::Value:
      return types_.check_val_type(block.value, offset);
    case BlockType::Kind::TypeIndex: {
      if (block.type_index >= module_.types.size() ||
          module_.types[block.type_index].kind != CompositeKind::Func)
        return Error("unknown type " + std::to_string(block.type_index), offset);
      const FuncType& type = module_.types[block.type_index].func;
      frame.param_data = type.params.data();
      frame.param_count = uint32_t(type.params.size());
      frame.result_data = type.results.data();
      frame.result_count = uint32_t(type.results.size());
      return {};
    }
  }
  return {};
}

Result<void> FuncValidator::push_frame(uint32_t offset, FrameKind kind, const BlockType& block,
                                       bool pop_condition) {
  if (frames_.size() > kMaxControlDepth)  // the function's own frame is not a block
    return Error("nesting too deep (at most " + std::to_string(kMaxControlDepth) + " blocks)",
                 offset);
  ControlFrame frame;
  frame.kind = kind;
  frame.offset = offset;
  if (auto r = block_signature(offset, block, frame); !r) return r;
  if (pop_condition) {
    if (auto r = pop_expect(offset, kI32); !r) return std::move(r).err();
  }
  if (auto r = pop_values(offset, frame.params()); !r) return r;
  frame.height = uint32_t(stack_.size());
  frame.init_height = uint32_t(init_log_.size());
  frames_.push_back(frame);
  push_values(frames_.back().params());
  return {};
}

void FuncValidator::undo_local_inits(uint32_t height) {
  while (init_log_.size() > height) {
    local_initialized_[init_log_.back()] = 0;
    init_log_.pop_back();
  }
}

Result<void> FuncValidator::check_frame_end(uint32_t offset) {
  const ControlFrame& frame = frames_.back();
  auto results = frame.results();
  size_t available = stack_.size() - frame.height;
  if (!check_branch_values(offset, results)) {
    // The reference interpreter's wording: the expected results against the values on top.
    size_t shown = std::min(available, results.size());
    return Error("type mismatch: instruction requires [" + type_list(results) +
                     "] but stack has [" + type_list(stack_.view(stack_.size() - shown)) + "]",
                 offset);
  }
  if (available > results.size())
    return Error("type mismatch: block requires [" + type_list(results) + "] but stack has [" +
                     type_list(stack_.view(frame.height)) + "]",
                 offset);
  stack_.shrink_to(frame.height);
  return {};
}

Result<const ControlFrame*> FuncValidator::label(uint32_t offset, uint32_t depth) {
  if (depth >= frames_.size()) return Error("unknown label", offset);
  return &frames_[frames_.size() - 1 - depth];
}

// ---- Immediates -------------------------------------------------------------------------------

Result<const FuncType*> FuncValidator::func_type_at(uint32_t offset, uint32_t type_index) {
  if (type_index >= module_.types.size())
    return Error("unknown type " + std::to_string(type_index), offset);
  if (module_.types[type_index].kind != CompositeKind::Func)
    return Error("type mismatch: type " + std::to_string(type_index) + " is not a function type",
                 offset);
  return &module_.types[type_index].func;
}

Result<const StructType*> FuncValidator::struct_type(uint32_t offset, uint32_t type_index) {
  if (type_index >= module_.types.size())
    return Error("unknown type " + std::to_string(type_index), offset);
  if (module_.types[type_index].kind != CompositeKind::Struct)
    return Error("type mismatch: type " + std::to_string(type_index) + " is not a struct type",
                 offset);
  return &module_.types[type_index].struct_;
}

Result<const ArrayType*> FuncValidator::array_type(uint32_t offset, uint32_t type_index) {
  if (type_index >= module_.types.size())
    return Error("unknown type " + std::to_string(type_index), offset);
  if (module_.types[type_index].kind != CompositeKind::Array)
    return Error("type mismatch: type " + std::to_string(type_index) + " is not an array type",
                 offset);
  return &module_.types[type_index].array;
}

Result<ValType> FuncValidator::memory_index_type(uint32_t offset, uint32_t memory) {
  if (memory >= module_.memories.size())
    return Error("unknown memory " + std::to_string(memory), offset);
  return module_.memories[memory].index_type == IndexType::I64 ? kI64 : kI32;
}

Result<ValType> FuncValidator::table_index_type(uint32_t offset, uint32_t table) {
  if (table >= module_.table_types.size())
    return Error("unknown table " + std::to_string(table), offset);
  return module_.table_types[table].index_type == IndexType::I64 ? kI64 : kI32;
}

Result<void> FuncValidator::check_data_index(uint32_t offset, uint32_t index) {
  // Index first: a module that has no data count section may still name a segment that does
  // not exist, and the testsuite (whose text-to-binary adds the section) expects that wording.
  uint64_t count = module_.data_count ? *module_.data_count : module_.data.size();
  if (index >= count) return Error("unknown data segment " + std::to_string(index), offset);
  if (!module_.data_count) return Error("data count section required", offset);
  return {};
}

Result<const ElementSegment*> FuncValidator::elem_segment(uint32_t offset, uint32_t index) {
  if (index >= module_.elements.size())
    return Error("unknown elem segment " + std::to_string(index), offset);
  return &module_.elements[index];
}

Result<void> FuncValidator::check_return_call(uint32_t offset, const FuncType& callee) {
  if (callee.results.size() != func_results_.size())
    return Error("type mismatch: return_call results differ from the caller's", offset);
  for (size_t i = 0; i < callee.results.size(); ++i)
    if (!types_.is_subtype(callee.results[i], func_results_[i]))
      return Error("type mismatch: return_call results differ from the caller's", offset);
  return {};
}

// ---- The visitor ------------------------------------------------------------------------------

Result<void> FuncValidator::visit(const Operator& op) {
  const OpRule& rule = rules_[size_t(op.op)];
  if (ended_) return Error("operators after the function's end", op.offset);
  if (!(enabled_proposals_ >> unsigned(rule.proposal) & 1)) [[unlikely]]
    return Error(std::string(opcode_info(op.op).mnemonic) + " requires the " +
                     std::string(proposal_name(rule.proposal)) + " proposal",
                 op.offset);
  if (const_mode_ && !rule.constant) return Error("constant expression required", op.offset);

  // Hot paths for the most frequent operators; anything unusual (errors included) falls
  // through to the general handler, which re-checks from scratch.
  const ControlFrame& frame = frames_.back();
  switch (rule.handler) {
    case kSimple:
      if (rule.numeric_only) {
        size_t n = rule.pop_count;
        if (stack_.size() >= frame.height + n) {
          bool match = true;
          for (size_t i = 0; i < n; ++i)
            match &= stack_[stack_.size() - n + i].kind == rule.pops[i].kind;
          if (match) {
            stack_.shrink_to(stack_.size() - n);
            for (size_t i = 0; i < rule.push_count; ++i) stack_.push_back(rule.pushes[i]);
            return {};
          }
        }
      }
      break;
    case kMemory: {
      // Loads, stores and atomics: numeric operands after an address of the memory's type.
      if (op.memarg.memory >= module_.memories.size()) break;
      const MemoryType& memory = module_.memories[op.memarg.memory];
      uint32_t natural = rule.natural_bytes;
      uint64_t align = uint64_t(1) << (op.memarg.align_log2 & 63);
      if (op.memarg.align_log2 >= 32 || align > natural || (rule.atomic && align != natural)) break;
      bool memory64 = memory.index_type == IndexType::I64;
      if (!memory64 && op.memarg.offset > 0xFFFFFFFFull) break;
      if (rule.lanes && op.lane >= rule.lanes) break;
      size_t n = rule.pop_count;
      if (stack_.size() < frame.height + n) break;
      size_t base = stack_.size() - n;
      if (stack_[base].kind != (memory64 ? ValKind::I64 : ValKind::I32)) break;
      bool match = true;
      for (size_t i = 1; i < n; ++i) match &= stack_[base + i].kind == rule.pops[i].kind;
      if (!match) break;
      stack_.shrink_to(base);
      for (size_t i = 0; i < rule.push_count; ++i) stack_.push_back(rule.pushes[i]);
      return {};
    }
    case kEnd:
      // A block (not an `if`, whose missing else has its own rule) ending with exactly its
      // numeric results: the values stay where they are.
      if (frame.kind != FrameKind::If && init_log_.size() == frame.init_height &&
          stack_.size() == frame.height + frame.results().size() &&
          top_matches_numeric(frame.results(), 0)) {
        frames_.pop_back();
        if (frames_.empty()) ended_ = true;
        return {};
      }
      break;
    case kBrIf:
      if (op.index < frames_.size() && stack_.size() > frame.height &&
          stack_.back().kind == ValKind::I32 &&
          top_matches_numeric(frames_[frames_.size() - 1 - op.index].label_types(), 1)) {
        stack_.pop_back();
        return {};
      }
      break;
    case kCall:
      if (op.index < module_.func_types.size()) {
        const FuncType& callee = types_.func_type(op.index);
        if (top_matches_numeric(callee.params, 0)) {
          stack_.shrink_to(stack_.size() - callee.params.size());
          stack_.append(callee.results);
          return {};
        }
      }
      break;
    case kLocalGet:
      if (op.index < locals_.size() && local_initialized_[op.index]) {
        stack_.push_back(locals_[op.index]);
        return {};
      }
      break;
    case kLocalSet:
    case kLocalTee:
      if (op.index < locals_.size() && stack_.size() > frame.height &&
          local_initialized_[op.index] && !locals_[op.index].is_ref() &&
          stack_.back().kind == locals_[op.index].kind) {
        if (rule.handler == kLocalSet) stack_.pop_back();
        return {};
      }
      break;
    default:
      break;
  }
  return visit_slow(op, rule);
}

inline bool FuncValidator::top_matches_numeric(std::span<const ValType> types, size_t skip) const {
  const ControlFrame& frame = frames_.back();
  if (stack_.size() < frame.height + skip + types.size()) return false;
  const ValType* base = stack_.data() + stack_.size() - skip - types.size();
  for (size_t i = 0; i < types.size(); ++i)
    if (types[i].is_ref() || base[i].kind != types[i].kind) return false;
  return true;
}

// ---- The fused loop -------------------------------------------------------------------------

namespace {

// LEB128 readers for the fast path. Each accepts exactly the encodings Reader accepts (any
// length up to the type's longest, with its range check on the last byte: toolchains pad
// relocated indices and constants to the longest form) and returns `next` null for anything
// else, which the general path then reports. Results come back in registers.
struct Leb32 {
  const uint8_t* next;
  uint32_t value;
};

[[gnu::noinline]] Leb32 read_long_u32(const uint8_t* p, const uint8_t* end) {
  uint32_t result = 0;
  for (unsigned i = 0; i < 5 && p + i < end; ++i) {
    const uint8_t byte = p[i];
    if (i == 4) {
      if (byte >= 0x10) return {nullptr, 0};  // continuation bit or bits above 32
      return {p + 5, result | uint32_t(byte) << 28};
    }
    result |= uint32_t(byte & 0x7F) << (7 * i);
    if (!(byte & 0x80)) return {p + i + 1, result};
  }
  return {nullptr, 0};
}

// The length of the LEB128 starting at the first byte of `word` (eight bytes read little-endian):
// 1 to 8, or 9 when none of the eight ends it.
[[gnu::always_inline]] inline unsigned leb_length(uint64_t word) {
  const uint64_t ends = ~word & 0x8080808080808080ull;
  return ends ? unsigned(std::countr_zero(ends) >> 3) + 1 : 9;
}

// One-byte LEBs (most indices) take one predictable branch: the next operator's address is then
// known before anything is loaded, which matters more than the branch. Longer ones are read from
// one eight-byte load when the body has that much left, without a branch per byte.
[[gnu::always_inline]] inline Leb32 read_fast_u32(const uint8_t* p, const uint8_t* end) {
  if (p < end && *p < 0x80) [[likely]]
    return {p + 1, *p};
  if (end - p >= 8) {
    uint64_t word;
    std::memcpy(&word, p, 8);
    const unsigned length = leb_length(word);
    const uint64_t bits = word & (~uint64_t(0) >> (64 - 8 * std::min(length, 8u)));
    const uint32_t value = uint32_t((bits & 0x7F) | (bits >> 1 & 0x3F80) | (bits >> 2 & 0x1FC000) |
                                    (bits >> 3 & 0xFE00000) | (bits >> 4 & 0xF0000000));
    // Five bytes: the last may hold only the top four bits of 32.
    const bool valid = length < 5 || (length == 5 && uint8_t(word >> 32) < 0x10);
    return {valid ? p + length : nullptr, value};
  }
  return read_long_u32(p, end);
}

// Skips an s32 (Bits 32) or s64 (Bits 64) LEB128: the unused bits of a longest encoding's last
// byte must repeat its sign bit.
template <unsigned Bits>
[[gnu::noinline]] const uint8_t* skip_long_signed(const uint8_t* p, const uint8_t* end) {
  constexpr unsigned kMaxBytes = (Bits + 6) / 7;
  constexpr unsigned kUsed = Bits - 7 * (kMaxBytes - 1);  // value bits of the last byte
  constexpr uint8_t kSignAndUnused = uint8_t(0x7F >> (kUsed - 1) << (kUsed - 1));
  for (unsigned i = 0; i < kMaxBytes && p + i < end; ++i) {
    const uint8_t byte = p[i];
    if (i == kMaxBytes - 1) {
      const uint8_t high = byte & kSignAndUnused;
      if ((byte & 0x80) || (high != 0 && high != kSignAndUnused)) return nullptr;
      return p + kMaxBytes;
    }
    if (!(byte & 0x80)) return p + i + 1;
  }
  return nullptr;
}

// As read_fast_u32.
template <unsigned Bits>
[[gnu::always_inline]] inline const uint8_t* skip_fast_signed(const uint8_t* p,
                                                              const uint8_t* end) {
  constexpr unsigned kMaxBytes = (Bits + 6) / 7;
  if (p < end && *p < 0x80) [[likely]]
    return p + 1;
  if (end - p >= 8) {
    uint64_t word;
    std::memcpy(&word, p, 8);
    // Shorter than the longest encoding (whose last byte has checks) and ended within the word.
    const unsigned length = leb_length(word);
    if (length < kMaxBytes && length <= 8) return p + length;
  }
  return skip_long_signed<Bits>(p, end);
}

// The top `types.size()` values below `skip` others (all above `height`) are exactly the
// numeric `types`.
[[gnu::always_inline]] inline bool top_is_numeric(const ValType* stack, size_t size, size_t height,
                                                  std::span<const ValType> types, size_t skip) {
  if (size < height + skip + types.size()) return false;
  const ValType* base = stack + size - skip - types.size();
  for (size_t i = 0; i < types.size(); ++i)
    if (types[i].is_ref() || base[i].kind != types[i].kind) return false;
  return true;
}

bool is_value_block_type(uint8_t byte) {
  return byte == uint8_t(ValKind::I32) || byte == uint8_t(ValKind::I64) ||
         byte == uint8_t(ValKind::F32) || byte == uint8_t(ValKind::F64);
}

}  // namespace

Result<void> FuncValidator::validate_body(std::span<const uint8_t> bytes, ByteRange code) {
  const uint8_t* const base = bytes.data();
  const uint8_t* p = base + std::min<size_t>(code.offset, bytes.size());
  const uint8_t* const end = base + std::min<size_t>(size_t(code.offset) + code.size, bytes.size());
  if (frames_.empty()) return finish(code.end());

  // Facts that stay put for the whole body, in locals so that stores to the operand stack (whose
  // one-byte kinds may alias anything) do not force them to be reloaded.
  // The address type of memory 0, which the fast paths compare operand kinds with. Without a
  // memory it is a kind no operand has (not Bottom: the unknown operands of unreachable code
  // are Bottom), so every access goes to the general path, which reports "unknown memory 0".
  constexpr ValKind kNoMemory = ValKind(0xFF);
  const ValKind memory0_address = module_.memories.empty()                           ? kNoMemory
                                  : module_.memories[0].index_type == IndexType::I64 ? ValKind::I64
                                                                                     : ValKind::I32;
  const ValType* const locals = locals_.data();
  const size_t local_count = locals_.size();
  const uint8_t* const local_initialized = local_initialized_.data();
  const GlobalType* const globals = module_.global_types.data();
  const size_t global_count = module_.global_types.size();
  const uint32_t* const func_types = module_.func_types.data();
  const size_t func_count = module_.func_types.size();
  const SubType* const types = module_.types.data();
  const size_t type_count = module_.types.size();
  const FastOp* const fast_ops = fast_ops_.data();

  // The operand stack and the innermost frame, also in locals: written back before the general
  // path runs, read again after it. A push that would need the stack to grow takes the general
  // path too, so the fast path never reallocates.
  ValType* stack;
  size_t size, capacity, height;
  ControlFrame* frame;
  auto load_state = [&] {
    stack = stack_.data();
    size = stack_.size();
    capacity = stack_.capacity();
    frame = &frames_.back();
    height = frame->height;
  };
  auto set_unreachable = [&] {
    size = height;
    frame->unreachable = true;
  };
  load_state();

  // Threaded dispatch: every handler ends by jumping straight to the next operator's handler
  // (computed goto, as CPython and LuaJIT do), so each has its own indirect branch to predict,
  // and operators that differ get handlers of their own rather than a branch on their kind.
  // A handler either types its operator completely and moves on, or goes to `general` having
  // changed nothing.
  static const void* const kHandlers[] = {
      &&general,       &&on_Nop,      &&on_Unary,       &&on_Binary,    &&on_I32Const,
      &&on_I64Const,   &&on_F32Const, &&on_F64Const,    &&on_Load,      &&on_Store,
      &&on_LocalGet,   &&on_LocalSet, &&on_LocalTee,    &&on_GlobalGet, &&on_GlobalSet,
      &&on_Block,      &&on_Loop,     &&on_If,          &&on_Else,      &&on_End,
      &&on_Br,         &&on_BrIf,     &&on_Return,      &&on_Call,      &&on_CallIndirect,
      &&on_Drop,       &&on_Select,   &&on_Unreachable, &&on_PrefixFC,  &&on_MemoryCopy,
      &&on_MemoryFill,
  };
  static_assert(std::size(kHandlers) == kFastKindCount);
  // The handler of each first byte, so that finding the next handler takes two dependent loads
  // (the byte, its handler), not three: after a mispredicted jump that chain is what waits.
  if (!dispatch_[0]) {
    for (size_t byte = 0; byte < 256; ++byte) dispatch_[byte] = kHandlers[fast_ops[byte].kind];
    for (size_t code = 0; code < kPrefixFCOps; ++code)
      dispatch_fc_[code] = kHandlers[fast_fc_ops_[code].kind];
  }
  const void* const* const dispatch = dispatch_.data();
  const FastOp* fast;    // the operator's entry (read by the handlers that need its types)
  const uint8_t* q;      // after the opcode
  FrameKind block_kind;  // kFastBlock/Loop/If -> push_block
  const uint8_t* after;  // memory.copy/fill -> memory_bulk
#define KILN_NEXT(next)      \
  do {                       \
    p = (next);              \
    if (p >= end) goto done; \
    fast = fast_ops + *p;    \
    q = p + 1;               \
    goto* dispatch[*p];      \
  } while (0)

  KILN_NEXT(p);

on_PrefixFC:
  if (q >= end || *q >= kPrefixFCOps) goto general;
  fast = fast_fc_ops_.data() + *q;
  goto* dispatch_fc_[*q++];

on_Nop:
  KILN_NEXT(q);

on_Unary:
  if (size > height && stack[size - 1].kind == fast->pop0) {
    stack[size - 1] = ValType{fast->push};
    KILN_NEXT(q);
  }
  goto general;

on_Binary:
  if (size >= height + 2 && stack[size - 2].kind == fast->pop0 &&
      stack[size - 1].kind == fast->pop1) {
    --size;
    stack[size - 1] = ValType{fast->push};
    KILN_NEXT(q);
  }
  goto general;

on_I32Const:
  if (const uint8_t* next = skip_fast_signed<32>(q, end); next && size < capacity) {
    stack[size++] = ValType::i32();
    KILN_NEXT(next);
  }
  goto general;

on_I64Const:
  if (const uint8_t* next = skip_fast_signed<64>(q, end); next && size < capacity) {
    stack[size++] = ValType::i64();
    KILN_NEXT(next);
  }
  goto general;

on_F32Const:
  if (end - q >= 4 && size < capacity) {
    stack[size++] = ValType::f32();
    KILN_NEXT(q + 4);
  }
  goto general;

on_F64Const:
  if (end - q >= 8 && size < capacity) {
    stack[size++] = ValType::f64();
    KILN_NEXT(q + 8);
  }
  goto general;

  // Loads and stores: memarg is an alignment in one byte without the memory index flag (memory
  // 0) and an offset; offsets that fit a u32 LEB of at most five bytes fit every memory, others
  // (rare) take the general path.
on_Load:
  if (q + 1 < end && *q <= fast->align_limit && size > height &&
      stack[size - 1].kind == memory0_address) {
    if (const uint8_t* next = read_fast_u32(q + 1, end).next) {
      stack[size - 1] = ValType{fast->push};
      KILN_NEXT(next);
    }
  }
  goto general;

on_Store:
  if (q + 1 < end && *q <= fast->align_limit && size >= height + 2 &&
      stack[size - 2].kind == memory0_address && stack[size - 1].kind == fast->pop1) {
    if (const uint8_t* next = read_fast_u32(q + 1, end).next) {
      size -= 2;
      KILN_NEXT(next);
    }
  }
  goto general;

on_LocalGet:
  if (const Leb32 index = read_fast_u32(q, end); index.next && index.value < local_count &&
                                                 local_initialized[index.value] &&
                                                 size < capacity) {
    stack[size++] = locals[index.value];
    KILN_NEXT(index.next);
  }
  goto general;

on_LocalSet:
  if (const Leb32 index = read_fast_u32(q, end);
      index.next && index.value < local_count && size > height && local_initialized[index.value] &&
      !locals[index.value].is_ref() && stack[size - 1].kind == locals[index.value].kind) {
    --size;
    KILN_NEXT(index.next);
  }
  goto general;

on_LocalTee:
  if (const Leb32 index = read_fast_u32(q, end);
      index.next && index.value < local_count && size > height && local_initialized[index.value] &&
      !locals[index.value].is_ref() && stack[size - 1].kind == locals[index.value].kind) {
    KILN_NEXT(index.next);
  }
  goto general;

on_GlobalGet:
  if (const Leb32 index = read_fast_u32(q, end);
      index.next && index.value < global_count && size < capacity) {
    stack[size++] = globals[index.value].type;
    KILN_NEXT(index.next);
  }
  goto general;

on_GlobalSet:
  if (const Leb32 index = read_fast_u32(q, end);
      index.next && index.value < global_count && size > height && globals[index.value].mutable_ &&
      !globals[index.value].type.is_ref() &&
      stack[size - 1].kind == globals[index.value].type.kind) {
    --size;
    KILN_NEXT(index.next);
  }
  goto general;

on_Block:
  block_kind = FrameKind::Block;
  goto push_block;
on_Loop:
  block_kind = FrameKind::Loop;
  goto push_block;
on_If:
  if (size <= height || stack[size - 1].kind != ValKind::I32) goto general;
  block_kind = FrameKind::If;
  goto push_block;
push_block : {
  // Block types of one byte: empty or a number type. The condition of an `if` is popped here,
  // once nothing can fail.
  if (q >= end || frames_.size() > kMaxControlDepth) goto general;
  ControlFrame next;
  if (*q == kEmptyBlockType) {
    next.block.kind = BlockType::Kind::Empty;
  } else if (is_value_block_type(*q)) {
    next.block.kind = BlockType::Kind::Value;
    next.block.value = ValType{ValKind(*q)};
  } else {
    goto general;
  }
  if (block_kind == FrameKind::If) --size;
  next.kind = block_kind;
  next.offset = uint32_t(p - base);
  next.height = uint32_t(size);
  next.init_height = uint32_t(init_log_.size());
  frames_.push_back(next);
  frame = &frames_.back();
  height = size;
  KILN_NEXT(q + 1);
}

on_Else : {
  auto results = frame->results();
  auto params = frame->params();
  if (frame->kind == FrameKind::If && size == height + results.size() &&
      top_is_numeric(stack, size, height, results, 0) && params.size() <= capacity - height) {
    undo_local_inits(frame->init_height);
    frame->kind = FrameKind::Else;
    frame->unreachable = false;
    size = height;
    for (const ValType& param : params) stack[size++] = param;
    KILN_NEXT(q);
  }
  goto general;
}

on_End : {
  // A block ending with exactly its numeric results, which stay where they are. An `if`
  // without else must pass its params through: only the empty one is taken here.
  auto results = frame->results();
  if ((frame->kind != FrameKind::If || frame->block.kind == BlockType::Kind::Empty) &&
      init_log_.size() == frame->init_height && size == height + results.size() &&
      top_is_numeric(stack, size, height, results, 0)) {
    frames_.pop_back();
    if (frames_.empty()) {  // the function's own end
      ended_ = true;
      stack_.set_size(size);
      p = q;
      goto after_end;
    }
    frame = &frames_.back();
    height = frame->height;
    KILN_NEXT(q);
  }
  goto general;
}

on_Br:
  if (const Leb32 depth = read_fast_u32(q, end);
      depth.next && depth.value < frames_.size() &&
      top_is_numeric(stack, size, height, frames_[frames_.size() - 1 - depth.value].label_types(),
                     0)) {
    set_unreachable();
    KILN_NEXT(depth.next);
  }
  goto general;

on_BrIf:
  if (const Leb32 depth = read_fast_u32(q, end);
      depth.next && depth.value < frames_.size() && size > height &&
      stack[size - 1].kind == ValKind::I32 &&
      top_is_numeric(stack, size, height, frames_[frames_.size() - 1 - depth.value].label_types(),
                     1)) {
    --size;
    KILN_NEXT(depth.next);
  }
  goto general;

on_Return:
  if (top_is_numeric(stack, size, height, func_results_, 0)) {
    set_unreachable();
    KILN_NEXT(q);
  }
  goto general;

on_Call:
  if (const Leb32 index = read_fast_u32(q, end); index.next && index.value < func_count) {
    const FuncType& callee = types[func_types[index.value]].func;
    if (top_is_numeric(stack, size, height, callee.params, 0) &&
        callee.results.size() <= capacity - (size - callee.params.size())) {
      size -= callee.params.size();
      for (const ValType& result : callee.results) stack[size++] = result;
      KILN_NEXT(index.next);
    }
  }
  goto general;

on_CallIndirect : {
  const Leb32 type_index = read_fast_u32(q, end);
  if (!type_index.next) goto general;
  const Leb32 table = read_fast_u32(type_index.next, end);
  if (!table.next || table.value >= module_.table_types.size() || type_index.value >= type_count)
    goto general;
  const TableType& table_type = module_.table_types[table.value];
  const SubType& callee = types[type_index.value];
  // Tables of (ref null? func): what call_indirect needs without a subtype walk.
  if (!table_type.element.is_ref() || table_type.element.heap.kind != HeapKind::Func ||
      callee.kind != CompositeKind::Func)
    goto general;
  const ValKind index_kind = table_type.index_type == IndexType::I64 ? ValKind::I64 : ValKind::I32;
  const auto& params = callee.func.params;
  const auto& results = callee.func.results;
  if (size <= height || stack[size - 1].kind != index_kind ||
      !top_is_numeric(stack, size, height, params, 1) ||
      results.size() > capacity - (size - 1 - params.size()))
    goto general;
  size -= 1 + params.size();
  for (const ValType& result : results) stack[size++] = result;
  KILN_NEXT(table.next);
}

on_Drop:
  if (size > height) {
    --size;
    KILN_NEXT(q);
  }
  goto general;

on_Select:
  if (size >= height + 3 && stack[size - 1].kind == ValKind::I32 &&
      stack[size - 3].kind == stack[size - 2].kind && is_numeric_or_vector(stack[size - 2])) {
    size -= 2;
    KILN_NEXT(q);
  }
  goto general;

on_Unreachable:
  set_unreachable();
  KILN_NEXT(q);

  // Memory 0 only (one zero byte per memory index); copy takes three addresses, fill an address,
  // a byte value and a length.
on_MemoryCopy:
  if (end - q < 2 || q[0] != 0 || q[1] != 0 || size < height + 3 ||
      stack[size - 2].kind != memory0_address)
    goto general;
  after = q + 2;
  goto memory_bulk;
on_MemoryFill:
  if (q >= end || q[0] != 0 || size < height + 3 || stack[size - 2].kind != ValKind::I32)
    goto general;
  after = q + 1;
  goto memory_bulk;
memory_bulk:
  if (stack[size - 3].kind != memory0_address || stack[size - 1].kind != memory0_address)
    goto general;
  size -= 3;
  KILN_NEXT(after);

general:
  // The general path, from the opcode: decode, then type. (Out of line: an indirect goto may not
  // leave the scope of the reader it would need here.)
  stack_.set_size(size);
  if (Result<size_t> next = visit_at(bytes, code, size_t(p - base)); next) {
    p = base + next.ok();
  } else {
    return std::move(next).err();
  }
  if (ended_) goto after_end;
  load_state();
  KILN_NEXT(p);

after_end:
  // Anything after the function's final end: the general path reports it.
  if (p < end) {
    if (Result<size_t> next = visit_at(bytes, code, size_t(p - base)); !next)
      return std::move(next).err();
  }
  return finish(code.end());

done:
#undef KILN_NEXT
  stack_.set_size(size);
  return finish(code.end());
}

Result<size_t> FuncValidator::visit_at(std::span<const uint8_t> bytes, ByteRange code,
                                       size_t offset) {
  OperatorReader reader(bytes, code);
  reader.seek(offset);
  Operator op;
  if (auto r = reader.read(op); !r) return body_read_error(std::move(r).err());
  if (auto r = visit(op); !r) return std::move(r).err();
  return reader.offset();
}

Error FuncValidator::body_read_error(Error error) {
  // An operator cut off by the end of its body: the body is a sized part of the code section,
  // and the binary format's wording for that is the section's.
  if (error.message() == "unexpected end")
    return Error("unexpected end of section or function", error.offset().value_or(0));
  return error;
}

Result<void> FuncValidator::visit_slow(const Operator& op, const OpRule& rule) {
  const uint32_t at = op.offset;
#define TRY(expr)                               \
  do {                                          \
    if (auto r_ = (expr); !r_) return r_.err(); \
  } while (0)
#define TRY_ASSIGN(var, expr)         \
  auto var##_r = (expr);              \
  if (!var##_r) return var##_r.err(); \
  auto var = var##_r.ok()

  switch (rule.handler) {
    case kSimple:
    case kLane:
    case kShuffle: {
      if (rule.handler == kLane && op.lane >= rule.lanes) return Error("invalid lane index", at);
      if (rule.handler == kShuffle)
        for (uint8_t lane : op.bytes)
          if (lane >= 32) return Error("invalid lane index", at);
      TRY(pop_values(at, std::span(rule.pops.data(), rule.pop_count)));
      push_values(std::span(rule.pushes.data(), rule.push_count));
      return {};
    }
    case kMemory: {
      TRY_ASSIGN(index_type, memory_index_type(at, op.memarg.memory));
      uint32_t natural = rule.natural_bytes;
      bool atomic = rule.atomic;
      if (op.memarg.align_log2 >= 32 || (uint64_t(1) << op.memarg.align_log2) > natural)
        return Error("alignment must not be larger than natural", at);
      if (atomic && (uint64_t(1) << op.memarg.align_log2) != natural)
        return Error("alignment must be exactly natural for atomics", at);
      if (index_type.kind == ValKind::I32 && op.memarg.offset > 0xFFFFFFFFull)
        return Error("offset out of range", at);
      if (rule.lanes && op.lane >= rule.lanes) return Error("invalid lane index", at);
      for (size_t i = rule.pop_count; i-- > 1;) TRY(pop_expect(at, rule.pops[i]));
      TRY(pop_expect(at, index_type));
      push_values(std::span(rule.pushes.data(), rule.push_count));
      return {};
    }
    case kUnsupported:
      return Error(std::string(opcode_info(op.op).mnemonic) + " is not supported by the validator",
                   at);

    // ---- Control ----
    case kUnreachable:
      set_unreachable();
      return {};
    case kBlock:
      return push_frame(at, FrameKind::Block, op.block);
    case kLoop:
      return push_frame(at, FrameKind::Loop, op.block);
    case kIf:
      return push_frame(at, FrameKind::If, op.block, /*pop_condition=*/true);
    case kElse: {
      if (frames_.back().kind != FrameKind::If) return Error("else without matching if", at);
      TRY(check_frame_end(at));
      ControlFrame& frame = frames_.back();
      undo_local_inits(frame.init_height);
      frame.kind = FrameKind::Else;
      frame.unreachable = false;
      push_values(frame.params());
      return {};
    }
    case kEnd: {
      TRY(check_frame_end(at));
      ControlFrame frame = frames_.back();
      if (frame.kind == FrameKind::If) {
        // An `if` without `else` behaves as if its else branch passed the params through.
        auto params = frame.params();
        auto results = frame.results();
        bool ok = params.size() == results.size();
        for (size_t i = 0; ok && i < params.size(); ++i)
          ok = types_.is_subtype(params[i], results[i]);
        if (!ok) return Error("type mismatch: if without else must pass its params through", at);
      }
      undo_local_inits(frame.init_height);
      frames_.pop_back();
      push_values(frame.results());
      if (frames_.empty()) ended_ = true;
      return {};
    }
    case kBr: {
      TRY_ASSIGN(target, label(at, op.index));
      TRY(pop_values(at, target->label_types()));
      set_unreachable();
      return {};
    }
    case kBrIf: {
      TRY(pop_expect(at, kI32));
      TRY_ASSIGN(target, label(at, op.index));
      auto types = target->label_types();
      TRY(pop_values(at, types));
      push_values(types);
      return {};
    }
    case kBrTable: {
      TRY(pop_expect(at, kI32));
      if (op.targets.empty()) return Error("unknown label", at);
      TRY_ASSIGN(fallback, label(at, op.targets.back()));
      size_t arity = fallback->label_types().size();
      // Each distinct target is checked once, so a long table of repeated labels costs its
      // length, not its length times the label arity.
      ++br_table_mark_;
      for (uint32_t depth : op.targets) {
        if (depth >= frames_.size()) return Error("unknown label", at);
        ControlFrame& target = frames_[frames_.size() - 1 - depth];
        if (target.br_table_mark == br_table_mark_) continue;
        target.br_table_mark = br_table_mark_;
        if (target.label_types().size() != arity)
          return Error("type mismatch: br_table targets have different arities", at);
        TRY(check_branch_values(at, target.label_types()));
      }
      TRY(pop_values(at, fallback->label_types()));
      set_unreachable();
      return {};
    }
    case kReturn:
      TRY(pop_values(at, func_results_));
      set_unreachable();
      return {};
    case kCall:
    case kReturnCall: {
      if (op.index >= module_.func_types.size())
        return Error("unknown function " + std::to_string(op.index), at);
      const FuncType& callee = types_.func_type(op.index);
      if (rule.handler == kReturnCall) TRY(check_return_call(at, callee));
      TRY(pop_values(at, callee.params));
      if (rule.handler == kReturnCall) {
        set_unreachable();
      } else {
        push_values(callee.results);
      }
      return {};
    }
    case kCallIndirect:
    case kReturnCallIndirect: {
      TRY_ASSIGN(index_type, table_index_type(at, op.index2));
      if (!types_.is_subtype(module_.table_types[op.index2].element, ValType::funcref()))
        return Error("type mismatch: call_indirect needs a table of functions", at);
      TRY_ASSIGN(callee, func_type_at(at, op.index));
      if (rule.handler == kReturnCallIndirect) TRY(check_return_call(at, *callee));
      TRY(pop_expect(at, index_type));
      TRY(pop_values(at, callee->params));
      if (rule.handler == kReturnCallIndirect) {
        set_unreachable();
      } else {
        push_values(callee->results);
      }
      return {};
    }
    case kCallRef:
    case kReturnCallRef: {
      TRY_ASSIGN(callee, func_type_at(at, op.index));
      if (rule.handler == kReturnCallRef) TRY(check_return_call(at, *callee));
      TRY(pop_expect(at, ValType::ref({HeapKind::Concrete, op.index}, true)));
      TRY(pop_values(at, callee->params));
      if (rule.handler == kReturnCallRef) {
        set_unreachable();
      } else {
        push_values(callee->results);
      }
      return {};
    }
    case kDrop:
      TRY(pop(at));
      return {};
    case kSelect: {
      TRY(pop_expect(at, kI32));
      TRY_ASSIGN(second, pop(at));
      TRY_ASSIGN(first, pop(at));
      bool first_ok = first.kind == ValKind::Bottom || is_numeric_or_vector(first);
      bool second_ok = second.kind == ValKind::Bottom || is_numeric_or_vector(second);
      if (!first_ok || !second_ok)
        return Error("type mismatch: select without type needs numeric or vector operands", at);
      if (first.kind != ValKind::Bottom && second.kind != ValKind::Bottom &&
          first.kind != second.kind)
        return mismatch(at, first, &second);
      push(first.kind == ValKind::Bottom ? second : first);
      return {};
    }
    case kSelectTyped: {
      if (op.types.size() != 1) return Error("invalid result arity", at);
      ValType type = op.types[0];
      TRY(types_.check_val_type(type, at));
      TRY(pop_expect(at, kI32));
      TRY(pop_expect(at, type));
      TRY(pop_expect(at, type));
      push(type);
      return {};
    }
    case kThrow: {
      TRY_ASSIGN(params, tag_params(at, op.index));
      TRY(pop_values(at, params));
      set_unreachable();
      return {};
    }
    case kThrowRef:
      TRY(pop_expect(at, kExnRef));
      set_unreachable();
      return {};
    case kTryTable: {
      for (const CatchClause& clause : op.catches) {
        TRY_ASSIGN(target, label(at, clause.label));
        auto label_types = target->label_types();
        std::span<const ValType> params;
        if (clause.kind == CatchClause::Kind::Catch || clause.kind == CatchClause::Kind::CatchRef) {
          TRY_ASSIGN(tag, tag_params(at, clause.tag));
          params = tag;
        }
        bool with_ref = clause.kind == CatchClause::Kind::CatchRef ||
                        clause.kind == CatchClause::Kind::CatchAllRef;
        size_t count = params.size() + (with_ref ? 1 : 0);
        bool ok = label_types.size() == count;
        for (size_t i = 0; ok && i < params.size(); ++i)
          ok = types_.is_subtype(params[i], label_types[i]);
        if (ok && with_ref)
          ok = types_.is_subtype(ValType::ref({HeapKind::Exn, 0}, false), label_types.back());
        if (!ok) return Error("type mismatch: catch clause does not match its label", at);
      }
      return push_frame(at, FrameKind::TryTable, op.block);
    }
    case kTry:
      return push_frame(at, FrameKind::LegacyTry, op.block);
    case kCatch:
    case kCatchAll: {
      FrameKind kind = frames_.back().kind;
      if (kind != FrameKind::LegacyTry && kind != FrameKind::LegacyCatch)
        return Error(rule.handler == kCatch ? "catch without matching try"
                                            : "catch_all without matching try",
                     at);
      std::span<const ValType> params;
      if (rule.handler == kCatch) {
        TRY_ASSIGN(tag, tag_params(at, op.index));
        params = tag;
      }
      TRY(check_frame_end(at));
      ControlFrame& frame = frames_.back();
      undo_local_inits(frame.init_height);
      frame.kind = rule.handler == kCatch ? FrameKind::LegacyCatch : FrameKind::LegacyCatchAll;
      frame.unreachable = false;
      push_values(params);
      return {};
    }
    case kDelegate: {
      if (frames_.back().kind != FrameKind::LegacyTry)
        return Error("delegate without matching try", at);
      TRY(check_frame_end(at));
      ControlFrame frame = frames_.back();
      undo_local_inits(frame.init_height);
      frames_.pop_back();
      if (op.index >= frames_.size()) return Error("unknown label", at);
      push_values(frame.results());
      return {};
    }
    case kRethrow: {
      TRY_ASSIGN(target, label(at, op.index));
      if (target->kind != FrameKind::LegacyCatch && target->kind != FrameKind::LegacyCatchAll)
        return Error("invalid rethrow label", at);
      set_unreachable();
      return {};
    }

    // ---- Variables ----
    case kLocalGet: {
      if (op.index >= locals_.size()) return Error("unknown local " + std::to_string(op.index), at);
      if (!local_initialized_[op.index])
        return Error("uninitialized local " + std::to_string(op.index), at);
      push(locals_[op.index]);
      return {};
    }
    case kLocalSet:
    case kLocalTee: {
      if (op.index >= locals_.size()) return Error("unknown local " + std::to_string(op.index), at);
      TRY(pop_expect(at, locals_[op.index]));
      if (!local_initialized_[op.index]) {
        local_initialized_[op.index] = 1;
        init_log_.push_back(op.index);
      }
      if (rule.handler == kLocalTee) push(locals_[op.index]);
      return {};
    }
    case kGlobalGet: {
      uint32_t limit = const_mode_ ? visible_globals_ : uint32_t(module_.global_types.size());
      if (op.index >= limit) return Error("unknown global " + std::to_string(op.index), at);
      const GlobalType& global = module_.global_types[op.index];
      if (const_mode_ && global.mutable_) return Error("constant expression required", at);
      push(global.type);
      return {};
    }
    case kGlobalSet: {
      if (op.index >= module_.global_types.size())
        return Error("unknown global " + std::to_string(op.index), at);
      const GlobalType& global = module_.global_types[op.index];
      if (!global.mutable_) return Error("immutable global", at);
      TRY(pop_expect(at, global.type));
      return {};
    }

    // ---- Tables ----
    case kTableGet: {
      TRY_ASSIGN(index_type, table_index_type(at, op.index));
      TRY(pop_expect(at, index_type));
      push(module_.table_types[op.index].element);
      return {};
    }
    case kTableSet: {
      TRY_ASSIGN(index_type, table_index_type(at, op.index));
      TRY(pop_expect(at, module_.table_types[op.index].element));
      TRY(pop_expect(at, index_type));
      return {};
    }
    case kTableSize: {
      TRY_ASSIGN(index_type, table_index_type(at, op.index));
      push(index_type);
      return {};
    }
    case kTableGrow: {
      TRY_ASSIGN(index_type, table_index_type(at, op.index));
      TRY(pop_expect(at, index_type));
      TRY(pop_expect(at, module_.table_types[op.index].element));
      push(kI32.kind == index_type.kind ? kI32 : kI64);
      return {};
    }
    case kTableFill: {
      TRY_ASSIGN(index_type, table_index_type(at, op.index));
      TRY(pop_expect(at, index_type));
      TRY(pop_expect(at, module_.table_types[op.index].element));
      TRY(pop_expect(at, index_type));
      return {};
    }
    case kTableCopy: {
      TRY_ASSIGN(dst_type, table_index_type(at, op.index));
      TRY_ASSIGN(src_type, table_index_type(at, op.index2));
      if (!types_.is_subtype(module_.table_types[op.index2].element,
                             module_.table_types[op.index].element))
        return Error("type mismatch: table.copy between incompatible tables", at);
      ValType count_type =
          dst_type.kind == ValKind::I64 && src_type.kind == ValKind::I64 ? kI64 : kI32;
      TRY(pop_expect(at, count_type));
      TRY(pop_expect(at, src_type));
      TRY(pop_expect(at, dst_type));
      return {};
    }
    case kTableInit: {
      TRY_ASSIGN(index_type, table_index_type(at, op.index2));
      TRY_ASSIGN(segment, elem_segment(at, op.index));
      if (!types_.is_subtype(segment->type, module_.table_types[op.index2].element))
        return Error("type mismatch: element segment does not fit the table", at);
      TRY(pop_expect(at, kI32));
      TRY(pop_expect(at, kI32));
      TRY(pop_expect(at, index_type));
      return {};
    }
    case kElemDrop:
      TRY(elem_segment(at, op.index));
      return {};

    // ---- Memories ----
    case kMemorySize: {
      TRY_ASSIGN(index_type, memory_index_type(at, op.index));
      push(index_type);
      return {};
    }
    case kMemoryGrow: {
      TRY_ASSIGN(index_type, memory_index_type(at, op.index));
      TRY(pop_expect(at, index_type));
      push(index_type);
      return {};
    }
    case kMemoryFill: {
      TRY_ASSIGN(index_type, memory_index_type(at, op.index));
      TRY(pop_expect(at, index_type));
      TRY(pop_expect(at, kI32));
      TRY(pop_expect(at, index_type));
      return {};
    }
    case kMemoryCopy: {
      TRY_ASSIGN(dst_type, memory_index_type(at, op.index));
      TRY_ASSIGN(src_type, memory_index_type(at, op.index2));
      ValType count_type =
          dst_type.kind == ValKind::I64 && src_type.kind == ValKind::I64 ? kI64 : kI32;
      TRY(pop_expect(at, count_type));
      TRY(pop_expect(at, src_type));
      TRY(pop_expect(at, dst_type));
      return {};
    }
    case kMemoryInit: {
      TRY_ASSIGN(index_type, memory_index_type(at, op.index2));
      TRY(check_data_index(at, op.index));
      TRY(pop_expect(at, kI32));
      TRY(pop_expect(at, kI32));
      TRY(pop_expect(at, index_type));
      return {};
    }
    case kDataDrop:
      TRY(check_data_index(at, op.index));
      return {};

    // ---- References ----
    case kRefNull:
      TRY(types_.check_heap_type(op.heap, at));
      push(ValType::ref(op.heap, true));
      return {};
    case kRefIsNull:
      TRY(pop_ref(at));
      push(kI32);
      return {};
    case kRefFunc: {
      if (op.index >= module_.func_types.size())
        return Error("unknown function " + std::to_string(op.index), at);
      if (!const_mode_ && !types_.is_declared_func_ref(op.index))
        return Error("undeclared function reference", at);
      push(ValType::ref({HeapKind::Concrete, module_.func_types[op.index]}, false));
      return {};
    }
    case kRefEq: {
      ValType eqref = ValType::ref({HeapKind::Eq, 0}, true);
      TRY(pop_expect(at, eqref));
      TRY(pop_expect(at, eqref));
      push(kI32);
      return {};
    }
    case kRefAsNonNull: {
      TRY_ASSIGN(value, pop_ref(at));
      if (value.kind == ValKind::Bottom) {
        push(kBottom);
      } else {
        value.nullable = false;
        push(value);
      }
      return {};
    }
    case kBrOnNull: {
      TRY_ASSIGN(value, pop_ref(at));
      TRY_ASSIGN(target, label(at, op.index));
      auto types = target->label_types();
      TRY(pop_values(at, types));
      push_values(types);
      if (value.kind == ValKind::Bottom) {
        push(kBottom);
      } else {
        value.nullable = false;
        push(value);
      }
      return {};
    }
    case kBrOnNonNull: {
      TRY_ASSIGN(value, pop_ref(at));
      TRY_ASSIGN(target, label(at, op.index));
      auto types = target->label_types();
      if (types.empty() || (types.back().kind != ValKind::Ref))
        return Error("type mismatch: br_on_non_null needs a label ending in a reference", at);
      if (value.kind != ValKind::Bottom) {
        ValType non_null = value;
        non_null.nullable = false;
        if (!types_.is_subtype(non_null, types.back())) return mismatch(at, types.back(), &value);
      }
      auto rest = types.first(types.size() - 1);
      TRY(pop_values(at, rest));
      push_values(rest);
      return {};
    }
    case kRefTest:
    case kRefTestNull:
    case kRefCast:
    case kRefCastNull: {
      TRY(types_.check_heap_type(op.heap, at));
      bool nullable = rule.handler == kRefTestNull || rule.handler == kRefCastNull;
      ValType target = ValType::ref(op.heap, nullable);
      ValType top = ValType::ref({types_.top_of(op.heap), 0}, true);
      TRY(pop_expect(at, top));
      if (rule.handler == kRefTest || rule.handler == kRefTestNull) {
        push(kI32);
      } else {
        push(target);
      }
      return {};
    }
    case kBrOnCast:
    case kBrOnCastFail: {
      TRY(types_.check_heap_type(op.heap, at));
      TRY(types_.check_heap_type(op.heap2, at));
      if (op.cast_flags > 3) return Error("malformed br_on_cast flags", at);
      ValType source = ValType::ref(op.heap, op.cast_flags & 1);
      ValType target = ValType::ref(op.heap2, (op.cast_flags & 2) != 0);
      if (!types_.is_subtype(target, source))
        return Error("type mismatch: cast target is not a subtype of the source", at);
      ValType difference = source;
      difference.nullable = source.nullable && !target.nullable;
      ValType to_label = rule.handler == kBrOnCast ? target : difference;
      ValType to_fallthrough = rule.handler == kBrOnCast ? difference : target;
      TRY_ASSIGN(branch, label(at, op.index));
      auto types = branch->label_types();
      if (types.empty() || !types_.is_subtype(to_label, types.back()))
        return Error("type mismatch: br_on_cast label does not accept the cast type", at);
      TRY(pop_expect(at, source));
      auto rest = types.first(types.size() - 1);
      TRY(pop_values(at, rest));
      push_values(rest);
      push(to_fallthrough);
      return {};
    }
    case kAnyConvertExtern:
    case kExternConvertAny: {
      bool to_any = rule.handler == kAnyConvertExtern;
      HeapKind from = to_any ? HeapKind::Extern : HeapKind::Any;
      HeapKind to = to_any ? HeapKind::Any : HeapKind::Extern;
      TRY_ASSIGN(value, pop_expect(at, ValType::ref({from, 0}, true)));
      push(ValType::ref({to, 0}, value.kind == ValKind::Ref && value.nullable));
      return {};
    }
    case kRefI31:
      TRY(pop_expect(at, kI32));
      push(ValType::ref({HeapKind::I31, 0}, false));
      return {};
    case kI31Get:
      TRY(pop_expect(at, ValType::ref({HeapKind::I31, 0}, true)));
      push(kI32);
      return {};

    // ---- GC aggregates ----
    case kStructNew: {
      TRY_ASSIGN(type, struct_type(at, op.index));
      for (size_t i = type->fields.size(); i-- > 0;) TRY(pop_expect(at, unpacked(type->fields[i])));
      push(ValType::ref({HeapKind::Concrete, op.index}, false));
      return {};
    }
    case kStructNewDefault: {
      TRY_ASSIGN(type, struct_type(at, op.index));
      for (const FieldType& field : type->fields)
        if (field.packed == PackedKind::None && !is_defaultable(field.type))
          return Error("type mismatch: field type is not defaultable", at);
      push(ValType::ref({HeapKind::Concrete, op.index}, false));
      return {};
    }
    case kStructGet:
    case kStructGetPacked:
    case kStructSet: {
      TRY_ASSIGN(type, struct_type(at, op.index));
      if (op.index2 >= type->fields.size())
        return Error("unknown field " + std::to_string(op.index2), at);
      const FieldType& field = type->fields[op.index2];
      if (rule.handler == kStructGet && field.packed != PackedKind::None)
        return Error("type mismatch: field is packed", at);
      if (rule.handler == kStructGetPacked && field.packed == PackedKind::None)
        return Error("type mismatch: field is not packed", at);
      if (rule.handler == kStructSet) {
        if (!field.mutable_) return Error("immutable field", at);
        TRY(pop_expect(at, unpacked(field)));
      }
      TRY(pop_expect(at, ValType::ref({HeapKind::Concrete, op.index}, true)));
      if (rule.handler != kStructSet) push(unpacked(field));
      return {};
    }
    case kArrayNew:
    case kArrayNewDefault: {
      TRY_ASSIGN(type, array_type(at, op.index));
      TRY(pop_expect(at, kI32));
      if (rule.handler == kArrayNew) {
        TRY(pop_expect(at, unpacked(type->element)));
      } else if (type->element.packed == PackedKind::None && !is_defaultable(type->element.type)) {
        return Error("type mismatch: array element type is not defaultable", at);
      }
      push(ValType::ref({HeapKind::Concrete, op.index}, false));
      return {};
    }
    case kArrayNewFixed: {
      TRY_ASSIGN(type, array_type(at, op.index));
      if (op.index2 > kMaxArrayNewFixed)
        return Error("array.new_fixed has too many operands (at most " +
                         std::to_string(kMaxArrayNewFixed) + ")",
                     at);
      ValType element = unpacked(type->element);
      for (uint32_t i = 0; i < op.index2; ++i) TRY(pop_expect(at, element));
      push(ValType::ref({HeapKind::Concrete, op.index}, false));
      return {};
    }
    case kArrayNewData:
    case kArrayInitData: {
      TRY_ASSIGN(type, array_type(at, op.index));
      if (rule.handler == kArrayInitData && !type->element.mutable_)
        return Error("immutable array", at);
      if (type->element.packed == PackedKind::None && !is_numeric_or_vector(type->element.type))
        return Error("array type is not numeric or vector", at);
      TRY(check_data_index(at, op.index2));
      TRY(pop_expect(at, kI32));
      TRY(pop_expect(at, kI32));
      if (rule.handler == kArrayInitData) {
        TRY(pop_expect(at, kI32));
        TRY(pop_expect(at, ValType::ref({HeapKind::Concrete, op.index}, true)));
      } else {
        push(ValType::ref({HeapKind::Concrete, op.index}, false));
      }
      return {};
    }
    case kArrayNewElem:
    case kArrayInitElem: {
      TRY_ASSIGN(type, array_type(at, op.index));
      if (rule.handler == kArrayInitElem && !type->element.mutable_)
        return Error("immutable array", at);
      TRY_ASSIGN(segment, elem_segment(at, op.index2));
      if (type->element.packed != PackedKind::None ||
          !types_.is_subtype(segment->type, type->element.type))
        return Error("type mismatch: element segment does not fit the array", at);
      TRY(pop_expect(at, kI32));
      TRY(pop_expect(at, kI32));
      if (rule.handler == kArrayInitElem) {
        TRY(pop_expect(at, kI32));
        TRY(pop_expect(at, ValType::ref({HeapKind::Concrete, op.index}, true)));
      } else {
        push(ValType::ref({HeapKind::Concrete, op.index}, false));
      }
      return {};
    }
    case kArrayGet:
    case kArrayGetPacked:
    case kArraySet: {
      TRY_ASSIGN(type, array_type(at, op.index));
      const FieldType& element = type->element;
      if (rule.handler == kArrayGet && element.packed != PackedKind::None)
        return Error("type mismatch: array element is packed", at);
      if (rule.handler == kArrayGetPacked && element.packed == PackedKind::None)
        return Error("type mismatch: array element is not packed", at);
      if (rule.handler == kArraySet) {
        if (!element.mutable_) return Error("immutable array", at);
        TRY(pop_expect(at, unpacked(element)));
      }
      TRY(pop_expect(at, kI32));
      TRY(pop_expect(at, ValType::ref({HeapKind::Concrete, op.index}, true)));
      if (rule.handler != kArraySet) push(unpacked(element));
      return {};
    }
    case kArrayLen:
      TRY(pop_expect(at, ValType::ref({HeapKind::Array, 0}, true)));
      push(kI32);
      return {};
    case kArrayFill: {
      TRY_ASSIGN(type, array_type(at, op.index));
      if (!type->element.mutable_) return Error("immutable array", at);
      TRY(pop_expect(at, kI32));
      TRY(pop_expect(at, unpacked(type->element)));
      TRY(pop_expect(at, kI32));
      TRY(pop_expect(at, ValType::ref({HeapKind::Concrete, op.index}, true)));
      return {};
    }
    case kArrayCopy: {
      TRY_ASSIGN(dst, array_type(at, op.index));
      TRY_ASSIGN(src, array_type(at, op.index2));
      if (!dst->element.mutable_) return Error("immutable array", at);
      bool compatible = dst->element.packed == src->element.packed &&
                        (dst->element.packed != PackedKind::None ||
                         types_.is_subtype(src->element.type, dst->element.type));
      if (!compatible) return Error("array types do not match", at);
      TRY(pop_expect(at, kI32));
      TRY(pop_expect(at, kI32));
      TRY(pop_expect(at, ValType::ref({HeapKind::Concrete, op.index2}, true)));
      TRY(pop_expect(at, kI32));
      TRY(pop_expect(at, ValType::ref({HeapKind::Concrete, op.index}, true)));
      return {};
    }
  }
#undef TRY
#undef TRY_ASSIGN
  return Error("unhandled operator", at);
}

Result<std::span<const ValType>> FuncValidator::tag_params(uint32_t offset, uint32_t tag) {
  if (tag >= module_.tags.size()) return Error("unknown tag " + std::to_string(tag), offset);
  uint32_t type_index = module_.tags[tag].type_index;
  if (type_index >= module_.types.size() || module_.types[type_index].kind != CompositeKind::Func)
    return Error("unknown type " + std::to_string(type_index), offset);
  return std::span<const ValType>(module_.types[type_index].func.params);
}

}  // namespace kiln::wasm

// Type facts: the canonical type registry (iso-recursive rec groups) and per-module subtyping.
#include <algorithm>
#include <cstring>

#include "validator/validator.hpp"

namespace kiln::wasm {

namespace {

constexpr uint32_t kInGroupFlag = 0x80000000u;
constexpr uint32_t kNoSupertype = 0xFFFFFFFFu;

// Encodes references for the registry key: inside the group by position (flagged), outside by
// canonical id. Indices are already checked to be below the group's end.
struct GroupEncoder {
  uint32_t first;
  uint32_t count;
  std::span<const uint32_t> canonical_of_earlier;
  std::vector<uint32_t>& key;

  uint32_t ref(uint32_t index) const {
    if (index >= first) return kInGroupFlag | (index - first);
    return canonical_of_earlier[index];
  }
  void val(const ValType& type) {
    key.push_back(uint32_t(type.kind) | (uint32_t(type.nullable) << 8) |
                  (uint32_t(type.heap.kind) << 16));
    key.push_back(type.kind == ValKind::Ref && type.heap.kind == HeapKind::Concrete
                      ? ref(type.heap.index)
                      : 0);
  }
  void field(const FieldType& field) {
    key.push_back(uint32_t(field.packed) | (uint32_t(field.mutable_) << 8));
    if (field.packed == PackedKind::None) val(field.type);
  }
  void sub(const SubType& type) {
    key.push_back(uint32_t(type.final_) | (uint32_t(type.kind) << 8));
    key.push_back(type.supertype ? ref(*type.supertype) : kNoSupertype);
    switch (type.kind) {
      case CompositeKind::Func:
        key.push_back(uint32_t(type.func.params.size()));
        for (const ValType& p : type.func.params) val(p);
        key.push_back(uint32_t(type.func.results.size()));
        for (const ValType& r : type.func.results) val(r);
        break;
      case CompositeKind::Struct:
        key.push_back(uint32_t(type.struct_.fields.size()));
        for (const FieldType& f : type.struct_.fields) field(f);
        break;
      case CompositeKind::Array:
        field(type.array.element);
        break;
    }
  }
};

// Rewrites a module-local type into its canonical form (concrete indices become canonical ids).
struct Canonicaliser {
  uint32_t first;
  uint32_t base;
  std::span<const uint32_t> canonical_of_earlier;

  uint32_t ref(uint32_t index) const {
    return index >= first ? base + (index - first) : canonical_of_earlier[index];
  }
  void val(ValType& type) const {
    if (type.kind == ValKind::Ref && type.heap.kind == HeapKind::Concrete)
      type.heap.index = ref(type.heap.index);
  }
  SubType sub(const SubType& in) const {
    SubType out = in;
    if (out.supertype) out.supertype = ref(*out.supertype);
    for (ValType& p : out.func.params) val(p);
    for (ValType& r : out.func.results) val(r);
    for (FieldType& f : out.struct_.fields) val(f.type);
    val(out.array.element.type);
    out.rec_group = 0;
    return out;
  }
};

bool is_abstract_in_any(HeapKind k) {
  return k == HeapKind::Any || k == HeapKind::Eq || k == HeapKind::I31 || k == HeapKind::Struct ||
         k == HeapKind::Array || k == HeapKind::None;
}

}  // namespace

size_t TypeRegistry::KeyHash::operator()(const std::vector<uint32_t>& key) const {
  uint64_t h = 0x9E3779B97F4A7C15ull ^ key.size();
  for (uint32_t word : key) {
    h ^= word;
    h *= 0xFF51AFD7ED558CCDull;
    h ^= h >> 32;
  }
  return size_t(h);
}

TypeRegistry& TypeRegistry::global() {
  static TypeRegistry registry;
  return registry;
}

uint32_t TypeRegistry::intern_group(std::span<const SubType> group, uint32_t first,
                                    std::span<const uint32_t> canonical_of_earlier) {
  // The key is built in a buffer each thread keeps, so that finding a group already interned
  // (the common case: the same signatures recur across modules) allocates nothing.
  thread_local std::vector<uint32_t> key;
  key.clear();
  key.push_back(uint32_t(group.size()));
  GroupEncoder encoder{first, uint32_t(group.size()), canonical_of_earlier, key};
  for (const SubType& type : group) encoder.sub(type);

  std::lock_guard lock(mutex_);
  auto found = groups_.find(key);
  if (found != groups_.end()) return found->second;
  uint32_t base = uint32_t(entries_.size());
  Canonicaliser canon{first, base, canonical_of_earlier};
  for (const SubType& type : group) {
    Entry entry{canon.sub(type), 0};
    if (entry.type.supertype) {
      uint32_t super = *entry.type.supertype;
      // In-group supertypes precede the type, so their entry exists already.
      entry.depth = super < entries_.size() ? entries_[super].depth + 1 : 1;
    }
    entries_.push_back(std::move(entry));
  }
  groups_.emplace(key, base);
  return base;
}

bool TypeRegistry::is_subtype(uint32_t sub, uint32_t super) const {
  std::lock_guard lock(mutex_);
  for (uint32_t steps = 0; steps <= kMaxSubtypingDepth + 1; ++steps) {
    if (sub == super) return true;
    if (sub >= entries_.size() || !entries_[sub].type.supertype) return false;
    sub = *entries_[sub].type.supertype;
  }
  return false;
}

TypeRegistry::Entry TypeRegistry::entry(uint32_t canonical_id) const {
  std::lock_guard lock(mutex_);
  return entries_.at(canonical_id);
}

size_t TypeRegistry::size() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

bool ModuleTypes::is_subtype_index(uint32_t sub, uint32_t super) const {
  uint32_t target = canonical_[super];
  for (uint32_t steps = 0; steps <= kMaxSubtypingDepth + 1; ++steps) {
    if (canonical_[sub] == target) return true;
    const auto& declared = module_->types[sub].supertype;
    if (!declared) return false;
    sub = *declared;
  }
  return false;
}

HeapKind ModuleTypes::top_of(HeapType heap) const {
  switch (heap.kind) {
    case HeapKind::Func:
    case HeapKind::NoFunc:
      return HeapKind::Func;
    case HeapKind::Extern:
    case HeapKind::NoExtern:
      return HeapKind::Extern;
    case HeapKind::Exn:
    case HeapKind::NoExn:
      return HeapKind::Exn;
    case HeapKind::Concrete:
      return module_->types[heap.index].kind == CompositeKind::Func ? HeapKind::Func
                                                                    : HeapKind::Any;
    case HeapKind::Bottom:
      return HeapKind::Bottom;
    default:
      return HeapKind::Any;
  }
}

HeapKind ModuleTypes::bottom_of(HeapType heap) const {
  switch (top_of(heap)) {
    case HeapKind::Func:
      return HeapKind::NoFunc;
    case HeapKind::Extern:
      return HeapKind::NoExtern;
    case HeapKind::Exn:
      return HeapKind::NoExn;
    case HeapKind::Bottom:
      return HeapKind::Bottom;
    default:
      return HeapKind::None;
  }
}

bool ModuleTypes::heap_types_equal(HeapType a, HeapType b) const {
  if (a.kind != b.kind) return false;
  if (a.kind != HeapKind::Concrete) return true;
  return canonical_[a.index] == canonical_[b.index];
}

bool ModuleTypes::val_types_equal(ValType a, ValType b) const {
  if (a.kind != b.kind) return false;
  if (a.kind != ValKind::Ref) return true;
  return a.nullable == b.nullable && heap_types_equal(a.heap, b.heap);
}

bool ModuleTypes::is_subtype(HeapType sub, HeapType super) const {
  if (sub.kind == HeapKind::Bottom) return true;
  if (super.kind == HeapKind::Bottom) return false;
  if (sub.kind == HeapKind::Concrete) {
    if (super.kind == HeapKind::Concrete) return is_subtype_index(sub.index, super.index);
    CompositeKind kind = module_->types[sub.index].kind;
    switch (super.kind) {
      case HeapKind::Func:
        return kind == CompositeKind::Func;
      case HeapKind::Any:
      case HeapKind::Eq:
        return kind != CompositeKind::Func;
      case HeapKind::Struct:
        return kind == CompositeKind::Struct;
      case HeapKind::Array:
        return kind == CompositeKind::Array;
      default:
        return false;
    }
  }
  if (super.kind == HeapKind::Concrete) {
    CompositeKind kind = module_->types[super.index].kind;
    if (sub.kind == HeapKind::None) return kind != CompositeKind::Func;
    if (sub.kind == HeapKind::NoFunc) return kind == CompositeKind::Func;
    return false;
  }
  if (sub.kind == super.kind) return true;
  switch (super.kind) {
    case HeapKind::Any:
      return is_abstract_in_any(sub.kind);
    case HeapKind::Eq:
      return sub.kind == HeapKind::I31 || sub.kind == HeapKind::Struct ||
             sub.kind == HeapKind::Array || sub.kind == HeapKind::None;
    case HeapKind::I31:
    case HeapKind::Struct:
    case HeapKind::Array:
      return sub.kind == HeapKind::None;
    case HeapKind::Func:
      return sub.kind == HeapKind::NoFunc;
    case HeapKind::Extern:
      return sub.kind == HeapKind::NoExtern;
    case HeapKind::Exn:
      return sub.kind == HeapKind::NoExn;
    default:
      return false;
  }
}

bool ModuleTypes::is_subtype(ValType sub, ValType super) const {
  if (sub.kind == ValKind::Bottom) return true;
  if (sub.kind != super.kind) return false;
  if (sub.kind != ValKind::Ref) return true;
  if (sub.nullable && !super.nullable) return false;
  return is_subtype(sub.heap, super.heap);
}

bool ModuleTypes::is_subtype(const FuncType& sub, const FuncType& super) const {
  if (sub.params.size() != super.params.size() || sub.results.size() != super.results.size())
    return false;
  for (size_t i = 0; i < sub.params.size(); ++i)
    if (!is_subtype(super.params[i], sub.params[i])) return false;
  for (size_t i = 0; i < sub.results.size(); ++i)
    if (!is_subtype(sub.results[i], super.results[i])) return false;
  return true;
}

Result<void> ModuleTypes::check_heap_type(HeapType heap, uint32_t offset) const {
  if (heap.kind == HeapKind::Concrete && heap.index >= module_->types.size())
    return Error("unknown type " + std::to_string(heap.index), offset);
  if (heap.kind == HeapKind::Bottom) return Error("malformed heap type", offset);
  return {};
}

Result<void> ModuleTypes::check_val_type(ValType type, uint32_t offset) const {
  if (type.kind == ValKind::Bottom) return Error("malformed value type", offset);
  if (type.kind == ValKind::Ref) return check_heap_type(type.heap, offset);
  return {};
}

namespace {

bool storage_subtype(const ModuleTypes& types, const FieldType& sub, const FieldType& super) {
  if (sub.packed != super.packed) return false;
  if (sub.packed != PackedKind::None) return true;
  return types.is_subtype(sub.type, super.type);
}

bool field_matches(const ModuleTypes& types, const FieldType& sub, const FieldType& super) {
  if (sub.mutable_ != super.mutable_) return false;
  if (!storage_subtype(types, sub, super)) return false;
  // Mutable fields are invariant.
  return !sub.mutable_ || storage_subtype(types, super, sub);
}

bool composite_matches(const ModuleTypes& types, const SubType& sub, const SubType& super) {
  if (sub.kind != super.kind) return false;
  switch (sub.kind) {
    case CompositeKind::Func:
      return types.is_subtype(sub.func, super.func);
    case CompositeKind::Struct: {
      if (sub.struct_.fields.size() < super.struct_.fields.size()) return false;
      for (size_t i = 0; i < super.struct_.fields.size(); ++i)
        if (!field_matches(types, sub.struct_.fields[i], super.struct_.fields[i])) return false;
      return true;
    }
    case CompositeKind::Array:
      return field_matches(types, sub.array.element, super.array.element);
  }
  return false;
}

Result<void> check_refs_below(const SubType& type, uint32_t limit, uint32_t offset) {
  auto check = [&](const ValType& v) -> Result<void> {
    if (v.kind == ValKind::Bottom) return Error("malformed value type", offset);
    if (v.kind == ValKind::Ref && v.heap.kind == HeapKind::Bottom)
      return Error("malformed heap type", offset);
    if (v.kind == ValKind::Ref && v.heap.kind == HeapKind::Concrete && v.heap.index >= limit)
      return Error("unknown type " + std::to_string(v.heap.index), offset);
    return {};
  };
  for (const ValType& p : type.func.params)
    if (auto r = check(p); !r) return r;
  for (const ValType& p : type.func.results)
    if (auto r = check(p); !r) return r;
  if (type.kind == CompositeKind::Struct)
    for (const FieldType& f : type.struct_.fields)
      if (auto r = check(f.type); !r) return r;
  if (type.kind == CompositeKind::Array)
    if (auto r = check(type.array.element.type); !r) return r;
  return {};
}

// Rec-group tiling errors come only from a ModuleInfo assembled by hand, whose offsets are
// unknown; every other error reports at the offending type's entry.
constexpr uint32_t kNoOffset = 0;

void mark_ref_funcs(std::vector<uint8_t>& declared, std::span<const uint8_t> bytes,
                    const ConstExpr& expr) {
  if (expr.range.size == 0 || expr.range.end() > bytes.size()) return;
  // Without a 0xD2 byte anywhere there is no ref.func to find (most expressions are `i32.const`
  // segment offsets); with one, the operators are read to tell an opcode from an immediate.
  constexpr uint8_t kRefFuncOpcode = 0xD2;
  if (!std::memchr(bytes.data() + expr.range.offset, kRefFuncOpcode, expr.range.size)) return;
  OperatorReader reader(bytes, expr.range);
  Operator op;
  while (!reader.at_end()) {
    if (!reader.read(op)) return;  // malformed: the const-expr validation reports it
    if (op.op == Op::RefFunc && op.index < declared.size()) declared[op.index] = 1;
  }
}

}  // namespace

Result<ModuleTypes> ModuleTypes::build(const ModuleInfo& module, std::span<const uint8_t> bytes,
                                       const Features& features, TypeRegistry& registry) {
  ModuleTypes result;
  result.module_ = &module;
  result.bytes_ = bytes;
  result.features_ = features;
  result.registry_ = &registry;
  const auto& types = module.types;
  result.canonical_.assign(types.size(), 0);
  std::vector<uint8_t> depth(types.size(), 0);

  // Rec groups must tile the type section in order. A ModuleInfo assembled by hand may leave
  // them out: then every type is its own group, as the binary format's short form means.
  std::vector<RecGroup> singleton_groups;
  if (module.rec_groups.empty() && !types.empty()) {
    singleton_groups.reserve(types.size());
    for (uint32_t i = 0; i < types.size(); ++i) singleton_groups.push_back({i, 1});
  }
  const std::vector<RecGroup>& groups =
      module.rec_groups.empty() ? singleton_groups : module.rec_groups;
  uint32_t expected_first = 0;
  for (const RecGroup& group : groups) {
    if (group.first != expected_first || uint64_t(group.first) + group.count > types.size())
      return Error("malformed rec group", kNoOffset);
    expected_first += group.count;
  }
  if (expected_first != types.size()) return Error("malformed rec group", kNoOffset);

  for (const RecGroup& group : groups) {
    uint32_t end = group.first + group.count;
    for (uint32_t i = group.first; i < end; ++i) {
      const SubType& type = types[i];
      const uint32_t at = EntryOffsets::at(module.offsets.types, i);
      if (auto r = check_refs_below(type, end, at); !r) return std::move(r).err();
      if (type.supertype && *type.supertype >= i)
        return Error("unknown type " + std::to_string(*type.supertype), at);
    }
    uint32_t base =
        registry.intern_group(std::span(types).subspan(group.first, group.count), group.first,
                              std::span<const uint32_t>(result.canonical_).first(group.first));
    for (uint32_t k = 0; k < group.count; ++k) result.canonical_[group.first + k] = base + k;
    for (uint32_t i = group.first; i < end; ++i) {
      const SubType& type = types[i];
      if (!type.supertype) continue;
      uint32_t super = *type.supertype;
      const uint32_t at = EntryOffsets::at(module.offsets.types, i);
      auto mismatch = [&] {
        return Error(
            "sub type " + std::to_string(i) + " does not match super type " + std::to_string(super),
            at);
      };
      if (types[super].final_) return mismatch();
      if (!composite_matches(result, type, types[super])) return mismatch();
      depth[i] = uint8_t(depth[super] + 1);
      if (depth[i] > kMaxSubtypingDepth)
        return Error(
            "subtyping depth too large (at most " + std::to_string(kMaxSubtypingDepth) + ")", at);
    }
  }

  // Function references declared outside function bodies (C.refs of the spec).
  result.declared_funcs_.assign(module.func_count(), 0);
  auto& declared = result.declared_funcs_;
  for (const Export& e : module.exports)
    if (e.kind == ExternKind::Func && e.index < declared.size()) declared[e.index] = 1;
  for (const ElementSegment& segment : module.elements) {
    for (uint32_t f : segment.func_indices)
      if (f < declared.size()) declared[f] = 1;
    for (const ConstExpr& e : segment.exprs) mark_ref_funcs(declared, bytes, e);
    if (segment.mode == SegmentMode::Active) mark_ref_funcs(declared, bytes, segment.offset);
  }
  for (const Global& g : module.globals) mark_ref_funcs(declared, bytes, g.init);
  for (const Table& t : module.tables)
    if (t.init) mark_ref_funcs(declared, bytes, *t.init);
  for (const DataSegment& d : module.data)
    if (d.mode == SegmentMode::Active) mark_ref_funcs(declared, bytes, d.offset);
  return result;
}

}  // namespace kiln::wasm

// The validator: module rules, type canonicalisation and subtyping, and function-body typing,
// over modules assembled byte by byte here (decoded with decode_module).
#include <catch2/catch.hpp>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "decoder/decoder.hpp"
#include "validator/validator.hpp"

using namespace kiln;
using namespace kiln::wasm;

namespace {

using Bytes = std::vector<uint8_t>;

Bytes leb(uint64_t value) {
  Bytes out;
  do {
    uint8_t byte = value & 0x7F;
    value >>= 7;
    if (value) byte |= 0x80;
    out.push_back(byte);
  } while (value);
  return out;
}

Bytes cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

Bytes vec(const std::vector<Bytes>& items) {
  Bytes out = leb(items.size());
  for (const Bytes& item : items) out.insert(out.end(), item.begin(), item.end());
  return out;
}

Bytes name(const std::string& text) {
  Bytes out = leb(text.size());
  out.insert(out.end(), text.begin(), text.end());
  return out;
}

// Value type bytes.
constexpr uint8_t I32 = 0x7F, I64 = 0x7E, F32 = 0x7D, F64 = 0x7C, V128 = 0x7B;
constexpr uint8_t FUNCREF = 0x70, EXTERNREF = 0x6F, ANYREF = 0x6E, EQREF = 0x6D;
constexpr uint8_t REF = 0x64, REF_NULL = 0x63;

// Params and results of one-byte types; func_type_n for types that take more bytes.
Bytes func_type(Bytes params, Bytes results) {
  return cat({{0x60}, leb(params.size()), params, leb(results.size()), results});
}
Bytes func_type_n(uint32_t param_count, Bytes params, uint32_t result_count, Bytes results) {
  return cat({{0x60}, leb(param_count), params, leb(result_count), results});
}

// A module assembled from its sections (each optional, emitted in the binary order).
struct ModuleBytes {
  std::vector<Bytes> types, imports, funcs, tables, memories, tags, globals, exports, elems, bodies,
      data;
  std::optional<uint32_t> start, data_count;

  Bytes build() const {
    Bytes out = {0x00, 0x61, 0x73, 0x6D, 0x01, 0x00, 0x00, 0x00};
    auto section = [&](uint8_t id, const Bytes& payload) {
      out.push_back(id);
      Bytes size = leb(payload.size());
      out.insert(out.end(), size.begin(), size.end());
      out.insert(out.end(), payload.begin(), payload.end());
    };
    if (!types.empty()) section(1, vec(types));
    if (!imports.empty()) section(2, vec(imports));
    if (!funcs.empty()) section(3, vec(funcs));
    if (!tables.empty()) section(4, vec(tables));
    if (!memories.empty()) section(5, vec(memories));
    if (!tags.empty()) section(13, vec(tags));
    if (!globals.empty()) section(6, vec(globals));
    if (!exports.empty()) section(7, vec(exports));
    if (start) section(8, leb(*start));
    if (!elems.empty()) section(9, vec(elems));
    if (data_count) section(12, leb(*data_count));
    if (!bodies.empty()) {
      std::vector<Bytes> sized;
      for (const Bytes& b : bodies) sized.push_back(cat({leb(b.size()), b}));
      section(10, vec(sized));
    }
    if (!data.empty()) section(11, vec(data));
    return out;
  }

  // Adds a function of type `type_index` with `locals` (already encoded runs) and `code`.
  ModuleBytes& func(uint32_t type_index, Bytes code, std::vector<Bytes> locals = {}) {
    funcs.push_back(leb(type_index));
    bodies.push_back(cat({vec(locals), code}));
    return *this;
  }
};

// "" when the module is valid, else the error message.
std::string check(const ModuleBytes& module, const Features& features = Features::everything()) {
  Bytes bytes = module.build();
  auto result = decode_and_validate(bytes, features);
  return result ? std::string() : result.err().message();
}

// One function of type [params] -> [results] with body `code` (which must end with 0x0B).
std::string check_body(Bytes params, Bytes results, Bytes code, std::vector<Bytes> locals = {},
                       const Features& features = Features::everything()) {
  ModuleBytes m;
  m.types.push_back(func_type(params, results));
  m.memories.push_back({0x00, 0x01});
  m.func(0, code, locals);
  return check(m, features);
}

Bytes local_run(uint32_t count, Bytes type) {
  return cat({leb(count), type});
}

bool starts_with(const std::string& text, const std::string& prefix) {
  return text.rfind(prefix, 0) == 0;
}

}  // namespace

TEST_CASE("validator accepts simple well-typed bodies", "[validator]") {
  CHECK(check_body({I32, I32}, {I32}, {0x20, 0, 0x20, 1, 0x6A, 0x0B}) == "");
  CHECK(check_body({}, {}, {0x0B}) == "");
  // block with a type-index block type taking a parameter (multi-value)
  ModuleBytes m;
  m.types = {func_type({}, {I32}), func_type({I32}, {I32})};
  m.func(0, {0x41, 5, 0x02, 0x01, 0x41, 1, 0x6A, 0x0B, 0x0B});
  CHECK(check(m) == "");
}

TEST_CASE("operand type errors say type mismatch", "[validator]") {
  std::string error = check_body({I64}, {I32}, {0x20, 0, 0x41, 1, 0x6A, 0x0B});
  CHECK(error == "type mismatch: instruction requires [i32] but stack has [i64]");
  CHECK(starts_with(check_body({}, {I32}, {0x0B}), "type mismatch"));
  CHECK(starts_with(check_body({}, {}, {0x41, 0, 0x0B}), "type mismatch: block requires []"));
  CHECK(starts_with(check_body({}, {}, {0x6A, 0x0B}), "type mismatch"));
  // untyped select on references is invalid; typed select with no type has the wrong arity
  CHECK(starts_with(
      check_body({FUNCREF, FUNCREF}, {FUNCREF}, {0x20, 0, 0x20, 1, 0x41, 0, 0x1B, 0x0B}),
      "type mismatch"));
  CHECK(check_body({FUNCREF, FUNCREF}, {FUNCREF},
                   {0x20, 0, 0x20, 1, 0x41, 0, 0x1C, 1, FUNCREF, 0x0B}) == "");
  CHECK(check_body({}, {}, {0x41, 0, 0x41, 0, 0x41, 0, 0x1C, 0, 0x1A, 0x0B}) ==
        "invalid result arity");
}

TEST_CASE("unknown indices name the index space", "[validator]") {
  CHECK(check_body({}, {}, {0x20, 3, 0x1A, 0x0B}) == "unknown local 3");
  CHECK(check_body({}, {}, {0x23, 0, 0x1A, 0x0B}) == "unknown global 0");
  CHECK(check_body({}, {}, {0x10, 7, 0x0B}) == "unknown function 7");
  CHECK(check_body({}, {}, {0x41, 0, 0x25, 0, 0x1A, 0x0B}) == "unknown table 0");
  CHECK(check_body({}, {}, {0x0C, 1, 0x0B}) == "unknown label");
  CHECK(check_body({}, {}, {0x41, 0, 0x28, 2, 0, 0x1A, 0x0B}) == "");
  CHECK(check_body({}, {}, {0x41, 0, 0x28, 0x42, 1, 0, 0x1A, 0x0B}) == "unknown memory 1");
  CHECK(check_body({}, {}, {0xD0, 9, 0x1A, 0x0B}) == "unknown type 9");
  CHECK(check_body({}, {}, {0xFC, 13, 0, 0x0B}) == "unknown elem segment 0");
  CHECK(check_body({}, {}, {0x08, 0, 0x0B}) == "unknown tag 0");
  ModuleBytes m;
  m.types.push_back(func_type({}, {}));
  m.memories.push_back({0x00, 0x01});
  m.data_count = 0;
  m.func(0, {0xFC, 9, 0, 0x0B});
  CHECK(check(m) == "unknown data segment 0");
}

TEST_CASE("memory immediates: alignment, lanes, offsets, atomics", "[validator]") {
  // i32.load with align 2^3 > 4 bytes
  CHECK(check_body({}, {}, {0x41, 0, 0x28, 3, 0, 0x1A, 0x0B}) ==
        "alignment must not be larger than natural");
  // i8x16.extract_lane_s lane 16
  Bytes v128_zero = cat({{0xFD, 0x0C}, Bytes(16, 0)});
  CHECK(check_body({}, {}, cat({v128_zero, {0xFD, 0x15, 16, 0x1A, 0x0B}})) == "invalid lane index");
  CHECK(check_body({}, {}, cat({v128_zero, {0xFD, 0x15, 15, 0x1A, 0x0B}})) == "");
  // i32.atomic.load needs exactly natural alignment (and no shared memory)
  CHECK(check_body({}, {}, {0x41, 0, 0xFE, 0x10, 2, 0, 0x1A, 0x0B}) == "");
  CHECK(starts_with(check_body({}, {}, {0x41, 0, 0xFE, 0x10, 1, 0, 0x1A, 0x0B}), "alignment"));
  // memory64: i64 addresses, 64-bit offsets
  ModuleBytes m;
  m.types.push_back(func_type({}, {}));
  m.memories.push_back({0x04, 0x01});
  m.func(0, cat({{0x42, 0, 0x28, 2}, leb(uint64_t(1) << 40), {0x1A, 0x0B}}));
  CHECK(check(m) == "");
  m.bodies[0] = cat({{0x00, 0x41, 0, 0x28, 2}, leb(uint64_t(1) << 40), {0x1A, 0x0B}});
  CHECK(starts_with(check(m), "type mismatch"));
  CHECK(check_body({}, {}, cat({{0x41, 0, 0x28, 2}, leb(uint64_t(1) << 33), {0x1A, 0x0B}})) ==
        "offset out of range");
}

TEST_CASE("wide arithmetic and other table-typed operators", "[validator]") {
  // i64.add128: [i64 i64 i64 i64] -> [i64 i64]
  Bytes four = {0x42, 1, 0x42, 2, 0x42, 3, 0x42, 4};
  CHECK(check_body({}, {I64, I64}, cat({four, {0xFC, 19, 0x0B}})) == "");
  CHECK(starts_with(check_body({}, {I64}, cat({four, {0xFC, 19, 0x0B}})), "type mismatch"));
  CHECK(starts_with(check_body({}, {I64, I64}, {0x42, 1, 0xFC, 19, 0x0B}), "type mismatch"));
}

TEST_CASE("the stack is polymorphic after unconditional branches", "[validator]") {
  // unreachable; i32.add; (result i32)
  CHECK(check_body({}, {I32}, {0x00, 0x6A, 0x0B}) == "");
  // return then anything typed
  CHECK(check_body({}, {I64}, {0x42, 0, 0x0F, 0x6A, 0x1A, 0x42, 0, 0x0B}) == "");
  // br 0 in a block, then select with unknown operands yields an unknown value
  CHECK(check_body({}, {}, {0x02, 0x40, 0x0C, 0, 0x1B, 0x1A, 0x0B, 0x0B}) == "");
  // but a concrete wrong type on top of the polymorphic base is still caught
  CHECK(starts_with(check_body({}, {I32}, {0x00, 0x42, 0, 0x0B}), "type mismatch"));
  // and extra values at block end too
  CHECK(starts_with(check_body({}, {}, {0x00, 0x41, 0, 0x0B}), "type mismatch"));
  // br_table targets must agree on arity
  CHECK(starts_with(
      check_body({}, {I32}, {0x02, 0x40, 0x41, 0, 0x41, 0, 0x0E, 1, 0, 1, 0x0B, 0x41, 0, 0x0B}),
      "type mismatch"));
  // the unreachable state ends with its block
  CHECK(
      starts_with(check_body({}, {}, {0x02, 0x40, 0x00, 0x0B, 0x6A, 0x1A, 0x0B}), "type mismatch"));
}

TEST_CASE("non-defaultable locals must be set before use, per block", "[validator]") {
  // (type 0 (func)) (func (local (ref 0)) ...)
  ModuleBytes m;
  m.types.push_back(func_type({}, {}));
  m.elems.push_back({0x03, 0x00, 0x01, 0x00});  // declarative elem: ref.func 0 is declared
  Bytes local = local_run(1, {REF, 0});
  m.func(0, {0x20, 0, 0x1A, 0x0B}, {local});
  CHECK(check(m) == "uninitialized local 0");
  m.bodies[0] = cat({vec({local}), {0xD2, 0, 0x21, 0, 0x20, 0, 0x1A, 0x0B}});
  CHECK(check(m) == "");
  // set inside a block: initialised until that block's end only
  m.bodies[0] =
      cat({vec({local}), {0x02, 0x40, 0xD2, 0, 0x21, 0, 0x20, 0, 0x1A, 0x0B, 0x20, 0, 0x1A, 0x0B}});
  CHECK(check(m) == "uninitialized local 0");
  // local.tee initialises too
  m.bodies[0] = cat({vec({local}), {0xD2, 0, 0x22, 0, 0x1A, 0x20, 0, 0x1A, 0x0B}});
  CHECK(check(m) == "");
  // nullable references and numbers are defaultable
  CHECK(check_body({}, {}, {0x20, 0, 0x1A, 0x20, 1, 0x1A, 0x0B},
                   {local_run(1, {I32}), local_run(1, {FUNCREF})}) == "");
}

TEST_CASE("ref.func needs a declared reference", "[validator]") {
  ModuleBytes m;
  m.types.push_back(func_type({}, {}));
  m.func(0, {0xD2, 0, 0x1A, 0x0B});
  CHECK(check(m) == "undeclared function reference");
  m.exports.push_back(cat({name("f"), {0x00, 0x00}}));
  CHECK(check(m) == "");
}

TEST_CASE("constant expressions", "[validator]") {
  ModuleBytes m;
  m.imports.push_back(cat({name("m"), name("g"), {0x03, I32, 0x00}}));  // immutable import
  m.imports.push_back(cat({name("m"), name("h"), {0x03, I32, 0x01}}));  // mutable import
  m.globals.push_back({I32, 0x00, 0x23, 0x00, 0x0B});                   // global.get 0
  CHECK(check(m) == "");
  // extended constants
  m.globals[0] = {I32, 0x00, 0x23, 0x00, 0x41, 2, 0x6C, 0x41, 1, 0x6A, 0x0B};
  CHECK(check(m) == "");
  // a mutable global is not constant
  m.globals[0] = {I32, 0x00, 0x23, 0x01, 0x0B};
  CHECK(check(m) == "constant expression required");
  // non-constant operator
  m.globals[0] = {I32, 0x00, 0x41, 1, 0x41, 1, 0x6D, 0x0B};
  CHECK(check(m) == "constant expression required");
  // an earlier defined immutable global is visible, a later one is not
  m.globals[0] = {I32, 0x00, 0x41, 1, 0x0B};
  m.globals.push_back({I32, 0x00, 0x23, 0x02, 0x0B});
  CHECK(check(m) == "");
  m.globals[1] = {I32, 0x00, 0x23, 0x03, 0x0B};
  CHECK(check(m) == "unknown global 3");
  // the result type is checked
  m.globals[1] = {I64, 0x00, 0x41, 0, 0x0B};
  CHECK(starts_with(check(m), "type mismatch"));
  // GC constants: struct.new of a struct type
  ModuleBytes g;
  g.types.push_back({0x5F, 0x01, I32, 0x00});  // (struct (field i32))
  g.globals.push_back({REF, 0x00, 0x00, 0x41, 7, 0xFB, 0x00, 0x00, 0x0B});
  CHECK(check(g) == "");
  // ref.func in a global declares the function for bodies
  ModuleBytes r;
  r.types.push_back(func_type({}, {}));
  r.globals.push_back({FUNCREF, 0x00, 0xD2, 0x00, 0x0B});
  r.func(0, {0xD2, 0, 0x1A, 0x0B});
  CHECK(check(r) == "");
  // active data offsets must be constant and typed by the memory
  ModuleBytes d;
  d.memories.push_back({0x00, 0x01});
  d.data.push_back({0x00, 0x42, 0x00, 0x0B, 0x00});
  CHECK(starts_with(check(d), "type mismatch"));
}

TEST_CASE("module-level rules", "[validator]") {
  ModuleBytes m;
  m.memories.push_back({0x01, 0x02, 0x01});
  CHECK(check(m) == "size minimum must not be greater than maximum");
  m.memories[0] = cat({{0x00}, leb(65537)});
  CHECK(check(m) == "memory size must be at most 65536 pages (4GiB)");
  m.memories[0] = {0x03, 0x01, 0x02};  // shared with max: fine
  CHECK(check(m) == "");
  m.memories.push_back({0x00, 0x00});
  CHECK(check(m) == "");
  CHECK(check(m, Features::everything().set(Proposal::MultiMemory, false)) == "multiple memories");

  ModuleBytes t;
  t.tables.push_back({FUNCREF, 0x01, 0x02, 0x01});
  CHECK(check(t) == "size minimum must not be greater than maximum");

  ModuleBytes e;
  e.types.push_back(func_type({}, {}));
  e.func(0, {0x0B});
  e.func(0, {0x0B});
  e.exports.push_back(cat({name("a"), {0x00, 0x00}}));
  e.exports.push_back(cat({name("a"), {0x00, 0x01}}));
  CHECK(check(e) == "duplicate export name");
  e.exports.pop_back();
  e.exports.push_back(cat({name("b"), {0x03, 0x00}}));
  CHECK(check(e) == "unknown global 0");

  ModuleBytes s;
  s.types.push_back(func_type({I32}, {}));
  s.func(0, {0x0B});
  s.start = 0;
  CHECK(starts_with(check(s), "start function"));

  ModuleBytes tag;
  tag.types.push_back(func_type({I32}, {I32}));
  tag.tags.push_back({0x00, 0x00});
  CHECK(check(tag) == "non-empty tag result type");

  // an element segment of externrefs cannot initialise a funcref table
  ModuleBytes el;
  el.tables.push_back({FUNCREF, 0x00, 0x01});
  el.elems.push_back({0x04 | 0x02, 0x00, 0x41, 0x00, 0x0B, EXTERNREF, 0x00});
  CHECK(starts_with(check(el), "type mismatch"));
  ModuleBytes el2;
  el2.elems.push_back({0x00, 0x41, 0x00, 0x0B, 0x00});
  CHECK(check(el2) == "unknown table 0");
}

TEST_CASE("sub types must match their declared supertypes", "[validator]") {
  auto sub = [](std::vector<uint32_t> supers, Bytes composite, bool final_ = false) {
    Bytes out = {uint8_t(final_ ? 0x4F : 0x50)};
    std::vector<Bytes> s;
    for (uint32_t x : supers) s.push_back(leb(x));
    return cat({out, vec(s), composite});
  };
  Bytes struct_i32 = {0x5F, 0x01, I32, 0x00};
  Bytes struct_i32_i64 = {0x5F, 0x02, I32, 0x00, I64, 0x00};
  Bytes struct_i64 = {0x5F, 0x01, I64, 0x00};

  ModuleBytes ok;
  ok.types = {sub({}, struct_i32), sub({0}, struct_i32_i64)};  // width subtyping
  CHECK(check(ok) == "");

  ModuleBytes bad;
  bad.types = {sub({}, struct_i32), sub({0}, struct_i64)};
  CHECK(check(bad) == "sub type 1 does not match super type 0");
  bad.types = {sub({}, struct_i32, /*final=*/true), sub({0}, struct_i32)};
  CHECK(starts_with(check(bad), "sub type"));
  bad.types = {sub({}, struct_i32), sub({0}, {0x5E, I32, 0x00})};
  CHECK(starts_with(check(bad), "sub type"));
  // mutable fields are invariant: (mut anyref) vs (mut eqref)
  bad.types = {sub({}, {0x5F, 0x01, ANYREF, 0x01}), sub({0}, {0x5F, 0x01, EQREF, 0x01})};
  CHECK(starts_with(check(bad), "sub type"));
  ok.types = {sub({}, {0x5F, 0x01, ANYREF, 0x00}), sub({0}, {0x5F, 0x01, EQREF, 0x00})};
  CHECK(check(ok) == "");
  // functions: contravariant params, covariant results
  ok.types = {sub({}, func_type({EQREF}, {ANYREF})), sub({0}, func_type({ANYREF}, {EQREF}))};
  CHECK(check(ok) == "");
  bad.types = {sub({}, func_type({ANYREF}, {})), sub({0}, func_type({EQREF}, {}))};
  CHECK(starts_with(check(bad), "sub type"));

  // the declared chain may not exceed the depth limit
  ModuleBytes deep;
  deep.types.push_back(sub({}, struct_i32));
  for (uint32_t i = 1; i <= kMaxSubtypingDepth; ++i) deep.types.push_back(sub({i - 1}, struct_i32));
  CHECK(check(deep) == "");
  deep.types.push_back(sub({kMaxSubtypingDepth}, struct_i32));
  CHECK(check(deep) != "");
}

TEST_CASE("rec groups canonicalise iso-recursively, across modules", "[validator][types]") {
  TypeRegistry registry;
  auto canonical_ids = [&](const ModuleBytes& m) {
    Bytes bytes = m.build();
    auto info = decode_module(bytes, Features::everything());
    REQUIRE(bool(info));
    auto types = ModuleTypes::build(info.ok(), bytes, Features::everything(), registry);
    REQUIRE(bool(types));
    std::vector<uint32_t> ids;
    for (uint32_t i = 0; i < info.ok().types.size(); ++i) ids.push_back(types.ok().canonical_id(i));
    return ids;
  };
  auto struct_of_ref = [](uint8_t index) { return Bytes{0x5F, 0x01, REF_NULL, index, 0x00}; };
  auto rec = [](std::vector<Bytes> members) { return cat({{0x4E}, vec(members)}); };

  // Module A: (func) then (rec (struct (ref null 2)) (struct (ref null 1))): each refers to the
  // other member. Module B: the same group first, then (func).
  ModuleBytes a;
  a.types = {func_type({}, {}), rec({struct_of_ref(2), struct_of_ref(1)})};
  ModuleBytes b;
  b.types = {rec({struct_of_ref(1), struct_of_ref(0)}), func_type({}, {})};
  auto ids_a = canonical_ids(a);
  auto ids_b = canonical_ids(b);
  CHECK(ids_a[1] == ids_b[0]);  // in-group references compare by position
  CHECK(ids_a[2] == ids_b[1]);
  CHECK(ids_a[0] == ids_b[2]);  // (func) is (func) wherever it sits
  CHECK(ids_a[1] != ids_a[2]);  // two members of one group are distinct types

  // Module C: a group whose members refer to themselves is a different group.
  ModuleBytes c;
  c.types = {rec({struct_of_ref(0), struct_of_ref(1)})};
  auto ids_c = canonical_ids(c);
  CHECK(ids_c[0] != ids_b[0]);
  CHECK(ids_c[1] != ids_b[1]);
  CHECK(ids_c[0] != ids_c[1]);

  // Singleton groups: a self-referencing struct, and one referring to that type from outside
  // its group, are different types; the same singleton in another module is the same type.
  ModuleBytes singles;
  singles.types = {struct_of_ref(0), struct_of_ref(0)};
  auto ids_s = canonical_ids(singles);
  CHECK(ids_s[0] != ids_s[1]);
  CHECK(canonical_ids(singles) == ids_s);
  // A singleton group differs from a one-member rec group only in spelling: same type.
  ModuleBytes spelled;
  spelled.types = {rec({struct_of_ref(0)})};
  CHECK(canonical_ids(spelled)[0] == ids_s[0]);

  // Structurally identical types inside one module are equal types.
  ModuleBytes twice;
  twice.types = {func_type({I32}, {}), func_type({I32}, {})};
  auto ids_t = canonical_ids(twice);
  CHECK(ids_t[0] == ids_t[1]);
  CHECK(ids_t[0] != ids_a[0]);

  // Declared supertypes are part of a type's identity, and the registry answers subtyping.
  ModuleBytes with_super;
  with_super.types = {cat({{0x50, 0x00}, func_type({}, {})}),
                      cat({{0x50, 0x01, 0x00}, func_type({}, {})})};
  auto ids_w = canonical_ids(with_super);
  CHECK(ids_w[0] != ids_a[0]);  // non-final (func) is not the final (func)
  CHECK(registry.is_subtype(ids_w[1], ids_w[0]));
  CHECK_FALSE(registry.is_subtype(ids_w[0], ids_w[1]));
  CHECK_FALSE(registry.is_subtype(ids_w[1], ids_a[0]));
}

TEST_CASE("equal types across rec-group boundaries make calls type-check", "[validator]") {
  // call_indirect through type 1 while the table holds functions of the identical type 0
  ModuleBytes m;
  m.types = {func_type({}, {I32}), func_type({}, {I32})};
  m.tables.push_back({FUNCREF, 0x00, 0x01});
  m.func(0, {0x41, 0, 0x11, 1, 0, 0x0B});
  CHECK(check(m) == "");
  // call_ref with a typed reference from ref.func of an equal type
  m.elems.push_back({0x03, 0x00, 0x01, 0x00});
  m.func(1, {0xD2, 0, 0x14, 1, 0x0B});
  CHECK(check(m) == "");
}

TEST_CASE("tail calls must return what the caller returns", "[validator]") {
  ModuleBytes m;
  m.types = {func_type({}, {I32}), func_type({}, {I64})};
  m.func(0, {0x12, 0, 0x0B});
  CHECK(check(m) == "");
  m.func(1, {0x12, 0, 0x0B});
  CHECK(starts_with(check(m), "type mismatch"));
}

TEST_CASE("references: null checks and casts", "[validator]") {
  // br_on_null: falls through with a non-null reference
  ModuleBytes m;
  m.types = {func_type({}, {}), {0x5F, 0x00}, func_type({ANYREF}, {})};
  // (func (param anyref) (block (br_on_null 0 (local.get 0)) (ref.as_non_null) drop))
  m.func(2, {0x02, 0x40, 0x20, 0, 0xD5, 0, 0x1A, 0x0B, 0x0B});
  CHECK(check(m) == "");
  // br_on_cast 0 anyref -> (ref 1) into a block returning (ref null 1)
  Bytes block_ref1 = {0x02, REF_NULL, 0x01};
  m.bodies[0] =
      cat({{0x00},
           block_ref1,
           {0x20, 0, 0xFB, 24, 0x01, 0, ANYREF, 0x01, 0x1A, 0xD0, 0x01, 0x0B, 0x1A, 0x0B}});
  CHECK(check(m) == "");
  // the target must be a subtype of the source: (ref func) is not under anyref
  m.bodies[0] =
      cat({{0x00},
           block_ref1,
           {0x20, 0, 0xFB, 24, 0x01, 0, ANYREF, FUNCREF, 0x1A, 0xD0, 0x01, 0x0B, 0x1A, 0x0B}});
  CHECK(starts_with(check(m), "type mismatch"));
  // ref.eq on funcref operands is a type error (func is not under eq)
  CHECK(starts_with(check_body({FUNCREF, FUNCREF}, {I32}, {0x20, 0, 0x20, 1, 0xD3, 0x0B}),
                    "type mismatch"));
  CHECK(check_body({EQREF, EQREF}, {I32}, {0x20, 0, 0x20, 1, 0xD3, 0x0B}) == "");
}

TEST_CASE("struct and array operators", "[validator]") {
  ModuleBytes m;
  // 0: (struct (field i8) (field (mut i32)))  1: (array i32)  2: (array (mut i8))
  m.types = {{0x5F, 0x02, 0x78, 0x00, I32, 0x01},
             {0x5E, I32, 0x00},
             {0x5E, 0x78, 0x01},
             func_type_n(1, {REF_NULL, 0x00}, 1, {I32}),
             func_type_n(2, {REF_NULL, 0x01, REF_NULL, 0x02}, 0, {})};
  m.func(3, {0x20, 0, 0xFB, 3, 0, 0, 0x0B});  // struct.get_s 0 0 on the packed field
  CHECK(check(m) == "");
  m.bodies[0] = {0x00, 0x20, 0, 0xFB, 2, 0, 0, 0x0B};  // struct.get on a packed field
  CHECK(starts_with(check(m), "type mismatch"));
  m.bodies[0] = {0x00, 0x20, 0, 0xFB, 3, 0, 1, 0x0B};  // struct.get_s on an i32 field
  CHECK(starts_with(check(m), "type mismatch"));
  m.bodies[0] = {0x00, 0x20, 0, 0xFB, 2, 0, 5, 0x0B};
  CHECK(check(m) == "unknown field 5");
  m.bodies[0] = {0x00, 0x20, 0, 0x41, 1, 0xFB, 5, 0, 0, 0x41, 0, 0x0B};  // set immutable field
  CHECK(check(m) == "immutable field");
  m.bodies[0] = {0x00, 0x20, 0, 0x41, 1, 0xFB, 5, 0, 1, 0x41, 0, 0x0B};
  CHECK(check(m) == "");
  // array.copy from (array i32) into (array (mut i8)): storage types differ
  m.func(4, {0x20, 1, 0x41, 0, 0x20, 0, 0x41, 0, 0x41, 0, 0xFB, 17, 2, 1, 0x0B});
  CHECK(check(m) == "array types do not match");
  // array.fill on an immutable array
  m.bodies[1] = {0x00, 0x20, 0, 0x41, 0, 0x41, 0, 0x41, 0, 0xFB, 16, 1, 0x0B};
  CHECK(check(m) == "immutable array");
  m.bodies[1] = {0x00, 0x20, 1, 0x41, 0, 0x41, 0, 0x41, 0, 0xFB, 16, 2, 0x0B};
  CHECK(check(m) == "");
  // array.new_fixed with three operands
  m.bodies[1] = {0x00, 0x41, 1, 0x41, 2, 0x41, 3, 0xFB, 8, 1, 3, 0x1A, 0x0B};
  CHECK(check(m) == "");
  m.bodies[1] = {0x00, 0x41, 1, 0x41, 2, 0xFB, 8, 1, 3, 0x1A, 0x0B};
  CHECK(starts_with(check(m), "type mismatch"));
}

TEST_CASE("exceptions: throw, try_table and the legacy form behind its switch", "[validator]") {
  ModuleBytes m;
  m.types = {func_type({I32}, {}), func_type({}, {})};
  m.tags.push_back({0x00, 0x00});
  m.func(1, {0x41, 1, 0x08, 0, 0x0B});
  CHECK(check(m) == "");
  m.bodies[0] = {0x00, 0x08, 0, 0x0B};
  CHECK(starts_with(check(m), "type mismatch"));
  // (block (result i32) (try_table (catch 0 0) ...)) : label takes the tag's i32
  m.bodies[0] = {0x00, 0x02, I32,  0x1F, 0x40, 0x01, 0x00, 0x00,
                 0x00, 0x0B, 0x41, 0,    0x0B, 0x1A, 0x0B};
  CHECK(check(m) == "");
  // catch_all to a label expecting i32: mismatch
  m.bodies[0] = {0x00, 0x02, I32, 0x1F, 0x40, 0x01, 0x02, 0x00, 0x0B, 0x41, 0, 0x0B, 0x1A, 0x0B};
  CHECK(starts_with(check(m), "type mismatch"));
  // legacy try/catch/rethrow
  m.bodies[0] = {0x00, 0x06, 0x40, 0x07, 0x00, 0x1A, 0x09, 0x00, 0x0B, 0x0B};
  CHECK(check(m) == "");
  CHECK(starts_with(check(m, Features::all_standard()), "try requires"));
  m.bodies[0] = {0x00, 0x06, 0x40, 0x09, 0x00, 0x0B, 0x0B};
  CHECK(check(m) == "invalid rethrow label");
}

TEST_CASE("hostile input: deep nesting without native recursion", "[validator]") {
  Bytes code;
  const uint32_t depth = 20000;
  for (uint32_t i = 0; i < depth; ++i) code.insert(code.end(), {0x02, 0x40});
  for (uint32_t i = 0; i < depth; ++i) code.push_back(0x0B);
  code.push_back(0x0B);
  CHECK(check_body({}, {}, code) == "");
  code.pop_back();  // a body missing its final end
  CHECK(check_body({}, {}, code) != "");
}

TEST_CASE("FuncValidator answers the compiler's queries between operators", "[validator]") {
  ModuleBytes m;
  m.types = {func_type({I32}, {I64}), func_type({I32}, {I64})};
  m.func(0, {0x20, 0, 0x02, 0x01, 0x1A, 0x42, 1, 0x0B, 0x0B});
  Bytes bytes = m.build();
  auto info = decode_module(bytes, Features::everything());
  REQUIRE(bool(info));
  auto types = validate_module_sections(info.ok(), bytes, Features::everything());
  REQUIRE(bool(types));
  FuncValidator v(types.ok());
  REQUIRE(bool(v.reset(0, info.ok().bodies[0].locals)));
  CHECK(v.control_depth() == 1);
  CHECK(v.reachable());
  CHECK(v.results().size() == 1);

  OperatorReader reader(bytes, info.ok().bodies[0].code);
  Operator op;
  REQUIRE(bool(reader.read(op)));  // local.get 0
  REQUIRE(bool(v.visit(op)));
  CHECK(v.operand_height() == 1);
  CHECK(v.operand_type(0) == ValType::i32());
  REQUIRE(bool(reader.read(op)));  // block (type 1): [i32] -> [i64]
  REQUIRE(bool(v.visit(op)));
  CHECK(v.control_depth() == 2);
  CHECK(v.frame(0).kind == FrameKind::Block);
  CHECK(v.frame(0).params().size() == 1);
  CHECK(v.frame(0).label_types().size() == 1);
  CHECK(v.frame(0).label_types()[0] == ValType::i64());
  CHECK(v.frame(0).height == 0);
  CHECK(v.operand_height() == 1);  // the block's parameter
  REQUIRE(bool(reader.read(op)));  // drop
  REQUIRE(bool(v.visit(op)));
  CHECK(v.operand_height() == 0);
  REQUIRE(bool(reader.read(op)));  // i64.const
  REQUIRE(bool(v.visit(op)));
  REQUIRE(bool(reader.read(op)));  // end
  REQUIRE(bool(v.visit(op)));
  CHECK(v.control_depth() == 1);
  CHECK(v.operand_type(0) == ValType::i64());
  REQUIRE(bool(reader.read(op)));  // end of function
  REQUIRE(bool(v.visit(op)));
  CHECK(v.control_depth() == 0);
  CHECK(bool(v.finish(0)));
}

TEST_CASE("errors carry the offending operator's byte offset", "[validator]") {
  ModuleBytes m;
  m.types.push_back(func_type({}, {}));
  m.func(0, {0x41, 0, 0x42, 0, 0x6A, 0x1A, 0x0B});  // i32.add over (i32, i64)
  Bytes bytes = m.build();
  auto result = decode_and_validate(bytes, Features::everything());
  REQUIRE_FALSE(bool(result));
  REQUIRE(result.err().offset().has_value());
  size_t offset = *result.err().offset();
  REQUIRE(offset < bytes.size());
  CHECK(bytes[offset] == 0x6A);
}

TEST_CASE("more control rules", "[validator]") {
  // if without else must pass its params through: [i32] -> [i64] cannot
  ModuleBytes m;
  m.types = {func_type({}, {}), func_type({I32}, {I64})};
  m.func(0, {0x41, 1, 0x41, 1, 0x04, 0x01, 0x1A, 0x42, 0, 0x0B, 0x1A, 0x0B});
  CHECK(starts_with(check(m), "type mismatch"));
  m.bodies[0] = {0x00, 0x41, 1,    0x41, 1, 0x04, 0x01, 0x1A, 0x42,
                 0,    0x05, 0x1A, 0x42, 1, 0x0B, 0x1A, 0x0B};
  CHECK(check(m) == "");
  // else outside an if
  m.bodies[0] = {0x00, 0x05, 0x0B};
  CHECK(check(m) != "");
  // a long br_table of repeated labels
  Bytes code = {0x02, 0x40, 0x41, 0, 0x0E};
  Bytes count = leb(5000);
  code.insert(code.end(), count.begin(), count.end());
  for (int i = 0; i < 5000; ++i) code.push_back(i % 2);
  code.insert(code.end(), {0x00, 0x0B, 0x0B});
  CHECK(check_body({}, {}, code) == "");
  // legacy delegate to the function's label
  ModuleBytes d;
  d.types.push_back(func_type({}, {}));
  d.func(0, {0x06, 0x40, 0x18, 0x00, 0x0B});
  CHECK(check(d) == "");
  d.bodies[0] = {0x00, 0x06, 0x40, 0x18, 0x01, 0x0B};
  CHECK(check(d) == "unknown label");
}

TEST_CASE("more module and memory rules", "[validator]") {
  // custom page size 1: at most 2^32-1 pages for a 32-bit memory
  ModuleBytes m;
  m.memories.push_back(cat({{0x08}, leb(0xFFFFFFFFull), {0x00}}));
  CHECK(check(m) == "");
  CHECK(check(m, Features::all_standard().set(Proposal::CustomPageSizes, false)) != "");
  // memory.init without a data count section
  ModuleBytes d;
  d.types.push_back(func_type({}, {}));
  d.memories.push_back({0x00, 0x01});
  d.func(0, {0x41, 0, 0x41, 0, 0x41, 0, 0xFC, 8, 0, 0, 0x0B});
  d.data.push_back({0x01, 0x00});
  CHECK(check(d) == "data count section required");
  d.data_count = 1;
  CHECK(check(d) == "");
  // call_indirect through a table of externrefs
  ModuleBytes t;
  t.types.push_back(func_type({}, {}));
  t.tables.push_back({EXTERNREF, 0x00, 0x01});
  t.func(0, {0x41, 0, 0x11, 0, 0, 0x0B});
  CHECK(starts_with(check(t), "type mismatch"));
  // memory.copy between a 64-bit and a 32-bit memory: the count is i32
  ModuleBytes c;
  c.types.push_back(func_type({}, {}));
  c.memories = {{0x04, 0x01}, {0x00, 0x01}};
  c.func(0, {0x42, 0, 0x41, 0, 0x41, 0, 0xFC, 10, 0, 1, 0x0B});
  CHECK(check(c) == "");
  c.bodies[0] = {0x00, 0x42, 0, 0x41, 0, 0x42, 0, 0xFC, 10, 0, 1, 0x0B};
  CHECK(starts_with(check(c), "type mismatch"));
  // an operator of a disabled proposal names it
  CHECK(starts_with(check_body({}, {}, cat({{0xFD, 0x0C}, Bytes(16, 0), {0x1A, 0x0B}}), {},
                               Features::all_standard().set(Proposal::Simd, false)),
                    "v128.const requires"));
  // struct.new_default needs defaultable fields
  ModuleBytes s;
  s.types = {func_type({}, {}), {0x5F, 0x01, REF, 0x00, 0x00}};
  s.func(0, {0xFB, 1, 1, 0x1A, 0x0B});
  CHECK(starts_with(check(s), "type mismatch"));
}

TEST_CASE("a hand-built ModuleInfo validates, and reachability follows branches", "[validator]") {
  // (func (param i32) (result i32) block br 0 end local.get 0), built without bytes for types
  ModuleInfo module;
  SubType type;
  type.kind = CompositeKind::Func;
  type.func.params = {ValType::i32()};
  type.func.results = {ValType::i32()};
  module.types.push_back(type);  // no rec_groups: each type is its own group
  module.func_types = {0};
  Bytes code = {0x02, 0x40, 0x0C, 0x00, 0x0B, 0x20, 0x00, 0x0B};
  FunctionBody body;
  body.code = {0, uint32_t(code.size())};
  body.range = body.code;
  module.bodies.push_back(body);

  auto types = validate_module_sections(module, code, Features::everything());
  REQUIRE(bool(types));
  FuncValidator v(types.ok());
  REQUIRE(bool(v.reset(0, {})));
  OperatorReader reader(code, body.code);
  Operator op;
  std::vector<bool> reachable_after;
  while (!reader.at_end()) {
    REQUIRE(bool(reader.read(op)));
    REQUIRE(bool(v.visit(op)));
    reachable_after.push_back(v.reachable());
  }
  // block: reachable; br: not; end of block: reachable again; local.get: reachable; end: done
  CHECK(reachable_after == std::vector<bool>{true, false, true, true, false});
  CHECK(bool(v.finish(uint32_t(code.size()))));
  CHECK(bool(validate_function_body(types.ok(), 0, v)));
}

namespace {

// Validates every body of `module` twice, through validate_body (the fused loop with its fast
// paths) and through OperatorReader::read + FuncValidator::visit (the general path), requires the
// two to agree to the byte offset, and returns "" or the first failure's message.
std::string both_paths(const ModuleBytes& module,
                       const Features& features = Features::everything()) {
  Bytes bytes = module.build();
  auto info = decode_module(bytes, features);
  if (!info) return "decode: " + info.err().message();
  auto types = validate_module_sections(info.ok(), bytes, features);
  if (!types) return "sections: " + types.err().message();
  FuncValidator fused(types.ok());
  FuncValidator general(types.ok());
  for (uint32_t i = 0; i < info.ok().bodies.size(); ++i) {
    const FunctionBody& body = info.ok().bodies[i];
    Result<void> expected = [&]() -> Result<void> {
      if (auto r = general.reset(info.ok().imported_funcs + i, body.locals); !r) return r;
      OperatorReader reader(bytes, body.code);
      Operator op;
      while (!reader.at_end()) {
        if (auto r = reader.read(op); !r) {
          if (r.err().message() == "unexpected end")
            return Error("unexpected end of section or function", *r.err().offset());
          return r;
        }
        if (auto r = general.visit(op); !r) return r;
      }
      return general.finish(body.code.end());
    }();
    Result<void> actual = validate_function_body(types.ok(), i, fused);
    INFO("defined function " << i);
    REQUIRE(bool(actual) == bool(expected));
    if (!actual) {
      REQUIRE(actual.err().to_string() == expected.err().to_string());
      return actual.err().message();
    }
  }
  return "";
}

// One function [params] -> [results] over one page of memory (memory32 unless `memory64`).
std::string both_body(Bytes params, Bytes results, Bytes code, std::vector<Bytes> locals = {},
                      const Features& features = Features::everything(), bool memory64 = false) {
  ModuleBytes m;
  m.types.push_back(func_type(params, results));
  m.memories.push_back({uint8_t(memory64 ? 0x04 : 0x00), 0x01});
  m.func(0, code, locals);
  return both_paths(m, features);
}

Bytes padded_leb(uint64_t value, size_t length) {  // unsigned, `length` bytes
  Bytes out;
  for (size_t i = 0; i < length; ++i) {
    uint8_t byte = value & 0x7F;
    value >>= 7;
    if (i + 1 < length) byte |= 0x80;
    out.push_back(byte);
  }
  return out;
}

}  // namespace

TEST_CASE("validate_body's fast paths: LEB immediates of every length", "[validator][fast]") {
  // local indices: one byte, two bytes (the 200th local), padded to five, too large, too long
  std::vector<Bytes> many = {local_run(300, {I32})};
  CHECK(both_body({}, {}, cat({{0x20}, leb(200), {0x1A, 0x0B}}), many) == "");
  CHECK(both_body({}, {}, cat({{0x20}, padded_leb(7, 5), {0x1A, 0x0B}}), many) == "");
  CHECK(both_body({}, {}, cat({{0x20}, padded_leb(299, 4), {0x21}, padded_leb(1, 5), {0x0B}}),
                  many) == "");
  CHECK(both_body({}, {}, {0x20, 0x80, 0x80, 0x80, 0x80, 0x10, 0x1A, 0x0B}, many) ==
        "integer too large");
  CHECK(both_body({}, {}, {0x20, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00, 0x1A, 0x0B}, many) ==
        "integer representation too long");
  CHECK(both_body({}, {}, cat({{0x20}, leb(300), {0x1A, 0x0B}}), many) == "unknown local 300");
  // the same with more than eight bytes left after the index (read from one word)
  const Bytes nops(10, 0x01);
  CHECK(both_body({}, {}, cat({{0x20}, padded_leb(7, 5), {0x1A}, nops, {0x0B}}), many) == "");
  CHECK(both_body({}, {}, cat({{0x20, 0x80, 0x80, 0x80, 0x80, 0x10, 0x1A}, nops, {0x0B}}), many) ==
        "integer too large");
  CHECK(both_body({}, {}, cat({{0x20, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00, 0x1A}, nops, {0x0B}}),
                  many) == "integer representation too long");
  CHECK(both_body({}, {}, cat({{0x20}, padded_leb(299, 2), {0x1A}, nops, {0x0B}}), many) == "");
  CHECK(both_body({}, {}, cat({{0x20}, padded_leb(300, 3), {0x1A}, nops, {0x0B}}), many) ==
        "unknown local 300");
  CHECK(both_body({}, {I32}, cat({{0x41, 0x80, 0x80, 0x80, 0x80, 0x70}, nops, {0x0B}})) ==
        "integer too large");
  CHECK(both_body({}, {I32}, cat({{0x41, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F}, nops, {0x0B}})) == "");
  CHECK(both_body({}, {I32}, cat({{0x41, 0xFF, 0xFF, 0xFF, 0x7F}, nops, {0x0B}})) == "");
  CHECK(both_body({}, {I64}, cat({{0x42}, Bytes(9, 0x80), {0x01}, nops, {0x0B}})) ==
        "integer too large");
  CHECK(both_body({}, {I64}, cat({{0x42}, Bytes(7, 0xFF), {0x7F}, nops, {0x0B}})) == "");
  CHECK(both_body({}, {}, cat({{0x41, 0, 0x28, 2}, padded_leb(16, 5), {0x1A}, nops, {0x0B}})) ==
        "");
  CHECK(both_body({}, {}, cat({{0x41, 0, 0x28, 2}, leb(0x100000000), {0x1A}, nops, {0x0B}})) ==
        "offset out of range");
  // the same near the end of the body (fewer than eight bytes left) and far from it
  CHECK(both_body({}, {}, cat({{0x20}, padded_leb(3, 3), {0x1A, 0x0B}}), many) == "");
  CHECK(both_body({}, {},
                  cat({{0x20},
                       padded_leb(3, 3),
                       {0x1A, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x0B}}),
                  many) == "");
  // an index that swallows the body's final end (the decoder checks only that the last byte is
  // an end)
  CHECK(both_body({}, {}, {0x20, 0x80, 0x0B}, many) == "unknown local 1408");
  CHECK(both_body({}, {}, {0x20, 0x01, 0x1A, 0x20, 0x80, 0x80, 0x0B}, many) ==
        "unknown local 180224");

  // i32.const: padded and sign-extended forms, and the fifth byte's range checks
  CHECK(both_body({}, {I32}, {0x41, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F, 0x0B}) == "");
  CHECK(both_body({}, {I32}, {0x41, 0x80, 0x80, 0x80, 0x80, 0x00, 0x0B}) == "");
  CHECK(both_body({}, {I32}, {0x41, 0x80, 0x80, 0x80, 0x80, 0x70, 0x0B}) == "integer too large");
  CHECK(both_body({}, {I32}, {0x41, 0xFF, 0xFF, 0xFF, 0xFF, 0x07, 0x0B}) == "");
  CHECK(both_body({}, {I32}, {0x41, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 0x0B}) == "integer too large");
  CHECK(both_body({}, {I32}, {0x41, 0xFF, 0xFF, 0xFF, 0xFF, 0x4F, 0x0B}) == "integer too large");
  CHECK(both_body({}, {I32}, {0x41, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00, 0x0B}) ==
        "integer representation too long");
  // i64.const: up to ten bytes, whose last holds one value bit and the sign
  CHECK(both_body({}, {I64}, cat({{0x42}, Bytes(9, 0x80), {0x00, 0x0B}})) == "");
  CHECK(both_body({}, {I64}, cat({{0x42}, Bytes(9, 0xFF), {0x7F, 0x0B}})) == "");
  CHECK(both_body({}, {I64}, cat({{0x42}, Bytes(9, 0x80), {0x01, 0x0B}})) == "integer too large");
  CHECK(both_body({}, {I64}, cat({{0x42}, Bytes(8, 0x80), {0x00, 0x0B}})) == "");
  CHECK(both_body({}, {I64}, cat({{0x42}, Bytes(7, 0x80), {0x00, 0x0B}})) == "");
  CHECK(both_body({}, {I64}, cat({{0x42}, Bytes(10, 0x80), {0x00, 0x0B}})) ==
        "integer representation too long");
  // f32/f64.const cut off
  CHECK(both_body({}, {F32}, {0x43, 0, 0, 0, 0, 0x0B}) == "");
  CHECK(both_body({}, {F64}, {0x44, 0, 0, 0, 0x0B}) == "unexpected end of section or function");
}

TEST_CASE("validate_body's fast paths: memory accesses", "[validator][fast]") {
  const Bytes addr = {0x41, 0};
  // alignment: natural, too large, with the memory-index flag (multi-memory)
  CHECK(both_body({}, {}, cat({addr, {0x28, 2, 0, 0x1A, 0x0B}})) == "");
  CHECK(both_body({}, {}, cat({addr, {0x2D, 1, 0, 0x1A, 0x0B}})) ==
        "alignment must not be larger than natural");
  CHECK(both_body({}, {}, cat({addr, {0x28, 0x42, 0, 0, 0x1A, 0x0B}})) == "");
  CHECK(both_body({}, {}, cat({addr, {0x28, 0x80, 0x00, 0, 0x1A, 0x0B}})) == "");  // padded flags
  // offsets: padded, the largest a 32-bit memory takes, one more, six bytes for a small value
  CHECK(both_body({}, {}, cat({addr, {0x28, 2}, padded_leb(16, 5), {0x1A, 0x0B}})) == "");
  CHECK(both_body({}, {}, cat({addr, {0x28, 2}, leb(0xFFFFFFFF), {0x1A, 0x0B}})) == "");
  CHECK(both_body({}, {}, cat({addr, {0x28, 2}, leb(0x100000000), {0x1A, 0x0B}})) ==
        "offset out of range");
  CHECK(both_body({}, {}, cat({addr, {0x28, 2}, padded_leb(16, 7), {0x1A, 0x0B}})) == "");
  // memory64: i64 addresses, any u64 offset
  CHECK(both_body({}, {}, cat({{0x42, 0, 0x28, 2}, leb(uint64_t(1) << 40), {0x1A, 0x0B}}), {},
                  Features::everything(), true) == "");
  CHECK(starts_with(
      both_body({}, {}, cat({addr, {0x28, 2, 0, 0x1A, 0x0B}}), {}, Features::everything(), true),
      "type mismatch"));
  // stores: value and address types
  CHECK(both_body({}, {}, cat({addr, {0x42, 1, 0x37, 3, 0, 0x0B}})) == "");
  CHECK(starts_with(both_body({}, {}, cat({addr, {0x41, 1, 0x37, 3, 0, 0x0B}})), "type mismatch"));
  // no memory at all
  ModuleBytes m;
  m.types.push_back(func_type({}, {}));
  m.func(0, cat({addr, {0x28, 2, 0, 0x1A, 0x0B}}));
  CHECK(both_paths(m) == "unknown memory 0");
  m.bodies[0] = cat({{0x00}, addr, addr, addr, {0xFC, 11, 0, 0x0B}});
  CHECK(both_paths(m) == "unknown memory 0");
  // ... also when the operand is unknown (Bottom, in unreachable code: `select` there leaves
  // one), which the fast path once took for memory 0's address type (found by the fuzzer).
  m.bodies[0] = {0x00, 0x00, 0x1B, 0x28, 2, 0, 0x1A, 0x0B};
  CHECK(both_paths(m) == "unknown memory 0");
  m.bodies[0] = {0x00, 0x00, 0x1B, 0x41, 0, 0x36, 2, 0, 0x0B};
  CHECK(both_paths(m) == "unknown memory 0");
  m.types.push_back(func_type({}, {I32}));
  m.func(1, {0x02, 0x40, 0x00, 0xD5, 0x00, 0x34, 0x00, 0x0F, 0x0B, 0x41, 0x7F, 0x0B});
  CHECK(both_paths(m) == "unknown memory 0");
  // memory.fill / memory.copy, one-byte and padded sub-opcodes, and a second memory
  CHECK(both_body({}, {}, cat({addr, addr, addr, {0xFC, 11, 0, 0x0B}})) == "");
  CHECK(both_body({}, {}, cat({addr, addr, addr, {0xFC, 10, 0, 0, 0x0B}})) == "");
  CHECK(both_body({}, {}, cat({addr, addr, addr, {0xFC, 0x8A, 0x00, 0, 0, 0x0B}})) == "");
  CHECK(both_body({}, {}, cat({addr, addr, addr, {0xFC, 10, 0, 1, 0x0B}})) == "unknown memory 1");
  CHECK(starts_with(both_body({}, {}, cat({addr, {0x42, 0}, addr, {0xFC, 11, 0, 0x0B}})),
                    "type mismatch"));
  // saturating truncation
  CHECK(both_body({}, {I32}, {0x43, 0, 0, 0, 0, 0xFC, 0, 0x0B}) == "");
  CHECK(starts_with(both_body({}, {I32}, {0x44, 0, 0, 0, 0, 0, 0, 0, 0, 0xFC, 0, 0x0B}),
                    "type mismatch"));
}

TEST_CASE("validate_body's fast paths: control, calls, variables", "[validator][fast]") {
  // block types: empty, a number, v128, a type index; if without else; else; end with extras
  CHECK(both_body({}, {I32}, {0x02, I32, 0x41, 1, 0x0B, 0x0B}) == "");
  CHECK(both_body({}, {}, cat({{0x02, V128, 0xFD, 0x0C}, Bytes(16, 0), {0x0B, 0x1A, 0x0B}})) == "");
  CHECK(both_body({}, {}, {0x41, 1, 0x04, 0x40, 0x0B, 0x0B}) == "");
  CHECK(starts_with(both_body({}, {I32}, {0x41, 1, 0x04, I32, 0x41, 2, 0x0B, 0x0B}),
                    "type mismatch"));
  CHECK(both_body({}, {I32}, {0x41, 1, 0x04, I32, 0x41, 2, 0x05, 0x41, 3, 0x0B, 0x0B}) == "");
  CHECK(starts_with(both_body({}, {I32}, {0x41, 1, 0x04, I32, 0x41, 2, 0x05, 0x0B, 0x0B}),
                    "type mismatch"));
  CHECK(starts_with(both_body({}, {}, {0x02, 0x40, 0x41, 1, 0x0B, 0x0B}), "type mismatch"));
  CHECK(both_body({}, {}, {0x42, 1, 0x04, 0x40, 0x0B, 0x0B}) != "");
  CHECK(both_body({}, {}, {0x05, 0x0B}) == "else without matching if");
  // loops branch to their params; br_if keeps its values; br_table takes the general path
  CHECK(both_body({}, {I32}, {0x02, I32, 0x41, 1, 0x41, 0, 0x0D, 0, 0x0B, 0x0B}) == "");
  CHECK(both_body({}, {}, {0x03, 0x40, 0x41, 0, 0x0D, 0, 0x0B, 0x0B}) == "");
  CHECK(both_body({}, {}, {0x02, 0x40, 0x41, 0, 0x0E, 1, 0, 1, 0x0B, 0x0B}) == "");
  CHECK(both_body({}, {}, {0x0C, 5, 0x0B}) == "unknown label");
  CHECK(starts_with(both_body({}, {I32}, {0x42, 0, 0x0C, 0, 0x0B}), "type mismatch"));
  CHECK(both_body({}, {I32}, {0x41, 0, 0x0F, 0x0B}) == "");
  CHECK(starts_with(both_body({}, {I32}, {0x0F, 0x0B}), "type mismatch"));
  // the polymorphic stack after unreachable, br and return
  CHECK(both_body({}, {I32}, {0x00, 0x6A, 0x0B}) == "");
  CHECK(starts_with(both_body({}, {I32}, {0x00, 0x42, 0, 0x6A, 0x0B}), "type mismatch"));
  CHECK(both_body({}, {}, {0x0F, 0x1A, 0x1B, 0x1A, 0x0B}) == "");
  // operators after the function's end; a body that ends inside a block
  CHECK(both_body({}, {}, {0x0B, 0x01, 0x0B}) == "operators after the function's end");
  CHECK(both_body({}, {}, {0x0B, 0xFF, 0x0B}) == "illegal opcode ff");
  CHECK(both_body({}, {}, {0x02, 0x40, 0x0B}) == "unexpected end of section or function");
  // a stack deeper than the validator's first allocation, and nesting likewise
  Bytes deep;
  for (int i = 0; i < 300; ++i) deep.insert(deep.end(), {0x41, 1});
  for (int i = 0; i < 299; ++i) deep.push_back(0x6A);
  deep.push_back(0x0B);
  CHECK(both_body({}, {I32}, deep) == "");
  Bytes nested;
  for (int i = 0; i < 100; ++i) nested.insert(nested.end(), {0x02, I32});
  nested.insert(nested.end(), {0x41, 0});
  for (int i = 0; i < 100; ++i) nested.push_back(0x0B);
  nested.push_back(0x0B);
  CHECK(both_body({}, {I32}, nested) == "");
  // drop and select
  CHECK(starts_with(both_body({}, {}, {0x1A, 0x0B}), "type mismatch"));
  CHECK(both_body({}, {I64}, {0x42, 1, 0x42, 2, 0x41, 0, 0x1B, 0x0B}) == "");
  CHECK(
      starts_with(both_body({}, {I64}, {0x42, 1, 0x41, 2, 0x41, 0, 0x1B, 0x0B}), "type mismatch"));
  CHECK(
      starts_with(both_body({}, {I64}, {0x42, 1, 0x42, 2, 0x42, 0, 0x1B, 0x0B}), "type mismatch"));

  // calls: 200 functions, so indices take two bytes; one call padded to five
  ModuleBytes m;
  m.types = {func_type({I32, I64}, {F32}), func_type({}, {})};
  m.tables.push_back({FUNCREF, 0x00, 0x01});
  m.tables.push_back({EXTERNREF, 0x00, 0x01});
  for (int i = 0; i < 200; ++i) m.func(0, {0x43, 0, 0, 0, 0, 0x0B});
  m.func(1, cat({{0x41, 1, 0x42, 2, 0x10},
                 leb(150),
                 {0x1A, 0x41, 1, 0x42, 2, 0x10},
                 padded_leb(199, 5),
                 {0x1A, 0x0B}}));
  CHECK(both_paths(m) == "");
  m.bodies.back() = cat({{0x00, 0x41, 1, 0x41, 2, 0x10}, leb(150), {0x1A, 0x0B}});
  CHECK(starts_with(both_paths(m), "type mismatch"));
  m.bodies.back() = cat({{0x00, 0x10}, leb(201), {0x0B}});
  CHECK(both_paths(m) == "unknown function 201");
  // call_indirect: through a funcref table, an externref table, a type that is not a function
  m.bodies.back() = {0x00, 0x41, 1, 0x42, 2, 0x41, 0, 0x11, 0, 0, 0x1A, 0x0B};
  CHECK(both_paths(m) == "");
  m.bodies.back() = {0x00, 0x41, 1, 0x42, 2, 0x41, 0, 0x11, 0x80, 0x00, 0x80, 0x00, 0x1A, 0x0B};
  CHECK(both_paths(m) == "");
  m.bodies.back() = {0x00, 0x41, 1, 0x42, 2, 0x41, 0, 0x11, 0, 1, 0x1A, 0x0B};
  CHECK(both_paths(m) == "type mismatch: call_indirect needs a table of functions");
  m.bodies.back() = {0x00, 0x41, 1, 0x42, 2, 0x41, 0, 0x11, 5, 0, 0x1A, 0x0B};
  CHECK(both_paths(m) == "unknown type 5");
  m.bodies.back() = {0x00, 0x41, 1, 0x42, 2, 0x42, 0, 0x11, 0, 0, 0x1A, 0x0B};
  CHECK(starts_with(both_paths(m), "type mismatch"));

  // globals: immutable, mutable, reference-typed
  ModuleBytes g;
  g.types.push_back(func_type({}, {}));
  g.globals = {
      {I32, 0x00, 0x41, 0, 0x0B}, {I64, 0x01, 0x42, 0, 0x0B}, {FUNCREF, 0x01, 0xD0, 0x70, 0x0B}};
  g.func(0, {0x23, 0, 0x1A, 0x23, 1, 0x24, 1, 0x23, 2, 0x24, 2, 0x0B});
  CHECK(both_paths(g) == "");
  g.bodies[0] = {0x00, 0x41, 0, 0x24, 0, 0x0B};
  CHECK(both_paths(g) == "immutable global");
  g.bodies[0] = {0x00, 0x41, 0, 0x24, 1, 0x0B};
  CHECK(starts_with(both_paths(g), "type mismatch"));
  g.bodies[0] = {0x00, 0x23, 3, 0x1A, 0x0B};
  CHECK(both_paths(g) == "unknown global 3");

  // locals: set and tee check their type; a non-defaultable local must be set first
  CHECK(both_body({I32}, {I32}, {0x41, 1, 0x22, 0, 0x0B}) == "");
  CHECK(starts_with(both_body({I32}, {}, {0x42, 1, 0x21, 0, 0x0B}), "type mismatch"));
  CHECK(both_body({}, {}, {0x20, 0, 0x1A, 0x0B}, {local_run(1, {REF, 0x70})}) ==
        "uninitialized local 0");
}

TEST_CASE("validate_body's fast paths leave operators of disabled proposals to visit()",
          "[validator][fast]") {
  // i32.extend8_s (sign extension) and i32.trunc_sat_f32_s (saturating conversions)
  const Features mvp = Features::mvp_only();
  CHECK(both_body({}, {I32}, {0x41, 0, 0xC0, 0x0B}) == "");
  CHECK(both_body({}, {I32}, {0x41, 0, 0xC0, 0x0B}, {}, mvp) ==
        "i32.extend8_s requires the sign-extension proposal");
  CHECK(both_body({}, {I32}, {0x43, 0, 0, 0, 0, 0xFC, 0, 0x0B}, {}, mvp) ==
        "i32.trunc_sat_f32_s requires the saturating-float-to-int proposal");
}

namespace {

// Where section `id`'s contents begin in an encoded module (after its id and size).
size_t section_contents(const Bytes& bytes, uint8_t id) {
  size_t pos = 8;
  while (pos < bytes.size()) {
    uint8_t section = bytes[pos++];
    uint64_t size = 0;
    for (unsigned shift = 0;; shift += 7) {
      uint8_t byte = bytes[pos++];
      size |= uint64_t(byte & 0x7F) << shift;
      if (!(byte & 0x80)) break;
    }
    if (section == id) return pos;
    pos += size;
  }
  FAIL("no section " << int(id));
  return 0;
}

// The offset of entry `index` of a vector section whose entries are `entries`.
size_t entry_offset(const Bytes& bytes, uint8_t id, const std::vector<Bytes>& entries,
                    size_t index) {
  size_t offset = section_contents(bytes, id) + leb(entries.size()).size();
  for (size_t k = 0; k < index; ++k) offset += entries[k].size();
  return offset;
}

struct Failure {
  std::string message;
  uint64_t offset = ~uint64_t(0);
};

Failure failure(const Bytes& bytes, const Features& features = Features::everything()) {
  auto result = decode_and_validate(bytes, features);
  if (result) return {"valid"};
  return {result.err().message(), result.err().offset().value_or(~uint64_t(0))};
}

constexpr uint8_t kImportSection = 2, kFunctionSection = 3, kTableSection = 4, kMemorySection = 5,
                  kGlobalSection = 6, kExportSection = 7, kStartSection = 8, kElementSection = 9,
                  kDataSection = 11, kTagSection = 13, kTypeSection = 1;

}  // namespace

TEST_CASE("module-level errors point at the entry that is wrong", "[validator][offsets]") {
  ModuleBytes e;
  e.types.push_back(func_type({}, {}));
  e.func(0, {0x0B});
  e.exports = {cat({name("a"), {0x00, 0x00}}), cat({name("b"), {0x00, 0x00}}),
               cat({name("a"), {0x00, 0x00}})};
  Bytes bytes = e.build();
  Failure f = failure(bytes);
  CHECK(f.message == "duplicate export name");
  CHECK(f.offset == entry_offset(bytes, kExportSection, e.exports, 2));

  e.exports = {cat({name("a"), {0x00, 0x00}}), cat({name("b"), {0x00, 0x07}})};
  bytes = e.build();
  f = failure(bytes);
  CHECK(f.message == "unknown function 7");
  CHECK(f.offset == entry_offset(bytes, kExportSection, e.exports, 1));

  e.exports = {cat({name("m"), {0x02, 0x00}})};
  bytes = e.build();
  f = failure(bytes);
  CHECK(f.message == "unknown memory 0");
  CHECK(f.offset == entry_offset(bytes, kExportSection, e.exports, 0));

  // the start function: its type, and an index out of range
  ModuleBytes s;
  s.types = {func_type({}, {}), func_type({I32}, {})};
  s.func(0, {0x0B});
  s.func(1, {0x0B});
  s.start = 1;
  bytes = s.build();
  f = failure(bytes);
  CHECK(f.message == "start function must have type [] -> []");
  CHECK(f.offset == section_contents(bytes, kStartSection));
  s.start = 9;
  bytes = s.build();
  f = failure(bytes);
  CHECK(f.message == "unknown function 9");
  CHECK(f.offset == section_contents(bytes, kStartSection));

  // a function of an unknown type: its function-section entry, or its import
  ModuleBytes fn;
  fn.types.push_back(func_type({}, {}));
  fn.func(0, {0x0B});
  fn.func(3, {0x0B});
  bytes = fn.build();
  f = failure(bytes);
  CHECK(f.message == "unknown type 3");
  CHECK(f.offset == entry_offset(bytes, kFunctionSection, fn.funcs, 1));
  ModuleBytes im;
  im.types.push_back(func_type({}, {}));
  im.imports = {cat({name("m"), name("f"), {0x00, 0x00}}),
                cat({name("m"), name("g"), {0x00, 0x05}})};
  bytes = im.build();
  f = failure(bytes);
  CHECK(f.message == "unknown type 5");
  CHECK(f.offset == entry_offset(bytes, kImportSection, im.imports, 1));

  // limits: an imported memory, a defined one, a second memory without multi-memory, a table
  ModuleBytes mem;
  mem.imports = {cat({name("m"), name("mem"), {0x02, 0x01, 0x03, 0x02}})};
  bytes = mem.build();
  f = failure(bytes);
  CHECK(f.message == "size minimum must not be greater than maximum");
  CHECK(f.offset == entry_offset(bytes, kImportSection, mem.imports, 0));
  mem.imports.clear();
  mem.memories = {{0x00, 0x01}, cat({{0x00}, leb(70000)})};
  bytes = mem.build();
  f = failure(bytes);
  CHECK(f.message == "memory size must be at most 65536 pages (4GiB)");
  CHECK(f.offset == entry_offset(bytes, kMemorySection, mem.memories, 1));
  mem.memories = {{0x00, 0x01}, {0x00, 0x01}};
  bytes = mem.build();
  f = failure(bytes, Features::everything().set(Proposal::MultiMemory, false));
  CHECK(f.message == "multiple memories");
  CHECK(f.offset == entry_offset(bytes, kMemorySection, mem.memories, 1));
  ModuleBytes tab;
  tab.tables = {{FUNCREF, 0x00, 0x01}, {FUNCREF, 0x01, 0x05, 0x01}};
  bytes = tab.build();
  f = failure(bytes);
  CHECK(f.message == "size minimum must not be greater than maximum");
  CHECK(f.offset == entry_offset(bytes, kTableSection, tab.tables, 1));

  // a global of an unknown type, a tag with results
  ModuleBytes g;
  g.types.push_back(func_type({}, {}));
  g.globals = {{I32, 0x00, 0x41, 0, 0x0B}, {REF_NULL, 0x07, 0x00, 0xD0, 0x70, 0x0B}};
  bytes = g.build();
  f = failure(bytes);
  CHECK(f.message == "unknown type 7");
  CHECK(f.offset == entry_offset(bytes, kGlobalSection, g.globals, 1));
  ModuleBytes tag;
  tag.types = {func_type({}, {}), func_type({I32}, {I32})};
  tag.tags = {{0x00, 0x00}, {0x00, 0x01}};
  bytes = tag.build();
  f = failure(bytes);
  CHECK(f.message == "non-empty tag result type");
  CHECK(f.offset == entry_offset(bytes, kTagSection, tag.tags, 1));

  // element and data segments: the segment's own entry
  ModuleBytes el;
  el.types.push_back(func_type({}, {}));
  el.tables.push_back({FUNCREF, 0x00, 0x01});
  el.func(0, {0x0B});
  el.elems = {{0x00, 0x41, 0x00, 0x0B, 0x01, 0x00}, {0x00, 0x41, 0x00, 0x0B, 0x01, 0x04}};
  bytes = el.build();
  f = failure(bytes);
  CHECK(f.message == "unknown function 4");
  CHECK(f.offset == entry_offset(bytes, kElementSection, el.elems, 1));
  el.elems = {{0x02, 0x03, 0x41, 0x00, 0x0B, 0x00, 0x00}};
  bytes = el.build();
  f = failure(bytes);
  CHECK(f.message == "unknown table 3");
  CHECK(f.offset == entry_offset(bytes, kElementSection, el.elems, 0));
  ModuleBytes d;
  d.memories.push_back({0x00, 0x01});
  d.data = {{0x00, 0x41, 0x00, 0x0B, 0x00}, {0x02, 0x04, 0x41, 0x00, 0x0B, 0x00}};
  bytes = d.build();
  f = failure(bytes);
  CHECK(f.message == "unknown memory 4");
  CHECK(f.offset == entry_offset(bytes, kDataSection, d.data, 1));

  // types: a sub type that does not match its declared supertype
  ModuleBytes t;
  t.types = {{0x50, 0x00, 0x5F, 0x01, I32, 0x00}, {0x50, 0x01, 0x00, 0x5F, 0x01, I64, 0x00}};
  bytes = t.build();
  f = failure(bytes);
  CHECK(f.message == "sub type 1 does not match super type 0");
  CHECK(f.offset == entry_offset(bytes, kTypeSection, t.types, 1));
}

TEST_CASE("a body whose operators run out before its blocks end (binary.wast:922)", "[validator]") {
  // br_table declares one target and is given two: the default becomes a `block` whose block
  // type is the `end` byte (type 11), so the body's last two ends close only two of its blocks.
  ModuleBytes m;
  for (int i = 0; i < 12; ++i) m.types.push_back(func_type({}, {}));
  m.func(0, {0x02, 0x40, 0x41, 0x01, 0x04, 0x40, 0x41, 0x01, 0x0E, 0x01, 0x00, 0x01, 0x02, 0x0B,
             0x0B, 0x0B});
  const Bytes bytes = m.build();
  REQUIRE(bool(decode_module(bytes, Features::everything())));  // the last byte is an end
  auto result = decode_and_validate(bytes, Features::everything());
  REQUIRE_FALSE(result);
  CHECK(result.err().message() == "unexpected end of section or function");
  CHECK(result.err().offset() == bytes.size());
}

// The JS API limits that only validation sees (the decoder's are in decoder_test.cpp), one over
// and at the limit; and Kiln's own bound on nesting.
TEST_CASE("validator limits: locals with parameters, subtyping depth, array.new_fixed, nesting",
          "[validator][limits]") {
  // 1000 parameters and 49,001 locals: 50,001 locals in all.
  ModuleBytes locals;
  locals.types.push_back(func_type_n(1000, Bytes(1000, I32), 0, {}));
  locals.func(0, {0x0B}, {local_run(49'001, {I32})});
  CHECK(check(locals) == "too many locals (at most 50000, parameters included)");
  locals.bodies[0] = cat({vec({local_run(49'000, {I32})}), {0x0B}});
  CHECK(check(locals) == "");

  // A chain of 65 struct types, each declaring the previous one as supertype: depth 64.
  auto chain = [](int length) {
    ModuleBytes m;
    m.types.push_back({0x50, 0x00, 0x5F, 0x00});  // (sub (struct)), depth 0
    for (int i = 1; i < length; ++i)
      m.types.push_back(cat({{0x50, 0x01}, leb(i - 1), {0x5F, 0x00}}));
    return m;
  };
  CHECK(check(chain(64)) == "");
  CHECK(check(chain(65)) == "subtyping depth too large (at most 63)");

  // array.new_fixed with 10,001 operands (checked before the operands are).
  ModuleBytes array;
  array.types = {{0x5E, I32, 0x00}, func_type({}, {})};
  array.func(1, cat({{0xFB, 0x08, 0x00}, leb(10'001), {0x1A, 0x0B}}));
  CHECK(check(array) == "array.new_fixed has too many operands (at most 10000)");
  Bytes operands;
  for (int i = 0; i < 10'000; ++i) operands.insert(operands.end(), {0x41, 0x00});
  array.bodies[0] = cat({{0x00}, operands, {0xFB, 0x08, 0x00}, leb(10'000), {0x1A, 0x0B}});
  CHECK(check(array) == "");

  // 100,001 nested blocks inside the function's own frame: one too many.
  Bytes code;
  for (int i = 0; i < 100'001; ++i) code.insert(code.end(), {0x02, 0x40});
  for (int i = 0; i <= 100'001; ++i) code.push_back(0x0B);
  CHECK(check_body({}, {}, code) == "nesting too deep (at most 100000 blocks)");
  code.erase(code.begin(), code.begin() + 2);
  code.pop_back();
  CHECK(check_body({}, {}, code) == "");
}

TEST_CASE("segment offsets of the plain `t.const n` shape, and every other shape", "[validator]") {
  // One page of a 32-bit memory, then a 64-bit one: offsets of each width and length.
  auto data = [](bool memory64, Bytes offset) {
    ModuleBytes d;
    d.memories.push_back({uint8_t(memory64 ? 0x04 : 0x00), 0x01});
    d.data.push_back(cat({{0x00}, offset, {0x0B, 0x00}}));
    return check(d);
  };
  CHECK(data(false, {0x41, 0x05}) == "");
  CHECK(data(false, {0x41, 0x80, 0x80, 0x80, 0x01}) == "");        // four bytes: plain
  CHECK(data(false, {0x41, 0x80, 0x80, 0x80, 0x80, 0x01}) == "");  // five: read and visited
  CHECK(data(false, {0x41, 0x80, 0x80, 0x80, 0x80, 0x70}) == "integer too large");
  CHECK(starts_with(data(false, {0x42, 0x05}), "type mismatch"));
  CHECK(starts_with(data(true, {0x41, 0x05}), "type mismatch"));
  CHECK(data(true, {0x42, 0x05}) == "");
  CHECK(data(true, cat({{0x42}, Bytes(8, 0xFF), {0x00}})) == "");  // nine bytes: plain
  CHECK(data(false, {0x41, 0x01, 0x41, 0x02, 0x6A}) == "");        // extended constants
  CHECK(data(false, {0x41, 0x01, 0x41, 0x02, 0x6D}) == "constant expression required");
  CHECK(starts_with(data(false, {0x41, 0x01, 0x41, 0x02}), "type mismatch"));
  CHECK(starts_with(data(false, {}), "type mismatch"));
  // A global's initialiser of another type is not taken for a plain constant.
  ModuleBytes g;
  g.globals.push_back({F32, 0x00, 0x41, 0x00, 0x0B});
  CHECK(starts_with(check(g), "type mismatch"));
  // Element segment offsets, and a ref.func hidden in an offset's immediate (0xD2 as a LEB byte)
  // that declares nothing.
  ModuleBytes e;
  e.types.push_back(func_type({}, {}));
  e.tables.push_back({FUNCREF, 0x00, 0x01});
  e.func(0, {0xD2, 0x00, 0x1A, 0x0B});
  e.elems.push_back({0x00, 0x41, 0xD2, 0x00, 0x0B, 0x00});  // offset 0x52, no functions
  CHECK(check(e) == "undeclared function reference");
  e.elems[0] = {0x00, 0x41, 0x00, 0x0B, 0x01, 0x00};  // function 0 in the segment
  CHECK(check(e) == "");
}

// The binary decoder: every section from hand-assembled bytes, and every error class with its
// message and offset.
#include <sys/mman.h>
#include <catch2/catch.hpp>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <new>
#include <string>
#include <string_view>
#include <vector>

#include "decoder/decoder.hpp"

using namespace kiln::wasm;

// Counts the bytes this program asks operator new for while `g_count_allocations` is set, so a
// test can check that a hostile length never turns into a large allocation.
namespace {
bool g_count_allocations = false;
size_t g_allocated_bytes = 0;
}  // namespace

// The whole non-aligned family is replaced, so every `new` and `delete` pair matches (the
// sanitizers check that).
namespace {
void* counted_allocation(size_t size) noexcept {
  if (g_count_allocations) g_allocated_bytes += size;
  return std::malloc(size ? size : 1);
}
}  // namespace

void* operator new(size_t size) {
  if (void* memory = counted_allocation(size)) return memory;
  throw std::bad_alloc();
}
void* operator new[](size_t size) {
  if (void* memory = counted_allocation(size)) return memory;
  throw std::bad_alloc();
}
void* operator new(size_t size, const std::nothrow_t&) noexcept {
  return counted_allocation(size);
}
void* operator new[](size_t size, const std::nothrow_t&) noexcept {
  return counted_allocation(size);
}
// Not inlined, so GCC does not pair the library's `new` with this `free` (-Wmismatched-new-delete).
[[gnu::noinline]] void operator delete(void* memory) noexcept {
  std::free(memory);
}
[[gnu::noinline]] void operator delete[](void* memory) noexcept {
  std::free(memory);
}
[[gnu::noinline]] void operator delete(void* memory, size_t) noexcept {
  std::free(memory);
}
[[gnu::noinline]] void operator delete[](void* memory, size_t) noexcept {
  std::free(memory);
}
[[gnu::noinline]] void operator delete(void* memory, const std::nothrow_t&) noexcept {
  std::free(memory);
}
[[gnu::noinline]] void operator delete[](void* memory, const std::nothrow_t&) noexcept {
  std::free(memory);
}

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
  for (const Bytes& part : parts) out.insert(out.end(), part.begin(), part.end());
  return out;
}

// A length-prefixed name.
Bytes name(std::string_view text) {
  Bytes out = leb(text.size());
  out.insert(out.end(), text.begin(), text.end());
  return out;
}

const Bytes kHeader = {0x00, 0x61, 0x73, 0x6D, 0x01, 0x00, 0x00, 0x00};

Bytes section(uint8_t id, const Bytes& payload) {
  return cat({{id}, leb(payload.size()), payload});
}

Bytes module(std::initializer_list<Bytes> sections) {
  Bytes out = kHeader;
  for (const Bytes& s : sections) out.insert(out.end(), s.begin(), s.end());
  return out;
}

// Common sections: one type () -> (), one function of that type with an empty body.
const Bytes kOneVoidType = section(1, {0x01, 0x60, 0x00, 0x00});
const Bytes kOneFunction = section(3, {0x01, 0x00});
const Bytes kOneEmptyBody = section(10, {0x01, 0x02, 0x00, 0x0B});

ModuleInfo decode_ok(const Bytes& bytes, const Features& features = Features::everything()) {
  auto result = decode_module(bytes, features);
  if (!result) FAIL("decode failed: " << result.err().to_string());
  return std::move(result).ok();
}

// Requires a failure whose message contains `message` (at `offset` when given).
void decode_fails(const Bytes& bytes, std::string_view message, int64_t offset = -1,
                  const Features& features = Features::everything()) {
  auto result = decode_module(bytes, features);
  REQUIRE_FALSE(result);
  INFO(result.err().to_string());
  CHECK(result.err().message().find(message) != std::string::npos);
  if (offset >= 0) {
    REQUIRE(result.err().offset());
    CHECK(*result.err().offset() == uint64_t(offset));
  }
}

}  // namespace

TEST_CASE("the empty module", "[decoder]") {
  ModuleInfo info = decode_ok(kHeader);
  CHECK(info.types.empty());
  CHECK(info.func_count() == 0);
  CHECK_FALSE(info.start);
  CHECK_FALSE(info.data_count);
}

TEST_CASE("magic and version", "[decoder]") {
  decode_fails({}, "unexpected end", 0);
  decode_fails({0x00, 0x61, 0x73}, "unexpected end", 3);
  decode_fails({0x01}, "unexpected end");
  decode_fails({0x61, 0x73, 0x6D, 0x00}, "magic header not detected", 0);
  decode_fails({0xEF, 0xBB, 0xBF, 0x00, 0x61, 0x73, 0x6D, 0x01, 0x00, 0x00, 0x00},
               "magic header not detected", 0);
  decode_fails({0x00, 0x61, 0x73, 0x6D, 0x01, 0x00}, "unexpected end", 6);
  decode_fails({0x00, 0x61, 0x73, 0x6D, 0x0D, 0x00, 0x00, 0x00}, "unknown binary version", 4);
  decode_fails({0x00, 0x61, 0x73, 0x6D, 0x01, 0x00, 0x01, 0x00}, "unknown binary version", 4);
}

TEST_CASE("section framing errors", "[decoder]") {
  SECTION("malformed section id") {
    decode_fails(module({{0x0E, 0x01, 0x00}}), "malformed section id", 8);
    decode_fails(module({{0x80, 0x01, 0x00}}), "malformed section id", 8);
  }
  SECTION("sections out of order or repeated") {
    decode_fails(module({kOneFunction, kOneVoidType}), "unexpected content after last section", 12);
    decode_fails(module({kOneVoidType, kOneVoidType}), "unexpected content after last section", 14);
    // The data count section goes between element and code; the tag section between memory
    // and global.
    decode_fails(module({section(12, {0x00}), section(9, {0x00})}),
                 "unexpected content after last section", 11);
    decode_fails(module({section(6, {0x00}), section(13, {0x00})}),
                 "unexpected content after last section", 11);
    CHECK(decode_ok(module({section(5, {0x00}), section(13, {0x00}), section(6, {0x00})}))
              .tags.empty());
  }
  SECTION("a section larger than the module") {
    decode_fails(module({{0x01, 0x07, 0x02, 0x60, 0x00, 0x00}}), "length out of bounds", 10);
  }
  SECTION("a section whose contents end before its size") {
    decode_fails(module({section(1, {0x01, 0x60, 0x00, 0x00, 0x00})}), "section size mismatch", 14);
  }
  SECTION("a section whose contents run past its size") {
    // Type section of size 3 whose type needs 4 bytes: the next section's byte is read.
    decode_fails(module({{0x01, 0x03, 0x01, 0x60, 0x00}, {0x00, 0x01, 0x00}}),
                 "section size mismatch");
  }
  SECTION("truncated contents") {
    decode_fails(module({{0x04, 0x01, 0x01}}), "unexpected end of section or function", 11);
    decode_fails(module({{0x01}}), "unexpected end", 9);
  }
}

TEST_CASE("type section: functions, rec groups, sub types, structs and arrays", "[decoder]") {
  Bytes types = {
      0x03,                                // three entries
      0x60, 0x02, 0x7F, 0x7E, 0x01, 0x7D,  // (func (param i32 i64) (result f32))
      0x4E, 0x02,                          // (rec
      0x50, 0x00, 0x5F, 0x02,              //   (sub (struct
      0x78, 0x01,                          //     (field (mut i8))
      0x63, 0x01, 0x00,                    //     (field (ref null 1))))
      0x4F, 0x01, 0x01, 0x5E, 0x77, 0x00,  //   (sub final 1 (array i16)))
      0x5E, 0x64, 0x6E, 0x01,              // (array (mut (ref any)))
  };
  ModuleInfo info = decode_ok(module({section(1, types)}));
  REQUIRE(info.types.size() == 4);
  REQUIRE(info.rec_groups.size() == 3);
  CHECK(info.rec_groups[1].first == 1);
  CHECK(info.rec_groups[1].count == 2);
  CHECK(info.rec_groups[2].first == 3);

  const SubType& func = info.types[0];
  CHECK(func.kind == CompositeKind::Func);
  CHECK(func.final_);
  CHECK_FALSE(func.supertype);
  CHECK(func.func.params == std::vector<ValType>{ValType::i32(), ValType::i64()});
  CHECK(func.func.results == std::vector<ValType>{ValType::f32()});

  const SubType& structure = info.types[1];
  CHECK(structure.kind == CompositeKind::Struct);
  CHECK_FALSE(structure.final_);
  CHECK(structure.rec_group == 1);
  REQUIRE(structure.struct_.fields.size() == 2);
  CHECK(structure.struct_.fields[0].packed == PackedKind::I8);
  CHECK(structure.struct_.fields[0].mutable_);
  CHECK(structure.struct_.fields[1].type ==
        ValType::ref({HeapKind::Concrete, 1}, /*nullable=*/true));
  CHECK_FALSE(structure.struct_.fields[1].mutable_);

  const SubType& array16 = info.types[2];
  CHECK(array16.kind == CompositeKind::Array);
  CHECK(array16.final_);
  CHECK(array16.supertype == 1u);
  CHECK(array16.array.element.packed == PackedKind::I16);

  const SubType& any_array = info.types[3];
  CHECK(any_array.array.element.type == ValType::ref({HeapKind::Any, 0}, false));
  CHECK(any_array.array.element.mutable_);
}

TEST_CASE("type section errors", "[decoder]") {
  decode_fails(module({section(1, {0x01, 0x61, 0x00, 0x00})}), "malformed definition type", 11);
  decode_fails(module({section(1, {0x01, 0xE0, 0x7F, 0x00, 0x00})}),
               "integer representation too long", 11);
  decode_fails(module({section(1, {0x01, 0x60, 0x01, 0x05, 0x00})}), "malformed value type", 13);
  // (ref null func) with the heap type as a two-byte s33: only type indices may be long.
  decode_fails(module({section(1, {0x01, 0x60, 0x01, 0x63, 0xF0, 0x7F, 0x00})}),
               "malformed heap type", 14);
  decode_fails(module({section(1, {0x01, 0x60, 0x01, 0x63, 0x7A, 0x00})}), "malformed heap type",
               14);
  decode_fails(module({section(1, {0x01, 0x5E, 0x76, 0x00})}), "malformed storage type", 12);
  decode_fails(module({section(1, {0x01, 0x5E, 0x7F, 0x02})}), "malformed mutability", 13);
  decode_fails(module({section(1, {0x01, 0x50, 0x02, 0x00, 0x00, 0x5F, 0x00})}),
               "too many supertypes");
  // 1001 parameters: over the JS API limit.
  Bytes params = cat({{0x01, 0x60}, leb(1001), Bytes(1001, 0x7F), {0x00}});
  decode_fails(module({section(1, params)}), "too many parameters", 13);
  Bytes results = cat({{0x01, 0x60, 0x00}, leb(1001), Bytes(1001, 0x7F)});
  decode_fails(module({section(1, results)}), "too many results", 14);
}

TEST_CASE("import section: every kind and every limits form", "[decoder]") {
  Bytes imports = cat({
      {0x07},       name("env"), name("f"),
      {0x00, 0x00},                                                     // func type 0
      name("env"),  name("t"),   {0x01, 0x70, 0x01, 0x01, 0x10},        // table funcref 1..16
      name("env"),  name("t64"), {0x01, 0x6F, 0x04, 0x02},              // table64 externref 2..
      name("env"),  name("m"),   {0x02, 0x03, 0x01, 0x02},              // shared memory 1..2
      name("env"),  name("m64"), {0x02, 0x05, 0x00, 0x80, 0x80, 0x04},  // memory64 0..65536
      name("env"),  name("g"),   {0x03, 0x7E, 0x01},                    // (mut i64)
      name("env"),  name("e"),   {0x04, 0x00, 0x00},                    // tag of type 0
  });
  Bytes memory = {0x01, 0x08, 0x01, 0x00};  // one memory: 1 page of 2^0 bytes
  ModuleInfo info = decode_ok(module({kOneVoidType, section(2, imports), section(5, memory)}));
  REQUIRE(info.imports.size() == 7);
  CHECK(info.imports[0].module == "env");
  CHECK(info.imports[0].name == "f");
  CHECK(info.imports[0].kind == ExternKind::Func);
  CHECK(info.imported_funcs == 1);
  CHECK(info.func_types == std::vector<uint32_t>{0});

  CHECK(info.imported_tables == 2);
  REQUIRE(info.table_types.size() == 2);
  CHECK(info.table_types[0].element == ValType::funcref());
  CHECK(info.table_types[0].limits.min == 1);
  CHECK(info.table_types[0].limits.max == 16u);
  CHECK(info.table_types[0].index_type == IndexType::I32);
  CHECK(info.table_types[1].element == ValType::externref());
  CHECK(info.table_types[1].index_type == IndexType::I64);
  CHECK_FALSE(info.table_types[1].limits.max);

  CHECK(info.imported_memories == 2);
  REQUIRE(info.memories.size() == 3);
  CHECK(info.memories[0].shared);
  CHECK(info.memories[0].limits.max == 2u);
  CHECK(info.memories[1].index_type == IndexType::I64);
  CHECK(info.memories[1].limits.max == 65536u);
  CHECK(info.memories[1].page_size_log2 == 16);
  CHECK(info.memories[2].page_size_log2 == 0);
  CHECK(info.memories[2].limits.min == 1);

  CHECK(info.imported_globals == 1);
  CHECK(info.global_types[0].type == ValType::i64());
  CHECK(info.global_types[0].mutable_);
  CHECK(info.imported_tags == 1);
  CHECK(info.tags[0].type_index == 0);
  CHECK(info.imports[6].kind == ExternKind::Tag);
}

TEST_CASE("import section errors", "[decoder]") {
  decode_fails(module({section(2, {0x01, 0x00, 0x00, 0x05})}), "malformed import kind", 13);
  decode_fails(module({section(2, {0x01, 0x00, 0x00, 0x80, 0x00})}), "malformed import kind", 13);
  decode_fails(module({section(2, {0x01, 0x00, 0x00, 0x02, 0x10, 0x00})}), "malformed limits flags",
               14);
  decode_fails(module({section(2, {0x01, 0x00, 0x00, 0x01, 0x70, 0x02, 0x00})}),
               "malformed limits flags", 15);
  decode_fails(module({section(2, {0x01, 0x00, 0x00, 0x03, 0x7F, 0x02})}), "malformed mutability",
               15);
  decode_fails(module({section(2, {0x01, 0x00, 0x00, 0x02, 0x08, 0x00, 0x41})}),
               "invalid custom page size", 16);
  // Names must be UTF-8: a lone continuation byte, an overlong form, a surrogate.
  decode_fails(module({section(2, {0x01, 0x01, 0x80, 0x00, 0x00, 0x00})}),
               "malformed UTF-8 encoding", 12);
  decode_fails(module({section(2, {0x01, 0x00, 0x02, 0xC0, 0x80, 0x00, 0x00})}),
               "malformed UTF-8 encoding", 13);
  decode_fails(module({section(2, {0x01, 0x03, 0xED, 0xA0, 0x80, 0x00, 0x00, 0x00})}),
               "malformed UTF-8 encoding", 12);
  decode_fails(module({section(2, {0x01, 0x05, 0x61})}), "length out of bounds", 11);
}

TEST_CASE("function, table, memory, global, export and start sections", "[decoder]") {
  Bytes tables = {0x02, 0x70, 0x00, 0x01,              // funcref 1..
                  0x40, 0x00, 0x64, 0x70, 0x00, 0x02,  // (ref func) 2.. with an initialiser:
                  0xD2, 0x00, 0x0B};                   //   ref.func 0
  Bytes memories = {0x01, 0x01, 0x01, 0x02};
  Bytes globals = {
      0x02, 0x7F, 0x00, 0x41, 0x7F, 0x0B,  // i32 = -1
      0x7B, 0x01, 0xFD, 0x0C, 1,    2,    3,  4,  5,  6,   7,
      8,    9,    10,   11,   12,   13,   14, 15, 16, 0x0B};  // (mut v128) = v128.const
  Bytes exports =
      cat({{0x03}, name("f"), {0x00, 0x00}, name("mem"), {0x02, 0x00}, name("g"), {0x03, 0x01}});
  ModuleInfo info = decode_ok(
      module({kOneVoidType, kOneFunction, section(4, tables), section(5, memories),
              section(6, globals), section(7, exports), section(8, {0x00}), kOneEmptyBody}));
  CHECK(info.func_types == std::vector<uint32_t>{0});
  REQUIRE(info.tables.size() == 2);
  CHECK_FALSE(info.tables[0].init);
  REQUIRE(info.tables[1].init);
  CHECK(info.tables[1].type.element == ValType::ref({HeapKind::Func, 0}, false));
  CHECK(info.tables[1].type.limits.min == 2);
  CHECK(info.tables[1].init->range.size == 3);
  CHECK(info.table_types.size() == 2);
  REQUIRE(info.memories.size() == 1);
  CHECK(info.memories[0].limits.max == 2u);
  REQUIRE(info.globals.size() == 2);
  CHECK(info.globals[0].init.range.size == 3);
  CHECK(info.globals[1].type.type == ValType::v128());
  CHECK(info.globals[1].type.mutable_);
  CHECK(info.globals[1].init.range.size == 19);
  REQUIRE(info.exports.size() == 3);
  CHECK(info.exports[1].name == "mem");
  CHECK(info.exports[1].kind == ExternKind::Memory);
  CHECK(info.exports[2].kind == ExternKind::Global);
  CHECK(info.exports[2].index == 1);
  CHECK(info.start == 0u);
}

TEST_CASE("table section errors", "[decoder]") {
  decode_fails(module({section(4, {0x01, 0x40, 0x01, 0x70, 0x00, 0x00, 0xD0, 0x70, 0x0B})}),
               "zero byte expected", 12);
  decode_fails(module({section(4, {0x01, 0x7F, 0x00, 0x00})}), "malformed reference type", 11);
  decode_fails(module({section(4, {0x01, 0x70, 0x03, 0x00, 0x00})}), "malformed limits flags", 12);
}

TEST_CASE("constant expressions end at their own `end`", "[decoder]") {
  SECTION("extended constants and GC allocations") {
    Bytes globals = {0x02, 0x7F, 0x00, 0x41, 0x01, 0x41, 0x02, 0x6A, 0x0B,  // i32.add
                     0x63, 0x6E, 0x00, 0xFB, 0x08, 0x00, 0x00, 0x0B};       // array.new_fixed 0 0
    ModuleInfo info =
        decode_ok(module({section(1, {0x01, 0x5E, 0x7F, 0x00}), section(6, globals)}));
    REQUIRE(info.globals.size() == 2);
    CHECK(info.globals[0].init.range.size == 6);
    CHECK(info.globals[1].init.range.size == 5);
    CHECK(info.globals[1].type.type == ValType::ref({HeapKind::Any, 0}, true));
  }
  SECTION("non-constant operators and blocks are decoded, left for the validator") {
    // global i32 = block (result i32) i32.const 0 i32.load end end
    Bytes globals = {0x01, 0x7F, 0x00, 0x02, 0x7F, 0x41, 0x00, 0x28, 0x02, 0x00, 0x0B, 0x0B};
    ModuleInfo info = decode_ok(module({section(6, globals)}));
    CHECK(info.globals[0].init.range.size == 9);
  }
  SECTION("an unknown opcode") {
    decode_fails(module({section(6, {0x01, 0x7F, 0x00, 0xFF, 0x0B})}), "illegal opcode", 13);
  }
  SECTION("a missing end") {
    decode_fails(module({section(6, {0x01, 0x7F, 0x00, 0x41, 0x00})}),
                 "unexpected end of section or function");
  }
}

TEST_CASE("element section: all eight encodings", "[decoder]") {
  Bytes elements = {0x08, 0x00, 0x41, 0x00, 0x0B, 0x02, 0x00, 0x00,         // 0: active, indices
                    0x01, 0x00, 0x01, 0x00,                                 // 1: passive
                    0x02, 0x01, 0x41, 0x03, 0x0B, 0x00, 0x01, 0x00,         // 2: table 1
                    0x03, 0x00, 0x01, 0x00,                                 // 3: declarative
                    0x04, 0x41, 0x00, 0x0B, 0x01, 0xD2, 0x00, 0x0B,         // 4: active, exprs
                    0x05, 0x6F, 0x01, 0xD0, 0x6F, 0x0B,                     // 5: passive externref
                    0x06, 0x01, 0x41, 0x00, 0x0B, 0x70, 0x00,               // 6: table 1, no items
                    0x07, 0x70, 0x02, 0xD2, 0x00, 0x0B, 0xD0, 0x70, 0x0B};  // 7: declarative
  ModuleInfo info =
      decode_ok(module({kOneVoidType, kOneFunction, section(9, elements), kOneEmptyBody}));
  REQUIRE(info.elements.size() == 8);
  const auto& e = info.elements;
  CHECK(e[0].mode == SegmentMode::Active);
  CHECK(e[0].table == 0);
  CHECK(e[0].offset.range.size == 3);
  CHECK(e[0].func_indices == std::vector<uint32_t>{0, 0});
  CHECK_FALSE(e[0].uses_exprs);
  CHECK(e[0].type == ValType::ref({HeapKind::Func, 0}, false));
  CHECK(e[1].mode == SegmentMode::Passive);
  CHECK(e[1].count() == 1);
  CHECK(e[2].mode == SegmentMode::Active);
  CHECK(e[2].table == 1);
  CHECK(e[3].mode == SegmentMode::Declarative);
  CHECK(e[4].mode == SegmentMode::Active);
  CHECK(e[4].uses_exprs);
  CHECK(e[4].type == ValType::funcref());
  REQUIRE(e[4].exprs.size() == 1);
  CHECK(e[4].exprs[0].range.size == 3);
  CHECK(e[5].mode == SegmentMode::Passive);
  CHECK(e[5].type == ValType::externref());
  CHECK(e[6].table == 1);
  CHECK(e[6].count() == 0);
  CHECK(e[7].mode == SegmentMode::Declarative);
  CHECK(e[7].count() == 2);

  decode_fails(module({section(9, {0x01, 0x08})}), "malformed elements segment kind", 11);
  decode_fails(module({section(9, {0x01, 0x01, 0x01, 0x00})}), "malformed element kind", 12);
  decode_fails(module({section(9, {0x01, 0x05, 0x7F, 0x00})}), "malformed reference type", 12);
}

TEST_CASE("code section: locals, bodies and their errors", "[decoder]") {
  Bytes code = {0x02, 0x07, 0x02, 0x02, 0x7F, 0x01, 0x7E, 0x01, 0x0B,  // 2 i32, 1 i64; nop end
                0x02, 0x00, 0x0B};
  ModuleInfo info =
      decode_ok(module({kOneVoidType, section(3, {0x02, 0x00, 0x00}), section(10, code)}));
  REQUIRE(info.bodies.size() == 2);
  const FunctionBody& body = info.bodies[0];
  CHECK(body.range.offset == 23);
  CHECK(body.range.size == 7);
  CHECK(body.local_count == 3);
  REQUIRE(body.locals.size() == 2);
  CHECK(body.locals[0].count == 2);
  CHECK(body.locals[0].type == ValType::i32());
  CHECK(body.locals[1].type == ValType::i64());
  CHECK(body.code.offset == 28);
  CHECK(body.code.size == 2);
  CHECK(info.bodies[1].code.size == 1);
  CHECK(info.bodies[1].locals.empty());

  SECTION("too many locals") {
    decode_fails(module({kOneVoidType, kOneFunction,
                         section(10, {0x01, 0x0A, 0x02, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 0x7F, 0x02,
                                      0x7E, 0x0B})}),
                 "too many locals");
    // 50,000 is allowed, 50,001 is not.
    // Body: one run of 50,000 i32 (then a second run of one more), `end`.
    Bytes at_limit = cat({{0x01, 0x00, 0x01}, leb(50000), {0x7F, 0x0B}});
    at_limit[1] = uint8_t(at_limit.size() - 2);
    CHECK(decode_ok(module({kOneVoidType, kOneFunction, section(10, at_limit)}))
              .bodies[0]
              .local_count == 50000);
    Bytes over = cat({{0x01, 0x00, 0x02}, leb(50000), {0x7F, 0x01, 0x7F, 0x0B}});
    over[1] = uint8_t(over.size() - 2);
    decode_fails(module({kOneVoidType, kOneFunction, section(10, over)}), "too many locals");
  }
  SECTION("function and code counts disagree") {
    decode_fails(module({kOneVoidType, section(3, {0x02, 0x00, 0x00}), kOneEmptyBody}),
                 "function and code section have inconsistent lengths");
    decode_fails(module({kOneVoidType, kOneFunction}),
                 "function and code section have inconsistent lengths");
    decode_fails(module({kOneVoidType, kOneEmptyBody}),
                 "function and code section have inconsistent lengths");
  }
  SECTION("a body without its final end") {
    // What is reported depends on what follows, as in the reference interpreter, which reads
    // on past the body: the end of the module,
    decode_fails(module({kOneVoidType, kOneFunction, section(10, {0x01, 0x02, 0x00, 0x01})}),
                 "unexpected end of section or function", 24);
    // the next body's size byte 0x05 read as a misplaced `else`,
    decode_fails(
        module({kOneVoidType, section(3, {0x02, 0x00, 0x00}),
                section(10, {0x02, 0x02, 0x00, 0x01, 0x05, 0x00, 0x41, 0x01, 0x1A, 0x0B})}),
        "END opcode expected", 25);
    // or an `end` found beyond the body.
    decode_fails(
        module({kOneVoidType, kOneFunction, section(10, {0x01, 0x02, 0x00, 0x01}), {0x0B}}),
        "section size mismatch", 24);
    // An over-long immediate running past the body is reported as such.
    decode_fails(module({kOneVoidType,
                         kOneFunction,
                         section(10, {0x01, 0x03, 0x00, 0x41, 0x80}),
                         {0x80, 0x80, 0x80, 0x80, 0x00, 0x0B}}),
                 "integer representation too long");
  }
  SECTION("an empty body") {
    decode_fails(module({kOneVoidType, kOneFunction, section(10, {0x01, 0x00})}), "unexpected end");
  }
}

TEST_CASE("data and data count sections", "[decoder]") {
  Bytes data = {0x03, 0x00, 0x41, 0x08, 0x0B, 0x02, 0xAA, 0xBB,  // active, memory 0, offset 8
                0x01, 0x01, 0xCC,                                // passive
                0x02, 0x01, 0x41, 0x00, 0x0B, 0x00};             // active, memory 1, empty
  ModuleInfo info = decode_ok(module({section(12, {0x03}), section(11, data)}));
  CHECK(info.data_count == 3u);
  REQUIRE(info.data.size() == 3);
  CHECK(info.data[0].mode == SegmentMode::Active);
  CHECK(info.data[0].memory == 0);
  CHECK(info.data[0].bytes.size == 2);
  CHECK(info.data[0].bytes.offset == 19);
  CHECK(info.data[1].mode == SegmentMode::Passive);
  CHECK(info.data[1].bytes.size == 1);
  CHECK(info.data[2].memory == 1);
  CHECK(info.data[2].bytes.size == 0);

  decode_fails(module({section(12, {0x02}), section(11, data)}),
               "data count and data section have inconsistent lengths", 13);
  decode_fails(module({section(12, {0x01})}),
               "data count and data section have inconsistent lengths");
  decode_fails(module({section(11, {0x01, 0x03})}), "malformed data segment kind", 11);
  decode_fails(module({section(11, {0x01, 0x01, 0x07, 0x61})}), "unexpected end");
}

TEST_CASE("tag section", "[decoder]") {
  ModuleInfo info = decode_ok(module({kOneVoidType, section(13, {0x02, 0x00, 0x00, 0x00, 0x00})}));
  REQUIRE(info.tags.size() == 2);
  CHECK(info.tags[1].type_index == 0);
  decode_fails(module({kOneVoidType, section(13, {0x01, 0x01, 0x00})}), "zero byte expected", 17);
}

TEST_CASE("custom sections", "[decoder]") {
  ModuleInfo info = decode_ok(
      module({section(0, cat({name("hello"), {1, 2, 3}})), kOneVoidType, section(0, name(""))}));
  REQUIRE(info.customs.size() == 2);
  CHECK(info.customs[0].name == "hello");
  CHECK(info.customs[0].payload.offset == 16);
  CHECK(info.customs[0].payload.size == 3);
  CHECK(info.customs[1].name.empty());
  CHECK(info.customs[1].payload.size == 0);

  decode_fails(module({section(0, {0x02, 0xC3, 0x28})}), "malformed UTF-8 encoding", 11);
  decode_fails(module({section(0, {})}), "unexpected end");
  decode_fails(module({{0x00, 0x26, 0x10}}), "length out of bounds");
}

TEST_CASE("name section: every subsection", "[decoder]") {
  auto sub = [](uint8_t id, const Bytes& payload) { return section(id, payload); };
  Bytes names = cat({
      sub(0, name("mod")), sub(1, cat({{0x02, 0x00}, name("f0"), {0x03}, name("f3")})),
      sub(2, cat({{0x01, 0x00, 0x02, 0x00}, name("a"), {0x01}, name("b")})),
      sub(3, cat({{0x01, 0x00, 0x01, 0x00}, name("label")})),
      sub(4, cat({{0x01, 0x00}, name("type")})), sub(5, cat({{0x01, 0x00}, name("table")})),
      sub(6, cat({{0x01, 0x00}, name("memory")})), sub(7, cat({{0x01, 0x00}, name("global")})),
      sub(8, cat({{0x01, 0x00}, name("elem")})), sub(9, cat({{0x01, 0x00}, name("data")})),
      sub(10, cat({{0x01, 0x00, 0x01, 0x02}, name("field")})),
      sub(11, cat({{0x01, 0x00}, name("tag")})),
      sub(42, {0x01, 0x02, 0x03}),  // unknown subsections are skipped
  });
  ModuleInfo info = decode_ok(module({section(0, cat({name("name"), names}))}));
  const Names& n = info.names;
  CHECK(n.module == "mod");
  REQUIRE(n.functions.entries.size() == 2);
  REQUIRE(n.functions.find(3));
  CHECK(*n.functions.find(3) == "f3");
  CHECK_FALSE(n.functions.find(1));
  REQUIRE(n.locals.find(0));
  CHECK(*n.locals.find(0)->find(1) == "b");
  CHECK(*n.labels.find(0)->find(0) == "label");
  CHECK(*n.types.find(0) == "type");
  CHECK(*n.tables.find(0) == "table");
  CHECK(*n.memories.find(0) == "memory");
  CHECK(*n.globals.find(0) == "global");
  CHECK(*n.elements.find(0) == "elem");
  CHECK(*n.data.find(0) == "data");
  CHECK(*n.fields.find(0)->find(2) == "field");
  CHECK(*n.tags.find(0) == "tag");
}

TEST_CASE("a malformed name section is dropped, the module still decodes", "[decoder]") {
  auto with_names = [](const Bytes& names) {
    return module({section(0, cat({name("name"), names}))});
  };
  // Indices out of order.
  Bytes unsorted = section(1, cat({{0x02, 0x03}, name("a"), {0x01}, name("b")}));
  CHECK(decode_ok(with_names(unsorted)).names.functions.entries.empty());
  // Subsections out of order, and one repeated.
  Bytes misordered = cat({section(1, cat({{0x01, 0x00}, name("f")})), section(0, name("m"))});
  ModuleInfo info = decode_ok(with_names(misordered));
  CHECK_FALSE(info.names.module);
  CHECK(info.names.functions.entries.empty());
  // Invalid UTF-8 inside, a truncated map, a subsection larger than the section.
  CHECK_FALSE(decode_ok(with_names(section(0, {0x01, 0xFF}))).names.module);
  CHECK(decode_ok(with_names(section(1, {0x05, 0x00}))).names.functions.entries.empty());
  CHECK(decode_ok(with_names({0x01, 0x7F, 0x00})).names.functions.entries.empty());
  // Trailing bytes inside a known subsection.
  CHECK_FALSE(decode_ok(with_names(section(0, cat({name("m"), {0x00}})))).names.module);
  // The custom section itself is still recorded.
  CHECK(decode_ok(with_names(unsorted)).customs.size() == 1);
}

TEST_CASE("features that are off make their encodings fail, naming the proposal", "[decoder]") {
  Features mvp = Features::mvp_only();
  decode_fails(module({section(6, {0x01, 0x7B, 0x00, 0xFD, 0x0C, 0, 0, 0, 0, 0, 0,
                                   0,    0,    0,    0,    0,    0, 0, 0, 0, 0, 0x0B})}),
               "simd", 11, mvp);
  decode_fails(module({section(1, {0x01, 0x4E, 0x00})}), "gc", 11, mvp);
  decode_fails(module({section(1, {0x01, 0x5F, 0x00})}), "gc", 11, mvp);
  decode_fails(module({section(5, {0x01, 0x04, 0x00})}), "memory64", 11, mvp);
  decode_fails(module({section(5, {0x01, 0x03, 0x00, 0x01})}), "threads", 11, mvp);
  decode_fails(module({section(5, {0x01, 0x08, 0x00, 0x00})}), "custom-page-sizes", 11, mvp);
  decode_fails(module({kOneVoidType, section(13, {0x01, 0x00, 0x00})}), "exceptions", 16, mvp);
  decode_fails(module({section(1, {0x01, 0x60, 0x00, 0x02, 0x7F, 0x7F})}), "multi-value", 13, mvp);
  decode_fails(module({section(12, {0x00})}), "bulk-memory", 10, mvp);
  decode_fails(module({section(1, {0x01, 0x60, 0x01, 0x6F, 0x00})}),
               "the extern reference type requires the reference-types proposal", 13, mvp);
  decode_fails(module({section(1, {0x01, 0x60, 0x01, 0x69, 0x00})}),
               "the exn reference type requires the exceptions proposal", 13,
               Features::everything().set(Proposal::Exceptions, false));
  decode_fails(module({section(1, {0x01, 0x60, 0x01, 0x63, 0x00, 0x00})}), "function-references",
               13, mvp);
  // The same encodings decode with everything on.
  CHECK(decode_ok(module({section(5, {0x01, 0x0F, 0x00, 0x01, 0x10})})).memories[0].shared);
}

TEST_CASE("hostile counts allocate nothing and fail cleanly", "[decoder]") {
  // A function section claiming a billion functions in a five-byte payload.
  decode_fails(module({section(3, {0x80, 0x94, 0xEB, 0xDC, 0x03})}), "unexpected end");
  // Every vector of the module, each claiming 2^32-1 entries: nothing sized by the claim is
  // allocated (only the error message).
  for (uint8_t id : {1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 13}) {
    INFO("section " << int(id));
    Bytes bytes = module({section(id, {0xFF, 0xFF, 0xFF, 0xFF, 0x0F})});
    g_allocated_bytes = 0;
    g_count_allocations = true;
    auto result = decode_module(bytes, Features::everything());
    g_count_allocations = false;
    REQUIRE_FALSE(result);
    CHECK(result.err().message() == "unexpected end of section or function");
    CHECK(g_allocated_bytes < 1024);
  }
  // Counts inside entries (parameters, fields, rec groups, locals, names, element items)
  // claiming a billion with a handful of bytes behind them.
  const Bytes billion = leb(1'000'000'000);
  for (const Bytes& bytes : {
           module({section(1, cat({{0x01, 0x60}, billion, {0x7F}}))}),
           module({section(1, cat({{0x01, 0x5F}, billion, {0x7F, 0x00}}))}),
           module({section(1, cat({{0x01, 0x4E}, billion, {0x60, 0x00, 0x00}}))}),
           module({kOneVoidType, kOneFunction, section(10, cat({{0x01, 0x07}, billion, {0x7F}}))}),
           module({section(2, cat({{0x01}, billion, {0x61, 0x62}}))}),
           module({section(9, cat({{0x01, 0x01, 0x00}, billion, {0x00}}))}),
           module({section(0, cat({name("name"), {0x01, 0x07}, billion, {0x00, 0x01, 0x61}}))}),
       }) {
    g_allocated_bytes = 0;
    g_count_allocations = true;
    auto result = decode_module(bytes, Features::everything());
    g_count_allocations = false;
    CHECK(g_allocated_bytes < 4096);
  }
}

// Each JS API limit (https://webassembly.github.io/spec/js-api/#limits) one over, with the bytes
// to back each count: the error names the limit and its value. The limits that need function
// bodies (locals with parameters, subtyping depth, array.new_fixed) are the validator's tests.
TEST_CASE("every JS API limit the decoder enforces, one over", "[decoder][limits]") {
  struct Limit {
    const char* what;
    Bytes bytes;
    const char* message;
  };
  auto counted = [](uint8_t id, uint32_t count, const Bytes& entry) {
    Bytes payload = leb(count);
    payload.reserve(payload.size() + size_t(count) * entry.size());
    for (uint32_t i = 0; i < count; ++i) payload.insert(payload.end(), entry.begin(), entry.end());
    return section(id, payload);
  };
  const Bytes table_import = {0x00, 0x00, 0x01, 0x70, 0x00, 0x00};
  const Bytes memory_import = {0x00, 0x00, 0x02, 0x00, 0x00};
  const std::vector<Limit> limits = {
      {"types", module({section(1, cat({{0x01, 0x4E}, leb(1'000'001), Bytes(1'000'001, 0x00)}))}),
       "too many types (at most 1000000)"},
      {"rec groups", module({counted(1, 1'000'001, {0x4E, 0x00})}),
       "too many rec groups (at most 1000000)"},
      {"imports", module({kOneVoidType, counted(2, 1'000'001, {0x00, 0x00, 0x00, 0x00})}),
       "too many imports (at most 1000000)"},
      {"exports", module({counted(7, 1'000'001, {0x00})}), "too many exports (at most 1000000)"},
      {"functions", module({counted(3, 1'000'001, {0x00})}),
       "too many functions (at most 1000000)"},
      {"bodies", module({counted(10, 1'000'001, {0x00})}), "too many functions (at most 1000000)"},
      {"globals", module({counted(6, 1'000'001, {0x00})}), "too many globals (at most 1000000)"},
      {"tags", module({counted(13, 1'000'001, {0x00})}), "too many tags (at most 1000000)"},
      {"data segments", module({counted(11, 100'001, {0x00})}),
       "too many data segments (at most 100000)"},
      {"tables", module({counted(4, 100'001, {0x00})}), "too many tables (at most 100000)"},
      {"imported tables", module({counted(2, 100'001, table_import)}),
       "too many tables (at most 100000)"},
      {"memories", module({counted(5, 101, {0x00, 0x00})}), "too many memories (at most 100)"},
      {"imported memories", module({counted(2, 101, memory_import)}),
       "too many memories (at most 100)"},
      {"imported and defined memories",
       module({counted(2, 60, memory_import), counted(5, 41, {0x00, 0x00})}),
       "too many memories (at most 100)"},
      {"element segment items",
       module({section(9, cat({{0x01, 0x01, 0x00}, leb(10'000'001), Bytes(10'000'001, 0x00)}))}),
       "too many elements in an element segment (at most 10000000)"},
      {"struct fields",
       module({section(1, cat({{0x01, 0x5F},
                               leb(10'001),
                               [] {
                                 Bytes fields;
                                 for (int i = 0; i < 10'001; ++i)
                                   fields.insert(fields.end(), {0x7F, 0x00});
                                 return fields;
                               }()}))}),
       "too many struct fields (at most 10000)"},
      {"parameters",
       module({section(1, cat({{0x01, 0x60}, leb(1001), Bytes(1001, 0x7F), {0x00}}))}),
       "too many parameters (at most 1000)"},
      {"results", module({section(1, cat({{0x01, 0x60, 0x00}, leb(1001), Bytes(1001, 0x7F)}))}),
       "too many results (at most 1000)"},
      {"declared locals",
       module({kOneVoidType, kOneFunction,
               section(10, cat({{0x01, 0x08, 0x02}, leb(50'000), {0x7F, 0x01, 0x7F, 0x0B}}))}),
       "too many locals (at most 50000)"},
      {"body size",
       module({kOneVoidType, kOneFunction, section(10, cat({{0x01}, leb(7'654'322)}))}),
       "function body too large (at most 7654321)"},
  };
  for (const Limit& limit : limits) {
    INFO(limit.what);
    decode_fails(limit.bytes, limit.message);
  }
  // At the limit itself, decoding goes on (and fails, if at all, for another reason).
  auto at_limit = decode_module(module({counted(5, 100, {0x00, 0x00})}), Features::everything());
  REQUIRE(bool(at_limit));
  CHECK(at_limit.ok().memories.size() == 100);
  auto imports =
      decode_module(module({kOneVoidType, counted(2, 1'000'000, {0x00, 0x00, 0x00, 0x00})}),
                    Features::everything());
  REQUIRE(bool(imports));
  CHECK(imports.ok().imported_funcs == 1'000'000);
  // Imported functions, globals and tags do not count against the defined ones.
  auto defined = decode_module(module({kOneVoidType, counted(2, 3, {0x00, 0x00, 0x03, 0x7F, 0x00}),
                                       counted(6, 1'000'000, {0x7F, 0x00, 0x0B})}),
                               Features::everything());
  REQUIRE(bool(defined));
  CHECK(defined.ok().global_types.size() == 1'000'003);
}

TEST_CASE("a module over 1 GiB is refused before anything is read", "[decoder][limits]") {
  // Address space only: the pages are never touched beyond the header, so nothing is committed.
  const size_t size = (size_t(1) << 30) + 1;
  void* memory = mmap(nullptr, size, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  REQUIRE(memory != MAP_FAILED);
  std::memcpy(memory, kHeader.data(), kHeader.size());
  auto result = decode_module(std::span<const uint8_t>(static_cast<const uint8_t*>(memory), size),
                              Features::everything());
  munmap(memory, size);
  REQUIRE_FALSE(result);
  CHECK(result.err().message() == "module too large (at most 1073741824 bytes)");
}

TEST_CASE("memory limits flags: bit 3 is a page size only with custom-page-sizes", "[decoder]") {
  // binary.wast:660: "\05\02\01\08", a memory whose flags byte is 0x08 and nothing after. In
  // WebAssembly 3.0 0x08 is no flags value; with custom-page-sizes it announces a page size
  // after the limits, which this section does not have.
  const Features core = Features::all_standard().set(Proposal::CustomPageSizes, false);
  const Bytes flags_only = module({section(5, {0x01, 0x08})});
  decode_fails(flags_only, "malformed limits flags", 11, core);
  decode_fails(flags_only, "custom-page-sizes", 11, core);
  decode_fails(flags_only, "unexpected end of section or function", -1, Features::everything());
  // The same in an import, and with the other bits set (0x09: a maximum and a page size).
  decode_fails(module({section(2, {0x01, 0x00, 0x00, 0x02, 0x09, 0x00, 0x01, 0x10})}),
               "malformed limits flags", 14, core);
  ModuleInfo info =
      decode_ok(module({section(2, {0x01, 0x00, 0x00, 0x02, 0x09, 0x00, 0x01, 0x10})}));
  CHECK(info.memories[0].page_size_log2 == 16);
  CHECK(info.memories[0].limits.max == 1u);
  // A complete memory with a page size is malformed in 3.0, fine with the proposal.
  decode_fails(module({section(5, {0x01, 0x08, 0x01, 0x00})}), "malformed limits flags", 11, core);
  CHECK(decode_ok(module({section(5, {0x01, 0x08, 0x01, 0x00})})).memories[0].page_size_log2 == 0);
  // Bits above 3 are malformed everywhere; tables never take a page size.
  decode_fails(module({section(5, {0x01, 0x10, 0x00})}), "malformed limits flags", 11);
  decode_fails(module({section(4, {0x01, 0x70, 0x08, 0x00})}), "malformed limits flags", 12);
}

TEST_CASE("a body's local runs: inline up to two, then on the heap, copied whole", "[decoder]") {
  // Five runs: i32 x1, i64 x2, f32 x3, f64 x4, i32 x5.
  const Bytes body = {0x0C, 0x05, 0x01, 0x7F, 0x02, 0x7E, 0x03, 0x7D, 0x04, 0x7C, 0x05, 0x7F, 0x0B};
  ModuleInfo info =
      decode_ok(module({kOneVoidType, kOneFunction, section(10, cat({{0x01}, body}))}));
  const LocalRuns& runs = info.bodies[0].locals;
  REQUIRE(runs.size() == 5);
  const ValType types[] = {ValType::i32(), ValType::i64(), ValType::f32(), ValType::f64(),
                           ValType::i32()};
  for (uint32_t i = 0; i < 5; ++i) {
    CHECK(runs[i].count == i + 1);
    CHECK(runs[i].type == types[i]);
  }
  // A copy and a move keep every run; a span sees them all.
  FunctionBody copy = info.bodies[0];
  FunctionBody moved = std::move(info.bodies[0]);
  std::span<const LocalRun> view = copy.locals;
  REQUIRE(view.size() == 5);
  CHECK(view[4].count == 5);
  REQUIRE(moved.locals.size() == 5);
  CHECK(moved.locals[3].type == ValType::f64());
  uint32_t total = 0;
  for (const LocalRun& run : moved.locals) total += run.count;
  CHECK(total == 15);
  // Two runs stay inline; a copy of those too.
  LocalRuns two;
  two.push_back({7, ValType::i64()});
  two.push_back({1, ValType::f32()});
  LocalRuns two_copy = two;
  REQUIRE(two_copy.size() == 2);
  CHECK(two_copy[0].count == 7);
  CHECK(two_copy[1].type == ValType::f32());
}

// Descriptions of WebAssembly types as the embedding API shows them: value types, function,
// memory, table, global and tag types, and the import/export lists of a module. Plain values
// (copying one copies the description); nothing here refers to a store.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "kiln/error.hpp"

namespace kiln {

template <typename T, size_t Extent = std::dynamic_extent>
using Span = std::span<T, Extent>;

// The kind of a value. Reference types are shown by their hierarchy's top (a `(ref $t)` of a
// function type is a FuncRef; a struct or array reference an AnyRef).
enum class ValKind { I32, I64, F32, F64, V128, ExternRef, FuncRef, AnyRef, ExnRef };
std::string_view to_string(ValKind kind);
std::ostream& operator<<(std::ostream& out, const ValKind& kind);

class ValType {
 public:
  ValType(ValKind kind) : kind_(kind) {}  // implicit, as FuncType({ValKind::I32}, {}) needs
  static ValType i32() { return ValKind::I32; }
  static ValType i64() { return ValKind::I64; }
  static ValType f32() { return ValKind::F32; }
  static ValType f64() { return ValKind::F64; }
  static ValType v128() { return ValKind::V128; }
  static ValType funcref() { return ValKind::FuncRef; }
  static ValType externref() { return ValKind::ExternRef; }
  static ValType anyref() { return ValKind::AnyRef; }
  static ValType exnref() { return ValKind::ExnRef; }

  ValKind kind() const { return kind_; }
  bool is_i32() const { return kind_ == ValKind::I32; }
  bool is_i64() const { return kind_ == ValKind::I64; }
  bool is_f32() const { return kind_ == ValKind::F32; }
  bool is_f64() const { return kind_ == ValKind::F64; }
  bool is_v128() const { return kind_ == ValKind::V128; }
  bool is_ref() const { return kind_ >= ValKind::ExternRef; }
  friend bool operator==(const ValType&, const ValType&) = default;

  // Wasmtime's borrowed-view spelling (`ty->kind()`, lists of `Ref`): here the value itself.
  using Ref = ValType;
  using ListRef = Span<const ValType>;
  const ValType* operator->() const { return this; }
  const ValType& operator*() const { return *this; }

 private:
  ValKind kind_;
};

class FuncType {
 public:
  FuncType(std::initializer_list<ValType> params, std::initializer_list<ValType> results)
      : params_(params), results_(results) {}
  FuncType(std::vector<ValType> params, std::vector<ValType> results)
      : params_(std::move(params)), results_(std::move(results)) {}
  template <typename P, typename R>
  static FuncType from_iters(P params, R results) {
    return FuncType(std::vector<ValType>(params.begin(), params.end()),
                    std::vector<ValType>(results.begin(), results.end()));
  }
  ValType::ListRef params() const { return params_; }
  ValType::ListRef results() const { return results_; }
  friend bool operator==(const FuncType&, const FuncType&) = default;

  using Ref = FuncType;
  const FuncType* operator->() const { return this; }
  const FuncType& operator*() const { return *this; }

 private:
  std::vector<ValType> params_, results_;
};

class MemoryType {
 public:
  explicit MemoryType(uint32_t min_pages) : min_(min_pages) {}
  MemoryType(uint32_t min_pages, uint32_t max_pages) : min_(min_pages), max_(max_pages) {}
  static MemoryType New64(uint64_t min) {
    MemoryType type(0);
    type.min_ = min;
    type.is_64_ = true;
    return type;
  }
  static MemoryType New64(uint64_t min, uint64_t max) {
    MemoryType type = New64(min);
    type.max_ = max;
    return type;
  }

  uint64_t min() const { return min_; }
  std::optional<uint64_t> max() const { return max_; }
  bool is_64() const { return is_64_; }
  bool is_shared() const { return shared_; }
  uint64_t page_size() const { return uint64_t(1) << page_size_log2_; }
  uint8_t page_size_log2() const { return page_size_log2_; }
  friend bool operator==(const MemoryType&, const MemoryType&) = default;

  // Builds any memory type, shared ones included; build() checks the combination.
  class Builder;

  using Ref = MemoryType;
  const MemoryType* operator->() const { return this; }
  const MemoryType& operator*() const { return *this; }

 private:
  friend class Builder;
  uint64_t min_ = 0;
  std::optional<uint64_t> max_;
  bool is_64_ = false;
  bool shared_ = false;
  uint8_t page_size_log2_ = 16;
};

class MemoryType::Builder {
 public:
  Builder& min(uint64_t pages) {
    type_.min_ = pages;
    return *this;
  }
  Builder& max(std::optional<uint64_t> pages) {
    type_.max_ = pages;
    return *this;
  }
  Builder& memory64(bool enable) {
    type_.is_64_ = enable;
    return *this;
  }
  Builder& shared(bool enable) {
    type_.shared_ = enable;
    return *this;
  }
  Builder& page_size_log2(uint8_t log2) {
    type_.page_size_log2_ = log2;
    return *this;
  }
  Result<MemoryType> build() const;

 private:
  MemoryType type_{0};
};

class TableType {
 public:
  TableType(ValType element, uint32_t min) : element_(element), min_(min) {}
  TableType(ValType element, uint32_t min, uint32_t max)
      : element_(element), min_(min), max_(max) {}
  static TableType New64(ValType element, uint64_t min, std::optional<uint64_t> max) {
    TableType type(element, 0);
    type.min_ = min;
    type.max_ = max;
    type.is_64_ = true;
    return type;
  }
  ValType element() const { return element_; }
  uint64_t min() const { return min_; }
  std::optional<uint64_t> max() const { return max_; }
  bool is_64() const { return is_64_; }
  friend bool operator==(const TableType&, const TableType&) = default;

  using Ref = TableType;
  const TableType* operator->() const { return this; }
  const TableType& operator*() const { return *this; }

 private:
  ValType element_;
  uint64_t min_ = 0;
  std::optional<uint64_t> max_;
  bool is_64_ = false;
};

class GlobalType {
 public:
  GlobalType(ValType content, bool is_mutable) : content_(content), mutable_(is_mutable) {}
  ValType content() const { return content_; }
  bool is_mutable() const { return mutable_; }
  friend bool operator==(const GlobalType&, const GlobalType&) = default;

  using Ref = GlobalType;
  const GlobalType* operator->() const { return this; }
  const GlobalType& operator*() const { return *this; }

 private:
  ValType content_;
  bool mutable_;
};

class TagType {
 public:
  explicit TagType(FuncType payload) : payload_(std::move(payload)) {}
  FuncType functype() const { return payload_; }
  friend bool operator==(const TagType&, const TagType&) = default;

  using Ref = TagType;
  const TagType* operator->() const { return this; }
  const TagType& operator*() const { return *this; }

 private:
  FuncType payload_;
};

// The type of an import or export: one of the above.
class ExternType;
class ImportType {
 public:
  using Type = std::variant<FuncType, GlobalType, TableType, MemoryType, TagType>;
  ImportType(std::string module, std::string name, Type type)
      : module_(std::move(module)), name_(std::move(name)), type_(std::move(type)) {}
  std::string_view module() const { return module_; }
  std::string_view name() const { return name_; }
  const Type& type() const { return type_; }

  using Ref = ImportType;
  using List = std::vector<ImportType>;
  const ImportType& ref() const { return *this; }

 private:
  std::string module_, name_;
  Type type_;
};

class ExportType {
 public:
  using Type = ImportType::Type;
  ExportType(std::string name, Type type) : name_(std::move(name)), type_(std::move(type)) {}
  std::string_view name() const { return name_; }
  const Type& type() const { return type_; }

  using Ref = ExportType;
  using List = std::vector<ExportType>;
  const ExportType& ref() const { return *this; }

 private:
  std::string name_;
  Type type_;
};

class ExternType {
 public:
  // A variant over the *Type classes (Wasmtime names its alternatives `X::Ref`; here `Ref` is
  // the type itself, so `std::get_if<FuncType::Ref>` finds the same alternative).
  using Ref = ImportType::Type;
  static Ref from_import(const ImportType& import) { return import.type(); }
  static Ref from_export(const ExportType& export_) { return export_.type(); }
};

}  // namespace kiln

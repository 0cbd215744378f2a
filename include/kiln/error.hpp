// kiln::Error and kiln::Result<T>: how every fallible call in Kiln reports failure.
// Nothing in Kiln throws across its public API; a failure is a value.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

namespace kiln {

// A failure with a human-readable message. Binary-format errors carry the byte offset
// of the offending input; text-format errors carry their position inside the message
// ("file:line:column: ...").
class Error {
 public:
  Error() = default;
  explicit Error(std::string message) : message_(std::move(message)) {}
  Error(std::string message, uint64_t offset) : message_(std::move(message)), offset_(offset) {}

  const std::string& message() const { return message_; }
  std::optional<uint64_t> offset() const { return offset_; }

  // A WASI program's exit (proc_exit): the status it exited with. (Wasmtime's I32Exit.)
  static Error exit(int32_t status) {
    Error error("Exited with i32 exit status " + std::to_string(status));
    error.exit_status_ = status;
    return error;
  }
  std::optional<int32_t> i32_exit() const { return exit_status_; }

  // "message" or "message (at byte offset N)" for diagnostics.
  std::string to_string() const {
    if (!offset_) return message_;
    return message_ + " (at byte offset " + std::to_string(*offset_) + ")";
  }

 private:
  std::string message_;
  std::optional<uint64_t> offset_;
  std::optional<int32_t> exit_status_;
};

namespace detail {
[[noreturn]] void abort_with_message(const std::string& message);
template <typename E>
std::string describe(const E& error) {
  if constexpr (requires { error.to_string(); }) {
    return error.to_string();
  } else if constexpr (requires { error.message(); }) {
    return std::string(error.message());
  } else {
    return "error";
  }
}
}  // namespace detail

// Either a value of type T or an error E (Wasmtime's C++ API shape: ok(), err(), unwrap()).
template <typename T, typename E = Error>
class [[nodiscard]] Result {
 public:
  Result(T value) : data_(std::in_place_index<0>, std::move(value)) {}
  Result(E error) : data_(std::in_place_index<1>, std::move(error)) {}
  // Anything the error type is made from (an Error or a Trap for a TrapError), as the error.
  template <typename X>
  requires(!std::is_same_v<std::decay_t<X>, E> && !std::is_same_v<std::decay_t<X>, T> &&
           !std::is_constructible_v<T, X> && std::is_convertible_v<X, E>) Result(X&& error)
      : data_(std::in_place_index<1>, E(std::forward<X>(error))) {}

  explicit operator bool() const { return data_.index() == 0; }
  bool has_value() const { return data_.index() == 0; }

  T& ok() & { return std::get<0>(data_); }
  const T& ok() const& { return std::get<0>(data_); }
  T&& ok() && { return std::get<0>(std::move(data_)); }
  E& err() & { return std::get<1>(data_); }
  const E& err() const& { return std::get<1>(data_); }
  E&& err() && { return std::get<1>(std::move(data_)); }

  // Non-aborting views under Wasmtime's newer names.
  T& ok_ref() { return std::get<0>(data_); }
  const T& ok_ref() const { return std::get<0>(data_); }
  E& err_ref() { return std::get<1>(data_); }
  const E& err_ref() const { return std::get<1>(data_); }

  // The value; a failure here is a programming error in the caller, so it aborts with the message.
  // On an lvalue the value is moved out, as Wasmtime's unwrap does.
  T unwrap() && {
    if (!has_value()) abort_with(std::get<1>(data_));
    return std::get<0>(std::move(data_));
  }
  T unwrap() & { return std::move(*this).unwrap(); }

 private:
  [[noreturn]] static void abort_with(const E& error) {
    detail::abort_with_message(detail::describe(error));
  }
  std::variant<T, E> data_;
};

template <typename E>
class [[nodiscard]] Result<void, E> {
 public:
  // User-provided, not defaulted: `return {};` would otherwise zero the whole error's storage
  // first (a hundred bytes for a runtime Failure, on every successful call into wasm).
  Result() {}
  Result(E error) : error_(std::move(error)) {}
  template <typename X>
  requires(!std::is_same_v<std::decay_t<X>, E> && std::is_convertible_v<X, E>) Result(X&& error)
      : error_(E(std::forward<X>(error))) {}

  explicit operator bool() const { return !error_; }
  bool has_value() const { return !error_; }
  E& err() & { return *error_; }
  const E& err() const& { return *error_; }
  E&& err() && { return std::move(*error_); }
  void unwrap() && {
    if (error_) detail::abort_with_message(detail::describe(*error_));
  }
  void unwrap() & { std::move(*this).unwrap(); }

 private:
  std::optional<E> error_;
};

}  // namespace kiln

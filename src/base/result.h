// Errors as values: Result<T> holds either a T or an Error whose message names
// the context in which it happened ("create sandbox 'x': qemu-img: ...").
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace sbx {

/// Error categories carried in Error::code. They are HTTP statuses because
/// the daemon API answers with them as they are; 0 means unspecified.
inline constexpr int kBadRequest = 400;
inline constexpr int kNotFound = 404;
inline constexpr int kConflict = 409;
inline constexpr int kInsufficientStorage = 507;

/// An error message, built outward: each layer prefixes its own context.
struct Error {
  std::string message;
  /// Optional category (kBadRequest, kNotFound, ...); 0 means unspecified.
  int code = 0;
  /// For a command that could not run: the exit code a shell would give
  /// (126 not executable, 127 not found); 0 otherwise.
  int exit_code = 0;

  /// Returns a copy of this error with `context: ` prefixed.
  [[nodiscard]] Error wrap(const std::string& context) const {
    return Error{context + ": " + message, code, exit_code};
  }
};

/// Makes an Error from a message.
inline Error err(std::string message) { return Error{std::move(message)}; }
/// Makes an Error with a category code.
inline Error err(int code, std::string message) { return Error{std::move(message), code}; }

/// Makes an Error from a message and the current errno text.
Error errno_error(const std::string& what);
/// Makes an Error from a message and the text of errno value `e`.
Error errno_error(const std::string& what, int e);

/// Either a value or an Error. Check with `ok()` / `operator bool` first.
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT
  Result(Error e) : v_(std::in_place_index<1>, std::move(e)) {}      // NOLINT

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & {
    assert(ok());
    return std::get<0>(v_);
  }
  const T& value() const& {
    assert(ok());
    return std::get<0>(v_);
  }
  T&& value() && {
    assert(ok());
    return std::get<0>(std::move(v_));
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const Error& error() const {
    assert(!ok());
    return std::get<1>(v_);
  }

 private:
  std::variant<T, Error> v_;
};

/// Result of an operation that yields nothing but may fail.
template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error e) : e_(std::move(e)), failed_(true) {}  // NOLINT

  bool ok() const { return !failed_; }
  explicit operator bool() const { return ok(); }
  const Error& error() const {
    assert(failed_);
    return e_;
  }

 private:
  Error e_;
  bool failed_ = false;
};

/// The success value for Result<void>.
inline Result<void> ok() { return {}; }

}  // namespace sbx

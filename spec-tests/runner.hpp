// The spec runner: runs .wast scripts through Kiln and counts the outcome of every command.
//
// A script is parsed by text::parse_wast; each command is then checked with the machinery it
// needs (text encoder, decoder, validator, and an execution backend for instantiate/invoke).
// The machinery is passed in as a `Toolchain`, so the runner never depends on which parts of
// Kiln exist yet: a command whose machinery is missing is *skipped* with the reason, never
// passed. `kiln_toolchain()` (kiln_toolchain.cpp) binds Kiln's own parts.
//
// Outcomes are counted per file (testsuite-relative path), per command kind (the command's
// keyword, text::command_keyword) and in total. A list of expected failures
// (expected-failures.txt) turns listed failures into "xfail" and listed passes into failures,
// so the list can only shrink.
//
// How each command is judged (full mode):
// - module: decoded and validated (with the features of the file's profile, profiles.hpp), then instantiated when there is an
//   execution backend; without one, a valid module passes.
// - assert_malformed / assert_invalid (and their _custom forms): the module must be rejected
//   with a message *containing* the expected text; a rejection for another reason fails and is
//   counted apart (Report::rejections) from an accepted module.
// - A quoted module (module quote) in assert_malformed must be rejected by the text parser: every
//   malformation the testsuite quotes is one of the text format (its messages are the reference
//   parser's), so a quoted module that encodes fails. In assert_invalid a quoted module is
//   encoded and validated; the text parser may also refuse it if it says what the validator
//   would ("offset out of range").
// - Commands that run code, and assert_unlinkable/uninstantiable/trap on a module (after their
//   module validated), need an ExecutionBackend; without one they are skipped.
// Parse-only mode stops after parsing and encoding: every command of a parsed script passes,
// except that quoted modules must encode (or, in assert_malformed, must not), and binary
// assert_malformed is skipped (it tests the decoder).
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "decoder/features.hpp"
#include "kiln/error.hpp"
#include "text/wast.hpp"

namespace kiln::spec {

// ----------------------------------------------------------------------------------------------
// Execution: the interface a runtime backend implements so the runner can run the commands that
// need code to run (module instantiation, invoke/get, register and the assertions on them).

// A value produced by running code, as the backend reports it to the runner.
struct RuntimeValue {
  enum class Kind : uint8_t { I32, I64, F32, F64, V128, Ref };
  // What a non-null reference points at; `Null` for a null reference.
  enum class RefKind : uint8_t { Null, Func, Extern, Host, Struct, Array, I31, Exn };
  Kind kind = Kind::I32;
  uint64_t bits = 0;               // numbers (F32/F64 as raw bits); Extern/Host/I31 payload
  std::array<uint8_t, 16> v128{};  // little-endian lane bytes
  RefKind ref = RefKind::Null;
  // Null references: the abstract heap type of the null when the backend knows it.
  std::optional<wasm::HeapKind> null_heap;

  static RuntimeValue number(Kind kind, uint64_t bits) {
    RuntimeValue value;
    value.kind = kind;
    value.bits = bits;
    return value;
  }
  static RuntimeValue i32(uint32_t v) { return number(Kind::I32, v); }
  static RuntimeValue i64(uint64_t v) { return number(Kind::I64, v); }
  static RuntimeValue f32_bits(uint32_t v) { return number(Kind::F32, v); }
  static RuntimeValue f64_bits(uint64_t v) { return number(Kind::F64, v); }
  static RuntimeValue reference(RefKind kind, uint64_t payload = 0) {
    RuntimeValue value = number(Kind::Ref, payload);
    value.ref = kind;
    return value;
  }
};

// The outcome of instantiating a module.
struct InstantiateOutcome {
  enum class Status : uint8_t {
    Instantiated,
    Unlinkable,  // an import is missing or does not match (assert_unlinkable)
    Trapped,     // the start function or an initializer trapped (assert_trap / uninstantiable)
    Rejected,    // the backend could not compile it (a failure of the backend)
  };
  Status status = Status::Instantiated;
  std::string message;
};

// The outcome of an action (invoke/get).
struct ActionOutcome {
  enum class Status : uint8_t {
    Returned,
    Trapped,    // message: the trap's description ("integer divide by zero", ...)
    Exhausted,  // call stack exhausted
    Exception,  // an uncaught wasm exception
    Error,      // the action could not run (no such module/export, wrong arguments)
  };
  Status status = Status::Returned;
  std::vector<RuntimeValue> values;
  std::string message;
};

// One script's execution state (a store with its instances). The runner creates one backend per
// script with Toolchain::new_execution. Names are module $ids without the '$'; an absent name
// means the most recently instantiated module.
class ExecutionBackend {
 public:
  virtual ~ExecutionBackend() = default;

  // Compile and instantiate a validated module; `name` makes it addressable by actions.
  virtual InstantiateOutcome instantiate(std::span<const uint8_t> binary,
                                         const std::optional<std::string>& name) = 0;
  // (module definition $m ...): compile only, for later (module instance $i $m).
  virtual Result<void> define(std::span<const uint8_t> binary,
                              const std::optional<std::string>& name) = 0;
  virtual InstantiateOutcome instantiate_definition(
      const std::optional<std::string>& instance, const std::optional<std::string>& definition) = 0;
  // (register "as" $m?): make a module's exports importable under the module name `as`.
  virtual Result<void> register_instance(std::string_view as,
                                         const std::optional<std::string>& name) = 0;
  virtual ActionOutcome invoke(const std::optional<std::string>& module, std::string_view field,
                               std::span<const text::Value> args) = 0;
  virtual ActionOutcome get(const std::optional<std::string>& module, std::string_view field) = 0;
};

// Whether `value` satisfies an assert_return pattern (NaN kinds, v128 lanes, reference kinds,
// alternatives). On a mismatch, `why` (when given) describes it.
bool matches(const text::ResultPattern& pattern, const RuntimeValue& value,
             std::string* why = nullptr);

// ----------------------------------------------------------------------------------------------
// The machinery the runner drives. Every member may be empty while that part of Kiln has not
// landed; the commands that need it are then skipped with a reason naming what is missing.
struct Toolchain {
  // Each part gets the proposal set the file is written against (spec-tests/profiles.hpp).
  using ParseScript = std::function<Result<text::Script>(
      std::string_view source, std::string_view file, const wasm::Features& features)>;
  using EncodeText = std::function<Result<std::vector<uint8_t>>(
      std::string_view source, std::string_view file, const wasm::Features& features)>;
  using CheckBinary =
      std::function<Result<void>(std::span<const uint8_t> binary, const wasm::Features& features)>;
  using NewExecution = std::function<std::unique_ptr<ExecutionBackend>()>;

  ParseScript parse_script;         // text::parse_wast
  EncodeText encode_text;           // text::wat_to_binary (module quote)
  CheckBinary decode;               // the decoder alone (used while the validator is missing)
  CheckBinary decode_and_validate;  // decoder + validator
  NewExecution new_execution;       // a runtime backend, one per script

  // Why each missing part is missing, for skip reasons.
  std::string missing_parse = "needs text::parse_wast (the text format, issue 4)";
  std::string missing_encode = "needs text::wat_to_binary (the text format, issue 4)";
  std::string missing_decode = "needs the binary decoder (issue 5)";
  std::string missing_validate = "needs the validator (issue 5)";
  std::string missing_execution = "needs execution (the x86-64 JIT, issue 6)";
};

// Kiln's own machinery: whichever of the parser, encoder, decoder and validator exist in this
// build (see kiln_toolchain.cpp), and no execution backend until the runtime lands.
Toolchain kiln_toolchain();

// ----------------------------------------------------------------------------------------------
// Expected failures: spec-tests/expected-failures.txt, one command per line, "PATH:LINE  reason"
// with PATH relative to the testsuite root; '#' starts a comment line. LINE 0 names a file that
// does not parse at all. Entries are written by a human, never added by a tool.
class ExpectedFailures {
 public:
  // `source_name` names the list in error messages.
  static Result<ExpectedFailures> parse(std::string_view text, std::string_view source_name);
  static Result<ExpectedFailures> load(const std::filesystem::path& path);

  bool contains(const std::string& file, uint32_t line) const;
  // The listed lines of one file.
  std::vector<uint32_t> lines_of(const std::string& file) const;
  size_t size() const { return entries_.size(); }

 private:
  std::map<std::pair<std::string, uint32_t>, std::string> entries_;  // -> reason
};

// ----------------------------------------------------------------------------------------------
// Results.

enum class Outcome : uint8_t { Passed, Failed, Skipped, ExpectedFailure };

struct Counts {
  uint64_t passed = 0;
  uint64_t failed = 0;
  uint64_t skipped = 0;
  uint64_t xfail = 0;
  void add(Outcome outcome);
  Counts& operator+=(const Counts& other);
  friend bool operator==(const Counts&, const Counts&) = default;
};

// How an assertion that expects a module to be rejected (assert_malformed, assert_invalid and
// their _custom forms) went, before the expected-failures list is applied.
enum class Rejection : uint8_t {
  NotApplicable,    // not such an assertion, or it was skipped
  ExpectedMessage,  // rejected with a message containing the expected text (passes)
  OtherMessage,     // rejected, but for another reason (fails)
  Accepted,         // not rejected at all (fails)
};

struct RejectionCounts {
  uint64_t expected_message = 0;
  uint64_t other_message = 0;
  uint64_t accepted = 0;
};

struct CommandReport {
  std::string file;  // testsuite-relative path (or as given)
  uint32_t line = 0;
  std::string kind;  // the command's keyword, or "parse" for a file that does not parse
  Outcome outcome = Outcome::Passed;
  Rejection rejection = Rejection::NotApplicable;
  std::string detail;  // why it failed or was skipped
};

struct Report {
  std::vector<CommandReport> commands;  // every command except passes (kept small)
  std::map<std::string, Counts> files;
  std::map<std::string, Counts> kinds;
  Counts total;
  std::map<std::string, RejectionCounts> rejections;  // per kind
  std::map<std::string, uint64_t> skip_reasons;       // reason -> commands skipped for it
  // Problems outside the commands: an expected-failures entry naming no command, a module dump
  // that could not be written. Any of them makes the run fail.
  std::vector<std::string> run_errors;

  // {"files": {PATH: COUNTS}, "kinds": {KIND: COUNTS}, "total": COUNTS}
  std::string to_json() const;
  // "N passed, N failed, N skipped" (expected failures counted as skipped).
  std::string summary_line() const;
  // Whether the run is a success: nothing failed and the list is consistent.
  bool ok() const { return total.failed == 0 && run_errors.empty(); }
};

// ----------------------------------------------------------------------------------------------
// The runner.

struct RunOptions {
  // Stop after parsing and encoding: a command passes when its script parsed and its text
  // modules encoded; `module quote` in assert_malformed must fail to encode.
  bool parse_only = false;
  // Testsuite-relative paths are computed against this root (empty: paths as given).
  std::filesystem::path testsuite_root;
  // When set, every text module's encoding is written as DIR/<file-stem>.<line>.wasm, where
  // line is the line of the `(module` itself (as wast2json's "line"), and a second module on
  // the same line gets <line>-2, and so on.
  std::optional<std::filesystem::path> dump_modules;
  const ExpectedFailures* expected_failures = nullptr;
  // Called after each command that did not pass (and every command when `verbose`).
  std::function<void(const CommandReport&)> on_command;
  bool verbose = false;
};

class Runner {
 public:
  Runner(Toolchain toolchain, RunOptions options);

  // Read and run one script file. An unreadable or unparsable file counts as one failed command
  // of kind "parse".
  void run_file(const std::filesystem::path& path);
  // run_file in a child process, so a crash or a hang in compiled code costs one command, not
  // the run: the command that was running when the child died (or ran past `timeout_seconds`,
  // 0 = no limit) fails, and the rest of that file does not run.
  void run_file_isolated(const std::filesystem::path& path, unsigned timeout_seconds);
  // Run a script held in memory; `path` names it (made testsuite-relative like a file's).
  void run_source(std::string_view source, const std::filesystem::path& path);
  // Check the expected-failures list against the files that ran; call once after the last file.
  void finish();

  const Report& report() const { return report_; }

 private:
  struct FileState;
  // A module's binary after decoding and validation (or as far as the toolchain reaches).
  struct Check {
    enum class Status : uint8_t { Valid, Rejected, Unchecked };
    Status status = Status::Unchecked;
    std::string message;  // Rejected: the error; Unchecked: what is missing
    std::string detail;   // Rejected: the error with its byte offset
  };
  Check check_binary(std::span<const uint8_t> binary, const wasm::Features& features) const;
  void run_script(const text::Script& script, FileState& state);
  void run_command(const text::Command& command, FileState& state);
  void run_module(const text::Command& command, FileState& state, std::span<const uint8_t> binary);
  void run_with_execution(const text::Command& command, FileState& state);
  void dump_module(FileState& state, uint32_t line, std::span<const uint8_t> binary);
  void record(FileState& state, std::string kind, uint32_t line, Outcome outcome,
              std::string detail, Rejection rejection = Rejection::NotApplicable);
  std::string relative_path(const std::filesystem::path& path) const;

  Toolchain toolchain_;
  RunOptions options_;
  Report report_;
  std::map<std::string, std::set<uint32_t>> lines_seen_;  // files run -> command lines
  std::set<std::string> parsed_files_;
  std::set<std::string> dump_names_;
  // In the child of run_file_isolated: where raw outcomes go (the parent counts them).
  int child_fd_ = -1;
  void send_to_parent(const std::string& line) const;
};

// ----------------------------------------------------------------------------------------------
// Where the testsuite is: $KILN_TESTSUITE, else ../shared/spec-testsuite beside the source tree.
// Empty when neither exists.
std::filesystem::path find_testsuite();
// The expected-failures list of the source tree (spec-tests/expected-failures.txt).
std::filesystem::path default_expected_failures_path();
// Every .wast file under `dir`, sorted, recursively.
std::vector<std::filesystem::path> wast_files_under(const std::filesystem::path& dir);

// The `kiln wast` command line (also the `spec` meson test's driver). `program` names the
// command in messages. Returns the exit code: 0 when everything passed, 1 on failures, 2 on
// usage errors.
int wast_main(std::span<const char* const> args, std::string_view program);

}  // namespace kiln::spec

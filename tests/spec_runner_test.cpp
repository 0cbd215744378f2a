// The spec runner's semantics, driven with hand-built scripts and a fake toolchain: a module's
// "binary" here is text the fake decoder reads ("ok", or "bad:MESSAGE" to be rejected with
// MESSAGE), so each test states exactly which stage fails and how.
#include <unistd.h>
#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <new>
#include <stdexcept>

#include "spec-tests/runner.hpp"

namespace {

using kiln::Error;
using kiln::Result;
using kiln::spec::ActionOutcome;
using kiln::spec::Counts;
using kiln::spec::ExecutionBackend;
using kiln::spec::ExpectedFailures;
using kiln::spec::InstantiateOutcome;
using kiln::spec::Outcome;
using kiln::spec::Rejection;
using kiln::spec::Runner;
using kiln::spec::RunOptions;
using kiln::spec::RuntimeValue;
using kiln::spec::Toolchain;
using kiln::text::Command;
using kiln::text::ResultPattern;
using kiln::text::Script;
using kiln::text::ScriptModule;

std::vector<uint8_t> bytes_of(std::string_view text) {
  return {text.begin(), text.end()};
}

Result<void> fake_check(std::span<const uint8_t> binary, const kiln::wasm::Features& = {}) {
  const std::string text(binary.begin(), binary.end());
  if (text.rfind("bad:", 0) == 0) return Error(text.substr(4), 8);
  return {};
}

// A toolchain whose parser returns `script` whatever the source, and whose decoder+validator
// is fake_check. Quoted text encodes to itself unless it starts with "malformed:".
Toolchain fake_toolchain(Script script) {
  Toolchain toolchain;
  toolchain.parse_script = [script](std::string_view, std::string_view,
                                    const kiln::wasm::Features&) -> Result<Script> {
    return script;
  };
  toolchain.encode_text = [](std::string_view source, std::string_view,
                             const kiln::wasm::Features&) -> Result<std::vector<uint8_t>> {
    if (source.rfind("malformed:", 0) == 0) return Error(std::string(source.substr(10)));
    return bytes_of(source);
  };
  toolchain.decode = fake_check;
  toolchain.decode_and_validate = fake_check;
  return toolchain;
}

Command module_command(uint32_t line, std::string_view binary,
                       ScriptModule::Form form = ScriptModule::Form::Text) {
  Command command;
  command.kind = Command::Kind::Module;
  command.location.line = line;
  ScriptModule module;
  module.form = form;
  if (form == ScriptModule::Form::Quote) {
    module.quote = std::string(binary);
  } else {
    module.binary = bytes_of(binary);
  }
  command.module = module;
  return command;
}

Command assertion(Command::Kind kind, uint32_t line, std::string_view binary, std::string expected,
                  ScriptModule::Form form = ScriptModule::Form::Binary) {
  Command command = module_command(line, binary, form);
  command.kind = kind;
  command.text = std::move(expected);
  return command;
}

Command invoke_command(Command::Kind kind, uint32_t line, std::string field) {
  Command command;
  command.kind = kind;
  command.location.line = line;
  kiln::text::Action action;
  action.field = std::move(field);
  command.action = action;
  return command;
}

Counts counts(uint64_t passed, uint64_t failed, uint64_t skipped, uint64_t xfail) {
  Counts c;
  c.passed = passed;
  c.failed = failed;
  c.skipped = skipped;
  c.xfail = xfail;
  return c;
}

const kiln::spec::Report& run(Runner& runner, std::string_view path = "dir/test.wast") {
  runner.run_source("", path);
  runner.finish();
  return runner.report();
}

}  // namespace

TEST_CASE("spec runner: counts per file, per kind and in total, and writes them as JSON") {
  Script script;
  script.commands.push_back(module_command(1, "ok"));
  script.commands.push_back(module_command(2, "bad:type mismatch"));
  script.commands.push_back(
      assertion(Command::Kind::AssertInvalid, 3, "bad:type mismatch", "type mismatch"));
  script.commands.push_back(invoke_command(Command::Kind::AssertReturn, 4, "f"));
  script.commands.push_back(invoke_command(Command::Kind::Action, 5, "g"));

  Runner runner(fake_toolchain(script), RunOptions{});
  const auto& report = run(runner);

  CHECK(report.total == counts(2, 1, 2, 0));
  CHECK(report.files.at("dir/test.wast") == counts(2, 1, 2, 0));
  CHECK(report.kinds.at("module") == counts(1, 1, 0, 0));
  CHECK(report.kinds.at("assert_invalid") == counts(1, 0, 0, 0));
  CHECK(report.kinds.at("assert_return") == counts(0, 0, 1, 0));
  CHECK(report.kinds.at("invoke") == counts(0, 0, 1, 0));
  CHECK(report.summary_line() == "2 passed, 1 failed, 2 skipped");
  CHECK_FALSE(report.ok());
  CHECK(report.to_json() ==
        "{\"files\": {\n"
        "  \"dir/test.wast\": {\"passed\": 2, \"failed\": 1, \"skipped\": 2, \"xfail\": 0}},\n"
        " \"kinds\": {\n"
        "  \"assert_invalid\": {\"passed\": 1, \"failed\": 0, \"skipped\": 0, \"xfail\": 0},\n"
        "  \"assert_return\": {\"passed\": 0, \"failed\": 0, \"skipped\": 1, \"xfail\": 0},\n"
        "  \"invoke\": {\"passed\": 0, \"failed\": 0, \"skipped\": 1, \"xfail\": 0},\n"
        "  \"module\": {\"passed\": 1, \"failed\": 1, \"skipped\": 0, \"xfail\": 0}},\n"
        " \"total\": {\"passed\": 2, \"failed\": 1, \"skipped\": 2, \"xfail\": 0}}\n");
}

TEST_CASE("spec runner: JSON escapes file names") {
  Script script;
  script.commands.push_back(module_command(1, "ok"));
  Runner runner(fake_toolchain(script), RunOptions{});
  const auto& report = run(runner, "we\"ird\\name.wast");
  CHECK(report.to_json().find("\"we\\\"ird\\\\name.wast\": {") != std::string::npos);
}

TEST_CASE("spec runner: a rejection passes only when the message contains the expected text") {
  Script script;
  // The spec's text is a prefix of the decoder's fuller message: passes.
  script.commands.push_back(assertion(Command::Kind::AssertMalformed, 1,
                                      "bad:unexpected end of section or function",
                                      "unexpected end"));
  // Rejected for another reason: fails, and is counted apart from "accepted".
  script.commands.push_back(
      assertion(Command::Kind::AssertMalformed, 2, "bad:unexpected end", "integer too large"));
  script.commands.push_back(assertion(Command::Kind::AssertMalformed, 3, "ok", "magic header"));
  script.commands.push_back(assertion(Command::Kind::AssertInvalid, 4,
                                      "bad:type mismatch in "
                                      "block",
                                      "type mismatch"));
  script.commands.push_back(
      assertion(Command::Kind::AssertInvalid, 5, "bad:unknown global", "unknown local"));

  Runner runner(fake_toolchain(script), RunOptions{});
  const auto& report = run(runner);
  CHECK(report.kinds.at("assert_malformed") == counts(1, 2, 0, 0));
  CHECK(report.kinds.at("assert_invalid") == counts(1, 1, 0, 0));
  const auto& malformed = report.rejections.at("assert_malformed");
  CHECK(malformed.expected_message == 1);
  CHECK(malformed.other_message == 1);
  CHECK(malformed.accepted == 1);
  REQUIRE(report.commands.size() == 3);
  CHECK(report.commands[0].line == 2);
  CHECK(report.commands[0].rejection == Rejection::OtherMessage);
  CHECK(report.commands[0].detail.find("\"unexpected end\"") != std::string::npos);
  CHECK(report.commands[1].rejection == Rejection::Accepted);
  CHECK(report.commands[2].line == 5);
}

TEST_CASE("spec runner: quoted modules in assert_malformed must fail to parse") {
  Script script;
  script.commands.push_back(assertion(Command::Kind::AssertMalformed, 1,
                                      "malformed:unknown operator", "unknown operator",
                                      ScriptModule::Form::Quote));
  script.commands.push_back(assertion(Command::Kind::AssertMalformed, 2, "(module)",
                                      "unexpected token", ScriptModule::Form::Quote));
  script.commands.push_back(assertion(Command::Kind::AssertMalformed, 3,
                                      "malformed:unexpected token", "unknown operator",
                                      ScriptModule::Form::Quote));
  // A quoted module in a plain module command must encode and validate.
  script.commands.push_back(module_command(4, "(module)", ScriptModule::Form::Quote));
  script.commands.push_back(module_command(5, "malformed:oops", ScriptModule::Form::Quote));
  // An invalid quoted module may be refused by the text parser, if it says what the validator
  // would.
  script.commands.push_back(assertion(Command::Kind::AssertInvalid, 6,
                                      "malformed:offset out of range", "offset out of range",
                                      ScriptModule::Form::Quote));
  script.commands.push_back(assertion(Command::Kind::AssertInvalid, 7, "malformed:unexpected token",
                                      "table size", ScriptModule::Form::Quote));

  SECTION("full mode checks the message") {
    Runner runner(fake_toolchain(script), RunOptions{});
    const auto& report = run(runner);
    CHECK(report.kinds.at("assert_malformed") == counts(1, 2, 0, 0));
    CHECK(report.kinds.at("module") == counts(1, 1, 0, 0));
    CHECK(report.kinds.at("assert_invalid") == counts(1, 1, 0, 0));
  }
  SECTION("parse-only mode needs only the rejection, and counts the wording apart") {
    RunOptions options;
    options.parse_only = true;
    Runner runner(fake_toolchain(script), options);
    const auto& report = run(runner);
    CHECK(report.kinds.at("assert_malformed") == counts(2, 1, 0, 0));
    CHECK(report.rejections.at("assert_malformed").other_message == 1);
    CHECK(report.rejections.at("assert_malformed").accepted == 1);
    CHECK(report.kinds.at("module") == counts(1, 1, 0, 0));
    CHECK(report.kinds.at("assert_invalid") == counts(1, 1, 0, 0));
  }
}

TEST_CASE("spec runner: parse-only mode passes what parsed and skips binary assert_malformed") {
  Script script;
  script.commands.push_back(module_command(1, "bad:not looked at"));
  script.commands.push_back(
      assertion(Command::Kind::AssertMalformed, 2, "bad:magic header", "magic header"));
  script.commands.push_back(assertion(Command::Kind::AssertInvalid, 3, "ok", "type mismatch"));
  script.commands.push_back(invoke_command(Command::Kind::AssertReturn, 4, "f"));
  RunOptions options;
  options.parse_only = true;
  Runner runner(fake_toolchain(script), options);
  const auto& report = run(runner);
  CHECK(report.total == counts(3, 0, 1, 0));
  CHECK(report.kinds.at("assert_malformed") == counts(0, 0, 1, 0));
  REQUIRE(report.skip_reasons.size() == 1);
  CHECK(report.skip_reasons.begin()->first.find("needs the decoder") != std::string::npos);
}

TEST_CASE("spec runner: commands whose machinery is missing are skipped with the reason") {
  Script script;
  script.commands.push_back(module_command(1, "ok"));
  script.commands.push_back(module_command(2, "bad:unexpected end"));
  script.commands.push_back(assertion(Command::Kind::AssertInvalid, 3, "ok", "type mismatch"));
  script.commands.push_back(
      assertion(Command::Kind::AssertMalformed, 4, "bad:magic header", "magic header"));
  script.commands.push_back(module_command(5, "(module)", ScriptModule::Form::Quote));
  script.commands.push_back(invoke_command(Command::Kind::AssertTrap, 6, "f"));

  Toolchain toolchain = fake_toolchain(script);
  toolchain.decode_and_validate = nullptr;  // the validator has not landed
  toolchain.encode_text = nullptr;          // nor the text encoder

  Runner runner(toolchain, RunOptions{});
  const auto& report = run(runner);
  // Decoding alone can still fail a module and pass an assert_malformed, never pass a module.
  CHECK(report.kinds.at("module") == counts(0, 1, 2, 0));
  CHECK(report.kinds.at("assert_invalid") == counts(0, 0, 1, 0));
  CHECK(report.kinds.at("assert_malformed") == counts(1, 0, 0, 0));
  CHECK(report.kinds.at("assert_trap") == counts(0, 0, 1, 0));
  CHECK(report.skip_reasons.at(toolchain.missing_validate) == 2);
  CHECK(report.skip_reasons.at(toolchain.missing_encode) == 1);
  CHECK(report.skip_reasons.at(toolchain.missing_execution) == 1);
  CHECK(report.skip_reasons.at(toolchain.missing_execution) == 1);
  CHECK(report.ok() == false);
}

TEST_CASE("spec runner: a file that does not parse is one failed command of kind parse") {
  Toolchain toolchain;
  toolchain.parse_script = [](std::string_view, std::string_view file,
                              const kiln::wasm::Features&) -> Result<Script> {
    return Error(std::string(file) + ":3:7: unexpected token");
  };
  Runner runner(toolchain, RunOptions{});
  const auto& report = run(runner, "broken.wast");
  CHECK(report.total == counts(0, 1, 0, 0));
  CHECK(report.kinds.at("parse") == counts(0, 1, 0, 0));
  REQUIRE(report.commands.size() == 1);
  CHECK(report.commands[0].line == 0);
  CHECK(report.commands[0].detail == "broken.wast:3:7: unexpected token");

  SECTION("without a parser the file is skipped") {
    Runner no_parser(Toolchain{}, RunOptions{});
    const auto& skipped = run(no_parser, "broken.wast");
    CHECK(skipped.total == counts(0, 0, 1, 0));
    CHECK(skipped.ok());
  }
}

TEST_CASE("spec runner: expected failures can only shrink") {
  Script script;
  script.commands.push_back(module_command(10, "bad:listed and failing"));
  script.commands.push_back(module_command(20, "ok"));                    // listed, passes
  script.commands.push_back(module_command(30, "bad:unlisted failure"));  // not listed
  script.commands.push_back(invoke_command(Command::Kind::AssertReturn, 40, "f"));  // skipped

  Result<ExpectedFailures> list = ExpectedFailures::parse(
      "# comment\n"
      "\n"
      "dir/test.wast:10  needs a 3.0 feature\n"
      "dir/test.wast:20\tworks around something\n"
      "dir/test.wast:40  listed but skipped\n"
      "other.wast:5  a file that did not run\n",
      "list");
  REQUIRE(list);
  CHECK(list.ok().size() == 4);
  RunOptions options;
  options.expected_failures = &list.ok();
  Runner runner(fake_toolchain(script), options);
  const auto& report = run(runner);

  CHECK(report.total == counts(0, 2, 1, 1));
  CHECK(report.summary_line() == "0 passed, 2 failed, 2 skipped");
  REQUIRE(report.commands.size() == 4);
  CHECK(report.commands[0].outcome == Outcome::ExpectedFailure);
  CHECK(report.commands[1].outcome == Outcome::Failed);
  CHECK(report.commands[1].detail == "expected failure now passes: remove it from the list");
  CHECK(report.commands[2].outcome == Outcome::Failed);
  CHECK(report.commands[3].outcome == Outcome::Skipped);
  CHECK(report.run_errors.empty());
}

TEST_CASE("spec runner: an expected failure naming no command is an error") {
  Script script;
  script.commands.push_back(module_command(10, "bad:fails"));
  Result<ExpectedFailures> list = ExpectedFailures::parse(
      "dir/test.wast:10  real\n"
      "dir/test.wast:11  stale: no command starts here\n"
      "dir/test.wast:0  stale: the file parses\n",
      "list");
  REQUIRE(list);
  RunOptions options;
  options.expected_failures = &list.ok();
  Runner runner(fake_toolchain(script), options);
  const auto& report = run(runner);
  CHECK(report.total == counts(0, 0, 0, 1));
  CHECK(report.run_errors.size() == 2);
  CHECK_FALSE(report.ok());
}

TEST_CASE("spec runner: a listed file that does not parse is an expected failure") {
  Toolchain toolchain;
  toolchain.parse_script = [](std::string_view, std::string_view,
                              const kiln::wasm::Features&) -> Result<Script> {
    return Error("unexpected token");
  };
  Result<ExpectedFailures> list =
      ExpectedFailures::parse("broken.wast:0  the parser lacks a proposal\n", "list");
  REQUIRE(list);
  RunOptions options;
  options.expected_failures = &list.ok();
  Runner runner(toolchain, options);
  const auto& report = run(runner, "broken.wast");
  CHECK(report.total == counts(0, 0, 0, 1));
  CHECK(report.ok());
}

TEST_CASE("spec runner: an exception escaping the machinery is one failure, not the end") {
  Script script;
  script.commands.push_back(module_command(1, "throw"));
  script.commands.push_back(module_command(2, "ok"));
  Toolchain toolchain = fake_toolchain(script);
  toolchain.decode_and_validate = [](std::span<const uint8_t> binary,
                                     const kiln::wasm::Features&) -> Result<void> {
    if (binary.size() == 5) throw std::length_error("bug in the validator");
    return {};
  };
  Runner runner(toolchain, RunOptions{});
  const auto& report = run(runner);
  CHECK(report.kinds.at("module") == counts(1, 1, 0, 0));
  REQUIRE(report.commands.size() == 1);
  CHECK(report.commands[0].detail.find("bug in the validator") != std::string::npos);

  Toolchain throwing_parser;
  throwing_parser.parse_script = [](std::string_view, std::string_view,
                                    const kiln::wasm::Features&) -> Result<Script> {
    throw std::bad_alloc();
  };
  Runner second(throwing_parser, RunOptions{});
  CHECK(run(second).kinds.at("parse") == counts(0, 1, 0, 0));
}

TEST_CASE("spec runner: isolated files count as in-process ones, and survive a dying child") {
  const std::filesystem::path file =
      std::filesystem::temp_directory_path() / "kiln-spec-runner-test-isolated.wast";
  { std::ofstream(file) << ";; the fake parser does not read it\n"; }
  Script script;
  script.commands.push_back(module_command(1, "ok"));
  script.commands.push_back(module_command(2, "bad:rejected"));
  script.commands.push_back(
      assertion(Command::Kind::AssertInvalid, 3, "bad:type\tmismatch\nhere", "other text"));
  script.commands.push_back(module_command(4, "exit"));
  script.commands.push_back(module_command(5, "ok"));
  Toolchain toolchain = fake_toolchain(script);
  toolchain.decode_and_validate = [](std::span<const uint8_t> binary,
                                     const kiln::wasm::Features& features) -> Result<void> {
    if (std::string(binary.begin(), binary.end()) == "exit") _exit(7);  // "crashes"
    return fake_check(binary, features);
  };
  Result<ExpectedFailures> list =
      ExpectedFailures::parse(file.filename().string() + ":2  listed\n", "list");
  REQUIRE(list);
  RunOptions options;
  options.expected_failures = &list.ok();
  options.testsuite_root = file.parent_path();
  Runner runner(toolchain, options);
  runner.run_file_isolated(file, 0);
  runner.finish();
  const auto& report = runner.report();
  // Line 1 passes, 2 is an expected failure, 3 fails (its detail's tab and newline survive as
  // spaces), 4 took the child down, 5 never ran.
  CHECK(report.total == counts(1, 2, 0, 1));
  REQUIRE(report.commands.size() == 3);
  CHECK(report.commands[1].detail.find("type mismatch here") != std::string::npos);
  CHECK(report.commands[1].rejection == Rejection::OtherMessage);
  CHECK(report.commands[2].line == 4);
  CHECK(report.commands[2].kind == "module");
  CHECK(report.commands[2].detail.find("exited with status 7") != std::string::npos);
  CHECK(report.rejections.at("assert_invalid").other_message == 1);
  CHECK(report.run_errors.empty());
  std::filesystem::remove(file);
}

TEST_CASE("spec runner: the expected-failures list rejects malformed lines") {
  CHECK_FALSE(ExpectedFailures::parse("test.wast:10\n", "list"));              // no reason
  CHECK_FALSE(ExpectedFailures::parse("test.wast  reason\n", "list"));         // no line
  CHECK_FALSE(ExpectedFailures::parse("test.wast:1x  reason\n", "list"));      // not a number
  CHECK_FALSE(ExpectedFailures::parse("test.wast:99999999999  r\n", "list"));  // too large
  CHECK_FALSE(ExpectedFailures::parse("a.wast:1  x\na.wast:1  y\n", "list"));  // twice
  Result<ExpectedFailures> error = ExpectedFailures::parse("\n\nbad\n", "list.txt");
  REQUIRE_FALSE(error);
  CHECK(error.err().message().rfind("list.txt:3: ", 0) == 0);
  Result<ExpectedFailures> crlf = ExpectedFailures::parse("  a/b.wast:7  why  \r\n", "list");
  REQUIRE(crlf);
  CHECK(crlf.ok().contains("a/b.wast", 7));
  CHECK_FALSE(crlf.ok().contains("a/b.wast", 8));
}

TEST_CASE("spec runner: paths are reported relative to the testsuite root") {
  const std::filesystem::path root =
      std::filesystem::temp_directory_path() / "kiln-spec-runner-test-root";
  std::filesystem::create_directories(root / "proposals" / "x");
  Script script;
  script.commands.push_back(module_command(1, "ok"));
  RunOptions options;
  options.testsuite_root = root;
  Runner runner(fake_toolchain(script), options);
  runner.run_source("", root / "proposals" / "x" / "a.wast");
  runner.run_source("", root / ".." / "outside.wast");
  runner.run_source("", "relative/b.wast");
  const auto& report = runner.report();
  CHECK(report.files.count("proposals/x/a.wast") == 1);
  CHECK(report.files.count((root / ".." / "outside.wast").generic_string()) == 1);
  CHECK(report.files.count("relative/b.wast") == 1);
  std::filesystem::remove_all(root);
}

TEST_CASE("spec runner: an unreadable file is a failed parse command") {
  Runner runner(Toolchain{}, RunOptions{});
  runner.run_file("/nonexistent/kiln/none.wast");
  const auto& report = runner.report();
  CHECK(report.kinds.at("parse") == counts(0, 1, 0, 0));
}

TEST_CASE("spec runner: --dump-modules writes text modules as <stem>.<line>.wasm") {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / "kiln-spec-runner-test-dump";
  std::filesystem::remove_all(dir);
  Script script;
  script.commands.push_back(module_command(3, "text-module"));
  script.commands.push_back(module_command(3, "same-line"));
  script.commands.push_back(module_command(5, "binary-module", ScriptModule::Form::Binary));
  script.commands.push_back(module_command(7, "quoted", ScriptModule::Form::Quote));
  Command invalid =
      assertion(Command::Kind::AssertInvalid, 9, "bad:x", "x", ScriptModule::Form::Text);
  invalid.module->location.line = 10;  // the module starts on the line after the assertion
  script.commands.push_back(invalid);
  RunOptions options;
  options.parse_only = true;
  options.dump_modules = dir;
  Runner runner(fake_toolchain(script), options);
  run(runner, "some/name.wast");
  const auto read = [&](const char* name) {
    std::ifstream in(dir / name, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  CHECK(read("name.3.wasm") == "text-module");
  CHECK(read("name.3-2.wasm") == "same-line");
  CHECK_FALSE(std::filesystem::exists(dir / "name.5.wasm"));
  CHECK(read("name.7.wasm") == "quoted");
  CHECK(read("name.10.wasm") == "bad:x");
  std::filesystem::remove_all(dir);
}

TEST_CASE("spec runner: assert_return patterns") {
  using PK = ResultPattern::Kind;
  const auto pattern = [](PK kind, uint64_t bits = 0) {
    ResultPattern p;
    p.kind = kind;
    p.bits = bits;
    return p;
  };
  using kiln::spec::matches;
  CHECK(matches(pattern(PK::I32, 0xffffffff), RuntimeValue::i32(0xffffffff)));
  CHECK_FALSE(matches(pattern(PK::I32, 1), RuntimeValue::i64(1)));
  CHECK_FALSE(matches(pattern(PK::I64, 1), RuntimeValue::i64(2)));
  // Floats compare bits: -0 is not +0, and a NaN payload is exact.
  CHECK_FALSE(matches(pattern(PK::F32, 0x00000000), RuntimeValue::f32_bits(0x80000000)));
  CHECK(matches(pattern(PK::F32, 0x7fc00001), RuntimeValue::f32_bits(0x7fc00001)));
  CHECK(matches(pattern(PK::F32CanonicalNan), RuntimeValue::f32_bits(0xffc00000)));
  CHECK_FALSE(matches(pattern(PK::F32CanonicalNan), RuntimeValue::f32_bits(0x7fc00001)));
  CHECK(matches(pattern(PK::F32ArithmeticNan), RuntimeValue::f32_bits(0x7fc00001)));
  CHECK_FALSE(matches(pattern(PK::F32ArithmeticNan), RuntimeValue::f32_bits(0x7f800001)));
  CHECK(matches(pattern(PK::F64CanonicalNan), RuntimeValue::f64_bits(0x7ff8000000000000)));
  CHECK_FALSE(matches(pattern(PK::F64CanonicalNan), RuntimeValue::f64_bits(0x7ff8000000000001)));
  CHECK(matches(pattern(PK::F64ArithmeticNan), RuntimeValue::f64_bits(0xfff8000000000001)));
  CHECK_FALSE(matches(pattern(PK::F64ArithmeticNan), RuntimeValue::f32_bits(0x7fc00000)));

  SECTION("v128 lanes") {
    ResultPattern v = pattern(PK::V128);
    v.lane_shape = "i16x8";
    for (int i = 0; i < 8; ++i) v.lanes.push_back(pattern(PK::I32, uint64_t(-1)));
    RuntimeValue value;
    value.kind = RuntimeValue::Kind::V128;
    value.v128.fill(0xff);
    CHECK(matches(v, value));  // a sign-extended lane literal matches the lane's bits
    value.v128[15] = 0x7f;
    std::string why;
    CHECK_FALSE(matches(v, value, &why));
    CHECK(why.find("v128") != std::string::npos);

    ResultPattern f = pattern(PK::V128);
    f.lane_shape = "f32x4";
    f.lanes = {pattern(PK::F32CanonicalNan), pattern(PK::F32, 0x3f800000),
               pattern(PK::F32ArithmeticNan), pattern(PK::F32, 0)};
    RuntimeValue floats;
    floats.kind = RuntimeValue::Kind::V128;
    const uint32_t lanes[4] = {0x7fc00000, 0x3f800000, 0xffc00123, 0};
    for (int lane = 0; lane < 4; ++lane) {
      for (int byte = 0; byte < 4; ++byte)
        floats.v128[lane * 4 + byte] = uint8_t(lanes[lane] >> (8 * byte));
    }
    CHECK(matches(f, floats));
    f.lanes.pop_back();
    CHECK_FALSE(matches(f, floats));  // wrong lane count never matches
  }
  SECTION("references") {
    using RK = RuntimeValue::RefKind;
    const RuntimeValue null = RuntimeValue::reference(RK::Null);
    const RuntimeValue extern7 = RuntimeValue::reference(RK::Extern, 7);
    CHECK(matches(pattern(PK::RefNull), null));
    CHECK_FALSE(matches(pattern(PK::RefNull), extern7));
    CHECK(matches(pattern(PK::RefExtern), extern7));
    ResultPattern extern8 = pattern(PK::RefExtern, 8);
    extern8.has_payload = true;
    CHECK_FALSE(matches(extern8, extern7));
    CHECK_FALSE(matches(pattern(PK::RefExtern), null));
    CHECK(matches(pattern(PK::RefEq), RuntimeValue::reference(RK::I31, 3)));
    CHECK_FALSE(matches(pattern(PK::RefEq), RuntimeValue::reference(RK::Func)));
    CHECK(matches(pattern(PK::RefFunc), RuntimeValue::reference(RK::Func)));
    ResultPattern func_null = pattern(PK::RefNull);
    func_null.heap_given = true;
    func_null.heap.kind = kiln::wasm::HeapKind::Func;
    RuntimeValue extern_null = null;
    extern_null.null_heap = kiln::wasm::HeapKind::NoExtern;
    CHECK_FALSE(matches(func_null, extern_null));
    extern_null.null_heap = kiln::wasm::HeapKind::NoFunc;
    CHECK(matches(func_null, extern_null));
    ResultPattern either = pattern(PK::Either);
    either.alternatives = {pattern(PK::I32, 1), pattern(PK::I32, 2)};
    CHECK(matches(either, RuntimeValue::i32(2)));
    CHECK_FALSE(matches(either, RuntimeValue::i32(3)));
  }
}

namespace {

// An execution backend that knows one export per name and records what it was asked.
class FakeExecution : public ExecutionBackend {
 public:
  std::vector<std::string>* log;
  explicit FakeExecution(std::vector<std::string>* log) : log(log) {}

  InstantiateOutcome instantiate(std::span<const uint8_t> binary,
                                 const std::optional<std::string>& name) override {
    const std::string text(binary.begin(), binary.end());
    log->push_back("instantiate " + text + " " + name.value_or("-"));
    if (text == "unlinkable") return {InstantiateOutcome::Status::Unlinkable, "unknown import"};
    if (text == "traps") return {InstantiateOutcome::Status::Trapped, "unreachable executed"};
    if (text == "simd") {
      return {InstantiateOutcome::Status::Rejected, "unsupported operator v128.const"};
    }
    return {};
  }
  Result<void> define(std::span<const uint8_t>, const std::optional<std::string>&) override {
    return {};
  }
  InstantiateOutcome instantiate_definition(const std::optional<std::string>&,
                                            const std::optional<std::string>&) override {
    return {};
  }
  Result<void> register_instance(std::string_view as, const std::optional<std::string>&) override {
    log->push_back("register " + std::string(as));
    return {};
  }
  ActionOutcome invoke(const std::optional<std::string>&, std::string_view field,
                       std::span<const kiln::text::Value> args) override {
    log->push_back("invoke " + std::string(field) + " " + std::to_string(args.size()));
    if (field == "one") return {ActionOutcome::Status::Returned, {RuntimeValue::i32(1)}, {}};
    if (field == "div0") return {ActionOutcome::Status::Trapped, {}, "integer divide by zero"};
    if (field == "deep") return {ActionOutcome::Status::Exhausted, {}, "call stack exhausted"};
    return {ActionOutcome::Status::Error, {}, "no export " + std::string(field)};
  }
  ActionOutcome get(const std::optional<std::string>&, std::string_view) override {
    return {ActionOutcome::Status::Returned, {RuntimeValue::i64(5)}, {}};
  }
};

}  // namespace

TEST_CASE("spec runner: a module the backend does not support skips the commands using it") {
  Script script;
  script.commands.push_back(module_command(1, "ok"));
  Command unsupported = module_command(2, "simd");
  unsupported.module->id = "S";
  script.commands.push_back(unsupported);
  script.commands.push_back(invoke_command(Command::Kind::AssertReturn, 3, "one"));  // latest
  Command named = invoke_command(Command::Kind::Action, 4, "one");
  named.action->module = "S";
  script.commands.push_back(named);
  script.commands.push_back(module_command(5, "ok"));
  Command after = invoke_command(Command::Kind::Action, 6, "one");  // the latest is fine again
  script.commands.push_back(after);
  script.commands.push_back(named);  // $S still is not
  std::vector<std::string> log;
  Toolchain toolchain = fake_toolchain(script);
  toolchain.new_execution = [&log] { return std::make_unique<FakeExecution>(&log); };
  Runner runner(toolchain, RunOptions{});
  const auto& report = run(runner);
  CHECK(report.kinds.at("module") == counts(2, 0, 1, 0));
  CHECK(report.kinds.at("assert_return") == counts(0, 0, 1, 0));
  CHECK(report.kinds.at("invoke") == counts(1, 0, 2, 0));
  CHECK(report.skip_reasons.at("the backend does not support this module yet: unsupported "
                               "operator v128.const") == 4);
}

TEST_CASE("spec runner: execution commands run through an execution backend") {
  Script script;
  script.commands.push_back(module_command(1, "ok"));
  script.commands.push_back(
      assertion(Command::Kind::AssertUnlinkable, 2, "unlinkable", "unknown import"));
  script.commands.push_back(
      assertion(Command::Kind::AssertUninstantiable, 3, "traps", "unreachable"));
  script.commands.push_back(assertion(Command::Kind::AssertTrap, 4, "ok", "unreachable"));
  Command returns_one = invoke_command(Command::Kind::AssertReturn, 5, "one");
  ResultPattern one;
  one.kind = ResultPattern::Kind::I32;
  one.bits = 1;
  returns_one.results.push_back(one);
  script.commands.push_back(returns_one);
  Command returns_two = returns_one;
  returns_two.location.line = 6;
  returns_two.results[0].bits = 2;
  script.commands.push_back(returns_two);
  Command traps = invoke_command(Command::Kind::AssertTrap, 7, "div0");
  traps.text = "integer divide by zero";
  script.commands.push_back(traps);
  Command exhausts = invoke_command(Command::Kind::AssertExhaustion, 8, "deep");
  exhausts.text = "call stack exhausted";
  script.commands.push_back(exhausts);
  script.commands.push_back(invoke_command(Command::Kind::Action, 9, "missing"));
  Command registers;
  registers.kind = Command::Kind::Register;
  registers.location.line = 10;
  registers.text = "M";
  script.commands.push_back(registers);
  Command gets = invoke_command(Command::Kind::Action, 11, "g");
  gets.action->kind = kiln::text::Action::Kind::Get;
  script.commands.push_back(gets);

  std::vector<std::string> log;
  Toolchain toolchain = fake_toolchain(script);
  toolchain.new_execution = [&log] { return std::make_unique<FakeExecution>(&log); };
  Runner runner(toolchain, RunOptions{});
  const auto& report = run(runner);

  CHECK(report.kinds.at("module") == counts(1, 0, 0, 0));
  CHECK(report.kinds.at("assert_unlinkable") == counts(1, 0, 0, 0));
  CHECK(report.kinds.at("assert_uninstantiable") == counts(1, 0, 0, 0));
  CHECK(report.kinds.at("assert_trap") == counts(1, 1, 0, 0));  // line 4 instantiates fine
  CHECK(report.kinds.at("assert_return") == counts(1, 1, 0, 0));
  CHECK(report.kinds.at("assert_exhaustion") == counts(1, 0, 0, 0));
  CHECK(report.kinds.at("invoke") == counts(0, 1, 0, 0));
  CHECK(report.kinds.at("register") == counts(1, 0, 0, 0));
  CHECK(report.kinds.at("get") == counts(1, 0, 0, 0));
  CHECK(log.front() == "instantiate ok -");
  CHECK(std::find(log.begin(), log.end(), "register M") != log.end());
}

// ---- With Kiln's own parser, encoder, decoder and validator, and the command line.

namespace {

std::filesystem::path write_temp(const std::string& name, std::string_view text) {
  const std::filesystem::path path =
      std::filesystem::temp_directory_path() / ("kiln-spec-runner-test-" + name);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(text.data(), std::streamsize(text.size()));
  return path;
}

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

constexpr std::string_view kScript =
    "(module (func (export \"one\") (result i32) (i32.const 1)))\n"                     // 1
    "(assert_return (invoke \"one\") (i32.const 1))\n"                                  // 2
    "(assert_invalid (module (func (result i32))) \"type mismatch\")\n"                 // 3
    "(assert_malformed (module binary \"\\00asm\") \"unexpected end\")\n"               // 4
    "(assert_malformed (module quote \"(func (i32.const))\") \"\")\n"                   // 5
    "(assert_invalid (module (func (result i32) (i32.const 0))) \"type mismatch\")\n";  // 6

}  // namespace

TEST_CASE("spec runner: Kiln's toolchain runs a small script") {
  Runner runner(kiln::spec::kiln_toolchain(), RunOptions{});
  runner.run_source(kScript, "inline.wast");
  runner.finish();
  const auto& report = runner.report();
  CHECK(report.kinds.at("module") == counts(1, 0, 0, 0));
  CHECK(report.kinds.at("assert_invalid") == counts(1, 1, 0, 0));  // line 6 is valid
  CHECK(report.kinds.at("assert_malformed") == counts(2, 0, 0, 0));
  CHECK(report.kinds.at("assert_return") == counts(1, 0, 0, 0));  // run by the JIT
  REQUIRE_FALSE(report.commands.empty());
  CHECK(report.commands.back().line == 6);
  CHECK(report.commands.back().rejection == Rejection::Accepted);
}

TEST_CASE("spec runner: kiln wast's command line") {
  const std::filesystem::path script = write_temp("cli.wast", kScript);
  const std::filesystem::path json = write_temp("cli.json", "");
  const std::string script_arg = script.string(), json_arg = json.string();

  SECTION("an unlisted failure fails the run") {
    const char* args[] = {"--json", json_arg.c_str(), script_arg.c_str()};
    CHECK(kiln::spec::wast_main(args, "test") == 1);
    CHECK(read_text(json).find("\"total\": {\"passed\": 5, \"failed\": 1, \"skipped\": 0, "
                               "\"xfail\": 0}") != std::string::npos);
  }
  SECTION("a listed failure is an expected failure") {
    // With "/" as the testsuite root, the reported path is the absolute one without its '/'.
    const std::string relative = script.generic_string().substr(1);
    const std::filesystem::path list =
        write_temp("cli-expected.txt",
                   "# the valid module of line 6\n" + relative + ":6  written by the test\n");
    const std::string list_arg = list.string();
    const char* args[] = {"--testsuite",     "/",      "--expected-failures",
                          list_arg.c_str(),  "--json", json_arg.c_str(),
                          script_arg.c_str()};
    CHECK(kiln::spec::wast_main(args, "test") == 0);
    CHECK(read_text(json).find("\"" + relative +
                               "\": {\"passed\": 5, \"failed\": 0, \"skipped\": 0, "
                               "\"xfail\": 1}") != std::string::npos);
    std::filesystem::remove(list);
  }
  SECTION("parse-only mode") {
    const char* args[] = {"--parse-only", script_arg.c_str()};
    CHECK(kiln::spec::wast_main(args, "test") == 0);
  }
  SECTION("usage errors") {
    const char* no_files[] = {"--parse-only"};
    CHECK(kiln::spec::wast_main(no_files, "test") == 2);
    const char* unknown[] = {"--frobnicate", script_arg.c_str()};
    CHECK(kiln::spec::wast_main(unknown, "test") == 2);
    const char* missing_value[] = {script_arg.c_str(), "--json"};
    CHECK(kiln::spec::wast_main(missing_value, "test") == 2);
    const char* bad_list[] = {"--expected-failures", "/nonexistent/list.txt", script_arg.c_str()};
    CHECK(kiln::spec::wast_main(bad_list, "test") == 2);
  }
  std::filesystem::remove(script);
  std::filesystem::remove(json);
}

#include "spec-tests/runner.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <exception>
#include <fstream>
#include <sstream>
#include <system_error>

#include "spec-tests/profiles.hpp"

namespace kiln::spec {

namespace {

using Kind = text::Command::Kind;
using Form = text::ScriptModule::Form;

// Scripts larger than this are refused rather than read into memory (the largest spec script
// is a few MiB).
constexpr uintmax_t kMaxScriptBytes = uintmax_t(256) << 20;

bool expects_malformed(Kind kind) {
  return kind == Kind::AssertMalformed || kind == Kind::AssertMalformedCustom;
}
bool expects_invalid(Kind kind) {
  return kind == Kind::AssertInvalid || kind == Kind::AssertInvalidCustom;
}

std::string keyword_of(const text::Command& command) {
  if (command.kind == Kind::Action && command.action) {
    return command.action->kind == text::Action::Kind::Get ? "get" : "invoke";
  }
  return std::string(text::command_keyword(command.kind));
}

bool contains_text(std::string_view message, std::string_view expected) {
  return message.find(expected) != std::string_view::npos;
}

std::string json_string(std::string_view text) {
  std::string out = "\"";
  for (unsigned char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (c < 0x20) {
          char buffer[8];
          std::snprintf(buffer, sizeof buffer, "\\u%04x", c);
          out += buffer;
        } else {
          out += char(c);
        }
    }
  }
  return out + "\"";
}

std::string json_counts(const Counts& counts) {
  char buffer[160];
  std::snprintf(buffer, sizeof buffer,
                "{\"passed\": %" PRIu64 ", \"failed\": %" PRIu64 ", \"skipped\": %" PRIu64
                ", \"xfail\": %" PRIu64 "}",
                counts.passed, counts.failed, counts.skipped, counts.xfail);
  return buffer;
}

// ---- assert_return patterns

// Which of the reference hierarchies (func, extern, any, exn) an abstract heap type is in.
int hierarchy_of(wasm::HeapKind kind) {
  switch (kind) {
    case wasm::HeapKind::Func:
    case wasm::HeapKind::NoFunc:
      return 0;
    case wasm::HeapKind::Extern:
    case wasm::HeapKind::NoExtern:
      return 1;
    case wasm::HeapKind::Exn:
    case wasm::HeapKind::NoExn:
      return 3;
    default:
      return 2;
  }
}

bool is_float_pattern(text::ResultPattern::Kind kind) {
  using PK = text::ResultPattern::Kind;
  return kind == PK::F32 || kind == PK::F64 || kind == PK::F32CanonicalNan ||
         kind == PK::F32ArithmeticNan || kind == PK::F64CanonicalNan ||
         kind == PK::F64ArithmeticNan;
}

// A scalar pattern against raw bits of `width` bytes (a whole value or one v128 lane).
bool scalar_matches(const text::ResultPattern& pattern, uint64_t bits, unsigned width) {
  using PK = text::ResultPattern::Kind;
  const uint64_t mask = width >= 8 ? ~uint64_t(0) : (uint64_t(1) << (8 * width)) - 1;
  switch (pattern.kind) {
    case PK::I32:
    case PK::I64:
    case PK::F32:
    case PK::F64:
      return (bits & mask) == (pattern.bits & mask);
    case PK::F32CanonicalNan:
      return (bits & 0x7fffffffu) == 0x7fc00000u;
    case PK::F32ArithmeticNan:
      return (bits & 0x7fc00000u) == 0x7fc00000u;
    case PK::F64CanonicalNan:
      return (bits & 0x7fffffffffffffffu) == 0x7ff8000000000000u;
    case PK::F64ArithmeticNan:
      return (bits & 0x7ff8000000000000u) == 0x7ff8000000000000u;
    default:
      return false;
  }
}

unsigned lane_width(std::string_view shape) {
  if (shape == "i8x16") return 1;
  if (shape == "i16x8") return 2;
  if (shape == "i32x4" || shape == "f32x4") return 4;
  if (shape == "i64x2" || shape == "f64x2") return 8;
  return 0;
}

std::string describe_value(const RuntimeValue& value) {
  char buffer[96];
  switch (value.kind) {
    case RuntimeValue::Kind::I32:
      std::snprintf(buffer, sizeof buffer, "i32 0x%08" PRIx32, uint32_t(value.bits));
      return buffer;
    case RuntimeValue::Kind::I64:
      std::snprintf(buffer, sizeof buffer, "i64 0x%016" PRIx64, value.bits);
      return buffer;
    case RuntimeValue::Kind::F32:
      std::snprintf(buffer, sizeof buffer, "f32 bits 0x%08" PRIx32, uint32_t(value.bits));
      return buffer;
    case RuntimeValue::Kind::F64:
      std::snprintf(buffer, sizeof buffer, "f64 bits 0x%016" PRIx64, value.bits);
      return buffer;
    case RuntimeValue::Kind::V128: {
      std::string out = "v128 bytes";
      for (uint8_t byte : value.v128) {
        std::snprintf(buffer, sizeof buffer, " %02x", byte);
        out += buffer;
      }
      return out;
    }
    case RuntimeValue::Kind::Ref:
      break;
  }
  static constexpr const char* kRefNames[] = {"null",   "func",  "extern", "host",
                                              "struct", "array", "i31",    "exn"};
  std::snprintf(buffer, sizeof buffer, "ref %s (payload %" PRIu64 ")", kRefNames[size_t(value.ref)],
                value.bits);
  return buffer;
}

bool matches_quietly(const text::ResultPattern& pattern, const RuntimeValue& value) {
  using PK = text::ResultPattern::Kind;
  using VK = RuntimeValue::Kind;
  using RK = RuntimeValue::RefKind;
  const bool is_ref = value.kind == VK::Ref;
  const bool non_null = is_ref && value.ref != RK::Null;
  switch (pattern.kind) {
    case PK::I32:
      return value.kind == VK::I32 && scalar_matches(pattern, value.bits, 4);
    case PK::I64:
      return value.kind == VK::I64 && scalar_matches(pattern, value.bits, 8);
    case PK::F32:
    case PK::F32CanonicalNan:
    case PK::F32ArithmeticNan:
      return value.kind == VK::F32 && scalar_matches(pattern, value.bits, 4);
    case PK::F64:
    case PK::F64CanonicalNan:
    case PK::F64ArithmeticNan:
      return value.kind == VK::F64 && scalar_matches(pattern, value.bits, 8);
    case PK::V128: {
      if (value.kind != VK::V128) return false;
      const unsigned width = lane_width(pattern.lane_shape);
      if (width == 0 || pattern.lanes.size() != 16 / width) return false;
      for (size_t lane = 0; lane < pattern.lanes.size(); ++lane) {
        const text::ResultPattern& lane_pattern = pattern.lanes[lane];
        if (lane_pattern.kind != PK::I32 && lane_pattern.kind != PK::I64 &&
            !is_float_pattern(lane_pattern.kind)) {
          return false;
        }
        uint64_t bits = 0;
        for (unsigned byte = 0; byte < width; ++byte) {
          bits |= uint64_t(value.v128[lane * width + byte]) << (8 * byte);
        }
        if (!scalar_matches(lane_pattern, bits, width)) return false;
      }
      return true;
    }
    case PK::RefNull:
      if (!is_ref || value.ref != RK::Null) return false;
      if (pattern.heap_given && pattern.heap.kind != wasm::HeapKind::Concrete && value.null_heap) {
        return hierarchy_of(pattern.heap.kind) == hierarchy_of(*value.null_heap);
      }
      return true;
    case PK::RefExtern:
      return non_null && value.ref == RK::Extern &&
             (!pattern.has_payload || value.bits == pattern.bits);
    case PK::RefHost:
      return non_null && value.ref == RK::Host &&
             (!pattern.has_payload || value.bits == pattern.bits);
    case PK::RefFunc:
      return non_null && value.ref == RK::Func;
    case PK::RefStruct:
      return non_null && value.ref == RK::Struct;
    case PK::RefArray:
      return non_null && value.ref == RK::Array;
    case PK::RefI31:
      return non_null && value.ref == RK::I31 &&
             (!pattern.has_payload || value.bits == pattern.bits);
    case PK::RefEq:
      return non_null &&
             (value.ref == RK::Struct || value.ref == RK::Array || value.ref == RK::I31);
    case PK::RefAny:
      return non_null && (value.ref == RK::Struct || value.ref == RK::Array ||
                          value.ref == RK::I31 || value.ref == RK::Host);
    case PK::RefExn:
      return non_null && value.ref == RK::Exn;
    case PK::RefNullOrAny:
      return is_ref && (value.ref == RK::Null || value.ref == RK::Struct ||
                        value.ref == RK::Array || value.ref == RK::I31 || value.ref == RK::Host);
    case PK::Either:
      for (const text::ResultPattern& alternative : pattern.alternatives) {
        if (matches_quietly(alternative, value)) return true;
      }
      return false;
  }
  return false;
}

}  // namespace

bool matches(const text::ResultPattern& pattern, const RuntimeValue& value, std::string* why) {
  if (matches_quietly(pattern, value)) return true;
  if (why) *why = "got " + describe_value(value);
  return false;
}

// ---- Counts and the report

void Counts::add(Outcome outcome) {
  switch (outcome) {
    case Outcome::Passed:
      ++passed;
      break;
    case Outcome::Failed:
      ++failed;
      break;
    case Outcome::Skipped:
      ++skipped;
      break;
    case Outcome::ExpectedFailure:
      ++xfail;
      break;
  }
}

Counts& Counts::operator+=(const Counts& other) {
  passed += other.passed;
  failed += other.failed;
  skipped += other.skipped;
  xfail += other.xfail;
  return *this;
}

std::string Report::to_json() const {
  std::string out = "{\"files\": {";
  bool first = true;
  for (const auto& [file, counts] : files) {
    out += (first ? "\n  " : ",\n  ") + json_string(file) + ": " + json_counts(counts);
    first = false;
  }
  out += "},\n \"kinds\": {";
  first = true;
  for (const auto& [kind, counts] : kinds) {
    out += (first ? "\n  " : ",\n  ") + json_string(kind) + ": " + json_counts(counts);
    first = false;
  }
  out += "},\n \"total\": " + json_counts(total) + "}\n";
  return out;
}

std::string Report::summary_line() const {
  return std::to_string(total.passed) + " passed, " + std::to_string(total.failed) + " failed, " +
         std::to_string(total.skipped + total.xfail) + " skipped";
}

// ---- Expected failures

Result<ExpectedFailures> ExpectedFailures::parse(std::string_view text,
                                                 std::string_view source_name) {
  ExpectedFailures list;
  uint32_t line_number = 0;
  while (!text.empty()) {
    const size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    ++line_number;
    const auto error = [&](std::string_view what) {
      return Error(std::string(source_name) + ":" + std::to_string(line_number) + ": " +
                   std::string(what));
    };
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) {
      line.remove_suffix(1);
    }
    size_t start = 0;
    while (start < line.size() && (line[start] == ' ' || line[start] == '\t')) ++start;
    line.remove_prefix(start);
    if (line.empty() || line.front() == '#') continue;

    const size_t space = line.find_first_of(" \t");
    const std::string_view location = line.substr(0, space);
    std::string_view reason =
        space == std::string_view::npos ? std::string_view() : line.substr(space);
    while (!reason.empty() && (reason.front() == ' ' || reason.front() == '\t')) {
      reason.remove_prefix(1);
    }
    const size_t colon = location.rfind(':');
    if (colon == std::string_view::npos || colon == 0 || colon + 1 == location.size()) {
      return error("expected PATH:LINE followed by a reason");
    }
    const std::string_view digits = location.substr(colon + 1);
    uint64_t command_line = 0;
    for (char c : digits) {
      if (c < '0' || c > '9') return error("the line number is not a decimal number");
      command_line = command_line * 10 + uint64_t(c - '0');
      if (command_line > UINT32_MAX) return error("the line number is too large");
    }
    if (reason.empty()) return error("every expected failure needs a reason");
    auto key = std::make_pair(std::string(location.substr(0, colon)), uint32_t(command_line));
    if (!list.entries_.emplace(std::move(key), std::string(reason)).second) {
      return error("listed twice: " + std::string(location));
    }
  }
  return list;
}

Result<ExpectedFailures> ExpectedFailures::load(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error("cannot read the expected-failures list " + path.string());
  std::stringstream buffer;
  buffer << in.rdbuf();
  return parse(buffer.str(), path.string());
}

bool ExpectedFailures::contains(const std::string& file, uint32_t line) const {
  return entries_.count({file, line}) != 0;
}

std::vector<uint32_t> ExpectedFailures::lines_of(const std::string& file) const {
  std::vector<uint32_t> lines;
  for (auto it = entries_.lower_bound({file, 0}); it != entries_.end() && it->first.first == file;
       ++it) {
    lines.push_back(it->first.second);
  }
  return lines;
}

// ---- The runner

struct Runner::FileState {
  std::string path;         // testsuite-relative
  std::string stem;         // for module dumps
  wasm::Features features;  // the proposals the file is written against
  std::unique_ptr<ExecutionBackend> execution;
  // Modules the backend refused as unsupported (a JIT gap, machinery that does not exist yet):
  // the commands using them are skipped with the reason. By $name, and the latest module.
  std::map<std::string, std::string> unsupported_named;
  std::optional<std::string> latest_unsupported;

  const std::string* unsupported(const std::optional<std::string>& name) const {
    if (!name) return latest_unsupported ? &*latest_unsupported : nullptr;
    auto found = unsupported_named.find(*name);
    return found == unsupported_named.end() ? nullptr : &found->second;
  }
};

namespace {
// Kiln reports a feature it lacks as an error starting "unsupported" (never a silent stub).
bool is_unsupported(std::string_view message) {
  return message.rfind("unsupported", 0) == 0;
}
}  // namespace

Runner::Runner(Toolchain toolchain, RunOptions options)
    : toolchain_(std::move(toolchain)), options_(std::move(options)) {
  if (!options_.testsuite_root.empty()) {
    std::error_code ignored;
    std::filesystem::path canonical =
        std::filesystem::weakly_canonical(options_.testsuite_root, ignored);
    if (!canonical.empty()) options_.testsuite_root = canonical;
  }
}

std::string Runner::relative_path(const std::filesystem::path& path) const {
  if (options_.testsuite_root.empty()) return path.generic_string();
  std::error_code error;
  const std::filesystem::path absolute = std::filesystem::weakly_canonical(path, error);
  if (error || absolute.empty()) return path.generic_string();
  const std::filesystem::path relative = absolute.lexically_relative(options_.testsuite_root);
  if (relative.empty() || *relative.begin() == "..") return path.generic_string();
  return relative.generic_string();
}

namespace {

// One field of a child's report line: no tabs or newlines inside.
std::string report_field(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c == '\t' || c == '\n' || c == '\r') c = ' ';
  }
  return out;
}

std::vector<std::string_view> split_tabs(std::string_view line) {
  std::vector<std::string_view> fields;
  while (true) {
    const size_t tab = line.find('\t');
    fields.push_back(line.substr(0, tab));
    if (tab == std::string_view::npos) return fields;
    line.remove_prefix(tab + 1);
  }
}

std::optional<uint32_t> parse_u32(std::string_view digits) {
  if (digits.empty() || digits.size() > 10) return std::nullopt;
  uint64_t value = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + uint64_t(c - '0');
  }
  if (value > UINT32_MAX) return std::nullopt;
  return uint32_t(value);
}

}  // namespace

void Runner::send_to_parent(const std::string& line) const {
  std::string_view rest = line;
  while (!rest.empty()) {
    const ssize_t written = ::write(child_fd_, rest.data(), rest.size());
    if (written < 0 && errno == EINTR) continue;
    if (written <= 0) _exit(3);  // the parent is gone: nothing left to report to
    rest.remove_prefix(size_t(written));
  }
}

void Runner::run_file_isolated(const std::filesystem::path& path, unsigned timeout_seconds) {
  int fds[2];
  if (::pipe(fds) != 0) return run_file(path);
  std::fflush(stdout);
  std::fflush(stderr);
  const pid_t child = ::fork();
  if (child < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    return run_file(path);
  }
  if (child == 0) {
    // The child runs the file and reports every outcome, unjudged, one line each:
    //   S <line> <kind>    a command starts      P          the script parsed
    //   R <outcome> <rejection> <line> <kind> <detail>     E <error>   a run error
    ::close(fds[0]);
    child_fd_ = fds[1];
    report_.run_errors.clear();
    run_file(path);
    for (const std::string& error : report_.run_errors) {
      send_to_parent("E\t" + report_field(error) + "\n");
    }
    _exit(0);
  }
  ::close(fds[1]);

  FileState state{relative_path(path), path.stem().string(), {}, nullptr, {}, {}};
  std::optional<std::pair<uint32_t, std::string>> running;  // started, not yet reported
  bool anything_reported = false;
  bool timed_out = false;
  std::string buffer;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_seconds);
  const auto handle_line = [&](std::string_view line) {
    const std::vector<std::string_view> fields = split_tabs(line);
    if (fields[0] == "S" && fields.size() == 3) {
      if (auto number = parse_u32(fields[1])) running.emplace(*number, std::string(fields[2]));
    } else if (fields[0] == "P") {
      parsed_files_.insert(state.path);
      lines_seen_[state.path];
    } else if (fields[0] == "E" && fields.size() == 2) {
      report_.run_errors.emplace_back(fields[1]);
    } else if (fields[0] == "R" && fields.size() == 6) {
      const auto outcome = parse_u32(fields[1]);
      const auto rejection = parse_u32(fields[2]);
      const auto number = parse_u32(fields[3]);
      if (!outcome || *outcome > uint32_t(Outcome::ExpectedFailure) || !rejection ||
          *rejection > uint32_t(Rejection::Accepted) || !number) {
        return;
      }
      running.reset();
      anything_reported = true;
      record(state, std::string(fields[4]), *number, Outcome(*outcome), std::string(fields[5]),
             Rejection(*rejection));
    }
  };
  char chunk[65536];
  while (true) {
    int wait_ms = -1;
    if (timeout_seconds != 0) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        timed_out = true;
        break;
      }
      wait_ms = int(std::min<int64_t>(left.count(), 60'000));
    }
    pollfd poll_fd{fds[0], POLLIN, 0};
    const int ready = ::poll(&poll_fd, 1, wait_ms);
    if (ready < 0 && errno == EINTR) continue;
    if (ready == 0) continue;  // re-check the deadline
    if (ready < 0) break;
    const ssize_t got = ::read(fds[0], chunk, sizeof chunk);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    buffer.append(chunk, size_t(got));
    size_t newline;
    while ((newline = buffer.find('\n')) != std::string::npos) {
      handle_line(std::string_view(buffer).substr(0, newline));
      buffer.erase(0, newline + 1);
    }
  }
  ::close(fds[0]);
  if (timed_out) ::kill(child, SIGKILL);
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  if (!timed_out && WIFEXITED(status) && WEXITSTATUS(status) == 0) return;

  std::string why;
  if (timed_out) {
    why = "timed out after " + std::to_string(timeout_seconds) + " s";
  } else if (WIFSIGNALED(status)) {
    why = "crashed (signal " + std::to_string(WTERMSIG(status)) + ", " +
          ::strsignal(WTERMSIG(status)) + ")";
  } else {
    why = "exited with status " + std::to_string(WEXITSTATUS(status));
  }
  if (running) {
    record(state, running->second, running->first, Outcome::Failed,
           "the runner " + why + " here; the rest of the file did not run");
  } else if (!anything_reported) {
    record(state, "parse", 0, Outcome::Failed, "the runner " + why + " before any command");
  } else {
    report_.run_errors.push_back(state.path + ": the runner " + why + " after its last command");
  }
}

void Runner::record(FileState& state, std::string kind, uint32_t line, Outcome outcome,
                    std::string detail, Rejection rejection) {
  if (child_fd_ >= 0) {
    return send_to_parent("R\t" + std::to_string(unsigned(outcome)) + "\t" +
                          std::to_string(unsigned(rejection)) + "\t" + std::to_string(line) + "\t" +
                          report_field(kind) + "\t" + report_field(detail) + "\n");
  }
  if (options_.expected_failures && options_.expected_failures->contains(state.path, line)) {
    if (outcome == Outcome::Failed) {
      outcome = Outcome::ExpectedFailure;
    } else if (outcome == Outcome::Passed) {
      outcome = Outcome::Failed;
      detail = "expected failure now passes: remove it from the list";
    }
  }
  lines_seen_[state.path].insert(line);
  report_.files[state.path].add(outcome);
  report_.kinds[kind].add(outcome);
  report_.total.add(outcome);
  if (rejection != Rejection::NotApplicable) {
    RejectionCounts& counts = report_.rejections[kind];
    if (rejection == Rejection::ExpectedMessage) ++counts.expected_message;
    if (rejection == Rejection::OtherMessage) ++counts.other_message;
    if (rejection == Rejection::Accepted) ++counts.accepted;
  }
  if (outcome == Outcome::Skipped) ++report_.skip_reasons[detail];

  CommandReport entry{state.path, line, std::move(kind), outcome, rejection, std::move(detail)};
  if (options_.on_command && (outcome != Outcome::Passed || options_.verbose)) {
    options_.on_command(entry);
  }
  if (outcome != Outcome::Passed) report_.commands.push_back(std::move(entry));
}

void Runner::run_file(const std::filesystem::path& path) {
  std::error_code error;
  const uintmax_t size = std::filesystem::file_size(path, error);
  std::string source;
  std::string problem;
  if (error) {
    problem = "cannot read " + path.string() + ": " + error.message();
  } else if (size > kMaxScriptBytes) {
    problem = path.string() + " is larger than the runner accepts (256 MiB)";
  } else {
    std::ifstream in(path, std::ios::binary);
    source.resize(size_t(size));
    if (!in || !in.read(source.data(), std::streamsize(size))) {
      problem = "cannot read " + path.string();
    }
  }
  if (!problem.empty()) {
    FileState state{relative_path(path), path.stem().string(), {}, nullptr, {}, {}};
    record(state, "parse", 0, Outcome::Failed, problem);
    return;
  }
  run_source(source, path);
}

void Runner::run_source(std::string_view source, const std::filesystem::path& path) {
  FileState state{relative_path(path), path.stem().string(), {}, nullptr, {}, {}};
  state.features = features_for_path(state.path);
  if (!toolchain_.parse_script) {
    record(state, "parse", 0, Outcome::Skipped, toolchain_.missing_parse);
    return;
  }
  // Kiln reports failures as values; an exception escaping a part of it is a bug there, and
  // is reported as one failure instead of ending the whole run.
  std::optional<Result<text::Script>> parsed;
  try {
    parsed.emplace(toolchain_.parse_script(source, path.string(), state.features));
  } catch (const std::exception& exception) {
    record(state, "parse", 0, Outcome::Failed,
           std::string("the parser threw an exception: ") + exception.what());
    return;
  }
  Result<text::Script>& script = *parsed;
  if (!script) {
    record(state, "parse", 0, Outcome::Failed, script.err().to_string());
    return;
  }
  if (child_fd_ >= 0) send_to_parent("P\n");
  parsed_files_.insert(state.path);
  if (!options_.parse_only && toolchain_.new_execution) {
    state.execution = toolchain_.new_execution();
  }
  run_script(script.ok(), state);
}

void Runner::run_script(const text::Script& script, FileState& state) {
  for (const text::Command& command : script.commands) {
    if (child_fd_ >= 0) {
      send_to_parent("S\t" + std::to_string(command.location.line) + "\t" +
                     report_field(keyword_of(command)) + "\n");
    }
    try {
      run_command(command, state);
    } catch (const std::exception& exception) {
      record(state, keyword_of(command), command.location.line, Outcome::Failed,
             std::string("an exception escaped: ") + exception.what());
    }
  }
}

void Runner::dump_module(FileState& state, uint32_t line, std::span<const uint8_t> binary) {
  if (!options_.dump_modules) return;
  const std::filesystem::path& dir = *options_.dump_modules;
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  std::string name = state.stem + "." + std::to_string(line);
  // Two modules on one line (rare): the later ones get a -2, -3, ... suffix.
  for (unsigned copy = 2; dump_names_.count(name); ++copy) {
    name = state.stem + "." + std::to_string(line) + "-" + std::to_string(copy);
  }
  dump_names_.insert(name);
  const std::filesystem::path file = dir / (name + ".wasm");
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(binary.data()), std::streamsize(binary.size()));
  if (!out) report_.run_errors.push_back("cannot write " + file.string());
}

Runner::Check Runner::check_binary(std::span<const uint8_t> binary,
                                   const wasm::Features& features) const {
  if (toolchain_.decode_and_validate) {
    Result<void> result = toolchain_.decode_and_validate(binary, features);
    if (result) return {Check::Status::Valid, {}, {}};
    return {Check::Status::Rejected, result.err().message(), result.err().to_string()};
  }
  if (toolchain_.decode) {
    Result<void> result = toolchain_.decode(binary, features);
    if (!result) {
      return {Check::Status::Rejected, result.err().message(), result.err().to_string()};
    }
    return {Check::Status::Unchecked, toolchain_.missing_validate, {}};
  }
  return {Check::Status::Unchecked, toolchain_.missing_decode, {}};
}

void Runner::run_command(const text::Command& command, FileState& state) {
  const std::string kind = keyword_of(command);
  const uint32_t line = command.location.line;
  const auto pass = [&](Rejection rejection = Rejection::NotApplicable) {
    record(state, kind, line, Outcome::Passed, {}, rejection);
  };
  const auto fail = [&](std::string why, Rejection rejection = Rejection::NotApplicable) {
    record(state, kind, line, Outcome::Failed, std::move(why), rejection);
  };
  const auto skip = [&](std::string why) {
    record(state, kind, line, Outcome::Skipped, std::move(why));
  };
  // A rejection-expecting assertion whose module was rejected with `message`.
  const auto judge_rejection = [&](std::string_view message, std::string_view stage) {
    if (contains_text(message, command.text)) {
      pass(Rejection::ExpectedMessage);
    } else {
      fail(std::string(stage) + " failed with \"" + std::string(message) + "\", expected \"" +
               command.text + "\"",
           Rejection::OtherMessage);
    }
  };

  // The module's binary: as written, as encoded while parsing, or encoded now (module quote).
  std::vector<uint8_t> encoded_quote;
  std::span<const uint8_t> binary;
  if (command.module) {
    const text::ScriptModule& module = *command.module;
    if (module.form == Form::Quote) {
      if (!toolchain_.encode_text) return skip(toolchain_.missing_encode);
      Result<std::vector<uint8_t>> encoded = toolchain_.encode_text(
          module.quote, state.path + ":" + std::to_string(line), state.features);
      if (expects_malformed(command.kind)) {
        // Every malformation a quoted module tests is one of the text format (the spec's
        // messages for them are the text parser's): a quote module that encodes fails.
        if (encoded) {
          return fail("the quoted module was accepted by the text parser, expected \"" +
                          command.text + "\"",
                      Rejection::Accepted);
        }
        if (options_.parse_only) {
          // Parse-only mode checks that the text is rejected; the wording is checked (and
          // counted) but only the full run fails on it.
          const bool same = contains_text(encoded.err().message(), command.text);
          return pass(same ? Rejection::ExpectedMessage : Rejection::OtherMessage);
        }
        return judge_rejection(encoded.err().message(), "text parsing");
      }
      if (!encoded) {
        // A few invalid quoted modules (an offset or a table size out of range) may be refused
        // by the text parser already; that is fine when it says what the validator would.
        if (expects_invalid(command.kind)) {
          return judge_rejection(encoded.err().message(), "text parsing");
        }
        return fail("the quoted module does not encode: " + encoded.err().to_string());
      }
      encoded_quote = std::move(encoded.ok());
      binary = encoded_quote;
    } else {
      binary = module.binary;
    }
    if (module.form != Form::Binary && !expects_malformed(command.kind)) {
      // Named after the module's own line, as wast2json numbers modules (for the wabt test).
      dump_module(state, module.location.line != 0 ? module.location.line : line, binary);
    }
  }

  if (options_.parse_only) {
    if (expects_malformed(command.kind)) {
      return skip("parse-only mode: a binary assert_malformed needs the decoder");
    }
    return pass();
  }

  const bool can_execute = state.execution != nullptr;
  const std::string& no_execution = toolchain_.missing_execution;
  switch (command.kind) {
    case Kind::AssertMalformed:
    case Kind::AssertMalformedCustom:
    case Kind::AssertInvalid:
    case Kind::AssertInvalidCustom: {
      if (!command.module) return fail("the command has no module");
      const Check check = check_binary(binary, state.features);
      if (check.status == Check::Status::Unchecked) return skip(check.message);
      if (check.status == Check::Status::Valid) {
        return fail(std::string("the module was accepted, expected \"") + command.text + "\"",
                    Rejection::Accepted);
      }
      return judge_rejection(check.message, "decoding/validation");
    }
    case Kind::Module:
    case Kind::AssertUnlinkable:
    case Kind::AssertUninstantiable:
    case Kind::AssertTrap:
      if (command.module) {
        const Check check = check_binary(binary, state.features);
        if (check.status == Check::Status::Rejected) {
          return fail("the module was rejected: " + check.detail);
        }
        if (check.status == Check::Status::Unchecked) return skip(check.message);
        if (command.kind == Kind::Module && !can_execute) return pass();
        if (!can_execute) return skip(no_execution);
        return run_module(command, state, binary);
      }
      if (command.kind != Kind::AssertTrap) return fail("the command has no module");
      break;
    default:
      break;
  }
  if (!can_execute) return skip(no_execution);
  run_with_execution(command, state);
}

void Runner::run_module(const text::Command& command, FileState& state,
                        std::span<const uint8_t> binary) {
  const std::string kind = keyword_of(command);
  const uint32_t line = command.location.line;
  const text::ScriptModule& module = *command.module;
  ExecutionBackend& execution = *state.execution;
  if (command.kind == Kind::Module && module.definition) {
    Result<void> defined = execution.define(binary, module.id);
    if (defined) return record(state, kind, line, Outcome::Passed, {});
    if (is_unsupported(defined.err().message())) {
      std::string why = "the backend does not support this module yet: " + defined.err().message();
      if (module.id) state.unsupported_named[*module.id] = why;
      return record(state, kind, line, Outcome::Skipped, why);
    }
    return record(state, kind, line, Outcome::Failed,
                  "definition failed: " + defined.err().to_string());
  }
  const InstantiateOutcome outcome = execution.instantiate(binary, module.id);
  using Status = InstantiateOutcome::Status;
  Status expected = Status::Instantiated;
  if (command.kind == Kind::AssertUnlinkable) expected = Status::Unlinkable;
  if (command.kind == Kind::AssertUninstantiable || command.kind == Kind::AssertTrap) {
    expected = Status::Trapped;
  }
  static constexpr const char* kStatusNames[] = {"instantiated", "unlinkable", "trapped",
                                                 "rejected by the backend"};
  if (outcome.status == Status::Rejected && is_unsupported(outcome.message)) {
    std::string why = "the backend does not support this module yet: " + outcome.message;
    if (module.id) state.unsupported_named[*module.id] = why;
    if (command.kind == Kind::Module) state.latest_unsupported = why;
    return record(state, kind, line, Outcome::Skipped, why);
  }
  if (command.kind == Kind::Module && outcome.status == Status::Instantiated) {
    state.latest_unsupported.reset();
    if (module.id) state.unsupported_named.erase(*module.id);
  }
  if (outcome.status != expected) {
    std::string why = std::string("instantiation: ") + kStatusNames[size_t(outcome.status)];
    if (!outcome.message.empty()) why += " (" + outcome.message + ")";
    why += std::string(", expected ") + kStatusNames[size_t(expected)];
    return record(state, kind, line, Outcome::Failed, why);
  }
  if (expected != Status::Instantiated && !contains_text(outcome.message, command.text)) {
    return record(
        state, kind, line, Outcome::Failed,
        "instantiation failed with \"" + outcome.message + "\", expected \"" + command.text + "\"");
  }
  record(state, kind, line, Outcome::Passed, {});
}

void Runner::run_with_execution(const text::Command& command, FileState& state) {
  const std::string kind = keyword_of(command);
  const uint32_t line = command.location.line;
  ExecutionBackend& execution = *state.execution;
  const auto pass = [&] { record(state, kind, line, Outcome::Passed, {}); };
  const auto fail = [&](std::string why) {
    record(state, kind, line, Outcome::Failed, std::move(why));
  };
  const auto skip = [&](const std::string& why) {
    record(state, kind, line, Outcome::Skipped, why);
  };
  if (command.kind == Kind::ModuleInstance) {
    if (const std::string* why = state.unsupported(command.module_name)) return skip(*why);
  } else if (command.kind == Kind::Register) {
    if (const std::string* why = state.unsupported(command.name)) return skip(*why);
  } else if (command.action) {
    if (const std::string* why = state.unsupported(command.action->module)) return skip(*why);
  }
  switch (command.kind) {
    case Kind::ModuleInstance: {
      const InstantiateOutcome outcome =
          execution.instantiate_definition(command.name, command.module_name);
      if (outcome.status == InstantiateOutcome::Status::Instantiated) return pass();
      return fail("instantiation failed: " + outcome.message);
    }
    case Kind::Register: {
      Result<void> registered = execution.register_instance(command.text, command.name);
      if (registered) return pass();
      return fail("register failed: " + registered.err().to_string());
    }
    case Kind::Thread:
    case Kind::Wait:
      return record(state, kind, line, Outcome::Skipped,
                    "the runner does not run (thread ...) scripts yet");
    default:
      break;
  }
  if (!command.action) return fail("the command has no action");
  const text::Action& action = *command.action;
  const ActionOutcome outcome = action.kind == text::Action::Kind::Get
                                    ? execution.get(action.module, action.field)
                                    : execution.invoke(action.module, action.field, action.args);
  using Status = ActionOutcome::Status;
  static constexpr const char* kStatusNames[] = {"returned", "trapped", "exhausted the stack",
                                                 "threw an exception", "could not run"};
  const auto describe = [&] {
    std::string why = std::string(kStatusNames[size_t(outcome.status)]);
    if (!outcome.message.empty()) why += " (" + outcome.message + ")";
    return why;
  };
  switch (command.kind) {
    case Kind::Action:
      if (outcome.status == Status::Returned) return pass();
      return fail("the action " + describe());
    case Kind::AssertReturn: {
      if (outcome.status != Status::Returned) return fail("the action " + describe());
      if (outcome.values.size() != command.results.size()) {
        return fail("returned " + std::to_string(outcome.values.size()) + " values, expected " +
                    std::to_string(command.results.size()));
      }
      for (size_t i = 0; i < outcome.values.size(); ++i) {
        std::string why;
        if (!matches(command.results[i], outcome.values[i], &why)) {
          return fail("result " + std::to_string(i) + " does not match: " + why);
        }
      }
      return pass();
    }
    case Kind::AssertTrap:
    case Kind::AssertExhaustion:
    case Kind::AssertException: {
      Status expected = Status::Trapped;
      if (command.kind == Kind::AssertExhaustion) expected = Status::Exhausted;
      if (command.kind == Kind::AssertException) expected = Status::Exception;
      if (outcome.status != expected) {
        return fail("the action " + describe() + ", expected it to have " +
                    kStatusNames[size_t(expected)]);
      }
      if (command.kind != Kind::AssertException && !contains_text(outcome.message, command.text)) {
        return fail("the action failed with \"" + outcome.message + "\", expected \"" +
                    command.text + "\"");
      }
      return pass();
    }
    default:
      return fail("the runner does not know this command");
  }
}

void Runner::finish() {
  if (!options_.expected_failures) return;
  for (const auto& [file, lines] : lines_seen_) {
    const bool parsed = parsed_files_.count(file) != 0;
    for (uint32_t listed : options_.expected_failures->lines_of(file)) {
      if (listed == 0 && parsed) {
        report_.run_errors.push_back(file + ":0 is listed as not parsing, but " + file +
                                     " parses now: remove it from the list");
      } else if (parsed && !lines.count(listed)) {
        report_.run_errors.push_back(file + ":" + std::to_string(listed) +
                                     " is listed as an expected failure, but no command of " +
                                     file + " starts on that line");
      }
    }
  }
}

}  // namespace kiln::spec

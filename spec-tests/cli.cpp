// The `kiln wast` command line: options, the testsuite's location, and the printed report.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <system_error>
#include <vector>

#include "spec-tests/jit_backend.hpp"
#include "spec-tests/runner.hpp"

#ifndef KILN_SOURCE_ROOT
#error "KILN_SOURCE_ROOT must name the source tree (set by spec-tests/meson.build)"
#endif

namespace kiln::spec {

namespace {

constexpr const char* kHelp =
    "Usage: %.*s [OPTIONS] FILE|DIR...\n"
    "\n"
    "Run WebAssembly spec scripts (.wast) and count the outcome of every command, per file,\n"
    "per command kind and in total. A directory stands for every .wast file under it.\n"
    "The last line printed is the total: \"N passed, N failed, N skipped\" (expected failures\n"
    "are counted as skipped there). Exits 0 when nothing failed, 1 otherwise, 2 on usage errors.\n"
    "\n"
    "Options:\n"
    "  --json FILE               Also write the counts as JSON:\n"
    "                              {\"files\": {PATH: COUNTS}, \"kinds\": {KIND: COUNTS},\n"
    "                               \"total\": COUNTS}, COUNTS = {\"passed\": n, \"failed\": n,\n"
    "                               \"skipped\": n, \"xfail\": n}; PATH relative to the testsuite\n"
    "  --parse-only              Stop after parsing and encoding: a command passes when its\n"
    "                            script parsed and its text modules encoded (a quoted module in\n"
    "                            assert_malformed must fail to encode)\n"
    "  --expected-failures FILE  Commands listed in FILE (\"PATH:LINE  reason\") are expected to\n"
    "                            fail: counted as xfail when they do, as failures when they pass\n"
    "  --dump-modules DIR        Write every text module's encoding as DIR/<stem>.<line>.wasm\n"
    "  --testsuite DIR           The testsuite root that PATHs are relative to (default:\n"
    "                            $KILN_TESTSUITE, else ../shared/spec-testsuite beside the "
    "source)\n"
    "  --all                     Run every .wast file of the testsuite\n"
    "  --timeout SECONDS         Each file runs in a child process: one that crashes or runs\n"
    "                            longer than this (default 30; 0: no limit) fails the command\n"
    "                            it was running, and the rest of that file is not run\n"
    "  --opt-level LEVEL         Compile at none, speed (the default) or speed_and_size\n"
    "                            (Config::cranelift_opt_level; docs/embedding.md)\n"
    "  --no-isolate              Run every file in this process (for a debugger)\n"
    "  -v, --verbose             Print every command, not only the failing ones\n"
    "  -h, --help                Print this help\n";

const char* outcome_label(Outcome outcome) {
  switch (outcome) {
    case Outcome::Passed:
      return "PASS";
    case Outcome::Failed:
      return "FAIL";
    case Outcome::Skipped:
      return "SKIP";
    case Outcome::ExpectedFailure:
      return "XFAIL";
  }
  return "?";
}

std::string counts_text(const Counts& counts) {
  return std::to_string(counts.passed) + " passed, " + std::to_string(counts.failed) + " failed, " +
         std::to_string(counts.skipped) + " skipped, " + std::to_string(counts.xfail) + " xfail";
}

void print_report(const Report& report, bool verbose) {
  std::printf("\nFiles:\n");
  for (const auto& [file, counts] : report.files) {
    std::printf("  %s: %s\n", file.c_str(), counts_text(counts).c_str());
  }
  std::printf("Command kinds:\n");
  for (const auto& [kind, counts] : report.kinds) {
    std::printf("  %s: %s\n", kind.c_str(), counts_text(counts).c_str());
  }
  if (!report.rejections.empty()) {
    std::printf("Rejections (before the expected-failures list):\n");
    for (const auto& [kind, counts] : report.rejections) {
      std::printf(
          "  %s: %llu rejected with the expected message, %llu rejected with another "
          "message, %llu accepted\n",
          kind.c_str(), (unsigned long long)counts.expected_message,
          (unsigned long long)counts.other_message, (unsigned long long)counts.accepted);
    }
  }
  if (!report.skip_reasons.empty()) {
    std::printf("Skipped, by reason:\n");
    std::vector<std::pair<uint64_t, std::string>> reasons;
    for (const auto& [reason, count] : report.skip_reasons) reasons.emplace_back(count, reason);
    std::sort(reasons.rbegin(), reasons.rend());
    const size_t shown = verbose ? reasons.size() : std::min<size_t>(reasons.size(), 20);
    for (size_t i = 0; i < shown; ++i) {
      std::printf("  %8llu  %s\n", (unsigned long long)reasons[i].first, reasons[i].second.c_str());
    }
    if (shown < reasons.size()) std::printf("  ... and %zu more reasons\n", reasons.size() - shown);
  }
  for (const std::string& error : report.run_errors) std::printf("ERROR: %s\n", error.c_str());
  std::printf("%s\n", report.summary_line().c_str());
}

bool is_wast(const std::filesystem::path& path) {
  return path.extension() == ".wast";
}

}  // namespace

std::filesystem::path find_testsuite() {
  std::error_code error;
  if (const char* configured = std::getenv("KILN_TESTSUITE"); configured && *configured) {
    return std::filesystem::is_directory(configured, error) ? std::filesystem::path(configured)
                                                            : std::filesystem::path();
  }
  const std::filesystem::path beside =
      std::filesystem::path(KILN_SOURCE_ROOT) / ".." / "shared" / "spec-testsuite";
  if (std::filesystem::is_directory(beside, error)) return beside.lexically_normal();
  return {};
}

std::filesystem::path default_expected_failures_path() {
  return std::filesystem::path(KILN_SOURCE_ROOT) / "spec-tests" / "expected-failures.txt";
}

std::vector<std::filesystem::path> wast_files_under(const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> files;
  std::error_code error;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, error);
       !error && it != std::filesystem::recursive_directory_iterator(); it.increment(error)) {
    if (it->is_regular_file(error) && is_wast(it->path())) files.push_back(it->path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

int wast_main(std::span<const char* const> args, std::string_view program) {
  const auto usage_error = [&](const std::string& message) {
    std::fprintf(stderr, "%.*s: %s (see --help)\n", int(program.size()), program.data(),
                 message.c_str());
    return 2;
  };
  RunOptions options;
  std::optional<std::string> json_path;
  std::optional<std::string> expected_path;
  std::optional<std::string> testsuite;
  bool all = false;
  bool isolate = true;
  unsigned timeout_seconds = 30;
  std::vector<std::filesystem::path> inputs;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string_view arg = args[i];
    const auto value = [&]() -> const char* { return i + 1 < args.size() ? args[++i] : nullptr; };
    if (arg == "-h" || arg == "--help") {
      std::printf(kHelp, int(program.size()), program.data());
      return 0;
    } else if (arg == "--json" || arg == "--expected-failures" || arg == "--dump-modules" ||
               arg == "--testsuite") {
      const char* given = value();
      if (!given) return usage_error(std::string(arg) + " needs a value");
      if (arg == "--json") json_path = given;
      if (arg == "--expected-failures") expected_path = given;
      if (arg == "--dump-modules") options.dump_modules = std::filesystem::path(given);
      if (arg == "--testsuite") testsuite = given;
    } else if (arg == "--timeout") {
      const char* given = value();
      char* end = nullptr;
      const unsigned long seconds = given ? std::strtoul(given, &end, 10) : 0;
      if (!given || *given == '\0' || *end != '\0' || seconds > 86400) {
        return usage_error("--timeout needs a number of seconds (at most 86400)");
      }
      timeout_seconds = unsigned(seconds);
    } else if (arg == "--opt-level") {
      const std::string_view given = value() ?: "";
      if (given == "none") {
        set_jit_opt_level(jit::OptLevel::None);
      } else if (given == "speed") {
        set_jit_opt_level(jit::OptLevel::Speed);
      } else if (given == "speed_and_size") {
        set_jit_opt_level(jit::OptLevel::SpeedAndSize);
      } else {
        return usage_error("--opt-level needs none, speed or speed_and_size");
      }
    } else if (arg == "--no-isolate") {
      isolate = false;
    } else if (arg == "--parse-only") {
      options.parse_only = true;
    } else if (arg == "--all") {
      all = true;
    } else if (arg == "-v" || arg == "--verbose") {
      options.verbose = true;
    } else if (arg.size() > 1 && arg[0] == '-') {
      return usage_error("unknown option " + std::string(arg));
    } else {
      inputs.emplace_back(arg);
    }
  }

  const std::filesystem::path root =
      testsuite ? std::filesystem::path(*testsuite) : find_testsuite();
  std::error_code error;
  if (testsuite && !std::filesystem::is_directory(root, error)) {
    return usage_error("the testsuite " + *testsuite + " is not a directory");
  }
  options.testsuite_root = root;
  if (all) {
    const char* configured = std::getenv("KILN_TESTSUITE");
    if (root.empty() && configured && *configured) {
      return usage_error(std::string("KILN_TESTSUITE=") + configured + " is not a directory");
    }
    if (root.empty()) {
      return usage_error(
          "the spec testsuite was not found: set KILN_TESTSUITE to its directory, or put it at " +
          (std::filesystem::path(KILN_SOURCE_ROOT) / ".." / "shared" / "spec-testsuite")
              .lexically_normal()
              .string());
    }
    inputs.push_back(root);
  }
  if (inputs.empty()) return usage_error("no .wast files given");

  std::vector<std::filesystem::path> files;
  for (const std::filesystem::path& input : inputs) {
    if (std::filesystem::is_directory(input, error)) {
      std::vector<std::filesystem::path> found = wast_files_under(input);
      if (found.empty()) return usage_error("no .wast files under " + input.string());
      files.insert(files.end(), found.begin(), found.end());
    } else {
      files.push_back(input);
    }
  }

  std::optional<ExpectedFailures> expected;
  if (expected_path) {
    Result<ExpectedFailures> loaded = ExpectedFailures::load(*expected_path);
    if (!loaded) return usage_error(loaded.err().to_string());
    expected = std::move(loaded.ok());
    options.expected_failures = &*expected;
  }
  options.on_command = [](const CommandReport& command) {
    std::printf("%s %s:%u %s", outcome_label(command.outcome), command.file.c_str(),
                unsigned(command.line), command.kind.c_str());
    if (!command.detail.empty()) std::printf(": %s", command.detail.c_str());
    std::printf("\n");
    // Flushed at once: if a later command hangs or crashes, the output so far says where.
    std::fflush(stdout);
  };
  const bool verbose = options.verbose;
  if (!verbose) {
    // Only failures are printed as they happen; skips and expected failures are summed up.
    options.on_command = [print = options.on_command](const CommandReport& command) {
      if (command.outcome == Outcome::Failed) print(command);
    };
  }

  Runner runner(kiln_toolchain(), std::move(options));
  for (const std::filesystem::path& file : files) {
    if (isolate) {
      runner.run_file_isolated(file, timeout_seconds);
    } else {
      runner.run_file(file);
    }
  }
  runner.finish();
  const Report& report = runner.report();
  print_report(report, verbose);

  if (json_path) {
    std::ofstream out(*json_path, std::ios::binary | std::ios::trunc);
    const std::string json = report.to_json();
    out.write(json.data(), std::streamsize(json.size()));
    if (!out) {
      std::fprintf(stderr, "%.*s: cannot write %s\n", int(program.size()), program.data(),
                   json_path->c_str());
      return 1;
    }
  }
  return report.ok() ? 0 : 1;
}

}  // namespace kiln::spec

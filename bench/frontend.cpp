// kiln-bench-frontend: times Kiln's front end in-process, for bench/frontend-speed.
//   kiln-bench-frontend parse-wast FILE...   parse .wast scripts (text modules encoded)
//   kiln-bench-frontend wat2wasm FILE...     text -> binary
//   kiln-bench-frontend validate FILE...     decode + validate binary modules
//   kiln-bench-frontend compile FILE...      decode + validate + compile every function
// Each file is processed `KILN_BENCH_REPS` times (default 5) after one warm-up; prints one JSON
// object per file: {"mode", "file", "bytes", "code_bytes", "best_seconds", "median_seconds",
// "best_cpu_seconds", "median_cpu_seconds"} (wall clock, then this thread's CPU time).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

#include "decoder/decoder.hpp"
#include "jit/compiler.hpp"
#include "text/wast.hpp"
#include "text/wat.hpp"
#include "validator/validator.hpp"

namespace {

std::vector<uint8_t> read_file(const char* path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "kiln-bench-frontend: cannot open %s\n", path);
    std::exit(1);
  }
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

struct Timing {
  double best_seconds = 0, median_seconds = 0;  // wall clock
  double best_cpu = 0, median_cpu = 0;          // this thread's CPU time
};

double thread_cpu_seconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
}

// Runs `work` reps times after one warm-up; wall-clock and CPU-time best and median. The CPU
// time is what a shared machine disturbs least (time spent preempted is not counted). `work`
// returns false on failure.
template <typename Work>
Timing time_it(int reps, Work work) {
  if (!work()) std::exit(1);  // warm-up, and the check that the input is accepted
  std::vector<double> wall, cpu;
  for (int i = 0; i < reps; ++i) {
    auto start = std::chrono::steady_clock::now();
    double cpu_start = thread_cpu_seconds();
    work();
    cpu.push_back(thread_cpu_seconds() - cpu_start);
    wall.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(wall.begin(), wall.end());
  std::sort(cpu.begin(), cpu.end());
  return {wall.front(), wall[wall.size() / 2], cpu.front(), cpu[cpu.size() / 2]};
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr,
                 "usage: kiln-bench-frontend parse-wast|wat2wasm|validate|compile FILE...\n");
    return 2;
  }
  const std::string_view mode = argv[1];
  const int reps =
      std::max(1, std::getenv("KILN_BENCH_REPS") ? std::atoi(std::getenv("KILN_BENCH_REPS")) : 5);
  const auto features = kiln::wasm::Features::everything();
  for (int i = 2; i < argc; ++i) {
    std::vector<uint8_t> bytes = read_file(argv[i]);
    std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    size_t code_bytes = 0;
    Timing t;
    if (mode == "parse-wast") {
      t = time_it(reps, [&] {
        auto script = kiln::text::parse_wast(text, argv[i]);
        if (!script) std::fprintf(stderr, "%s\n", script.err().to_string().c_str());
        return bool(script);
      });
    } else if (mode == "wat2wasm") {
      t = time_it(reps, [&] {
        auto binary = kiln::text::wat_to_binary(text, argv[i]);
        if (!binary) std::fprintf(stderr, "%s\n", binary.err().to_string().c_str());
        return bool(binary);
      });
    } else if (mode == "validate") {
      t = time_it(reps, [&] {
        auto module = kiln::decode_and_validate(bytes, features);
        if (!module)
          std::fprintf(stderr, "%s: %s\n", argv[i], module.err().to_string().c_str());
        else {
          code_bytes = 0;
          for (const auto& body : module.ok().bodies) code_bytes += body.range.size;
        }
        return bool(module);
      });
    } else if (mode == "compile") {
      t = time_it(reps, [&] {
        auto module = kiln::wasm::decode_module(bytes, features);
        if (!module) return false;
        auto types = kiln::wasm::validate_module_sections(module.ok(), bytes, features);
        if (!types) return false;
        kiln::jit::CompileScratch scratch(types.ok());
        code_bytes = 0;
        for (uint32_t f = 0; f < module.ok().bodies.size(); ++f) {
          auto compiled = kiln::jit::compile_function(f, scratch);
          if (!compiled) {
            std::fprintf(stderr, "%s: %s\n", argv[i], compiled.err().to_string().c_str());
            return false;
          }
          code_bytes += module.ok().bodies[f].range.size;
        }
        return true;
      });
    } else {
      std::fprintf(stderr, "kiln-bench-frontend: unknown mode %s\n", argv[1]);
      return 2;
    }
    std::printf(
        "{\"mode\": \"%s\", \"file\": \"%s\", \"bytes\": %zu, \"code_bytes\": %zu, "
        "\"best_seconds\": %.9f, \"median_seconds\": %.9f, \"best_cpu_seconds\": %.9f, "
        "\"median_cpu_seconds\": %.9f}\n",
        argv[1], argv[i], bytes.size(), code_bytes, t.best_seconds, t.median_seconds, t.best_cpu,
        t.median_cpu);
    std::fflush(stdout);
  }
  return 0;
}

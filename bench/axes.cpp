// kiln-bench-axes: the axes of bench/run that depend on an engine setting (fuel, epochs) or on
// serialized modules, through the public API only. Where this build of Kiln cannot do what is
// asked, the error Kiln itself gives is reported instead of a number, so the harness never has to
// guess what is implemented.
//
//   kiln-bench-axes run plain|fuel|epoch FILE.wasm EXPORT ARG
//       Compiles FILE with Config::consume_fuel (fuel: the store gets the largest amount) or
//       Config::epoch_interruption (epoch: a deadline that never passes) or neither (plain),
//       instantiates it and calls EXPORT(ARG) once (ARG an i32; one i32 or i64 result). Prints
//       {"compile_seconds", "instantiate_seconds", "run_seconds", "run_cpu_seconds", "result"}.
//   kiln-bench-axes epoch-latency [REPS]
//       An infinite loop with epoch interruption on; a second thread increments the epoch past the
//       store's deadline once the loop runs. Times the increment to the call's return with the
//       Interrupt trap, REPS times (default 20). Prints {"median_seconds", "max_seconds"}.
//   kiln-bench-axes cache FILE.wasm [REPS]
//       Compiles FILE, serializes it and times Module::deserialize of those bytes; then, with
//       Config::cache in a fresh directory, a compile that misses (compiles and writes the entry)
//       and one that hits (loads it); each best of REPS (default 5) after a warm-up. Prints
//       {"compile_seconds", "serialized_bytes", "deserialize_seconds", "cache_miss_seconds",
//       "cache_hit_seconds"}.
//   kiln-bench-axes parallel FILE.wasm [REPS]
//       Module::compile with Config::parallel_compilation off and on, interleaved, best of REPS:
//       {"serial_seconds", "parallel_seconds", "serial_cpu_seconds", "parallel_cpu_seconds",
//       "threads"} (threads: the CPUs the pool uses).
//
// When Kiln refuses (an Engine setting it lacks, serialization not implemented, ...) it prints
// {"unavailable": "<Kiln's message>"} and exits with status 3; any other failure exits with 1.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "bench_support.hpp"
#include "kiln/kiln.hpp"

using namespace kiln;

namespace {

using kiln::bench::Clock;
using kiln::bench::json_escape;
using kiln::bench::process_cpu_seconds;
using kiln::bench::seconds_since;

constexpr int kUnavailable = 3;

[[noreturn]] void unavailable(const std::string& message) {
  std::printf("{\"unavailable\": \"%s\"}\n", json_escape(message).c_str());
  std::exit(kUnavailable);
}

[[noreturn]] void fail(const std::string& message) {
  std::fprintf(stderr, "kiln-bench-axes: %s\n", message.c_str());
  std::exit(1);
}

std::vector<uint8_t> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path + ": cannot open");
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

int run(std::string_view mode, const std::string& path, const std::string& name, int32_t argument) {
  Config config;
  if (mode == "fuel") {
    config.consume_fuel(true);
  } else if (mode == "epoch") {
    config.epoch_interruption(true);
  } else if (mode != "plain") {
    fail("unknown mode '" + std::string(mode) + "' (plain, fuel or epoch)");
  }
  auto engine = Engine::create(config);
  if (!engine) unavailable(engine.err().to_string());

  const std::vector<uint8_t> bytes = read_file(path);
  auto start = Clock::now();
  auto module = Module::compile(engine.ok(), Span<const uint8_t>(bytes.data(), bytes.size()));
  const double compile_seconds = seconds_since(start);
  if (!module) fail(path + ": " + module.err().to_string());

  Store store(engine.ok());
  if (mode == "fuel") {
    auto fuel = store.context().set_fuel(std::numeric_limits<uint64_t>::max());
    if (!fuel) unavailable(fuel.err().to_string());
  } else if (mode == "epoch") {
    store.context().set_epoch_deadline(std::numeric_limits<uint64_t>::max() / 2);
  }
  start = Clock::now();
  auto instance = Instance::create(store, module.ok(), {});
  const double instantiate_seconds = seconds_since(start);
  if (!instance) fail(path + ": " + instance.err().message());

  auto target = instance.ok().get(store, name);
  if (!target || !std::holds_alternative<Func>(*target)) {
    fail(path + ": no exported function '" + name + "'");
  }
  const double cpu_start = process_cpu_seconds();
  start = Clock::now();
  auto results = std::get<Func>(*target).call(store, {Val(argument)});
  const double run_seconds = seconds_since(start);
  const double run_cpu_seconds = process_cpu_seconds() - cpu_start;
  if (!results) fail(path + ": " + results.err().message());
  if (results.ok().size() != 1) fail(path + ": '" + name + "' must return one value");
  const Val& result = results.ok()[0];
  std::string text;
  if (result.kind() == ValKind::I32) {
    text = std::to_string(result.i32());
  } else if (result.kind() == ValKind::I64) {
    text = std::to_string(result.i64());
  } else {
    fail(path + ": '" + name + "' must return an i32 or an i64");
  }
  std::printf(
      "{\"compile_seconds\": %.9f, \"instantiate_seconds\": %.9f, \"run_seconds\": %.9f, "
      "\"run_cpu_seconds\": %.9f, \"result\": \"%s\"}\n",
      compile_seconds, instantiate_seconds, run_seconds, run_cpu_seconds, text.c_str());
  return 0;
}

// The best (lowest) of `reps` timings of `action`, after one untimed run.
template <typename Action>
double best_of(int reps, Action&& action) {
  action();
  double best = std::numeric_limits<double>::infinity();
  for (int rep = 0; rep < reps; ++rep) {
    const auto start = Clock::now();
    action();
    best = std::min(best, seconds_since(start));
  }
  return best;
}

int cache(const std::string& path, int reps) {
  Engine engine;
  const std::vector<uint8_t> bytes = read_file(path);
  const Span<const uint8_t> wasm(bytes.data(), bytes.size());
  auto module = Module::compile(engine, wasm);
  if (!module) fail(path + ": " + module.err().to_string());
  const double compile_seconds = best_of(reps, [&] {
    if (!Module::compile(engine, wasm)) fail(path + ": compile failed");
  });
  auto serialized = module.ok().serialize();
  if (!serialized) unavailable(serialized.err().to_string());
  const std::vector<uint8_t>& image = serialized.ok();

  const double deserialize_seconds = best_of(reps, [&] {
    auto loaded = Module::deserialize(engine, Span<const uint8_t>(image.data(), image.size()));
    if (!loaded) unavailable(loaded.err().to_string());
  });

  // Config::cache in a fresh directory: a miss compiles and writes the entry, a hit loads it.
  char pattern[] = "/tmp/kiln-bench-cache-XXXXXX";
  if (!mkdtemp(pattern)) fail("cannot make a temporary directory");
  const std::string directory = pattern;
  Config config;
  config.cache(directory);
  auto cached = Engine::create(config);
  if (!cached) unavailable(cached.err().to_string());
  auto compile_cached = [&] {
    auto compiled = Module::compile(cached.ok(), wasm);
    if (!compiled) fail(path + ": " + compiled.err().to_string());
  };
  // Each miss starts from an empty directory (emptied untimed); the hits find the last entry.
  double miss_seconds = std::numeric_limits<double>::infinity();
  for (int rep = 0; rep <= reps; ++rep) {
    for (const auto& entry : std::filesystem::directory_iterator(directory))
      std::filesystem::remove(entry.path());
    const auto misses = cached.ok().statistics().cache_misses;
    const auto start_miss = Clock::now();
    compile_cached();
    if (rep > 0) miss_seconds = std::min(miss_seconds, seconds_since(start_miss));
    if (cached.ok().statistics().cache_misses != misses + 1) fail("the cache did not miss");
  }
  const auto hits_before = cached.ok().statistics().cache_hits;
  const double hit_seconds = best_of(reps, compile_cached);
  const auto hits = cached.ok().statistics().cache_hits - hits_before;
  std::filesystem::remove_all(directory);
  if (hits != uint64_t(reps) + 1) fail("the cache missed where it should have hit");
  std::printf(
      "{\"compile_seconds\": %.9f, \"serialized_bytes\": %zu, \"deserialize_seconds\": %.9f, "
      "\"cache_miss_seconds\": %.9f, \"cache_hit_seconds\": %.9f}\n",
      compile_seconds, image.size(), deserialize_seconds, miss_seconds, hit_seconds);
  return 0;
}

// Config::parallel_compilation off vs on: wall and process CPU time of Module::compile, best of
// REPS each, interleaved.
int parallel(const std::string& path, int reps) {
  const std::vector<uint8_t> bytes = read_file(path);
  const Span<const uint8_t> wasm(bytes.data(), bytes.size());
  Config serial_config, parallel_config;
  serial_config.parallel_compilation(false);
  parallel_config.parallel_compilation(true);
  Engine serial(serial_config), threaded(parallel_config);
  double wall[2] = {std::numeric_limits<double>::infinity(),
                    std::numeric_limits<double>::infinity()};
  double cpu[2] = {wall[0], wall[1]};
  for (int rep = 0; rep <= reps; ++rep) {
    for (int mode = 0; mode < 2; ++mode) {
      const double cpu_start = process_cpu_seconds();
      const auto start = Clock::now();
      auto module = Module::compile(mode == 0 ? serial : threaded, wasm);
      const double elapsed = seconds_since(start), used = process_cpu_seconds() - cpu_start;
      if (!module) fail(path + ": " + module.err().to_string());
      if (rep == 0) continue;  // warm-up
      wall[mode] = std::min(wall[mode], elapsed);
      cpu[mode] = std::min(cpu[mode], used);
    }
  }
  std::printf(
      "{\"serial_seconds\": %.9f, \"parallel_seconds\": %.9f, \"serial_cpu_seconds\": %.9f, "
      "\"parallel_cpu_seconds\": %.9f, \"threads\": %u}\n",
      wall[0], wall[1], cpu[0], cpu[1], std::thread::hardware_concurrency());
  return 0;
}

int epoch_latency(int reps) {
  Config config;
  config.epoch_interruption(true);
  auto engine = Engine::create(config);
  if (!engine) unavailable(engine.err().to_string());
  auto module = Module::compile(engine.ok(), std::string_view(R"((module
    (global $spins (export "spins") (mut i64) (i64.const 0))
    (func (export "forever")
      (loop (global.set $spins (i64.add (global.get $spins) (i64.const 1))) (br 0)))))"));
  if (!module) fail(module.err().to_string());
  std::vector<double> latencies;
  for (int rep = 0; rep < reps; ++rep) {
    Store store(engine.ok());
    auto instance = Instance::create(store, module.ok(), {});
    if (!instance) fail(instance.err().message());
    Func forever = std::get<Func>(*instance.ok().get(store, "forever"));
    store.context().set_epoch_deadline(1);
    std::atomic<Clock::rep> ticked{0};
    std::atomic<bool> calling = false;
    std::thread ticker([&] {
      // Long enough after the call starts that the loop runs when the epoch moves.
      while (!calling.load()) std::this_thread::yield();
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      ticked = Clock::now().time_since_epoch().count();
      engine.ok().increment_epoch();
    });
    calling = true;
    auto result = forever.call(store, {});
    const Clock::rep returned = Clock::now().time_since_epoch().count();
    ticker.join();
    if (result) fail("the loop returned");
    latencies.push_back(std::chrono::duration<double>(Clock::duration(returned - ticked)).count());
  }
  std::sort(latencies.begin(), latencies.end());
  std::printf("{\"median_seconds\": %.9f, \"max_seconds\": %.9f}\n",
              latencies[latencies.size() / 2], latencies.back());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string_view command = argc > 1 ? argv[1] : "";
  if (command == "run" && argc == 6) {
    return run(argv[2], argv[3], argv[4], int32_t(std::strtol(argv[5], nullptr, 10)));
  }
  if (command == "epoch-latency" && (argc == 2 || argc == 3)) {
    return epoch_latency(argc == 3 ? std::max(1, std::atoi(argv[2])) : 20);
  }
  if (command == "cache" && (argc == 3 || argc == 4)) {
    return cache(argv[2], argc == 4 ? std::max(1, std::atoi(argv[3])) : 5);
  }
  if (command == "parallel" && (argc == 3 || argc == 4)) {
    return parallel(argv[2], argc == 4 ? std::max(1, std::atoi(argv[3])) : 5);
  }
  std::fprintf(stderr,
               "usage: kiln-bench-axes run plain|fuel|epoch FILE.wasm EXPORT ARG\n"
               "       kiln-bench-axes epoch-latency [REPS]\n"
               "       kiln-bench-axes cache FILE.wasm [REPS]\n"
               "       kiln-bench-axes parallel FILE.wasm [REPS]\n");
  return 2;
}

// The public API's compile settings: Config::cache (and cache_load's config file),
// parallel_compilation and cranelift_opt_level, seen through Engine::statistics and the code.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "api/cache_config_file.hpp"
#include "kiln/kiln.hpp"
#include "tests/api/api_test_support.hpp"

using namespace kiln;
using test::contains;

namespace {

constexpr std::string_view kModule = R"((module
  (func $sum (export "sum") (param i32) (result i32) (local i32)
    (block (loop
      (br_if 1 (i32.eqz (local.get 0)))
      (local.set 1 (i32.add (local.get 1) (local.get 0)))
      (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
      (br 0)))
    (local.get 1))
  (func (export "mix") (param i64 f64) (result f64)
    (f64.add (f64.convert_i64_s (local.get 0)) (f64.mul (local.get 1) (local.get 1)))))
)";

std::filesystem::path fresh_directory(const std::string& name) {
  const std::filesystem::path dir = std::filesystem::temp_directory_path() /
                                    ("kiln-api-" + name + "-" + std::to_string(getpid()));
  std::filesystem::remove_all(dir);
  return dir;
}

std::filesystem::path write_text(const std::filesystem::path& path, std::string_view text) {
  std::ofstream(path) << text;
  return path;
}

// sum(100) and mix(3, 1.5) through the module's exports.
std::pair<int32_t, double> run(Engine& engine, const Module& module) {
  Store store(engine);
  auto instance = Instance::create(store, module, {});
  REQUIRE(instance);
  auto sum = std::get<Func>(*instance.ok().get(store, "sum"));
  auto mix = std::get<Func>(*instance.ok().get(store, "mix"));
  auto a = sum.call(store, {Val(int32_t(100))});
  auto b = mix.call(store, {Val(int64_t(3)), Val(1.5)});
  REQUIRE(a);
  REQUIRE(b);
  return {a.ok()[0].i32(), b.ok()[0].f64()};
}

}  // namespace

TEST_CASE("Config::cache: the second compile of the same bytes is a cache hit", "[api][cache]") {
  const std::filesystem::path dir = fresh_directory("cache");
  Config config;
  config.cache(dir.string());
  {
    Engine engine(config);
    auto module = Module::compile(engine, kModule);
    REQUIRE(module);
    CHECK(engine.statistics().cache_misses == 1);
    CHECK(engine.statistics().modules_compiled == 1);
    CHECK(engine.statistics().functions_compiled == 2);
  }
  Engine engine(config);
  auto module = Module::compile(engine, kModule);
  REQUIRE(module);
  const EngineStatistics counts = engine.statistics();
  CHECK(counts.cache_hits == 1);
  CHECK(counts.cache_misses == 0);
  CHECK(counts.modules_compiled == 0);
  CHECK(run(engine, module.ok()) == std::make_pair(5050, 5.25));
  // Exports and their types come back from the cached module as from a compiled one.
  CHECK(module.ok().exports().size() == 2);
  // A copy of the engine shares its counts.
  Engine copy = engine;
  REQUIRE(Module::compile(copy, kModule));
  CHECK(engine.statistics().cache_hits == 2);
  std::filesystem::remove_all(dir);
}

TEST_CASE("Config::cache: the default directory, off, and unusable directories", "[api][cache]") {
  const std::filesystem::path dir = fresh_directory("xdg");
  const char* saved = std::getenv("XDG_CACHE_HOME");
  const std::string saved_value = saved ? saved : "";
  setenv("XDG_CACHE_HOME", dir.c_str(), 1);
  Config config;
  config.cache(true);
  REQUIRE(config.settings().cache_directory);
  CHECK(*config.settings().cache_directory == (dir / "kiln").string());
  Config loaded;
  REQUIRE(loaded.cache_load_default());
  CHECK(loaded.settings().cache_directory == config.settings().cache_directory);
  auto engine = Engine::create(config);
  REQUIRE(engine);
  CHECK(std::filesystem::is_directory(dir / "kiln"));  // made, this user's only
  CHECK((std::filesystem::status(dir / "kiln").permissions() &
         std::filesystem::perms::others_all) == std::filesystem::perms::none);
  REQUIRE(Module::compile(engine.ok(), kModule));
  CHECK(engine.ok().statistics().cache_writes == 1);
  if (saved)
    setenv("XDG_CACHE_HOME", saved_value.c_str(), 1);
  else
    unsetenv("XDG_CACHE_HOME");

  config.cache(false);
  CHECK_FALSE(config.settings().cache_directory);
  Engine off(config);
  REQUIRE(Module::compile(off, kModule));
  CHECK(off.statistics().cache_misses == 0);
  CHECK(off.statistics().modules_compiled == 1);

  // A directory that cannot be made is an error naming it, from Engine::create.
  const std::filesystem::path file = write_text(dir / "a-file", "x");
  Config bad;
  bad.cache((file / "sub").string());
  auto refused = Engine::create(bad);
  REQUIRE_FALSE(refused);
  CHECK(contains(refused.err().message(), "Config::cache"));
  CHECK(contains(refused.err().message(), (file / "sub").string()));
  std::filesystem::remove_all(dir);
}

TEST_CASE("Config::cache_load reads a Wasmtime cache config file", "[api][cache]") {
  const std::filesystem::path dir = fresh_directory("toml");
  std::filesystem::create_directories(dir);
  Config config;
  const auto path = write_text(dir / "config.toml",
                               "# Wasmtime's shape\n[cache]\nenabled = true\n"
                               "directory = \"" +
                                   (dir / "entries").string() + "\"  # here\n");
  REQUIRE(config.cache_load(path.string()));
  CHECK(config.settings().cache_directory == (dir / "entries").string());
  Engine engine(config);
  REQUIRE(Module::compile(engine, kModule));
  CHECK(engine.statistics().cache_writes == 1);

  auto error_of = [&](std::string_view text) {
    Config c;
    auto loaded = c.cache_load(write_text(dir / "bad.toml", text).string());
    REQUIRE_FALSE(loaded);
    return loaded.err().message();
  };
  CHECK(contains(error_of("[cache]\ncleanup-interval = \"30m\"\n"),
                 "the setting `cleanup-interval` is not supported by Kiln's cache"));
  CHECK(contains(error_of("[cache]\nfiles-total-size-soft-limit = \"1Gi\"\n"), ":2:"));
  CHECK(contains(error_of("[cache]\ncolour = 1\n"), "unknown setting `colour`"));
  CHECK(contains(error_of("[other]\n"), "the table [other] is not supported"));
  CHECK(contains(error_of("directory = 'x'\n"), "outside the [cache] table"));
  CHECK(contains(error_of("[cache]\nenabled = yes\n"), "`enabled` must be true or false"));
  CHECK(contains(error_of("# nothing\n"), "no [cache] table"));
  Config missing;
  auto no_file = missing.cache_load((dir / "absent.toml").string());
  REQUIRE_FALSE(no_file);
  CHECK(contains(no_file.err().message(), "cannot open"));

  // `enabled = false` turns the cache off; a literal string is a directory too.
  Config off;
  off.cache(true);
  REQUIRE(off.cache_load(write_text(dir / "off.toml", "[cache]\nenabled = false\n").string()));
  CHECK_FALSE(off.settings().cache_directory);
  auto literal = detail::parse_cache_config_file("[cache]\ndirectory = '/a\\b'\n", "f");
  REQUIRE(literal);
  CHECK(literal.ok().directory == "/a\\b");
  std::filesystem::remove_all(dir);
}

TEST_CASE("Config::parallel_compilation: the same code and results either way", "[api][parallel]") {
  // Large enough to pass the threshold under which threads are not started.
  std::string wat = "(module\n";
  for (int i = 0; i < 400; ++i) {
    wat += "(func (export \"f" + std::to_string(i) + "\") (param i32) (result i32)";
    for (int k = 0; k < 10; ++k)
      wat += " (local.set 0 (i32.mul (local.get 0) (i32.const " + std::to_string(i + k) + ")))";
    wat += " (local.get 0))\n";
  }
  wat += ")";
  Config serial_config, parallel_config;
  serial_config.parallel_compilation(false);
  parallel_config.parallel_compilation(true);
  Engine serial(serial_config), parallel(parallel_config);
  auto a = Module::compile(serial, wat);
  auto b = Module::compile(parallel, wat);
  REQUIRE(a);
  REQUIRE(b);
  CHECK(a.ok().serialize().ok() == b.ok().serialize().ok());
  // An artifact of either loads in the other engine: the setting does not shape code.
  CHECK(Module::deserialize(serial, b.ok().serialize().ok()));
}

TEST_CASE("Config::cranelift_opt_level: each level runs the same, with its own code",
          "[api][opt-level]") {
  std::vector<std::vector<uint8_t>> artifacts;
  for (OptLevel level : {OptLevel::None, OptLevel::Speed, OptLevel::SpeedAndSize}) {
    Config config;
    config.cranelift_opt_level(level);
    auto engine = Engine::create(config);
    REQUIRE(engine);  // every level is available
    auto module = Module::compile(engine.ok(), kModule);
    REQUIRE(module);
    CHECK(run(engine.ok(), module.ok()) == std::make_pair(5050, 5.25));
    artifacts.push_back(module.ok().serialize().ok());
  }
  CHECK(artifacts[0] != artifacts[1]);
  CHECK(artifacts[1] != artifacts[2]);
  // Another level's artifact is refused, naming the setting.
  Engine speed;
  auto refused = Module::deserialize(speed, artifacts[0]);
  REQUIRE_FALSE(refused);
  CHECK(contains(refused.err().message(), "cranelift_opt_level"));
  CHECK(contains(refused.err().message(), "None in the module, Speed in this engine"));
}

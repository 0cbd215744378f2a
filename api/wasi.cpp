// WASI preview1 in the public API: WasiConfig, Store::Context::set_wasi and Linker::define_wasi,
// over the WASI library (runtime/wasi/), which knows nothing of stores or instances.
#include "kiln/wasi.hpp"

#include "api/state.hpp"
#include "kiln/linker.hpp"
#include "runtime/wasi/wasi.hpp"

namespace kiln {

namespace {
constexpr std::string_view kWasiModule = "wasi_snapshot_preview1";
}

WasiConfig::WasiConfig() : settings_(std::make_unique<wasi::Settings>()) {}
WasiConfig::WasiConfig(WasiConfig&&) noexcept = default;
WasiConfig& WasiConfig::operator=(WasiConfig&&) noexcept = default;
WasiConfig::~WasiConfig() = default;

void WasiConfig::argv(const std::vector<std::string>& args) {
  settings_->args = args;
}
void WasiConfig::inherit_argv() {
  settings_->args = wasi::host_args();
}

void WasiConfig::env(const std::vector<std::pair<std::string, std::string>>& vars) {
  settings_->env.clear();
  for (const auto& [name, value] : vars) settings_->env.push_back(name + "=" + value);
}
void WasiConfig::inherit_env() {
  settings_->env = wasi::host_env();
}

namespace {
bool set_stdio_file(wasi::Settings& settings, int index, const std::string& path) {
  auto file = wasi::open_stdio_file(path, index != 0);
  if (!file) return false;
  settings.stdio[size_t(index)] = {wasi::Settings::StdioKind::File, std::move(file).ok()};
  return true;
}
void set_stdio_inherit(wasi::Settings& settings, int index) {
  settings.stdio[size_t(index)] = {wasi::Settings::StdioKind::Inherit, nullptr};
}
}  // namespace

bool WasiConfig::stdin_file(const std::string& path) {
  return set_stdio_file(*settings_, 0, path);
}
void WasiConfig::inherit_stdin() {
  set_stdio_inherit(*settings_, 0);
}
bool WasiConfig::stdout_file(const std::string& path) {
  return set_stdio_file(*settings_, 1, path);
}
void WasiConfig::inherit_stdout() {
  set_stdio_inherit(*settings_, 1);
}
bool WasiConfig::stderr_file(const std::string& path) {
  return set_stdio_file(*settings_, 2, path);
}
void WasiConfig::inherit_stderr() {
  set_stdio_inherit(*settings_, 2);
}

bool WasiConfig::preopen_dir(const std::string& host_path, const std::string& guest_path,
                             size_t dir_perms, size_t file_perms) {
  auto dir = wasi::open_directory(host_path);
  if (!dir) return false;
  settings_->preopens.push_back(
      {std::move(dir).ok(), guest_path, uint32_t(dir_perms), uint32_t(file_perms)});
  return true;
}

bool WasiConfig::preopen_dir(const std::string& host_path, const std::string& guest_path) {
  return preopen_dir(host_path, guest_path, WASI_DIR_PERMS_READ | WASI_DIR_PERMS_WRITE,
                     WASI_FILE_PERMS_READ | WASI_FILE_PERMS_WRITE);
}

bool WasiConfig::preopen_socket(uint32_t fd_num, const std::string& host_port) {
  return bool(preopen_tcp_listener(fd_num, host_port));
}

Result<uint16_t> WasiConfig::preopen_tcp_listener(uint32_t fd_num, const std::string& host_port) {
  if (fd_num <= 2)
    return Error("WASI socket " + host_port + ": descriptor " + std::to_string(fd_num) +
                 " is a standard stream");
  auto socket = wasi::listen_tcp(host_port);
  if (!socket) return socket.err();
  const uint16_t port = wasi::local_port(*socket.ok());
  settings_->sockets.push_back({std::move(socket).ok(), fd_num});
  return port;
}

std::unique_ptr<wasi::Settings> WasiConfig::take_settings() {
  return std::move(settings_);
}

Result<std::monostate> Store::Context::set_wasi(WasiConfig config) {
  std::unique_ptr<wasi::Settings> settings = config.take_settings();
  if (!settings) return Error("set_wasi: the WasiConfig was already used");
  auto ctx = wasi::make_ctx(std::move(*settings));
  if (!ctx) return ctx.err();
  state_->wasi = std::move(ctx).ok();
  return std::monostate();
}

Result<std::monostate> Linker::define_wasi() {
  const std::span<const wasi::Import> imports = wasi::imports();
  for (size_t index = 0; index < imports.size(); ++index) {
    const wasi::Import& import = imports[index];
    std::vector<ValType> params;
    for (char kind : import.params) params.emplace_back(kind == 'I' ? ValKind::I64 : ValKind::I32);
    std::vector<ValType> results;
    if (import.returns_errno) results.emplace_back(ValKind::I32);
    const std::string name(import.name);
    auto body = [index, name](Caller caller, uint64_t* slots) -> std::optional<Trap> {
      detail::StoreState* store = caller.state();
      if (!store->wasi) {
        return Trap("wasi_snapshot_preview1::" + name +
                    ": this store has no WASI state (call Store::Context::set_wasi first)");
      }
      std::span<uint8_t> memory;
      bool has_memory = false;
      if (std::optional<Extern> item = caller.get_export("memory")) {
        if (const Memory* exported = std::get_if<Memory>(&*item)) {
          memory = exported->data(caller);
          has_memory = true;
        }
      }
      // Holds the state alive even if the call replaces it (set_wasi from a nested host call).
      std::shared_ptr<wasi::WasiCtx> ctx = store->wasi;
      wasi::Outcome outcome = wasi::call(*ctx, index, memory, has_memory, slots);
      switch (outcome.kind) {
        case wasi::Outcome::Kind::Return:
          return std::nullopt;
        case wasi::Outcome::Kind::Exit:
          // Unwinds like a trap; failure_to_trap_error turns it into Error::exit.
          store->pending_exit = outcome.exit_status;
          return Trap("proc_exit");
        case wasi::Outcome::Kind::Trap:
          return Trap(outcome.trap_message);
      }
      return std::nullopt;
    };
    auto defined = insert(kWasiModule, import.name,
                          std::make_shared<HostDefinition>(
                              FuncType(std::move(params), std::move(results)), std::move(body)));
    if (!defined) return defined;
  }
  return std::monostate();
}

}  // namespace kiln

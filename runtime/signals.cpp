// The signal handler and what it reads. Everything the handler touches is async-signal-safe:
// a thread-local pointer (initial-exec TLS, no allocation on access), a snapshot of the code
// registry published with an atomic pointer, and the sorted vectors of registered CodeInfos,
// which never change while registered. The handler never allocates, locks or calls into libc
// beyond sigaction when it falls back to the default action.
#include "runtime/signals.hpp"

#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "runtime/code_memory.hpp"

namespace kiln::runtime {

// ---- Lookups in one range

const jit::TrapSite* CodeInfo::find_trap_site(uint32_t offset) const {
  auto it = std::lower_bound(
      trap_sites.begin(), trap_sites.end(), offset,
      [](const jit::TrapSite& site, uint32_t value) { return site.code_offset < value; });
  if (it == trap_sites.end() || it->code_offset != offset) return nullptr;
  return &*it;
}

const CodeFunction* CodeInfo::find_function(uint32_t offset) const {
  auto it = std::upper_bound(
      functions.begin(), functions.end(), offset,
      [](uint32_t value, const CodeFunction& function) { return value < function.code_offset; });
  if (it == functions.begin()) return nullptr;
  --it;
  if (offset - it->code_offset >= it->code_size) return nullptr;
  return &*it;
}

std::optional<uint32_t> CodeInfo::wasm_offset_at(uint32_t offset) const {
  return source_map.find(offset);
}

// ---- The registry

namespace {

struct Snapshot {
  std::vector<const CodeInfo*> ranges;  // sorted by start, disjoint
};

std::mutex registry_mutex;                     // serialises writers
std::vector<const CodeInfo*> registry_ranges;  // the writers' copy (guarded by the mutex)
std::atomic<const Snapshot*> published{nullptr};
std::atomic<uint32_t> readers{0};

// Publishes the writers' copy and frees the previous snapshot once no reader can still see it.
void publish_locked() {
  const Snapshot* next = new Snapshot{registry_ranges};
  const Snapshot* previous = published.exchange(next, std::memory_order_seq_cst);
  // A reader that incremented `readers` before this point may hold `previous`; one that
  // increments later loads `next`. Readers are signal handlers or short lookups: never blocked.
  while (readers.load(std::memory_order_seq_cst) != 0) {
    sched_yield();
  }
  delete previous;
}

const CodeInfo* find_in(const Snapshot* snapshot, uintptr_t pc) {
  if (!snapshot) return nullptr;
  const auto& ranges = snapshot->ranges;
  auto it =
      std::upper_bound(ranges.begin(), ranges.end(), pc,
                       [](uintptr_t value, const CodeInfo* info) { return value < info->start; });
  if (it == ranges.begin()) return nullptr;
  const CodeInfo* info = *std::prev(it);
  return pc < info->end ? info : nullptr;
}

}  // namespace

void register_code(const CodeInfo* info) {
  std::lock_guard lock(registry_mutex);
  auto it =
      std::upper_bound(registry_ranges.begin(), registry_ranges.end(), info->start,
                       [](uintptr_t value, const CodeInfo* other) { return value < other->start; });
  registry_ranges.insert(it, info);
  publish_locked();
}

void unregister_code(const CodeInfo* info) {
  std::lock_guard lock(registry_mutex);
  auto it = std::find(registry_ranges.begin(), registry_ranges.end(), info);
  if (it == registry_ranges.end()) return;
  registry_ranges.erase(it);
  publish_locked();
}

const CodeInfo* find_code(uintptr_t pc) {
  readers.fetch_add(1, std::memory_order_seq_cst);
  const CodeInfo* info = find_in(published.load(std::memory_order_seq_cst), pc);
  readers.fetch_sub(1, std::memory_order_seq_cst);
  return info;
}

// ---- Activations

namespace {

__attribute__((tls_model("initial-exec"))) thread_local Activation* tls_activation = nullptr;

// Each thread that runs wasm gets an alternate signal stack, so the handler runs even when the
// fault happened with little stack left.
struct AltStack {
  void* mapping = nullptr;
  size_t mapping_size = 0;
  bool checked = false;

  void ensure() {
    if (checked) return;
    checked = true;
    stack_t current{};
    if (sigaltstack(nullptr, &current) == 0 && !(current.ss_flags & SS_DISABLE)) return;
    const size_t page = size_t(sysconf(_SC_PAGESIZE));
    const size_t usable = std::max<size_t>(64 * 1024, size_t(SIGSTKSZ) * 4);
    mapping_size = usable + page;  // + a guard page below
    void* memory =
        mmap(nullptr, mapping_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (memory == MAP_FAILED) {
      mapping_size = 0;
      return;
    }
    mprotect(memory, page, PROT_NONE);
    stack_t stack{};
    stack.ss_sp = static_cast<uint8_t*>(memory) + page;
    stack.ss_size = usable;
    stack.ss_flags = 0;
    if (sigaltstack(&stack, nullptr) != 0) {
      munmap(memory, mapping_size);
      mapping_size = 0;
      return;
    }
    mapping = memory;
  }

  ~AltStack() {
    if (!mapping) return;
    stack_t disable{};
    disable.ss_flags = SS_DISABLE;
    sigaltstack(&disable, nullptr);
    munmap(mapping, mapping_size);
  }
};

thread_local AltStack tls_alt_stack;
thread_local uintptr_t tls_stack_limit = 0;

}  // namespace

Activation* current_activation() {
  return tls_activation;
}

uintptr_t thread_stack_limit() {
  if (tls_stack_limit != 0) return tls_stack_limit;
  pthread_attr_t attributes;
  void* low = nullptr;
  size_t size = 0;
  if (pthread_getattr_np(pthread_self(), &attributes) == 0) {
    pthread_attr_getstack(&attributes, &low, &size);
    pthread_attr_destroy(&attributes);
  }
  if (low == nullptr || size <= kStackMargin) {
    // Unknown bounds: allow 256 KiB below the current frame, which every thread has.
    uintptr_t here = reinterpret_cast<uintptr_t>(__builtin_frame_address(0));
    tls_stack_limit = here - 256 * 1024 + kStackMargin;
  } else {
    tls_stack_limit = reinterpret_cast<uintptr_t>(low) + kStackMargin;
  }
  // An unlimited main-thread stack (RLIMIT_STACK infinity) reports bounds that other mappings
  // may occupy: wasm never gets more than kMaxWasmStack below this frame.
  const uintptr_t here = reinterpret_cast<uintptr_t>(__builtin_frame_address(0));
  if (here > kMaxWasmStack) tls_stack_limit = std::max(tls_stack_limit, here - kMaxWasmStack);
  return tls_stack_limit;
}

// ---- The handler

namespace {

constexpr int kSignals[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE};
struct sigaction previous_actions[NSIG];
const TrampolineCode* trampolines_for_handler = nullptr;  // set before handlers are installed

void chain_to_previous(int signal_number, siginfo_t* info, void* context) {
  const int saved_errno = errno;  // the interrupted code's errno survives the handler
  struct RestoreErrno {
    int value;
    ~RestoreErrno() { errno = value; }
  } restore{saved_errno};
  const struct sigaction& previous = previous_actions[signal_number];
  if (previous.sa_flags & SA_SIGINFO) {
    if (previous.sa_sigaction) previous.sa_sigaction(signal_number, info, context);
    return;
  }
  if (previous.sa_handler == SIG_DFL || previous.sa_handler == SIG_IGN) {
    // Restore the default action and return: the faulting instruction runs again and the
    // process gets the signal's default treatment (a core dump), as if we were not here.
    struct sigaction default_action {};
    default_action.sa_handler = SIG_DFL;
    sigemptyset(&default_action.sa_mask);
    sigaction(signal_number, &default_action, nullptr);
    return;
  }
  previous.sa_handler(signal_number);
}

// Walks the rbp chain from the trapping frame up to the entry trampoline's frame. Every frame in
// between is a wasm frame or a host-call stub's (a host function's own C++ frames lie behind a
// nested activation), so each links to its caller with [rbp] and [rbp + 8]. The walk reads only
// addresses between the trapping rsp and the trampoline's rbp, which are mapped stack.
void record_frames(Activation& activation, uintptr_t rsp) {
  const uintptr_t limit = activation.entry.saved_rbp;
  uintptr_t rbp = activation.trap_rbp;
  uint32_t count = 0;
  activation.trap_frames[count++] = activation.trap_pc;
  while (count < Activation::kMaxTrapFrames && rbp >= rsp && rbp < limit && (rbp & 7) == 0) {
    const uintptr_t next_rbp = *reinterpret_cast<const uintptr_t*>(rbp);
    activation.trap_frames[count++] = *reinterpret_cast<const uintptr_t*>(rbp + 8);
    if (next_rbp <= rbp) break;
    rbp = next_rbp;
  }
  activation.trap_frame_count = count;
}

void handle_signal(int signal_number, siginfo_t* info, void* context) {
  auto* ucontext = static_cast<ucontext_t*>(context);
  greg_t* registers = ucontext->uc_mcontext.gregs;
  const uintptr_t pc = uintptr_t(registers[REG_RIP]);
  Activation* activation = tls_activation;
  if (activation && trampolines_for_handler) {
    readers.fetch_add(1, std::memory_order_seq_cst);
    const CodeInfo* info = find_in(published.load(std::memory_order_seq_cst), pc);
    const jit::TrapSite* site = info ? info->find_trap_site(uint32_t(pc - info->start)) : nullptr;
    bool ours = site != nullptr;
    if (ours) {
      const bool from_host = site->code_offset == info->deferred_trap_offset;
      activation->trap_code = from_host ? activation->pending_host_trap : site->code;
      activation->trap_rax.reset();
      if (!from_host) activation->trap_rax = uint64_t(registers[REG_RAX]);
    }
    readers.fetch_sub(1, std::memory_order_seq_cst);
    if (ours) {
      activation->trapped = true;
      activation->trap_pc = pc;
      activation->trap_rbp = uintptr_t(registers[REG_RBP]);
      record_frames(*activation, uintptr_t(registers[REG_RSP]));
      registers[REG_RIP] = greg_t(trampolines_for_handler->trap_landing);
      registers[REG_RSP] = greg_t(activation->entry.saved_rsp);
      registers[REG_RBP] = greg_t(activation->entry.saved_rbp);
      return;
    }
  }
  chain_to_previous(signal_number, info, context);
}

std::mutex install_mutex;

}  // namespace

void install_signal_handlers() {
  const TrampolineCode& code = trampolines();
  std::lock_guard lock(install_mutex);
  trampolines_for_handler = &code;
  for (int signal_number : kSignals) {
    struct sigaction current {};
    sigaction(signal_number, nullptr, &current);
    if ((current.sa_flags & SA_SIGINFO) && current.sa_sigaction == handle_signal) continue;
    struct sigaction ours {};
    ours.sa_sigaction = handle_signal;
    ours.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
    sigemptyset(&ours.sa_mask);
    previous_actions[signal_number] = current;
    sigaction(signal_number, &ours, nullptr);
  }
}

// ---- Trampolines

namespace {

struct TrampolineHolder {
  CodeMemory memory;
  CodeInfo info;
  TrampolineCode code;
};

TrampolineHolder* build_trampoline_holder() {
  auto built = jit::x64::build_trampolines();
  if (!built)
    detail::abort_with_message("kiln: cannot build trampolines: " + built.err().message());
  auto memory = CodeMemory::from_bytes(built.ok().code);
  if (!memory)
    detail::abort_with_message("kiln: cannot map trampolines: " + memory.err().message());
  auto* holder = new TrampolineHolder{std::move(memory.ok()), {}, {}};
  const uint8_t* base = holder->memory.begin();
  holder->code.entry = reinterpret_cast<jit::x64::EntryFunction>(
      const_cast<uint8_t*>(base + built.ok().entry_offset));
  holder->code.trap_landing = base + built.ok().trap_landing_offset;
  holder->code.host_stub = base + built.ok().host_stub_offset;
  holder->code.interrupt_stub = base + built.ok().interrupt_stub_offset;
  holder->info.start = uintptr_t(base);
  holder->info.end = uintptr_t(base + built.ok().code.size());
  holder->info.trap_sites.push_back(
      {built.ok().host_stub_trap_offset, TrapCode::UnreachableCodeReached, 0});
  holder->info.deferred_trap_offset = built.ok().host_stub_trap_offset;
  register_code(&holder->info);
  return holder;
}

}  // namespace

const TrampolineCode& trampolines() {
  // Built once and never freed: every thread may be inside them until the process exits.
  static TrampolineHolder* holder = build_trampoline_holder();
  return holder->code;
}

bool call_wasm(const uint8_t* code, void* vmctx, uint64_t* values, uint32_t param_slots,
               uint32_t result_slots, Activation& activation) {
  const TrampolineCode& glue = trampolines();
  tls_alt_stack.ensure();
  activation.trapped = false;
  activation.previous = tls_activation;
  tls_activation = &activation;
  std::atomic_signal_fence(std::memory_order_seq_cst);
  const int trapped = glue.entry(code, vmctx, values, param_slots, result_slots, &activation.entry);
  std::atomic_signal_fence(std::memory_order_seq_cst);
  tls_activation = activation.previous;
  return trapped == 0 && !activation.trapped;
}

}  // namespace kiln::runtime

// Times WebAssembly in V8 (node) the way kiln-bench-jit times Kiln, for bench/jit-speed. The node
// flags choose the tier: `--liftoff --no-wasm-tier-up` is V8's baseline compiler alone; no flags
// is node's default (Liftoff first, then TurboFan for hot functions).
//
//   node [FLAGS] node-run.mjs run FILE.wasm EXPORT [ARGS...]
//       compile, instantiate, one call; ARGS are i32 numbers (append `n`, e.g. 5n, for an i64).
//       Prints {"compile_seconds", "instantiate_seconds", "run_seconds" (wall), "run_cpu_seconds"
//       (CPU time of the whole process during the call: V8's background threads included),
//       "result"}.
//   node [FLAGS] node-run.mjs compile REPS FILE.wasm...
//       `new WebAssembly.Module(bytes)` REPS times after one warm-up, per file. Needs
//       --no-wasm-lazy-compilation (otherwise no function is compiled) and
//       --no-wasm-native-module-cache-enabled (otherwise the second compile of the same bytes
//       reuses the first one's code). Prints {"file", "best_seconds", "median_seconds",
//       "best_cpu_seconds" (CPU time of the whole process, every thread)}.
import { readFileSync } from 'node:fs';

const seconds = (start) => Number(process.hrtime.bigint() - start) / 1e9;
const [mode, ...rest] = process.argv.slice(2);

if (mode === 'run') {
  const [file, name, ...args] = rest;
  const bytes = readFileSync(file);
  let start = process.hrtime.bigint();
  const module = new WebAssembly.Module(bytes);
  const compileSeconds = seconds(start);
  start = process.hrtime.bigint();
  const instance = new WebAssembly.Instance(module, {});
  const instantiateSeconds = seconds(start);
  const fn = instance.exports[name];
  const values = args.map((a) => (a.endsWith('n') ? BigInt(a.slice(0, -1)) : Number(a)));
  const cpuStart = process.cpuUsage();
  start = process.hrtime.bigint();
  const result = fn(...values);
  const runSeconds = seconds(start);
  const cpu = process.cpuUsage(cpuStart);
  console.log(JSON.stringify({
    compile_seconds: compileSeconds,
    instantiate_seconds: instantiateSeconds,
    run_seconds: runSeconds,
    run_cpu_seconds: (cpu.user + cpu.system) / 1e6,
    result: String(result),
  }));
} else if (mode === 'compile') {
  const [reps, ...files] = rest;
  for (const file of files) {
    const bytes = readFileSync(file);
    new WebAssembly.Module(bytes);  // warm-up, and the check that V8 accepts the module
    const times = [];
    const cpuTimes = [];
    for (let i = 0; i < Number(reps); i++) {
      const cpuStart = process.cpuUsage();
      const start = process.hrtime.bigint();
      new WebAssembly.Module(bytes);
      times.push(seconds(start));
      const cpu = process.cpuUsage(cpuStart);
      cpuTimes.push((cpu.user + cpu.system) / 1e6);
    }
    times.sort((a, b) => a - b);
    cpuTimes.sort((a, b) => a - b);
    console.log(JSON.stringify({
      file,
      best_seconds: times[0],
      median_seconds: times[Math.floor(times.length / 2)],
      best_cpu_seconds: cpuTimes[0],
    }));
  }
} else {
  console.error('usage: node-run.mjs run FILE.wasm EXPORT [ARGS...] | compile REPS FILE.wasm...');
  process.exit(2);
}

// V8's half of bench/run for WASI programs: node [TIER FLAGS] node-wasi.mjs TIMINGS.json FILE.wasm
//
// Run in the program's directory. Compiles FILE (`new WebAssembly.Module`: with node's default
// lazy compilation that compiles almost nothing up front, so bench/run adds
// --no-wasm-lazy-compilation to the Liftoff-only and TurboFan-only tiers), instantiates it with
// node:wasi (preview1, `.` preopened, no arguments beyond the program's name, an empty
// environment) and JS functions for `bench.start` / `bench.end`, and runs `_start`. The program's
// own output goes straight to this process's stdout and stderr; the timings go to TIMINGS.json:
//   {"compile_seconds", "instantiate_seconds", "measured_seconds" (bench.start -> bench.end, null
//    when the program did not call both), "start_realtime_ns" (wall clock at bench.start),
//    "exit_code"}
// The process exits with the program's exit code.
import { readFileSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { WASI } from 'node:wasi';

const [timingsFile, file] = process.argv.slice(2);
if (!timingsFile || !file) {
  console.error('usage: node-wasi.mjs TIMINGS.json FILE.wasm');
  process.exit(2);
}
const now = () => process.hrtime.bigint();
const seconds = (from, to) => Number(to - from) / 1e9;
const realtimeNs = () => Math.round((performance.timeOrigin + performance.now()) * 1e6);

const bytes = readFileSync(file);
let t = now();
const module = new WebAssembly.Module(bytes);
const compileSeconds = seconds(t, now());

const wasi = new WASI({
  version: 'preview1', args: [file], env: {}, preopens: { '.': '.' }, returnOnExit: true,
});
let start = null, end = null, startRealtime = null;
const imports = {
  ...wasi.getImportObject(),
  bench: {
    start() { startRealtime = realtimeNs(); start = now(); },
    end() { end = now(); },
  },
};
t = now();
const instance = new WebAssembly.Instance(module, imports);
const instantiateSeconds = seconds(t, now());
const exitCode = wasi.start(instance);
writeFileSync(timingsFile, JSON.stringify({
  compile_seconds: compileSeconds,
  instantiate_seconds: instantiateSeconds,
  measured_seconds: start !== null && end !== null ? seconds(start, end) : null,
  start_realtime_ns: startRealtime,
  exit_code: exitCode,
}));
process.exitCode = exitCode;

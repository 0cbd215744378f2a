// V8's half of `bench/run instantiate`: node [FLAGS] node-instantiate.mjs ITERATIONS FILE.wasm...
// For each module (compiled once, no imports): `new WebAssembly.Instance` ITERATIONS times, best
// of 5 batches, as kiln-bench-api times Store + Instance::create. Prints one JSON object per
// file: {"file", "instantiate_us"}.
import { readFileSync } from 'node:fs';

const [iterations, ...files] = process.argv.slice(2);
const n = Number(iterations);
for (const file of files) {
  const module = new WebAssembly.Module(readFileSync(file));
  let best = Infinity;
  const keep = [];
  for (let batch = 0; batch < 5; batch++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < n; i++) keep[i % 16] = new WebAssembly.Instance(module, {});
    best = Math.min(best, Number(process.hrtime.bigint() - start) / 1e3 / n);
  }
  console.log(JSON.stringify({ file, instantiate_us: best }));
}

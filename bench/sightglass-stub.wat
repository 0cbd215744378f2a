;; The `bench` module sightglass programs import, with nothing in it: `start` and `end` mark the
;; measured region and do nothing. For `kiln run --preload bench=bench/sightglass-stub.wat` where
;; the output must be exactly the program's (tests/wasi/sightglass, the WASI gate), and bench/run's
;; fallback for a runtime that cannot give bench/harness/bench-stub.wat (the stub that times the
;; region and writes one record to stderr) its WASI imports: that runtime is then timed as a whole
;; process only.
(module
  (func (export "start"))
  (func (export "end")))

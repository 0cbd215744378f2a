;; The `bench` module sightglass programs import: start/end mark the measured region. Passed to
;; `kiln run --preload bench=bench/sightglass-stub.wat` (tests/wasi/sightglass, the gate).
(module
  (func (export "start"))
  (func (export "end")))

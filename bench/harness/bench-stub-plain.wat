;; The `bench` module without WASI: empty `start` and `end`. bench/run falls back to it when a
;; runtime cannot give the timing stub (bench-stub.wat) its WASI imports; that runtime is then
;; timed as a whole process only.
(module
  (func (export "start"))
  (func (export "end")))

;; Calls on a loop-carried dependency: each call's argument is the previous call's result, so
;; passing arguments and results is on the critical path (fib's calls mostly overlap).
;; run(n) makes n steps of an LCG through $step and n steps of y = y/2 + 1 through $halve;
;; returns x xor bits 32..63 of y (y converges to 2.0).
(module
  (func $step (param $x i32) (result i32)
    (i32.add (i32.mul (local.get $x) (i32.const 1103515245)) (i32.const 12345)))

  (func $halve (param $y f64) (result f64)
    (f64.add (f64.mul (local.get $y) (f64.const 0.5)) (f64.const 1)))

  (func (export "run") (param $n i32) (result i32)
    (local $i i32) (local $x i32) (local $y f64)
    (local.set $x (i32.const 1))
    (block $done
      (loop $again
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $x (call $step (local.get $x)))
        (local.set $y (call $halve (local.get $y)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $again)))
    (i32.xor (local.get $x)
             (i32.wrap_i64 (i64.shr_u (i64.reinterpret_f64 (local.get $y)) (i64.const 32))))))

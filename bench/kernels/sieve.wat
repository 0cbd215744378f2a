;; Sieve of Eratosthenes over a byte array in linear memory: byte loads and stores in nested
;; loops with a data-dependent stride.
;; run(reps) sieves [0, limit) `reps` times, with limit = 2^21 - rep (so each pass differs), and
;; returns the sum of the prime counts.
(module
  (memory 33)  ;; 2 MiB of flags + a page of slack

  ;; The number of primes below $limit.
  (func $sieve (param $limit i32) (result i32)
    (local $i i32) (local $j i32) (local $count i32)
    ;; Every byte starts as "maybe prime" (1), written eight at a time.
    (local.set $i (i32.const 0))
    (block $filled
      (loop $fill
        (br_if $filled (i32.ge_u (local.get $i) (local.get $limit)))
        (i64.store (local.get $i) (i64.const 0x0101010101010101))
        (local.set $i (i32.add (local.get $i) (i32.const 8)))
        (br $fill)))
    ;; Cross out the multiples of every prime up to sqrt(limit), from its square.
    (local.set $i (i32.const 2))
    (block $crossed
      (loop $next_prime
        (br_if $crossed
          (i32.ge_u (i32.mul (local.get $i) (local.get $i)) (local.get $limit)))
        (if (i32.load8_u (local.get $i))
          (then
            (local.set $j (i32.mul (local.get $i) (local.get $i)))
            (block $multiples_done
              (loop $multiples
                (br_if $multiples_done (i32.ge_u (local.get $j) (local.get $limit)))
                (i32.store8 (local.get $j) (i32.const 0))
                (local.set $j (i32.add (local.get $j) (local.get $i)))
                (br $multiples)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next_prime)))
    ;; Count what is left, from 2.
    (local.set $i (i32.const 2))
    (block $counted
      (loop $count_loop
        (br_if $counted (i32.ge_u (local.get $i) (local.get $limit)))
        (local.set $count (i32.add (local.get $count) (i32.load8_u (local.get $i))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $count_loop)))
    (local.get $count))

  (func (export "run") (param $reps i32) (result i32)
    (local $rep i32) (local $sum i32)
    (block $done
      (loop $again
        (br_if $done (i32.ge_u (local.get $rep) (local.get $reps)))
        (local.set $sum
          (i32.add (local.get $sum)
            (call $sieve (i32.sub (i32.const 0x200000) (local.get $rep)))))
        (local.set $rep (i32.add (local.get $rep) (i32.const 1)))
        (br $again)))
    (local.get $sum)))

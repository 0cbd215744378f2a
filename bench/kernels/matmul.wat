;; 256x256 f64 matrix multiply, C = A x B, row-major, i-k-j order (the inner loop streams a row
;; of B into a row of C): f64 loads, multiplies, adds and stores with address arithmetic.
;; run(reps) multiplies `reps` times, bumping one element of A between passes so each pass
;; differs, and returns a hash of the bit patterns of every pass's sum of C: IEEE arithmetic is
;; exact in WebAssembly, so every runtime must return the same i64.
(module
  (memory 25)  ;; A at 0, B at 512 KiB, C at 1 MiB (512 KiB each)

  (func $init
    (local $i i32) (local $j i32) (local $at i32)
    (block $rows_done
      (loop $rows
        (br_if $rows_done (i32.ge_u (local.get $i) (i32.const 256)))
        (local.set $j (i32.const 0))
        (block $cols_done
          (loop $cols
            (br_if $cols_done (i32.ge_u (local.get $j) (i32.const 256)))
            (local.set $at
              (i32.shl (i32.add (i32.shl (local.get $i) (i32.const 8)) (local.get $j))
                       (i32.const 3)))
            ;; A[i][j] = ((7i + 3j) mod 17) / 4, B[i][j] = ((5i + 11j) mod 13) - 6
            (f64.store (local.get $at)
              (f64.mul
                (f64.convert_i32_u
                  (i32.rem_u
                    (i32.add (i32.mul (local.get $i) (i32.const 7))
                             (i32.mul (local.get $j) (i32.const 3)))
                    (i32.const 17)))
                (f64.const 0.25)))
            (f64.store offset=524288 (local.get $at)
              (f64.sub
                (f64.convert_i32_u
                  (i32.rem_u
                    (i32.add (i32.mul (local.get $i) (i32.const 5))
                             (i32.mul (local.get $j) (i32.const 11)))
                    (i32.const 13)))
                (f64.const 6)))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $cols)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $rows))))

  ;; C = A x B; returns the sum of C's elements.
  (func $multiply (result f64)
    (local $i i32) (local $k i32) (local $j i32)
    (local $a_row i32) (local $c_row i32) (local $b_row i32)
    (local $a f64) (local $sum f64)
    (block $i_done
      (loop $i_loop
        (br_if $i_done (i32.ge_u (local.get $i) (i32.const 256)))
        (local.set $a_row (i32.shl (local.get $i) (i32.const 11)))
        (local.set $c_row (i32.add (local.get $a_row) (i32.const 1048576)))
        ;; C[i][*] = 0
        (local.set $j (i32.const 0))
        (block $zero_done
          (loop $zero
            (br_if $zero_done (i32.ge_u (local.get $j) (i32.const 2048)))
            (f64.store (i32.add (local.get $c_row) (local.get $j)) (f64.const 0))
            (local.set $j (i32.add (local.get $j) (i32.const 8)))
            (br $zero)))
        (local.set $k (i32.const 0))
        (block $k_done
          (loop $k_loop
            (br_if $k_done (i32.ge_u (local.get $k) (i32.const 256)))
            (local.set $a
              (f64.load (i32.add (local.get $a_row) (i32.shl (local.get $k) (i32.const 3)))))
            (local.set $b_row
              (i32.add (i32.shl (local.get $k) (i32.const 11)) (i32.const 524288)))
            ;; C[i][j] += a * B[k][j], j as a byte offset
            (local.set $j (i32.const 0))
            (block $j_done
              (loop $j_loop
                (br_if $j_done (i32.ge_u (local.get $j) (i32.const 2048)))
                (f64.store (i32.add (local.get $c_row) (local.get $j))
                  (f64.add
                    (f64.load (i32.add (local.get $c_row) (local.get $j)))
                    (f64.mul (local.get $a)
                             (f64.load (i32.add (local.get $b_row) (local.get $j))))))
                (local.set $j (i32.add (local.get $j) (i32.const 8)))
                (br $j_loop)))
            (local.set $k (i32.add (local.get $k) (i32.const 1)))
            (br $k_loop)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $i_loop)))
    ;; The sum of C
    (local.set $j (i32.const 0))
    (block $sum_done
      (loop $sum_loop
        (br_if $sum_done (i32.ge_u (local.get $j) (i32.const 524288)))
        (local.set $sum
          (f64.add (local.get $sum) (f64.load offset=1048576 (local.get $j))))
        (local.set $j (i32.add (local.get $j) (i32.const 8)))
        (br $sum_loop)))
    (local.get $sum))

  (func (export "run") (param $reps i32) (result i64)
    (local $rep i32) (local $hash i64) (local $at i32)
    (call $init)
    (block $done
      (loop $again
        (br_if $done (i32.ge_u (local.get $rep) (local.get $reps)))
        (local.set $hash
          (i64.xor
            (i64.mul (local.get $hash) (i64.const 0x100000001b3))
            (i64.reinterpret_f64 (call $multiply))))
        ;; A[rep mod 65536] += 1
        (local.set $at (i32.shl (i32.and (local.get $rep) (i32.const 0xffff)) (i32.const 3)))
        (f64.store (local.get $at) (f64.add (f64.load (local.get $at)) (f64.const 1)))
        (local.set $rep (i32.add (local.get $rep) (i32.const 1)))
        (br $again)))
    (local.get $hash)))

;; CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), table-driven, one byte per step: a
;; byte load, a table load, shifts and xors in a tight loop with a loop-carried dependency.
;; run(reps) fills 1 MiB with a linear congruential sequence and checksums it `reps` times,
;; each pass continuing from the previous CRC; returns the final CRC.
;; With reps = 1 the result equals zlib's crc32 of the same bytes.
(module
  (memory 18)  ;; the table (1 KiB) at 0, the data (1 MiB) at 1024

  (func $init
    (local $n i32) (local $c i32) (local $bit i32) (local $x i32)
    ;; table[n] = CRC of the single byte n
    (block $table_done
      (loop $entries
        (br_if $table_done (i32.ge_u (local.get $n) (i32.const 256)))
        (local.set $c (local.get $n))
        (local.set $bit (i32.const 0))
        (block $bits_done
          (loop $bits
            (br_if $bits_done (i32.ge_u (local.get $bit) (i32.const 8)))
            (local.set $c
              (if (result i32) (i32.and (local.get $c) (i32.const 1))
                (then (i32.xor (i32.const 0xEDB88320) (i32.shr_u (local.get $c) (i32.const 1))))
                (else (i32.shr_u (local.get $c) (i32.const 1)))))
            (local.set $bit (i32.add (local.get $bit) (i32.const 1)))
            (br $bits)))
        (i32.store (i32.shl (local.get $n) (i32.const 2)) (local.get $c))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (br $entries)))
    ;; data[i] = bits 16..23 of x_i, x_{i+1} = x_i * 1103515245 + 12345, x_0 = 1
    (local.set $x (i32.const 1))
    (local.set $n (i32.const 0))
    (block $data_done
      (loop $data
        (br_if $data_done (i32.ge_u (local.get $n) (i32.const 1048576)))
        (i32.store8 offset=1024 (local.get $n) (i32.shr_u (local.get $x) (i32.const 16)))
        (local.set $x
          (i32.add (i32.mul (local.get $x) (i32.const 1103515245)) (i32.const 12345)))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (br $data))))

  ;; The CRC of [ptr, ptr + len) continuing from `crc`.
  (func $crc32 (param $ptr i32) (param $len i32) (param $crc i32) (result i32)
    (local $end i32)
    (local.set $end (i32.add (local.get $ptr) (local.get $len)))
    (local.set $crc (i32.xor (local.get $crc) (i32.const -1)))
    (block $done
      (loop $bytes
        (br_if $done (i32.ge_u (local.get $ptr) (local.get $end)))
        (local.set $crc
          (i32.xor
            (i32.load
              (i32.shl
                (i32.and (i32.xor (local.get $crc) (i32.load8_u (local.get $ptr)))
                         (i32.const 0xff))
                (i32.const 2)))
            (i32.shr_u (local.get $crc) (i32.const 8))))
        (local.set $ptr (i32.add (local.get $ptr) (i32.const 1)))
        (br $bytes)))
    (i32.xor (local.get $crc) (i32.const -1)))

  (func (export "run") (param $reps i32) (result i32)
    (local $rep i32) (local $crc i32)
    (call $init)
    (block $done
      (loop $again
        (br_if $done (i32.ge_u (local.get $rep) (local.get $reps)))
        (local.set $crc (call $crc32 (i32.const 1024) (i32.const 1048576) (local.get $crc)))
        (local.set $rep (i32.add (local.get $rep) (i32.const 1)))
        (br $again)))
    (local.get $crc)))

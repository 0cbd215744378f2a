;; The `bench` module that bench/run preloads under Wasmtime (wizer --preload bench=...) and Kiln
;; (kiln run --preload bench=...): `start` and `end` around a program's measured region.
;;
;; It times the region itself, through WASI, so a runtime that can only be timed as a whole
;; process still yields the region: `start` reads the monotonic clock (and the real-time clock,
;; which the harness compares with the moment it launched the process: time to bench.start),
;; `end` reads the monotonic clock again and writes one record to stderr:
;;   \1e kiln-bench start_realtime_ns=<ns> measured_ns=<ns> \1e   (no spaces around the '=')
;; between two ASCII record separators (0x1e), which the harness removes before it compares the
;; program's stderr with the expected one. The record goes through the stub's own memory (WASI
;; functions use the memory of the instance that calls them).
(module
  (import "wasi_snapshot_preview1" "clock_time_get"
    (func $clock_time_get (param i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  ;; 0: clock result, 16: iovec, 24: bytes written, 256..: the record being built.
  (data (i32.const 64) "\1ekiln-bench start_realtime_ns=")
  (data (i32.const 112) " measured_ns=")
  (global $start_monotonic (mut i64) (i64.const 0))
  (global $start_realtime (mut i64) (i64.const 0))
  (global $at (mut i32) (i32.const 256))

  (func $now (param $clock i32) (result i64)
    (drop (call $clock_time_get (local.get $clock) (i64.const 1) (i32.const 0)))
    (i64.load (i32.const 0)))

  ;; Appends `len` bytes from `from` to the record.
  (func $append (param $from i32) (param $len i32)
    (memory.copy (global.get $at) (local.get $from) (local.get $len))
    (global.set $at (i32.add (global.get $at) (local.get $len))))

  ;; Appends the decimal digits of an unsigned value.
  (func $append_u64 (param $value i64)
    (local $p i32)
    (local.set $p (i32.const 240))
    (loop $digit
      (local.set $p (i32.sub (local.get $p) (i32.const 1)))
      (i64.store8 (local.get $p)
        (i64.add (i64.const 48) (i64.rem_u (local.get $value) (i64.const 10))))
      (local.set $value (i64.div_u (local.get $value) (i64.const 10)))
      (br_if $digit (i64.ne (local.get $value) (i64.const 0))))
    (call $append (local.get $p) (i32.sub (i32.const 240) (local.get $p))))

  (func (export "start")
    (global.set $start_realtime (call $now (i32.const 0)))
    (global.set $start_monotonic (call $now (i32.const 1))))

  (func (export "end")
    (local $measured i64)
    (local.set $measured (i64.sub (call $now (i32.const 1)) (global.get $start_monotonic)))
    (global.set $at (i32.const 256))
    (call $append (i32.const 64) (i32.const 30))
    (call $append_u64 (global.get $start_realtime))
    (call $append (i32.const 112) (i32.const 13))
    (call $append_u64 (local.get $measured))
    (i32.store8 (global.get $at) (i32.const 0x1e))
    (global.set $at (i32.add (global.get $at) (i32.const 1)))
    (i32.store (i32.const 16) (i32.const 256))
    (i32.store (i32.const 20) (i32.sub (global.get $at) (i32.const 256)))
    (drop (call $fd_write (i32.const 2) (i32.const 16) (i32.const 1) (i32.const 24)))))

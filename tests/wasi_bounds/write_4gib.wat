;; fd_write of two 2 GiB iovecs to stdout: exits 0 when the errno is 0 and
;; nwritten is exactly u32::MAX (the count stops there, short but true).
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 65536)
  (func (export "_start") (local $r i32)
    (i32.store (i32.const 0) (i32.const 64))
    (i32.store (i32.const 4) (i32.const 0x80000000))
    (i32.store (i32.const 8) (i32.const 64))
    (i32.store (i32.const 12) (i32.const 0x80000000))
    (local.set $r (call $write (i32.const 1) (i32.const 0) (i32.const 2) (i32.const 16)))
    ;; exit 0 if errno 0 and nwritten == 0xffffffff
    (call $exit (i32.or (local.get $r) (i32.ne (i32.load (i32.const 16)) (i32.const -1))))))

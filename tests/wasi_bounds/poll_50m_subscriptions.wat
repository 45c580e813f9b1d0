;; poll_oneoff with 50 million subscriptions: exits with the errno (EINVAL,
;; 28, past keel_wasi::MAX_POLL_SUBSCRIPTIONS) before allocating anything.
(module
  (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 65536)
  (func (export "_start")
    (call $exit (call $poll (i32.const 0) (i32.const 0) (i32.const 50000000) (i32.const 8)))))

;; random_get of 4 GiB - 1 into a 4 GiB memory.
(module
  (import "wasi_snapshot_preview1" "random_get" (func $rand (param i32 i32) (result i32)))
  (memory (export "memory") 65536)
  (func (export "_start")
    (drop (call $rand (i32.const 0) (i32.const -1)))))

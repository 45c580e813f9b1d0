//! Call overhead through the standard WebAssembly C API (`wasm.h`):
//! host→wasm (`wasm_func_call` of an empty function and of `i32.add`) and
//! wasm→host (a wasm loop calling an imported host function). The same C
//! calls run against each library given in `C_API_LIBS`
//! (`name=path.so,...`, see run.sh), each loaded privately with
//! `dlopen(RTLD_LOCAL)`, as both export the same `wasm_*` symbols.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use libloading::Library;
use std::ffi::c_void;
use std::hint::black_box;

/// `wasm_val_t`: a kind byte and an 8-byte union.
#[repr(C)]
#[derive(Clone, Copy)]
struct Val {
    kind: u8,
    of: u64,
}

/// A `wasm_xxx_vec_t`.
#[repr(C)]
struct Vec_<T> {
    size: usize,
    data: *mut T,
}

type Ptr = *mut c_void;
type Callback = unsafe extern "C" fn(*const Vec_<Val>, *mut Vec_<Val>) -> Ptr;

/// The `wasm.h` functions the benchmark calls, from one library.
struct Api {
    _lib: Library,
    engine_new: unsafe extern "C" fn() -> Ptr,
    store_new: unsafe extern "C" fn(Ptr) -> Ptr,
    module_new: unsafe extern "C" fn(Ptr, *const Vec_<u8>) -> Ptr,
    valtype_new: unsafe extern "C" fn(u8) -> Ptr,
    valtype_vec_new: unsafe extern "C" fn(*mut Vec_<Ptr>, usize, *const Ptr),
    functype_new: unsafe extern "C" fn(*mut Vec_<Ptr>, *mut Vec_<Ptr>) -> Ptr,
    func_new: unsafe extern "C" fn(Ptr, Ptr, Callback) -> Ptr,
    func_as_extern: unsafe extern "C" fn(Ptr) -> Ptr,
    instance_new: unsafe extern "C" fn(Ptr, Ptr, *const Vec_<Ptr>, *mut Ptr) -> Ptr,
    instance_exports: unsafe extern "C" fn(Ptr, *mut Vec_<Ptr>),
    extern_as_func: unsafe extern "C" fn(Ptr) -> Ptr,
    func_call: unsafe extern "C" fn(Ptr, *const Vec_<Val>, *mut Vec_<Val>) -> Ptr,
}

impl Api {
    /// Load `path` privately and look the functions up.
    fn load(path: &str) -> Api {
        // SAFETY: loading a wasm.h library runs no code of consequence at
        // load time; the symbols' types are wasm.h's.
        unsafe {
            let lib = Library::new(path).unwrap_or_else(|e| panic!("loading {path}: {e}"));
            macro_rules! sym {
                ($name:literal) => {
                    *lib.get(concat!($name, "\0").as_bytes())
                        .unwrap_or_else(|e| panic!("{path}: {}: {e}", $name))
                };
            }
            Api {
                engine_new: sym!("wasm_engine_new"),
                store_new: sym!("wasm_store_new"),
                module_new: sym!("wasm_module_new"),
                valtype_new: sym!("wasm_valtype_new"),
                valtype_vec_new: sym!("wasm_valtype_vec_new"),
                functype_new: sym!("wasm_functype_new"),
                func_new: sym!("wasm_func_new"),
                func_as_extern: sym!("wasm_func_as_extern"),
                instance_new: sym!("wasm_instance_new"),
                instance_exports: sym!("wasm_instance_exports"),
                extern_as_func: sym!("wasm_extern_as_func"),
                func_call: sym!("wasm_func_call"),
                _lib: lib,
            }
        }
    }
}

/// The host function: returns its argument plus one.
unsafe extern "C" fn host(args: *const Vec_<Val>, results: *mut Vec_<Val>) -> Ptr {
    // SAFETY: wasm.h passes one i32 argument and room for one result.
    unsafe {
        let x = (*(*args).data).of as u32;
        *(*results).data = Val {
            kind: 0,
            of: u64::from(x.wrapping_add(1)),
        };
    }
    std::ptr::null_mut()
}

const WAT: &str = r#"(module
  (import "" "host" (func $host (param i32) (result i32)))
  (func (export "nop"))
  (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add)
  (func (export "call_host") (param $n i32) (result i32) (local $acc i32)
    (loop $again
      (local.set $acc (call $host (local.get $acc)))
      (br_if $again (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    (local.get $acc)))"#;

/// Calls from the host into wasm per `call_host` iteration.
const HOST_CALLS: u32 = 1000;

/// The instance's three exported functions, made with `api`.
fn setup(api: &Api) -> [Ptr; 3] {
    let wasm = wat::parse_str(WAT).unwrap();
    // SAFETY: wasm.h calls with valid arguments; everything lives for the
    // benchmark's process (never deleted: one instance per library).
    unsafe {
        let engine = (api.engine_new)();
        let store = (api.store_new)(engine);
        let binary = Vec_ {
            size: wasm.len(),
            data: wasm.as_ptr().cast_mut(),
        };
        let module = (api.module_new)(store, &binary);
        assert!(!module.is_null(), "the module does not compile");
        let mut params = Vec_ { size: 0, data: std::ptr::null_mut() };
        let mut results = Vec_ { size: 0, data: std::ptr::null_mut() };
        (api.valtype_vec_new)(&mut params, 1, &(api.valtype_new)(0));
        (api.valtype_vec_new)(&mut results, 1, &(api.valtype_new)(0));
        let ty = (api.functype_new)(&mut params, &mut results);
        let func = (api.func_new)(store, ty, host);
        let imports = [(api.func_as_extern)(func)];
        let imports = Vec_ {
            size: 1,
            data: imports.as_ptr().cast_mut(),
        };
        let instance = (api.instance_new)(store, module, &imports, std::ptr::null_mut());
        assert!(!instance.is_null(), "the module does not instantiate");
        let mut exports = Vec_ { size: 0, data: std::ptr::null_mut() };
        (api.instance_exports)(instance, &mut exports);
        assert_eq!(exports.size, 3);
        std::array::from_fn(|i| (api.extern_as_func)(*exports.data.add(i)))
    }
}

fn call(api: &Api, f: Ptr, args: &mut [Val], results: &mut [Val]) {
    let args = Vec_ {
        size: args.len(),
        data: args.as_mut_ptr(),
    };
    let mut results = Vec_ {
        size: results.len(),
        data: results.as_mut_ptr(),
    };
    // SAFETY: `f` is a function of the right arity.
    let trap = unsafe { (api.func_call)(f, &args, &mut results) };
    assert!(trap.is_null());
}

fn call_overhead(c: &mut Criterion) {
    let libs = std::env::var("C_API_LIBS")
        .expect("C_API_LIBS=name=path.so,... (benches/c-api/run.sh sets it)");
    for entry in libs.split(',') {
        let (name, path) = entry.split_once('=').expect("name=path");
        let api = Api::load(path);
        let [nop, add, call_host] = setup(&api);
        let i32_val = |x: u32| Val { kind: 0, of: u64::from(x) };

        let mut group = c.benchmark_group("host_to_wasm");
        group.bench_function(format!("{name}/nop"), |b| {
            b.iter(|| call(&api, black_box(nop), &mut [], &mut []))
        });
        group.bench_function(format!("{name}/add"), |b| {
            let mut out = [i32_val(0)];
            b.iter(|| {
                call(&api, black_box(add), &mut [i32_val(1), i32_val(2)], &mut out);
                assert_eq!(out[0].of as u32, 3);
            })
        });
        group.finish();

        let mut group = c.benchmark_group("wasm_to_host");
        group.throughput(Throughput::Elements(u64::from(HOST_CALLS)));
        group.bench_function(format!("{name}/{HOST_CALLS}_calls"), |b| {
            let mut out = [i32_val(0)];
            b.iter(|| {
                call(&api, call_host, &mut [i32_val(HOST_CALLS)], &mut out);
                assert_eq!(out[0].of as u32, HOST_CALLS);
            })
        });
        group.finish();
        // The library stays loaded: its objects were never deleted.
        std::mem::forget(api);
    }
}

criterion_group!(benches, call_overhead);
criterion_main!(benches);

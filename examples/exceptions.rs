//! Exception handling from the host: a host tag, a host function that
//! throws into wasm, an exception wasm leaves uncaught read back as an
//! error, and what a million throws leave in the store.
//!
//! Run it with `cargo run --release --example exceptions`.

use keel::{
    Engine, ExnRef, Func, FuncType, Linker, Module, Store, Tag, TagType, ThrownException, Val,
    ValType,
};

const GUEST: &str = r#"
(module
  ;; The host's tag: exceptions carrying one i32.
  (import "host" "oops" (tag $oops (param i32)))
  ;; The host function that throws $oops when its argument is negative.
  (import "host" "check" (func $check (param i32)))

  ;; checked(x): 0 if the host accepted x, else 1000 + the payload of the
  ;; exception the host threw, caught here.
  (func (export "checked") (param $x i32) (result i32)
    (block $caught (result i32)
      (try_table (catch $oops $caught)
        (call $check (local.get $x)))
      (return (i32.const 0)))
    (i32.add (i32.const 1000)))

  ;; fail(x) throws $oops out to the host.
  (func (export "fail") (param $x i32)
    (throw $oops (local.get $x)))

  ;; churn(n) throws n exceptions; catch_ref keeps each as an exnref for
  ;; a moment, then drops it: the store's collector frees them.
  (func (export "churn") (param $n i32)
    (local $exn exnref)
    (block $done
      (loop $again
        (br_if $done (i32.eqz (local.get $n)))
        (block $caught (result i32 exnref)
          (try_table (catch_ref $oops $caught)
            (throw $oops (local.get $n)))
          (unreachable))
        (local.set $exn)
        (drop)
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $again))))
)
"#;

fn main() -> keel::Result<()> {
    let engine = Engine::default();
    let module = Module::new(&engine, GUEST)?;
    let mut store = Store::new(&engine, ());

    let oops = Tag::new(
        &mut store,
        &TagType::new(FuncType::new([ValType::I32], []))?,
    )?;
    let check = Func::wrap(
        &mut store,
        move |mut caller: keel::Caller<'_, ()>, x: i32| -> keel::Result<()> {
            if x < 0 {
                // Throw into the calling wasm: return the exception as the
                // error.
                let exn = ExnRef::new(&mut caller, &oops, &[Val::I32(-x)])?;
                return Err(ThrownException::new(exn).into());
            }
            Ok(())
        },
    );
    let mut linker = Linker::new(&engine);
    linker.define(&store, "host", "oops", oops)?;
    linker.define(&store, "host", "check", check)?;
    let instance = linker.instantiate(&mut store, &module)?;

    let checked = instance.get_typed_func::<i32, i32>(&mut store, "checked")?;
    println!("checked(5) = {}", checked.call(&mut store, 5)?);
    println!("checked(-5) = {}", checked.call(&mut store, -5)?);

    let fail = instance.get_typed_func::<i32, ()>(&mut store, "fail")?;
    let err = fail.call(&mut store, 7).unwrap_err();
    let thrown = err
        .downcast_ref::<ThrownException>()
        .expect("an uncaught wasm exception");
    let exn = thrown.exn();
    println!(
        "fail(7): uncaught exception, tag is the host's: {}, payload {:?}",
        exn.tag(&mut store) == oops,
        exn.field(&mut store, 0)?.unwrap_i32(),
    );
    drop(err);

    let churn = instance.get_typed_func::<i32, ()>(&mut store, "churn")?;
    churn.call(&mut store, 1_000_000)?;
    let (objects, bytes) = store.exception_heap_usage();
    println!("after 1,000,000 throws kept by catch_ref: {objects} objects, {bytes} bytes");
    for i in 0..100_000 {
        fail.call(&mut store, i).unwrap_err();
    }
    let (objects, bytes) = store.exception_heap_usage();
    println!("after 100,000 uncaught throws: {objects} objects, {bytes} bytes");
    Ok(())
}

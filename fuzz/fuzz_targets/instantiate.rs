//! Modules with imports, satisfied by generated host values (functions,
//! globals, tables, memories): instantiation and the start function may
//! fail, but never crash the host.

#![no_main]

use arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;
use std::sync::LazyLock;

static ENGINE: LazyLock<keel::Engine> = LazyLock::new(keel_fuzz::keel_engine);

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let Some(bytes) = keel_fuzz::terminating_module_keel(&mut u, true, false) else {
        return;
    };
    let module = keel::Module::from_binary(&ENGINE, &bytes)
        .unwrap_or_else(|e| panic!("keel rejected a valid module: {e:#}"));
    let mut store = keel_fuzz::keel_store(&ENGINE);
    let mut linker = keel::Linker::new(&ENGINE);
    for import in module.imports() {
        let value: keel::Extern = match import.ty() {
            keel::ExternType::Func(ty) => {
                let fail: bool = u.arbitrary().unwrap_or(false);
                let results: Vec<keel::ValType> = ty.results().collect();
                keel::Func::new(&mut store, ty, move |_, _, out| {
                    if fail {
                        return Err(anyhow_error());
                    }
                    for (slot, t) in out.iter_mut().zip(&results) {
                        *slot = keel::Val::default_for(*t);
                    }
                    Ok(())
                })
                .into()
            }
            keel::ExternType::Global(ty) => {
                let Ok(g) = keel::Global::new(&mut store, ty, keel::Val::default_for(ty.content()))
                else {
                    return;
                };
                g.into()
            }
            keel::ExternType::Table(ty) => {
                let Some(init) = keel::Val::default_for(ty.element()).ref_() else {
                    return;
                };
                let Ok(t) = keel::Table::new(&mut store, ty, init) else {
                    return;
                };
                t.into()
            }
            keel::ExternType::Memory(ty) => {
                let Ok(m) = keel::Memory::new(&mut store, ty) else {
                    return;
                };
                m.into()
            }
            keel::ExternType::Tag(ty) => {
                let Ok(t) = keel::Tag::new(&mut store, &ty) else {
                    return;
                };
                t.into()
            }
        };
        if linker
            .define(&store, import.module(), import.name(), value)
            .is_err()
        {
            // Duplicate import names: the first definition serves both.
            continue;
        }
    }
    if let Ok(instance) = linker.instantiate(&mut store, &module) {
        // Call what the start function left, once, with default arguments.
        let names: Vec<String> = module.exports().map(|e| e.name().to_string()).collect();
        for name in names {
            if let Some(f) = instance.get_func(&mut store, &name) {
                let ty = f.ty(&store);
                let args: Vec<keel::Val> = ty.params().map(keel::Val::default_for).collect();
                let mut out: Vec<keel::Val> = ty.results().map(keel::Val::default_for).collect();
                let _ = f.call(&mut store, &args, &mut out);
            }
        }
    }
});

fn anyhow_error() -> keel::Error {
    keel::Error::msg("host function failed on purpose")
}

//! Boot-time checks of the kernel services keel relies on that do not
//! depend on the architecture: the heap and on-demand paging.

use crate::paging::{self, PAGE_SIZE, PageFormat, Protection};
use crate::platform::KernelPlatform;
use crate::{Machine, memory};
use alloc::string::String;
use alloc::vec::Vec;

/// Runs the checks; a failure panics (and so ends the kernel).
pub fn heap_and_paging<M: Machine>(platform: &KernelPlatform<M>) {
    // The heap.
    let v: Vec<u64> = (1..=1000).collect();
    let mut s = String::new();
    s.push_str("heap ");
    s.push_str("ok");
    assert_eq!(v.iter().sum::<u64>(), 500_500);
    assert_eq!(s, "heap ok");

    // On-demand paging: fresh pages read as zero, contents survive losing
    // and regaining access, and release gives the frames back.
    let before = memory::frames_in_use();
    let len = 4 * PAGE_SIZE;
    let base = platform.reserve_range(len).expect("address space");
    // SAFETY: `base` is a fresh reservation of `len` bytes in the region;
    // nothing references it while its access changes.
    unsafe {
        paging::protect::<M::Pages>(base, len, Protection::ReadWrite).expect("frames");
        let p = base as *mut u64;
        assert_eq!(p.add(1000).read_volatile(), 0);
        p.add(1000).write_volatile(0xfeed_f00d);
        paging::protect::<M::Pages>(base, len, Protection::None).expect("frames");
        paging::protect::<M::Pages>(base, len, Protection::ReadExecute).expect("frames");
        assert_eq!(p.add(1000).read_volatile(), 0xfeed_f00d);
        paging::unmap::<M::Pages>(base, len);
    }
    let tables = M::Pages::LEVELS as u64 - 1;
    assert_eq!(
        memory::frames_in_use() - before,
        tables,
        "page tables stay, 4 pages freed"
    );
}

/// Touches reserved but unmapped memory: a page fault that is not a keel
/// trap, which must end the kernel with a diagnostic (`fault-test` on the
/// kernel's command line).
pub fn unhandled_fault<M: Machine>(platform: &KernelPlatform<M>) -> ! {
    let addr = platform.reserve_range(PAGE_SIZE).expect("address space");
    kprintln!("selftest: reading unmapped {addr:#x}");
    // SAFETY: deliberately faulting: the page is reserved and unmapped, so
    // the read raises a page fault and the kernel's vector ends the kernel.
    let value = unsafe { (addr as *const u64).read_volatile() };
    panic!("read {value:#x} from unmapped memory");
}

//! `kprintln!`: formatted lines on the kernel's console.
//!
//! The kernel registers its console's byte writer once with [`init`]
//! (before it prints); until then output is dropped. The writer must
//! need no lock and no allocation, so that an exception handler can
//! print even if it interrupted a print (lines interleave at worst).

use core::fmt;

/// The console's writer, set by [`init`].
static WRITER: spin::Once<fn(&str)> = spin::Once::new();

/// Makes `write` the console: every `kprintln!` hands it the text
/// (`\n` line ends; the writer adds what its device needs).
pub fn init(write: fn(&str)) {
    WRITER.call_once(|| write);
}

/// The console as a [`fmt::Write`].
struct Console;

impl fmt::Write for Console {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        if let Some(write) = WRITER.get() {
            write(s);
        }
        Ok(())
    }
}

/// Writes formatted text to the console (used by [`kprintln!`]).
pub fn print(args: fmt::Arguments<'_>) {
    use fmt::Write as _;
    // The console cannot fail.
    let _ = Console.write_fmt(args);
}

/// Prints a line to the kernel's console.
#[macro_export]
macro_rules! kprintln {
    () => {
        $crate::console::print(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::console::print(format_args!("{}\n", format_args!($($arg)*)))
    };
}

//! Displaying names that come from a module (the name section, import and
//! export names): they are guest-controlled text.

use core::fmt;

/// A module-supplied name, displayed so that it cannot inject terminal
/// control sequences or reorder the surrounding text: control characters
/// (C0, DEL, C1: e.g. ANSI escapes) and invisible formatting characters
/// (bidirectional overrides and isolates such as U+202E, zero-width
/// characters, the byte-order mark) are written as `\u{..}` escapes;
/// everything else, including other non-ASCII text, as it is.
///
/// ```
/// use keel_translate::DisplayName;
/// assert_eq!(DisplayName("f\u{1b}[31m").to_string(), "f\\u{1b}[31m");
/// assert_eq!(DisplayName("\u{202e}cba").to_string(), "\\u{202e}cba");
/// assert_eq!(DisplayName("naïve").to_string(), "naïve");
/// ```
#[derive(Copy, Clone, Debug)]
pub struct DisplayName<'a>(pub &'a str);

/// Whether `c` must be escaped when displayed (see [`DisplayName`]).
pub fn is_unsafe_name_char(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061c}'                   // Arabic letter mark
            | '\u{200b}'..='\u{200f}'    // zero-width, LRM, RLM
            | '\u{2028}'..='\u{202e}'    // separators, embeddings, overrides
            | '\u{2060}'..='\u{2069}'    // word joiner, invisible operators, isolates
            | '\u{feff}'                 // byte-order mark
            | '\u{fff9}'..='\u{fffb}' // interlinear annotations
        )
}

impl fmt::Display for DisplayName<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use fmt::Write as _;
        for c in self.0.chars() {
            if is_unsafe_name_char(c) {
                write!(f, "\\u{{{:x}}}", c as u32)?;
            } else {
                f.write_char(c)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prelude::*;

    #[test]
    fn escapes_control_and_bidi_characters() {
        let shown = format!(
            "{}",
            DisplayName("a\u{1b}]0;x\u{7}\u{9b}b\u{2066}c\u{feff}\n")
        );
        assert_eq!(shown, "a\\u{1b}]0;x\\u{7}\\u{9b}b\\u{2066}c\\u{feff}\\u{a}");
        assert!(shown.chars().all(|c| !is_unsafe_name_char(c)));
        assert_eq!(format!("{}", DisplayName("日本::f")), "日本::f");
    }
}

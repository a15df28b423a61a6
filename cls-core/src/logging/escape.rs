//! Escaping: a value from a store or a request can hold anything (spaces, quotes, `=`,
//! newlines, ANSI escapes), and must never forge a second line, a second `key=value` or a
//! JSON key.

use std::cell::RefCell;
use std::fmt::{self, Write as _};

/// Whether a value is written bare after `key=`: a nonempty run of printable ASCII without
/// `"`, `=` or `\`. Any other value is written with [`write_quoted`].
pub(crate) fn is_bare(value: &str) -> bool {
    !value.is_empty()
        && value
            .bytes()
            .all(|b| b.is_ascii_graphic() && !matches!(b, b'"' | b'=' | b'\\'))
}

/// Writes `value` quoted, with `"` and `\` escaped, `\n`, `\r` and `\t` spelled so, and
/// every other control, whitespace other than a space, invisible or direction-changing
/// character written as `\u{…}`.
pub(crate) fn write_quoted(out: &mut dyn fmt::Write, value: &str) -> fmt::Result {
    out.write_char('"')?;
    let mut start = 0;
    for (at, c) in value.char_indices() {
        let escape = match c {
            '"' => "\\\"",
            '\\' => "\\\\",
            '\n' => "\\n",
            '\r' => "\\r",
            '\t' => "\\t",
            c if c == ' ' || !(c.is_control() || c.is_whitespace() || is_invisible(c)) => continue,
            _ => "",
        };
        out.write_str(&value[start..at])?;
        if escape.is_empty() {
            write!(out, "\\u{{{:04x}}}", u32::from(c))?;
        } else {
            out.write_str(escape)?;
        }
        start = at + c.len_utf8();
    }
    out.write_str(&value[start..])?;
    out.write_char('"')
}

/// Appends an integer in decimal, as its `Display` writes it, without `fmt`.
pub(crate) fn push_decimal(out: &mut String, mut value: u64, negative: bool) {
    let mut digits = [0_u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        // A digit: the cast keeps a value below 10.
        #[allow(clippy::cast_possible_truncation)]
        let digit = (value % 10) as u8;
        digits[at] = b'0' + digit;
        value /= 10;
        if value == 0 {
            break;
        }
    }
    if negative {
        out.push('-');
    }
    for &digit in &digits[at..] {
        out.push(char::from(digit));
    }
}

/// Characters that print as nothing or reorder what follows (Unicode's format characters and
/// default-ignorable code points: zero-width spaces and joiners, bidirectional overrides and
/// isolates, the byte-order mark, variation selectors, tag characters, fillers, prepended
/// concatenation marks): written escaped so that a line reads as it is.
fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00ad}' | '\u{034f}' | '\u{0600}'..='\u{0605}' | '\u{061c}' | '\u{06dd}' | '\u{070f}'
        | '\u{0890}'..='\u{0891}' | '\u{08e2}' | '\u{115f}'..='\u{1160}' | '\u{17b4}'..='\u{17b5}'
        | '\u{180b}'..='\u{180f}' | '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}'
        | '\u{2060}'..='\u{206f}' | '\u{3164}' | '\u{fe00}'..='\u{fe0f}' | '\u{feff}'
        | '\u{ffa0}' | '\u{fff0}'..='\u{fffb}' | '\u{110bd}' | '\u{110cd}'
        | '\u{1bca0}'..='\u{1bca3}' | '\u{1d173}'..='\u{1d17a}' | '\u{e0000}'..='\u{e0fff}')
}

/// A `fmt::Write` that writes the contents of a JSON string: what is written through it is
/// escaped on the way (`"`, `\`, every control character, and U+2028/U+2029, which some
/// JSON readers take for line ends), so any `Display` or `Debug` can be written straight into
/// a JSON string without a buffer.
pub(crate) struct JsonStr<'a>(pub(crate) &'a mut dyn fmt::Write);

impl fmt::Write for JsonStr<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let mut start = 0;
        for (at, c) in s.char_indices() {
            let escape = match c {
                '"' => "\\\"",
                '\\' => "\\\\",
                '\n' => "\\n",
                '\r' => "\\r",
                '\t' => "\\t",
                // Every control character (C0, DEL and C1, NEL included) and the Unicode line
                // and paragraph separators, which some readers take for line ends.
                c if !c.is_control() && c != '\u{2028}' && c != '\u{2029}' => continue,
                _ => "",
            };
            self.0.write_str(&s[start..at])?;
            if escape.is_empty() {
                write!(self.0, "\\u{:04x}", u32::from(c))?;
            } else {
                self.0.write_str(escape)?;
            }
            start = at + c.len_utf8();
        }
        self.0.write_str(&s[start..])
    }
}

/// Writes `value` as a quoted JSON string.
pub(crate) fn write_json_str(out: &mut dyn fmt::Write, value: &str) -> fmt::Result {
    out.write_char('"')?;
    JsonStr(out).write_str(value)?;
    out.write_char('"')
}

/// Writes `value`'s `Display` as a quoted JSON string.
pub(crate) fn write_json_display(
    out: &mut dyn fmt::Write,
    value: &dyn fmt::Display,
) -> fmt::Result {
    out.write_char('"')?;
    write!(JsonStr(out), "{value}")?;
    out.write_char('"')
}

thread_local! {
    /// Where a text line is built before it is written: kept per thread, so that a line
    /// costs no allocation once the thread has logged one.
    static SCRATCH: RefCell<String> = const { RefCell::new(String::new()) };
}

/// A line longer than this leaves the scratch buffer it grew behind when done.
const SCRATCH_KEPT: usize = 4096;

/// Calls `f` with an empty scratch string: the thread's own, or a new one when the thread's
/// is in use (a `Display` that logs) or gone (a thread's destructors).
pub(crate) fn with_scratch<R>(f: impl FnOnce(&mut String) -> R) -> R {
    let mut f = Some(f);
    let reused = SCRATCH.try_with(|cell| {
        let Ok(mut scratch) = cell.try_borrow_mut() else {
            return None;
        };
        scratch.clear();
        let result = (f.take().expect("called once"))(&mut scratch);
        if scratch.capacity() > SCRATCH_KEPT {
            *scratch = String::new();
        }
        Some(result)
    });
    match (reused, f) {
        (Ok(Some(result)), _) => result,
        (_, Some(f)) => f(&mut String::new()),
        (_, None) => unreachable!("the closure ran and returned a result"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(value: &str) -> String {
        if is_bare(value) {
            return value.to_owned();
        }
        let mut out = String::new();
        write_quoted(&mut out, value).unwrap();
        out
    }

    #[test]
    fn plain_values_stay_bare_and_others_are_quoted() {
        assert_eq!(text("acme"), "acme");
        assert_eq!(text("0f3a-9"), "0f3a-9");
        assert_eq!(text(""), "\"\"");
        assert_eq!(text("a b"), "\"a b\"");
        assert_eq!(text("x=1"), "\"x=1\"");
        assert_eq!(text("say \"hi\"\n"), "\"say \\\"hi\\\"\\n\"");
        assert_eq!(text("\u{1b}[31m"), "\"\\u{001b}[31m\"");
        assert_eq!(text("Zürich"), "\"Zürich\"");
        assert_eq!(text("a\u{202e}b"), "\"a\\u{202e}b\"");
        // Tag characters, variation selectors and fillers print as nothing.
        assert_eq!(
            text("a\u{e0041}\u{fe0f}\u{3164}"),
            "\"a\\u{e0041}\\u{fe0f}\\u{3164}\""
        );
    }

    #[test]
    fn decimals_match_display() {
        for n in [0, 7, 10, 99, 12_345, u64::MAX] {
            let mut out = String::new();
            push_decimal(&mut out, n, false);
            assert_eq!(out, n.to_string());
        }
        let mut out = String::new();
        push_decimal(&mut out, i64::MIN.unsigned_abs(), true);
        assert_eq!(out, i64::MIN.to_string());
    }

    #[test]
    fn json_strings_escape_quotes_controls_and_line_separators() {
        let mut out = String::new();
        write_json_str(&mut out, "\"}\n\u{1}\u{2028}é\u{85}\u{7f}").unwrap();
        assert_eq!(out, "\"\\\"}\\n\\u0001\\u2028é\\u0085\\u007f\"");
    }
}

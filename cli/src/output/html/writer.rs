//! [`Html`]: a page being written, escaped by construction.
//!
//! Markup goes in only through the [`html!`] macro's format string, which
//! is a literal written here. Every argument after it is text and is
//! escaped, unless it is itself [`Html`] (markup built the same way).
//! Inline captures in the literal (`{px:.1}`) are not escaped: use them for
//! numbers and this module's colour constants only.

use std::fmt::{self, Write as _};

/// Markup, safe to put in a page as it is.
#[derive(Clone, Debug, Default)]
pub(crate) struct Html(String);

impl Html {
    pub(crate) fn new() -> Self {
        Self(String::new())
    }

    pub(crate) fn with_capacity(n: usize) -> Self {
        Self(String::with_capacity(n))
    }

    /// The unescaped path: `html!`'s format string and its escaped
    /// arguments. Not to be called directly.
    #[doc(hidden)]
    pub(crate) fn write_markup(&mut self, args: fmt::Arguments<'_>) {
        // ok: writing into a String cannot fail.
        let _ = self.0.write_fmt(args);
    }

    /// Whether the markup so far contains `needle`.
    pub(crate) fn contains(&self, needle: &str) -> bool {
        self.0.contains(needle)
    }

    /// Puts `markup` before the last occurrence of `closing` (e.g. to draw
    /// over a finished chart before its `</svg>`).
    pub(crate) fn insert_before_last(&mut self, closing: &str, markup: &Self) {
        if let Some(at) = self.0.rfind(closing) {
            self.0.insert_str(at, &markup.0);
        }
    }

    pub(crate) fn into_string(self) -> String {
        self.0
    }
}

/// An argument of [`html!`]: text is escaped, [`Html`] goes in as it is.
pub(crate) trait Piece {
    fn put(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result;
}

impl<T: fmt::Display + ?Sized> Piece for T {
    fn put(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(Escaping(f), "{self}")
    }
}

impl Piece for Html {
    fn put(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One argument of [`html!`], as the format machinery sees it.
#[doc(hidden)]
pub(crate) struct Arg<'a, T: Piece + ?Sized>(pub(crate) &'a T);

impl<T: Piece + ?Sized> fmt::Display for Arg<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.put(f)
    }
}

/// Escapes what is written through it.
struct Escaping<'a, 'b>(&'a mut fmt::Formatter<'b>);

impl fmt::Write for Escaping<'_, '_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let mut out = String::with_capacity(s.len());
        escape_into(s, &mut out);
        self.0.write_str(&out)
    }
}

/// Escapes text for HTML content and attribute values; control characters
/// other than tab and newline become U+FFFD.
fn escape_into(s: &str, o: &mut String) {
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            '\t' | '\n' => o.push(c),
            c if c.is_control() => o.push('\u{FFFD}'),
            c => o.push(c),
        }
    }
}

/// `html!(out, "<td class=\"n\">{}</td>", value)` appends the literal as
/// markup and every argument as escaped text (or as markup, for [`Html`]).
macro_rules! html {
    ($out:expr, $fmt:literal $(, $arg:expr)* $(,)?) => {
        $out.write_markup(format_args!($fmt $(, $crate::output::html::writer::Arg(&$arg))*))
    };
}
pub(crate) use html;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_are_escaped_and_markup_is_not() {
        let mut inner = Html::new();
        html!(inner, "<b>{}</b>", "x < y");
        let mut o = Html::new();
        let px = 1.25;
        html!(
            o,
            "<p title=\"{}\" x=\"{px:.1}\">{}{}</p>",
            "\"q\" & 'a'",
            inner,
            42
        );
        assert_eq!(
            o.into_string(),
            "<p title=\"&quot;q&quot; &amp; &#39;a&#39;\" x=\"1.2\"><b>x &lt; y</b>42</p>"
        );
        let mut t = Html::new();
        html!(t, "{}", "<script>\u{7}\n");
        assert_eq!(t.into_string(), "&lt;script&gt;\u{FFFD}\n");
    }
}

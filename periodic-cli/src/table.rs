//! Boxed tables as OpenStackClient (cliff, prettytable) prints them:
//!
//! ```text
//! +----+--------------+--------+
//! | ID | Binary       | Host   |
//! +----+--------------+--------+
//! |  1 | nova-compute | node-1 |
//! +----+--------------+--------+
//! ```
//!
//! Text columns are left-aligned, number columns right-aligned (header included); an
//! empty table prints nothing, as cliff does without `--print-empty`.

use std::fmt::Write as _;

/// How a column's cells are aligned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Align {
    Left,
    Right,
}

/// A table being built: headers, then rows of as many cells.
#[derive(Debug, Clone)]
pub(crate) struct Table {
    headers: Vec<String>,
    align: Vec<Align>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column headers, all left-aligned.
    pub(crate) fn new<S: AsRef<str>>(headers: &[S]) -> Self {
        Table {
            headers: headers.iter().map(|h| h.as_ref().to_owned()).collect(),
            align: vec![Align::Left; headers.len()],
            rows: Vec::new(),
        }
    }

    /// Right-aligns the columns whose header is in `headers` (numbers).
    #[must_use]
    pub(crate) fn right(mut self, headers: &[&str]) -> Self {
        for (h, a) in self.headers.iter().zip(&mut self.align) {
            if headers.contains(&h.as_str()) {
                *a = Align::Right;
            }
        }
        self
    }

    /// Adds a row; missing cells are blank, extra cells are dropped, and line breaks
    /// inside a cell become spaces.
    pub(crate) fn push(&mut self, cells: Vec<String>) {
        let mut row: Vec<String> = cells
            .into_iter()
            .take(self.headers.len())
            .map(|c| c.replace(['\r', '\n'], " "))
            .collect();
        row.resize(self.headers.len(), String::new());
        self.rows.push(row);
    }

    /// Whether no row was added.
    pub(crate) fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The table as text, one line per row with a trailing newline; nothing when empty.
    pub(crate) fn render(&self) -> String {
        if self.rows.is_empty() {
            return String::new();
        }
        let widths: Vec<usize> = (0..self.headers.len())
            .map(|i| {
                self.rows
                    .iter()
                    .map(|r| r[i].chars().count())
                    .chain(std::iter::once(self.headers[i].chars().count()))
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let rule: String = widths.iter().fold(String::from("+"), |mut s, w| {
            s.push_str(&"-".repeat(w + 2));
            s.push('+');
            s
        });
        let line = |cells: &[String]| {
            let mut s = String::from("|");
            for ((cell, w), a) in cells.iter().zip(&widths).zip(&self.align) {
                let _ = match a {
                    Align::Left => write!(s, " {cell:<w$} |"),
                    Align::Right => write!(s, " {cell:>w$} |"),
                };
            }
            s
        };
        let mut out = String::new();
        for l in std::iter::once(rule.clone())
            .chain(std::iter::once(line(&self.headers)))
            .chain(std::iter::once(rule.clone()))
            .chain(self.rows.iter().map(|r| line(r)))
            .chain(std::iter::once(rule))
        {
            out.push_str(&l);
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boxed_like_openstackclient() {
        let mut t = Table::new(&["ID", "Binary", "Host"]).right(&["ID"]);
        t.push(vec!["1".into(), "nova-compute".into(), "node-1".into()]);
        t.push(vec!["12".into(), "nova-scheduler".into()]);
        assert_eq!(
            t.render(),
            "+----+----------------+--------+\n\
             | ID | Binary         | Host   |\n\
             +----+----------------+--------+\n\
             |  1 | nova-compute   | node-1 |\n\
             | 12 | nova-scheduler |        |\n\
             +----+----------------+--------+\n"
        );
    }

    #[test]
    fn empty_prints_nothing() {
        let t = Table::new(&["A"]);
        assert!(t.is_empty());
        assert_eq!(t.render(), "");
    }

    #[test]
    fn line_breaks_do_not_break_the_box() {
        let mut t = Table::new(&["Reason"]);
        t.push(vec!["two\nlines".into()]);
        assert!(t.render().contains("| two lines |"));
    }
}

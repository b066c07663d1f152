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
//! empty table prints nothing, as cliff does without `--print-empty`, or its header alone
//! (`--print-empty`) where a person reads it: `service list`.
//!
//! Drawn by [`comfy_table`] with its `ASCII_FULL_CONDENSED` preset and a `-` rule under
//! the header. It was checked against Python's prettytable 3.18 (what cliff uses) on
//! these tables, number columns wider than their header, empty cells, leading and
//! trailing spaces, wide (CJK) and combining characters, and printed the same bytes; like
//! prettytable it measures cells by their display width. (`tabled` 0.20 and
//! `prettytable-rs` 0.10 printed the same bytes too; comfy-table is the one maintained
//! with the fewest dependencies.) Line breaks in a cell become spaces here, so that a row
//! stays one line.

use comfy_table::{CellAlignment, TableComponent, presets};

/// A table being built: headers, then rows of as many cells.
#[derive(Debug)]
pub(crate) struct Table {
    inner: comfy_table::Table,
    columns: usize,
    rows: usize,
}

impl Table {
    /// A table with these column headers, all left-aligned.
    pub(crate) fn new<S: AsRef<str>>(headers: &[S]) -> Self {
        let mut table = comfy_table::Table::new();
        table
            .load_preset(presets::ASCII_FULL_CONDENSED)
            .set_style(TableComponent::HeaderLines, '-')
            .set_style(TableComponent::MiddleHeaderIntersections, '+')
            .set_header(headers.iter().map(AsRef::as_ref));
        Table {
            inner: table,
            columns: headers.len(),
            rows: 0,
        }
    }

    /// Right-aligns the columns whose header is in `headers` (numbers).
    #[must_use]
    pub(crate) fn right(mut self, headers: &[&str]) -> Self {
        let names: Vec<String> = self
            .inner
            .header()
            .map(|row| row.cell_iter().map(comfy_table::Cell::content).collect())
            .unwrap_or_default();
        for (name, column) in names.iter().zip(self.inner.column_iter_mut()) {
            if headers.contains(&name.as_str()) {
                column.set_cell_alignment(CellAlignment::Right);
            }
        }
        self
    }

    /// Adds a row; missing cells are blank, extra cells are dropped, and line breaks
    /// inside a cell become spaces.
    pub(crate) fn push(&mut self, cells: Vec<String>) {
        let mut row: Vec<String> = cells
            .into_iter()
            .take(self.columns)
            .map(|c| c.replace(['\r', '\n'], " "))
            .collect();
        row.resize(self.columns, String::new());
        self.inner.add_row(row);
        self.rows += 1;
    }

    /// Whether no row was added.
    pub(crate) fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// The table as text, one line per row with a trailing newline; nothing when empty.
    pub(crate) fn render(&self) -> String {
        if self.is_empty() {
            return String::new();
        }
        self.render_with_header()
    }

    /// The table as text, with its header even when it has no row (cliff's
    /// `--print-empty`): for a list a person reads, where nothing at all looks like a
    /// failure.
    pub(crate) fn render_with_header(&self) -> String {
        let mut out = self.inner.to_string();
        if self.is_empty() {
            // comfy-table draws the bottom border under the header's rule: keep one.
            if let Some(last) = out.rfind('\n') {
                out.truncate(last);
            }
        }
        out.push('\n');
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
    fn empty_with_header_prints_the_header() {
        let t = Table::new(&["ID", "Binary"]).right(&["ID"]);
        assert_eq!(
            t.render_with_header(),
            "+----+--------+\n\
             | ID | Binary |\n\
             +----+--------+\n"
        );
    }

    // Display width, as prettytable measures cells: `主机` is four columns wide, `é`
    // written as `e` and a combining accent is one.
    #[test]
    fn cells_are_measured_by_display_width() {
        let mut t = Table::new(&["Host", "H"]);
        t.push(vec!["主机".into(), "e\u{301}".into()]);
        assert_eq!(
            t.render(),
            "+------+---+\n\
             | Host | H |\n\
             +------+---+\n\
             | 主机 | e\u{301} |\n\
             +------+---+\n"
        );
    }

    // A number column wider than its header right-aligns the header too.
    #[test]
    fn right_aligned_header() {
        let mut t = Table::new(&["ID", "Zone"]).right(&["ID"]);
        t.push(vec!["100000".into(), String::new()]);
        assert_eq!(
            t.render(),
            "+--------+------+\n\
             |     ID | Zone |\n\
             +--------+------+\n\
             | 100000 |      |\n\
             +--------+------+\n"
        );
    }

    #[test]
    fn line_breaks_do_not_break_the_box() {
        let mut t = Table::new(&["Reason"]);
        t.push(vec!["two\nlines".into()]);
        assert!(t.render().contains("| two lines |"));
    }
}

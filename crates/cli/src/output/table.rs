//! The one way the command line lays out a table: a column as wide as its widest cell (as a
//! terminal shows it: `µ`, `±` and `×` one column each), words to the left, figures to the right.

use unicode_width::UnicodeWidthStr;

/// How a column's cells sit in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
}

/// A header and rows of cells, printed with [`Table::render`].
#[derive(Debug)]
pub struct Table {
    heads: Vec<(String, Align)>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column heads; the first `words` columns are left-aligned, the rest
    /// right-aligned.
    pub fn new(heads: &[&str], words: usize) -> Table {
        let align = |i| if i < words { Align::Left } else { Align::Right };
        Table {
            heads: heads.iter().enumerate().map(|(i, h)| ((*h).to_owned(), align(i))).collect(),
            rows: Vec::new(),
        }
    }

    /// The same table with column `i` aligned `align` (a last column of words after figures).
    pub fn align(mut self, i: usize, align: Align) -> Table {
        if let Some(head) = self.heads.get_mut(i) {
            head.1 = align;
        }
        self
    }

    /// Adds a row; missing cells are blank, extra ones ignored.
    pub fn row<S: Into<String>>(&mut self, cells: impl IntoIterator<Item = S>) {
        let mut row: Vec<String> = cells.into_iter().map(Into::into).take(self.heads.len()).collect();
        row.resize(self.heads.len(), String::new());
        self.rows.push(row);
    }

    /// The table as lines, columns two spaces apart, no space after a line's last cell.
    pub fn render(&self) -> String {
        let widths: Vec<usize> = (0..self.heads.len())
            .map(|i| {
                let cells = self.rows.iter().map(|r| r[i].width());
                cells.chain([self.heads[i].0.width()]).max().unwrap_or(0)
            })
            .collect();
        let mut out = String::new();
        let heads: Vec<String> = self.heads.iter().map(|h| h.0.clone()).collect();
        for row in std::iter::once(&heads).chain(&self.rows) {
            let mut line = String::new();
            for (i, cell) in row.iter().enumerate() {
                if i > 0 {
                    line.push_str("  ");
                }
                let pad = " ".repeat(widths[i] - cell.width());
                match self.heads[i].1 {
                    Align::Left => {
                        line.push_str(cell);
                        line.push_str(&pad);
                    }
                    Align::Right => {
                        line.push_str(&pad);
                        line.push_str(cell);
                    }
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_as_wide_as_their_widest_cell_by_the_terminals_measure() {
        let mut t = Table::new(&["transport", "p50", "note"], 1).align(2, Align::Left);
        t.row(["ws", "9.1 µs", "fast"]);
        t.row(["http-new", "1.23 ms", ""]);
        t.row(["h2"]);
        assert_eq!(
            t.render(),
            "transport      p50  note\n\
             ws          9.1 µs  fast\n\
             http-new   1.23 ms\n\
             h2\n"
        );
    }
}

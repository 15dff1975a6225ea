//! Plain-text tables for stdout (`history`, `status`, scan findings). Columns are padded by display width
//! so that digests and commit messages line up; no borders, so the output pastes cleanly.

use console::measure_text_width;

pub fn render(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.len()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if i < widths.len() {
                widths[i] = widths[i].max(measure_text_width(cell));
            }
        }
    }
    let mut out = String::new();
    let line = |cells: Vec<String>, out: &mut String| {
        let last = cells.len().saturating_sub(1);
        for (i, cell) in cells.into_iter().enumerate() {
            out.push_str(&cell);
            if i < last {
                let pad = widths[i].saturating_sub(measure_text_width(&cell)) + 2;
                out.push_str(&" ".repeat(pad));
            }
        }
        // An empty last column (a marker most rows lack) must not leave trailing blanks.
        let trimmed = out.trim_end_matches(' ').len();
        out.truncate(trimmed);
        out.push('\n');
    };
    line(headers.iter().map(|h| h.to_uppercase()).collect(), &mut out);
    for row in rows {
        line(row.clone(), &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn aligns_columns() {
        let t = super::render(&["a", "bb"], &[vec!["xxx".into(), "y".into()], vec!["z".into(), "w".into()]]);
        assert_eq!(t, "A    BB\nxxx  y\nz    w\n");
    }
}

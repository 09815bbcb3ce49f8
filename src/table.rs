//! Plain-text tables: left-aligned columns two spaces apart, the last not padded
//! (`mpm outdated`, `mpm version`).

/// The rows, the first being the headers.
pub fn columns<const N: usize>(rows: &[[String; N]]) -> String {
    let mut widths = [0usize; N];
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (i, (cell, w)) in row.iter().zip(widths).enumerate() {
            if i + 1 == N {
                line.push_str(cell);
            } else {
                line.push_str(cell);
                line.push_str(&" ".repeat(w - cell.chars().count() + 2));
            }
        }
        out.push_str(&line);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn pads_every_column_but_the_last() {
        let rows = [
            ["agent".to_string(), "v".to_string(), "x".to_string()],
            ["qa".to_string(), "1.0.0".to_string(), "".to_string()],
        ];
        assert_eq!(super::columns(&rows), "agent  v      x\nqa     1.0.0  \n");
    }
}

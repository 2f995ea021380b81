//! What the user sees: results on stdout (text, or one JSON document with `--json`), progress and
//! questions on stderr, tables cut to the terminal's width, and the confirmation before sending.

use anyhow::bail;
use serde::Serialize;
use std::io::{BufRead, Write};

/// How to print and whether to ask.
#[derive(Clone, Copy, Debug)]
pub struct Output {
    /// `--json`: stdout carries one JSON document.
    pub json: bool,
    /// `--yes`: send without asking.
    pub yes: bool,
}

impl Output {
    /// Prints the command's result: `value` as JSON with `--json`, else the text `text` makes.
    pub fn result(&self, value: &impl Serialize, text: impl FnOnce() -> String) {
        if self.json {
            println!(
                "{}",
                serde_json::to_string_pretty(value).expect("results serialize")
            );
        } else {
            println!("{}", text());
        }
    }

    /// A progress line on stderr, which `--json` output does not mix with.
    pub fn status(&self, line: impl AsRef<str>) {
        eprintln!("{}", line.as_ref());
    }

    /// Shows `summary` and asks whether to go on; `--yes` answers yes. Refuses without a terminal
    /// answer rather than sending unasked.
    pub fn confirm(&self, summary: &str) -> anyhow::Result<()> {
        eprintln!("{summary}");
        if self.yes {
            return Ok(());
        }
        eprint!("Send? [y/N] ");
        std::io::stderr().flush()?;
        let mut answer = String::new();
        let read = std::io::stdin().lock().read_line(&mut answer)?;
        if read == 0 {
            bail!(
                "no answer to the confirmation (stdin is closed): nothing was sent; pass --yes to send without asking"
            );
        }
        match answer.trim().to_ascii_lowercase().as_str() {
            "y" | "yes" => Ok(()),
            _ => bail!("not confirmed: nothing was sent"),
        }
    }
}

/// A table whose columns are dropped from the right, lowest priority first, until it fits `width`.
#[derive(Debug)]
pub struct Table {
    headers: Vec<&'static str>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column headers, most important first.
    pub fn new(headers: Vec<&'static str>) -> Self {
        Self {
            headers,
            rows: Vec::new(),
        }
    }

    /// Adds a row (as many cells as headers).
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// The table as text at most `width` columns wide (the first column is always kept).
    pub fn render(&self, width: usize) -> String {
        let widths: Vec<usize> = (0..self.headers.len())
            .map(|c| {
                self.rows
                    .iter()
                    .map(|r| r[c].chars().count())
                    .chain([self.headers[c].len()])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let mut shown = widths.len();
        while shown > 1 && widths[..shown].iter().sum::<usize>() + 2 * (shown - 1) > width {
            shown -= 1;
        }
        let line = |cells: Vec<&str>| {
            cells
                .iter()
                .zip(&widths)
                .take(shown)
                .map(|(cell, w)| format!("{cell:<w$}"))
                .collect::<Vec<_>>()
                .join("  ")
                .trim_end()
                .to_owned()
        };
        let mut text = line(self.headers.clone());
        for row in &self.rows {
            text.push('\n');
            text.push_str(&line(row.iter().map(String::as_str).collect()));
        }
        if shown < widths.len() {
            text.push_str(&format!(
                "\n({} more columns hidden by the terminal's width: widen it or use --json)",
                widths.len() - shown
            ));
        }
        text
    }
}

/// The terminal's width, or 120 when stdout is not a terminal.
pub fn terminal_width() -> usize {
    let term = console::Term::stdout();
    if term.is_term() {
        usize::from(term.size().1)
    } else {
        std::env::var("COLUMNS")
            .ok()
            .and_then(|c| c.parse().ok())
            .unwrap_or(120)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_drops_columns_from_the_right_to_fit() {
        let mut table = Table::new(vec!["ID", "PRICE", "REGION"]);
        table.row(vec!["1".into(), "0.36 UTR/h".into(), "eu-west-1".into()]);
        let wide = table.render(200);
        assert!(
            wide.contains("REGION") && wide.contains("eu-west-1"),
            "{wide}"
        );
        let narrow = table.render(16);
        assert!(!narrow.contains("REGION"), "{narrow}");
        assert!(narrow.contains("0.36 UTR/h"), "{narrow}");
        assert!(narrow.contains("1 more columns hidden"), "{narrow}");
    }
}

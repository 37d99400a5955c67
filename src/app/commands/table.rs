//! Rows printed as aligned columns, CSV (RFC 4180) or JSON, for inspections and reports.

use crate::app::api::request::Format;

/// Named columns and rows of text.
#[derive(Debug, Clone, Default)]
pub struct Table {
    /// Column names, also the JSON keys and the CSV header.
    pub columns: Vec<&'static str>,
    /// One vector per row, as long as `columns`.
    pub rows: Vec<Vec<String>>,
}

impl Table {
    /// An empty table with these columns.
    pub fn new(columns: &[&'static str]) -> Table {
        Table {
            columns: columns.to_vec(),
            rows: Vec::new(),
        }
    }

    /// Adds a row.
    pub fn push(&mut self, row: Vec<String>) {
        debug_assert_eq!(row.len(), self.columns.len());
        self.rows.push(row);
    }

    /// The table in the format asked for.
    pub fn render(&self, format: Format) -> String {
        match format {
            Format::Table => self.text(),
            Format::Csv => self.csv(),
            Format::Json => {
                serde_json::to_string_pretty(&self.json()).unwrap_or_else(|_| "[]".into()) + "\n"
            }
        }
    }

    /// The rows as a JSON array of objects keyed by column name.
    pub fn json(&self) -> serde_json::Value {
        let rows = self.rows.iter().map(|row| {
            let object = self
                .columns
                .iter()
                .zip(row)
                .map(|(c, v)| (c.to_string(), serde_json::Value::String(v.clone())))
                .collect::<serde_json::Map<_, _>>();
            serde_json::Value::Object(object)
        });
        serde_json::Value::Array(rows.collect())
    }

    /// The rows as maps from column name to value (the typed form of [`Table::json`]).
    pub(crate) fn rows_by_column(&self) -> Vec<std::collections::BTreeMap<String, String>> {
        self.rows
            .iter()
            .map(|row| {
                self.columns
                    .iter()
                    .zip(row)
                    .map(|(c, v)| (c.to_string(), v.clone()))
                    .collect()
            })
            .collect()
    }

    fn text(&self) -> String {
        let width = |i: usize| {
            self.rows
                .iter()
                .map(|r| r[i].chars().count())
                .chain([self.columns[i].len()])
                .max()
                .unwrap_or(0)
        };
        let widths: Vec<usize> = (0..self.columns.len()).map(width).collect();
        let line = |cells: Vec<&str>| {
            let padded: Vec<String> = cells
                .iter()
                .zip(&widths)
                .map(|(c, w)| format!("{c}{}", " ".repeat(w - c.chars().count())))
                .collect();
            padded.join("  ").trim_end().to_string() + "\n"
        };
        let mut out = line(self.columns.clone());
        let rules: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
        out.push_str(&line(rules.iter().map(String::as_str).collect()));
        for row in &self.rows {
            out.push_str(&line(row.iter().map(String::as_str).collect()));
        }
        out
    }

    fn csv(&self) -> String {
        let line = |cells: Vec<&str>| {
            let quoted: Vec<String> = cells.into_iter().map(csv_field).collect();
            quoted.join(",") + "\r\n"
        };
        let mut out = line(self.columns.clone());
        for row in &self.rows {
            out.push_str(&line(row.iter().map(String::as_str).collect()));
        }
        out
    }
}

fn csv_field(value: &str) -> String {
    if value.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_what_needs_it_and_text_aligns_accented_names() {
        let mut t = Table::new(&["agent", "name"]);
        t.push(vec!["M1".into(), "Dupont, \"Jo\"".into()]);
        t.push(vec!["M22".into(), "Séverine".into()]);
        assert_eq!(
            t.render(Format::Csv),
            "agent,name\r\nM1,\"Dupont, \"\"Jo\"\"\"\r\nM22,Séverine\r\n"
        );
        let text = t.render(Format::Table);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "agent  name");
        assert_eq!(lines[3], "M22    Séverine");
        assert_eq!(t.json()[1]["name"], "Séverine");
    }
}

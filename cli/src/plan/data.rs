//! `--data FILE.csv`: the rows that `{{row.NAME}}` reads (SPEC §10).
//!
//! The file is CSV as RFC 4180 writes it: fields separated by commas, rows
//! by CRLF or LF; a field in double quotes may hold commas, line breaks and
//! quotes written twice (`""`). The first row names the columns. Beyond
//! the RFC: a UTF-8 byte order mark (as spreadsheets write it) is skipped,
//! empty lines between rows are skipped (write `""` for an empty value in a
//! one-column file), column names are trimmed, and a quote inside an
//! unquoted field is kept as text. A small hand-written reader, since that
//! is all of it; every refusal is one line naming the file and line.

use std::path::Path;

use crate::error::{UsageError, usage};

/// What a data file must hold, for refusals.
const ACCEPTED: &str = "expected a header line naming the columns, then one line per row";

/// The rows of a `--data` file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct DataTable {
    /// The header row: non-empty, unique names.
    pub(crate) columns: Vec<String>,
    /// At least one row, each with one value per column.
    pub(crate) rows: Vec<Vec<String>>,
}

impl DataTable {
    /// The index of column `name`, as written in the header.
    #[cfg(test)]
    pub(crate) fn column(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c == name)
    }
}

/// Reads the text of the `--data` file at `path` (named in refusals).
pub(crate) fn parse_csv(path: &Path, text: &str) -> Result<DataTable, UsageError> {
    let shown = path.display();
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let records =
        records(text).map_err(|(line, why)| UsageError(format!("--data {shown}:{line}: {why}")))?;
    let mut records = records.into_iter();
    let Some(header) = records.next() else {
        return usage(format!("--data {shown}: the file is empty; {ACCEPTED}"));
    };
    let columns: Vec<String> = header.fields.iter().map(|c| c.trim().to_string()).collect();
    for (i, name) in columns.iter().enumerate() {
        if name.is_empty() {
            return usage(format!(
                "--data {shown}:{}: column {} has no name; expected a name for every column in the header line",
                header.line,
                i + 1
            ));
        }
        if let Some(first) = columns[..i].iter().position(|c| c == name) {
            return usage(format!(
                "--data {shown}:{}: column {name:?} is named twice (columns {} and {}); expected unique names",
                header.line,
                first + 1,
                i + 1
            ));
        }
    }
    let mut rows = Vec::new();
    for record in records {
        if record.fields.len() != columns.len() {
            return usage(format!(
                "--data {shown}:{}: {} where the header names {}; expected one value per column \
                 (quote a value that holds a comma)",
                record.line,
                count(record.fields.len(), "field"),
                count(columns.len(), "column"),
            ));
        }
        rows.push(record.fields);
    }
    if rows.is_empty() {
        return usage(format!(
            "--data {shown}: no rows after the header line; {ACCEPTED}"
        ));
    }
    Ok(DataTable { columns, rows })
}

/// `1 field`, `3 fields`.
fn count(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

/// One row of the file and the line it starts on (1-based).
struct Record {
    line: usize,
    fields: Vec<String>,
}

/// Splits `text` into records; an error is `(line, what is wrong)`.
fn records(text: &str) -> Result<Vec<Record>, (usize, String)> {
    let bytes = text.as_bytes();
    let mut records = Vec::new();
    let mut i = 0;
    let mut line = 1;
    while i < bytes.len() {
        // An empty line is no record.
        if bytes[i] == b'\n' {
            i += 1;
            line += 1;
            continue;
        }
        if bytes[i..].starts_with(b"\r\n") {
            i += 2;
            line += 1;
            continue;
        }
        let mut record = Record {
            line,
            fields: Vec::new(),
        };
        loop {
            let field;
            if bytes.get(i) == Some(&b'"') {
                let opened = line;
                i += 1;
                let mut value = String::new();
                loop {
                    let Some(len) = text[i..].find('"') else {
                        return Err((
                            opened,
                            "a quoted field is not closed; expected a closing \" \
                             (write \"\" for a quote inside)"
                                .to_string(),
                        ));
                    };
                    let chunk = &text[i..i + len];
                    line += chunk.matches('\n').count();
                    value.push_str(chunk);
                    i += len + 1;
                    if bytes.get(i) == Some(&b'"') {
                        value.push('"');
                        i += 1;
                    } else {
                        break;
                    }
                }
                if !matches!(bytes.get(i), None | Some(b',' | b'\n'))
                    && !bytes[i..].starts_with(b"\r\n")
                {
                    return Err((
                        line,
                        "text after the closing quote of a field; expected \",\" or the end \
                         of the line after it (write \"\" for a quote inside)"
                            .to_string(),
                    ));
                }
                field = value;
            } else {
                let len = text[i..].find([',', '\n']).unwrap_or(text.len() - i);
                let mut value = &text[i..i + len];
                if bytes.get(i + len) == Some(&b'\n') {
                    value = value.strip_suffix('\r').unwrap_or(value);
                }
                field = value.to_string();
                i += len;
            }
            record.fields.push(field);
            // `i` is now at a comma, a line end or the end of the text.
            match bytes.get(i) {
                Some(b',') => i += 1,
                Some(b'\r') => {
                    i += 2;
                    line += 1;
                    break;
                }
                Some(b'\n') => {
                    i += 1;
                    line += 1;
                    break;
                }
                _ => break,
            }
        }
        records.push(record);
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(text: &str) -> DataTable {
        parse_csv(Path::new("users.csv"), text).unwrap_or_else(|e| panic!("{text:?}: {e}"))
    }

    fn err(text: &str) -> String {
        parse_csv(Path::new("users.csv"), text).unwrap_err().0
    }

    fn rows(t: &DataTable) -> Vec<Vec<&str>> {
        t.rows
            .iter()
            .map(|r| r.iter().map(String::as_str).collect())
            .collect()
    }

    #[test]
    fn header_and_rows() {
        let t = table("id,name\n1,ann\n2,bob\n");
        assert_eq!(t.columns, ["id", "name"]);
        assert_eq!(rows(&t), [["1", "ann"], ["2", "bob"]]);
        assert_eq!(t.column("id"), Some(0));
        assert_eq!(t.column("name"), Some(1));
        assert_eq!(t.column("Name"), None);
        assert_eq!(t.column("email"), None);
    }

    #[test]
    fn trailing_newline_is_optional() {
        assert_eq!(table("id\n1"), table("id\n1\n"));
        assert_eq!(table("id\r\n1"), table("id\r\n1\r\n"));
        assert_eq!(rows(&table("id\n1")), [["1"]]);
    }

    #[test]
    fn crlf_and_lf_read_the_same() {
        let lf = table("id,name\n1,ann\n2,bob\n");
        assert_eq!(table("id,name\r\n1,ann\r\n2,bob\r\n"), lf);
        assert_eq!(table("id,name\r\n1,ann\n2,bob"), lf);
    }

    #[test]
    fn quoted_fields() {
        let t = table("id,note\n1,\"a, b\"\n2,\"say \"\"hi\"\"\"\n3,\"\"\n4,\"x\"\r\n");
        assert_eq!(
            rows(&t),
            [["1", "a, b"], ["2", "say \"hi\""], ["3", ""], ["4", "x"]]
        );
        assert_eq!(rows(&table("a,b\n\"\",\"\"\n")), [["", ""]]);
        assert_eq!(rows(&table("\"a\",\"b\"\n\"1\",2")), [["1", "2"]]);
        assert_eq!(table("\"a\",\"b\"\n1,2").columns, ["a", "b"]);
    }

    #[test]
    fn quoted_line_breaks_stay_in_the_field() {
        let t = table("id,address\n1,\"1 Main St\nSpringfield\"\n2,\"a\r\nb\"\r\n");
        assert_eq!(rows(&t), [["1", "1 Main St\nSpringfield"], ["2", "a\r\nb"]]);
        // Lines inside quotes count for the lines named in refusals.
        assert_eq!(
            err("id,address\n1,\"x\ny\"\n2\n"),
            "--data users.csv:4: 1 field where the header names 2 columns; \
             expected one value per column (quote a value that holds a comma)"
        );
    }

    #[test]
    fn empty_fields() {
        assert_eq!(
            rows(&table("a,b,c\n,,\n1,,3\n1,2,\n")),
            [["", "", ""], ["1", "", "3"], ["1", "2", ""]]
        );
        assert_eq!(rows(&table("a,b\n,\r\n")), [["", ""]]);
    }

    #[test]
    fn spaces_are_part_of_values_but_not_of_names() {
        let t = table("id, name \n 1 , ann \n");
        assert_eq!(t.columns, ["id", "name"]);
        assert_eq!(rows(&t), [[" 1 ", " ann "]]);
    }

    #[test]
    fn empty_lines_between_rows_are_skipped() {
        let t = table("\nid\n\n1\r\n\r\n2\n\n\n");
        assert_eq!(rows(&t), [["1"], ["2"]]);
        // "" is how a one-column file writes an empty value.
        assert_eq!(rows(&table("id\n\"\"\n2\n")), [[""], ["2"]]);
    }

    #[test]
    fn byte_order_mark_is_skipped() {
        let t = table("\u{feff}id,name\n1,ann\n");
        assert_eq!(t.columns, ["id", "name"]);
        assert_eq!(t.column("id"), Some(0));
    }

    #[test]
    fn quote_inside_an_unquoted_field_is_text() {
        assert_eq!(rows(&table("size\n5\" screen\n")), [["5\" screen"]]);
        assert_eq!(rows(&table("a,b\nx\"y\",z\n")), [["x\"y\"", "z"]]);
    }

    #[test]
    fn non_ascii_values() {
        let t = table("naïve,名前\né,\"日本, 東京\"\n");
        assert_eq!(t.columns, ["naïve", "名前"]);
        assert_eq!(rows(&t), [["é", "日本, 東京"]]);
        assert_eq!(t.column("名前"), Some(1));
    }

    #[test]
    fn a_lone_carriage_return_is_text() {
        assert_eq!(rows(&table("a,b\nx\ry,z\n")), [["x\ry", "z"]]);
    }

    #[test]
    fn empty_file_is_refused() {
        let want = "--data users.csv: the file is empty; expected a header line naming \
                    the columns, then one line per row";
        assert_eq!(err(""), want);
        assert_eq!(err("\n\r\n\n"), want);
        assert_eq!(err("\u{feff}"), want);
    }

    #[test]
    fn header_without_rows_is_refused() {
        let want = "--data users.csv: no rows after the header line; expected a header \
                    line naming the columns, then one line per row";
        assert_eq!(err("id,name"), want);
        assert_eq!(err("id,name\n"), want);
        assert_eq!(err("id,name\r\n\r\n"), want);
    }

    #[test]
    fn rows_must_match_the_header() {
        assert_eq!(
            err("id,name\n1,ann\n2,bob,extra\n"),
            "--data users.csv:3: 3 fields where the header names 2 columns; \
             expected one value per column (quote a value that holds a comma)"
        );
        assert_eq!(
            err("id\n1\n\n2,3\n"),
            "--data users.csv:4: 2 fields where the header names 1 column; \
             expected one value per column (quote a value that holds a comma)"
        );
        assert!(err("a,b\r\n1,2\r\n3\r\n").starts_with("--data users.csv:3: 1 field "));
    }

    #[test]
    fn column_names_must_be_present_and_unique() {
        assert_eq!(
            err("id,,name\n1,2,3\n"),
            "--data users.csv:1: column 2 has no name; expected a name for every \
             column in the header line"
        );
        assert!(err("id, \n1,2\n").contains("column 2 has no name"));
        assert!(err("\n\nid,\"\"\n1,2\n").starts_with("--data users.csv:3: column 2 has no name"));
        assert_eq!(
            err("id,name,id\n1,2,3\n"),
            "--data users.csv:1: column \"id\" is named twice (columns 1 and 3); \
             expected unique names"
        );
        assert!(err("id,id \n1,2\n").contains("column \"id\" is named twice (columns 1 and 2)"));
    }

    #[test]
    fn unclosed_quote_is_refused_at_its_line() {
        assert_eq!(
            err("id,note\n1,ok\n2,\"never closed\n3,x\n"),
            "--data users.csv:3: a quoted field is not closed; expected a closing \" \
             (write \"\" for a quote inside)"
        );
        assert!(err("id\n\"").starts_with("--data users.csv:2: a quoted field is not closed"));
    }

    #[test]
    fn text_after_a_closing_quote_is_refused() {
        assert_eq!(
            err("id,note\n1,\"a\"b\n"),
            "--data users.csv:2: text after the closing quote of a field; expected \",\" \
             or the end of the line after it (write \"\" for a quote inside)"
        );
        assert!(err("id,note\n1,\"a\nb\" c\n").starts_with("--data users.csv:3: text after"));
        assert!(err("id,note\n1,\"a\"\r").starts_with("--data users.csv:2: text after"));
    }

    #[test]
    fn refusals_are_one_line_and_name_the_file() {
        for text in [
            "",
            "id",
            "id,id\n1,2",
            "a,\n1,2",
            "a,b\n1",
            "a\n\"x",
            "a\n\"x\"y",
        ] {
            let e = err(text);
            assert!(!e.contains('\n'), "{text:?}: {e}");
            assert!(e.starts_with("--data users.csv"), "{text:?}: {e}");
            assert!(e.contains("expected"), "{text:?}: {e}");
        }
    }

    #[test]
    fn path_is_shown_as_given() {
        let e = parse_csv(Path::new("data/in put.csv"), "").unwrap_err().0;
        assert!(e.starts_with("--data data/in put.csv: "), "{e}");
    }
}

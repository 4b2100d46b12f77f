//! `model.ini` and `domains/*.txt`, read as H2O's `ModelMojoReader` reads them.
//!
//! `model.ini` has three sections: `[info]` (`key = value` lines), `[columns]` (one column
//! name per line; `n_columns` must come first) and `[domains]` (`COLUMN: LEVELS FILE`). Lines
//! are trimmed as Java trims (characters up to U+0020); empty lines and lines starting with
//! `#` are skipped. A domain file holds one level per line, untrimmed, unescaped when
//! `escape_domain_values = true`.

use std::collections::HashMap;

/// The parsed `model.ini`.
#[derive(Debug, Default)]
pub(super) struct ModelIni {
    /// `[info]` key -> raw value (`"null"` for an absent value).
    pub info: HashMap<String, String>,
    /// `[columns]`: predictors first, then special columns, then the response.
    pub columns: Vec<String>,
    /// `[domains]`: column index -> (level count, file name under `domains/`).
    pub domains: Vec<(usize, usize, String)>,
}

/// Lines as Java's `BufferedReader.readLine` returns them: split at `\n`, `\r` or `\r\n`; a
/// final line terminator does not start another (empty) line.
pub(super) fn java_lines(text: &str) -> Vec<&str> {
    let mut lines = Vec::new();
    let bytes = text.as_bytes();
    let (mut start, mut i) = (0, 0);
    while i < bytes.len() {
        match bytes[i] {
            b'\n' => {
                lines.push(&text[start..i]);
                start = i + 1;
            }
            b'\r' => {
                lines.push(&text[start..i]);
                if bytes.get(i + 1) == Some(&b'\n') {
                    i += 1;
                }
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    if start < bytes.len() {
        lines.push(&text[start..]);
    }
    lines
}

/// Java's `String.trim`: strips characters up to U+0020 at both ends.
pub(super) fn java_trim(s: &str) -> &str {
    s.trim_matches(|c: char| c <= ' ')
}

/// Parses `model.ini`; errors name the line.
pub(super) fn parse(text: &str) -> Result<ModelIni, String> {
    #[derive(PartialEq)]
    enum Section {
        None,
        Info,
        Columns,
        Domains,
    }
    let mut ini = ModelIni::default();
    let mut section = Section::None;
    let mut n_columns = None;
    for (number, raw) in java_lines(text).into_iter().enumerate() {
        let line = java_trim(raw);
        let at = || format!("line {}", number + 1);
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match line {
            "[info]" => section = Section::Info,
            "[columns]" => {
                let n = ini
                    .info
                    .get("n_columns")
                    .ok_or_else(|| format!("{}: `[columns]` before `n_columns` is set", at()))?;
                let n = n
                    .parse::<usize>()
                    .map_err(|_| format!("{}: `n_columns` = `{n}` is not a column count", at()))?;
                n_columns = Some(n);
                section = Section::Columns;
            }
            "[domains]" => section = Section::Domains,
            _ => match section {
                // H2O ignores lines before the first section.
                Section::None => {}
                Section::Info => {
                    let (key, value) = line
                        .split_once('=')
                        .ok_or_else(|| format!("{}: `{line}` is not `key = value`", at()))?;
                    ini.info
                        .insert(java_trim(key).to_string(), java_trim(value).to_string());
                }
                Section::Columns => {
                    if Some(ini.columns.len()) >= n_columns {
                        return Err(format!(
                            "{}: more columns than `n_columns` = {}",
                            at(),
                            n_columns.unwrap_or(0)
                        ));
                    }
                    ini.columns.push(line.to_string());
                }
                Section::Domains => {
                    let bad = || format!("{}: `{line}` is not `COLUMN: LEVELS FILE`", at());
                    let (column, rest) = line.split_once(':').ok_or_else(bad)?;
                    let (levels, file) = java_trim(rest).split_once(' ').ok_or_else(bad)?;
                    let column = column.parse::<usize>().map_err(|_| bad())?;
                    let levels = levels.parse::<usize>().map_err(|_| bad())?;
                    ini.domains.push((column, levels, file.to_string()));
                }
            },
        }
    }
    match n_columns {
        None => Err("no `[columns]` section".into()),
        Some(n) if n != ini.columns.len() => Err(format!(
            "`[columns]` lists {} columns, `n_columns` says {n}",
            ini.columns.len()
        )),
        Some(_) => Ok(ini),
    }
}

/// The levels of a domain file: its lines, unescaped when the model escapes them (H2O's
/// `StringEscapeUtils.unescapeNewlines`).
pub(super) fn domain_levels(text: &str, escaped: bool) -> Vec<String> {
    java_lines(text)
        .into_iter()
        .map(|l| {
            if escaped {
                unescape_newlines(l)
            } else {
                l.to_string()
            }
        })
        .collect()
}

/// `\n` -> LF, `\r` -> CR, `\\` -> `\`; a backslash before any other character is dropped
/// (the character kept), and so is a final lone backslash.
fn unescape_newlines(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut slash = false;
    for c in s.chars() {
        if slash {
            out.push(match c {
                'n' => '\n',
                'r' => '\r',
                other => other,
            });
            slash = false;
        } else if c == '\\' {
            slash = true;
        } else {
            out.push(c);
        }
    }
    out
}

/// `[a, b, c]` (Java's `Arrays.toString` of doubles) as numbers.
pub(super) fn double_array(value: &str) -> Option<Vec<f64>> {
    let inner = value.strip_prefix('[')?.strip_suffix(']')?;
    if java_trim(inner).is_empty() {
        return Some(Vec::new());
    }
    inner
        .split(',')
        .map(|v| java_trim(v).parse::<f64>().ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_split_as_java_reads_them() {
        assert_eq!(java_lines("a\nb\r\nc\rd"), ["a", "b", "c", "d"]);
        assert_eq!(java_lines("a\n"), ["a"]);
        assert_eq!(java_lines("a\n\nb\n"), ["a", "", "b"]);
        assert_eq!(java_lines("\n"), [""]);
        assert!(java_lines("").is_empty());
    }

    #[test]
    fn ini_sections_keys_columns_and_domains() {
        let text = "# comment\n[info]\nalgo = gbm\n  n_columns=3 \nuuid = 1=2\n\n[columns]\nx\n c \ny\n[domains]\n1: 2 d000.txt\n2: 3 d001.txt\n";
        let ini = parse(text).unwrap();
        assert_eq!(ini.info["algo"], "gbm");
        assert_eq!(ini.info["n_columns"], "3");
        assert_eq!(ini.info["uuid"], "1=2");
        assert_eq!(ini.columns, ["x", "c", "y"]);
        assert_eq!(
            ini.domains,
            [
                (1, 2, "d000.txt".to_string()),
                (2, 3, "d001.txt".to_string())
            ]
        );
        assert!(parse("[info]\n[columns]\nx\n")
            .unwrap_err()
            .contains("before `n_columns`"));
        assert!(parse("[info]\nn_columns = 1\n[columns]\nx\ny\n")
            .unwrap_err()
            .contains("line 5: more columns"));
        assert!(parse("[info]\nn_columns = 2\n[columns]\nx\n")
            .unwrap_err()
            .contains("lists 1 columns"));
        assert!(parse("[info]\nnonsense\n").unwrap_err().contains("line 2"));
    }

    #[test]
    fn domains_unescape_as_h2o_does() {
        assert_eq!(
            domain_levels("a\\nb\nc\\\\d\nx\\y\nend\\\n", true),
            ["a\nb", "c\\d", "xy", "end"]
        );
        assert_eq!(domain_levels("a\\nb\n", false), ["a\\nb"]);
        assert_eq!(domain_levels(" padded \n", true), [" padded "]);
    }

    #[test]
    fn arrays_of_doubles() {
        assert_eq!(double_array("[0.5, 0.25]"), Some(vec![0.5, 0.25]));
        assert_eq!(double_array("[]"), Some(vec![]));
        assert_eq!(double_array("[1.0E-5]"), Some(vec![1e-5]));
        assert_eq!(double_array("0.5"), None);
        assert_eq!(double_array("[a]"), None);
    }
}

//! Maps a key path back to a line and column of the scenario text, and
//! suggests the key a user probably meant.

use crate::error::{ScenarioError, suggest};
use crate::scenario::Override;
use toml::de::{DeTable, DeValue};

/// 1-based line and column of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// An error at `key`, located in `text` when the key is there, or attributed
/// to the `--set` that supplied it.
pub fn at_key(
    text: &str,
    origin: &str,
    key: &str,
    message: String,
    help: Option<String>,
    overrides: &[Override],
) -> ScenarioError {
    located(text, origin, key, message, help, overrides, false)
}

/// As [`at_key`]; `at_name` points at the key's name rather than its value.
fn located(
    text: &str,
    origin: &str,
    key: &str,
    message: String,
    help: Option<String>,
    overrides: &[Override],
    at_name: bool,
) -> ScenarioError {
    if let Some(o) = overrides.iter().rev().find(|o| {
        key == o.path
            || key.starts_with(&format!("{}.", o.path))
            || o.path.starts_with(&format!("{key}."))
    }) {
        return ScenarioError {
            file: format!("--set {}={}", o.path, o.value),
            line: None,
            column: None,
            key: Some(key.to_string()),
            message,
            help,
        };
    }
    let (line, column) = span_of(text, key, at_name)
        .map(|s| line_col(text, s))
        .unzip();
    ScenarioError {
        file: origin.to_string(),
        line,
        column,
        key: (!key.is_empty()).then(|| key.to_string()),
        message,
        help,
    }
}

/// Turns a deserialization error at `path` into a located error with a
/// suggestion for a misspelled key.
pub fn serde_error(
    text: &str,
    origin: &str,
    path: &str,
    message: &str,
    overrides: &[Override],
) -> ScenarioError {
    let join = |k: &str| {
        if path.is_empty() {
            k.to_string()
        } else {
            format!("{path}.{k}")
        }
    };
    if let Some(rest) = message.strip_prefix("unknown field `")
        && let Some((field, expected)) = rest.split_once('`')
    {
        let candidates: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
        let help = suggest(field, &candidates).or_else(|| {
            (!candidates.is_empty()).then(|| format!("allowed here: {}", candidates.join(", ")))
        });
        let key = if path == field || path.ends_with(&format!(".{field}")) {
            path.to_string()
        } else {
            join(field)
        };
        return located(
            text,
            origin,
            &key,
            format!("unknown key `{field}`"),
            help,
            overrides,
            true,
        );
    }
    if let Some(rest) = message.strip_prefix("missing field `") {
        let field = rest.split('`').next().unwrap_or(rest);
        let where_ = if path.is_empty() {
            "the top level".to_string()
        } else {
            format!("[{path}]")
        };
        let mut e = at_key(
            text,
            origin,
            path,
            format!("missing key `{field}` in {where_}"),
            Some("docs/scenario-format.md lists every key with its unit and default".into()),
            overrides,
        );
        e.key = Some(join(field));
        return e;
    }
    at_key(
        text,
        origin,
        path,
        message.replace("invalid type: ", "wrong type: "),
        None,
        overrides,
    )
}

/// Byte offset of the value at `key` (or of the deepest part of it that
/// exists).
fn span_of(text: &str, key: &str, at_name: bool) -> Option<usize> {
    let doc = DeTable::parse(text).ok()?;
    let mut best = None;
    let mut table: Option<&DeTable> = Some(doc.get_ref());
    for part in key.split('.').filter(|p| !p.is_empty()) {
        let (name, index) = match part.split_once('[') {
            Some((n, rest)) => (n, rest.trim_end_matches(']').parse::<usize>().ok()),
            None => (part, None),
        };
        let Some((k, mut value)) =
            table.and_then(|t| t.iter().find(|(k, _)| k.get_ref().as_ref() == name))
        else {
            break;
        };
        best = Some(k.span().start);
        if let Some(ix) = index {
            match value.get_ref() {
                DeValue::Array(items) if ix < items.len() => value = &items[ix],
                _ => break,
            }
        }
        // a value's span; for a table opened by a header this is the header
        if !at_name {
            best = Some(value.span().start.max(best.unwrap_or(0)));
        }
        table = match value.get_ref() {
            DeValue::Table(t) => Some(t),
            _ => None,
        };
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_nested_keys_and_array_items() {
        let text = "name = \"x\"\n[segments.a]\nrate = 0.5\nlist = [1, 2, 3]\n";
        assert_eq!(
            span_of(text, "segments.a.rate", false).map(|s| line_col(text, s)),
            Some((3, 8))
        );
        assert_eq!(
            span_of(text, "segments.a.list[2]", false).map(|s| line_col(text, s)),
            Some((4, 15))
        );
        assert_eq!(
            span_of(text, "name", false).map(|s| line_col(text, s)),
            Some((1, 8))
        );
    }

    #[test]
    fn suggests_close_keys_only() {
        let keys = ["referrals_per_month", "allocation", "tariff"];
        assert_eq!(
            suggest("referals_per_month", &keys).as_deref(),
            Some("did you mean `referrals_per_month`?")
        );
        assert_eq!(suggest("zzz", &keys), None);
    }
}

//! TOML errors as one line naming the file, the line and the key: for the settings file and
//! model specs alike.

/// A TOML error as one line naming the file, the line and the key, e.g.
/// `~/.config/imgtui/config.toml, line 12, key cluster.k: invalid value …`.
pub fn toml_error(text: &str, origin: &str, err: &toml::de::Error) -> anyhow::Error {
    let message = err.message().trim().replace('\n', " ");
    let Some(span) = err.span() else {
        return anyhow::anyhow!("{origin}: {message}");
    };
    let (line_no, key) = key_at(text, span.start);
    match key {
        Some(k) => anyhow::anyhow!("{origin}, line {line_no}, key {k}: {message}"),
        None => anyhow::anyhow!("{origin}, line {line_no}: {message}"),
    }
}

/// The line number of byte `at` in `text`, and the dotted key set on that line, if any.
pub(crate) fn key_at(text: &str, at: usize) -> (usize, Option<String>) {
    let before = &text[..at.min(text.len())];
    let line_no = before.matches('\n').count() + 1;
    let line = text.lines().nth(line_no - 1).unwrap_or("");
    let section = before
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| l.starts_with('[') && l.ends_with(']'))
        .map(|l| l.trim_matches(|c| c == '[' || c == ']').trim());
    let key = line
        .split_once('=')
        .map(|(k, _)| k.trim().trim_matches('"'))
        .filter(|k| !k.is_empty() && !k.starts_with('#'));
    let dotted = match (section, key) {
        (Some(s), Some(k)) => Some(format!("{s}.{k}")),
        (None, Some(k)) => Some(k.to_owned()),
        _ => None,
    };
    (line_no, dotted)
}

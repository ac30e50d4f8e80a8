//! The CLIP byte-pair-encoding tokenizer: text in, token ids for a CLIP text encoder out.
//!
//! A port of OpenAI CLIP's `simple_tokenizer.py` as open_clip 3.3 ships it (`open_clip/tokenizer.py`,
//! `SimpleTokenizer` with its default `clean='lower'`, and `tokenize`). Text is cleaned (see
//! [`clean`]), split by CLIP's pattern, each piece's UTF-8 bytes are mapped to printable
//! characters and merged by the ranked merges of `bpe_simple_vocab_16e6.txt.gz`, the last symbol
//! of a word ending in `</w>`.
//!
//! One difference: open_clip runs `ftfy.fix_text` first. This module does its fixes that are
//! rules and tables (HTML entities, C1 controls, ligatures, character widths, curly quotes, terminal
//! escapes, control characters, NFC) but not its heuristic repair of mojibake ("cafÃ©" stays as it
//! is), so such text gets other ids (`bench/clip_tokenizer_check.py` measures how often).

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

use anyhow::{Context, bail};
use regex::Regex;
use unicode_normalization::UnicodeNormalization;

/// The number of merges CLIP reads from the vocabulary file (49152 − 256 − 2).
const MERGES: usize = 49152 - 256 - 2;
/// The pre-tokenizer of open_clip (OpenAI CLIP's, with open_clip's special-token names). Python's
/// `regex` runs it case-insensitively, where the letters and digits match as they are but U+0345
/// (a combining mark that case-folds to ι) matches nothing and so is dropped: the same here.
const PATTERN: &str = r"(?i:<start_of_text>|<end_of_text>|'s|'t|'re|'ve|'m|'ll|'d)|\p{L}+|\p{N}|[^\s\p{L}\p{N}\x{345}]+";
/// The context length of all OpenAI CLIP text encoders.
pub const CONTEXT_LENGTH: usize = 77;

/// CLIP's BPE tokenizer, read from a `bpe_simple_vocab_16e6.txt.gz`.
///
/// Ids: 0–255 are the 256 byte symbols, 256–511 the same ending a word (`</w>`), then one per
/// merge, then `<start_of_text>` (49406) and `<end_of_text>` (49407): 49408 in all.
pub struct ClipTokenizer {
    /// A pair of adjacent symbol ids → (its merge rank, the id of the merged symbol).
    merges: HashMap<(u32, u32), (u32, u32)>,
    /// Byte → id of its symbol; the id of the symbol ending a word is 256 more.
    byte_ids: [u32; 256],
    pattern: Regex,
    sot: u32,
    eot: u32,
}

impl ClipTokenizer {
    /// Reads CLIP's merges file (gzip-compressed text, as open_clip ships it).
    ///
    /// Errors: the file is missing or not gzip/UTF-8, or holds fewer than 48894 merges of two symbols each.
    pub fn from_vocab_file(path: &Path) -> anyhow::Result<Self> {
        let file = std::fs::File::open(path)
            .with_context(|| format!("cannot open CLIP vocabulary {}", crate::text::shown(path)))?;
        let mut text = String::new();
        flate2::read::GzDecoder::new(file)
            .read_to_string(&mut text)
            .with_context(|| {
                format!(
                    "{} is not a gzip-compressed CLIP vocabulary",
                    crate::text::shown(path)
                )
            })?;
        Self::from_merges(&text)
    }

    /// Builds the tokenizer from the merges file's text: a version line, then one merge a line
    /// ("a b"); the first 48894 merges are used, as in CLIP.
    pub fn from_merges(text: &str) -> anyhow::Result<Self> {
        let symbols = byte_symbols();
        // CLIP's order: the bytes that stand for themselves, then the others (by their characters).
        let mut order = symbols;
        order.sort_by_key(|&c| (u32::from(c) >= 256, c));
        let mut vocab: Vec<String> = order.iter().map(|c| c.to_string()).collect();
        vocab.extend(order.iter().map(|c| format!("{c}</w>")));
        let mut pairs = Vec::with_capacity(MERGES);
        for (n, line) in text.split('\n').skip(1).take(MERGES).enumerate() {
            let mut parts = line.split_whitespace();
            let (Some(a), Some(b), None) = (parts.next(), parts.next(), parts.next()) else {
                bail!(
                    "line {} of the CLIP vocabulary is not a merge of two symbols",
                    n + 2
                );
            };
            vocab.push(format!("{a}{b}"));
            pairs.push((a, b));
        }
        if pairs.len() < MERGES {
            bail!(
                "the CLIP vocabulary holds {} merges, not {MERGES}",
                pairs.len()
            );
        }
        vocab.push("<start_of_text>".into());
        vocab.push("<end_of_text>".into());
        // As Python's dict(zip(vocab, range(..))): a later duplicate takes the id.
        let ids: HashMap<&str, u32> = vocab
            .iter()
            .enumerate()
            .map(|(i, s)| (s.as_str(), i as u32))
            .collect();
        let mut merges = HashMap::with_capacity(MERGES);
        for (rank, (a, b)) in pairs.iter().enumerate() {
            let (Some(&x), Some(&y)) = (ids.get(a), ids.get(b)) else {
                continue; // a merge of symbols that no word can hold: never applies
            };
            merges.insert((x, y), (rank as u32, ids[format!("{a}{b}").as_str()])); // a repeated merge: the later rank, as in Python
        }
        let byte_ids = std::array::from_fn(|b| ids[symbols[b].to_string().as_str()]);
        Ok(Self {
            merges,
            byte_ids,
            pattern: Regex::new(PATTERN).expect("CLIP pattern"),
            sot: ids["<start_of_text>"],
            eot: ids["<end_of_text>"],
        })
    }

    /// The id of `<start_of_text>`, which opens every tokenized text.
    pub fn sot(&self) -> u32 {
        self.sot
    }

    /// The id of `<end_of_text>`; a CLIP text encoder reads its features at this token.
    pub fn eot(&self) -> u32 {
        self.eot
    }

    /// Token ids of `text` after cleaning, without `<start_of_text>` / `<end_of_text>`
    /// (open_clip's `SimpleTokenizer.encode`).
    pub fn encode(&self, text: &str) -> Vec<u32> {
        let text = clean(text);
        let mut out = Vec::new();
        for piece in self.pattern.find_iter(&text) {
            match piece.as_str() {
                "<start_of_text>" => out.push(self.sot),
                "<end_of_text>" => out.push(self.eot),
                piece => out.extend(self.bpe(piece.as_bytes())),
            }
        }
        out
    }

    /// `text` as a CLIP text encoder takes it (open_clip's `tokenize`): `<start_of_text>`, the
    /// ids, `<end_of_text>`, zeros up to `context_length`. A longer text is cut to
    /// `context_length` ids and the last one made `<end_of_text>`.
    pub fn tokenize(&self, text: &str, context_length: usize) -> Vec<i64> {
        let mut ids: Vec<i64> = std::iter::once(self.sot)
            .chain(self.encode(text))
            .chain(std::iter::once(self.eot))
            .map(i64::from)
            .collect();
        if ids.len() > context_length {
            ids.truncate(context_length);
            if let Some(last) = ids.last_mut() {
                *last = i64::from(self.eot);
            }
        }
        ids.resize(context_length, 0);
        ids
    }

    /// Merges one word's byte symbols: the adjacent pair of lowest rank, all its occurrences at
    /// once, until no pair has a rank.
    fn bpe(&self, word: &[u8]) -> Vec<u32> {
        let mut symbols: Vec<u32> = word.iter().map(|&b| self.byte_ids[b as usize]).collect();
        if let Some(last) = symbols.last_mut() {
            *last += 256; // the same byte, ending the word
        }
        while symbols.len() > 1 {
            let best = symbols
                .windows(2)
                .filter_map(|w| {
                    self.merges
                        .get(&(w[0], w[1]))
                        .map(|&(rank, id)| (rank, w[0], w[1], id))
                })
                .min();
            let Some((_, first, second, merged)) = best else {
                break;
            };
            let mut next = Vec::with_capacity(symbols.len());
            let mut i = 0;
            while i < symbols.len() {
                if i + 1 < symbols.len() && symbols[i] == first && symbols[i + 1] == second {
                    next.push(merged);
                    i += 2;
                } else {
                    next.push(symbols[i]);
                    i += 1;
                }
            }
            symbols = next;
        }
        symbols
    }
}

/// CLIP's reversible map from bytes to printable characters: printable Latin-1 bytes stand for
/// themselves, the others for U+0100 onwards in byte order (`bytes_to_unicode`).
fn byte_symbols() -> [char; 256] {
    let printable = |b: u32| {
        (0x21..=0x7e).contains(&b) || (0xa1..=0xac).contains(&b) || (0xae..=0xff).contains(&b)
    };
    let mut next = 256;
    std::array::from_fn(|b| {
        let b = b as u32;
        if printable(b) {
            char::from_u32(b).expect("Latin-1")
        } else {
            next += 1;
            char::from_u32(next - 1).expect("Latin Extended-A")
        }
    })
}

/// open_clip's `clean='lower'`: ftfy's fixes but mojibake repair (see the module's note), HTML entities
/// unescaped twice (Python's `html.unescape`), whitespace runs made one space, trimmed, lowercased.
pub fn clean(text: &str) -> String {
    let fixed = ftfy_fixes(text);
    let unescaped = html_unescape(&html_unescape(&fixed));
    let words: Vec<&str> = unescaped
        .split(is_python_space)
        .filter(|w| !w.is_empty())
        .collect();
    words.join(" ").to_lowercase()
}

/// Python's `str.isspace`: Unicode White_Space and the separators U+001C–U+001F.
fn is_python_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// `ftfy.fix_text` (ftfy 6.3) less its repair of mojibake (`fix_encoding`): line by line and
/// until nothing changes, HTML entities with `;` (unless the line holds `<`), C1 controls read as
/// Windows-1252, Latin ligatures, full- and half-width forms, curly quotes made straight,
/// terminal escapes and control characters removed, then NFC.
fn ftfy_fixes(text: &str) -> String {
    let mut fixed = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let mut line = line.to_string();
        loop {
            let next = ftfy_pass(&line);
            if next == line {
                break;
            }
            line = next;
        }
        fixed.push_str(&line);
    }
    fixed
}

fn ftfy_pass(text: &str) -> String {
    let text = if text.contains('<') {
        text.to_string()
    } else {
        ftfy_unescape(text)
    };
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let c = match c {
            '\u{80}'..='\u{9f}' => WINDOWS_1252[c as usize - 0x80],
            c => c,
        };
        match c {
            'Ĳ' => out.push_str("IJ"),
            'ĳ' => out.push_str("ij"),
            'ŉ' => out.push_str("\u{2bc}n"),
            'Ǳ' => out.push_str("DZ"),
            'ǲ' => out.push_str("Dz"),
            'ǳ' => out.push_str("dz"),
            'Ǆ' => out.push_str("DŽ"),
            'ǅ' => out.push_str("Dž"),
            'ǆ' => out.push_str("dž"),
            'Ǉ' => out.push_str("LJ"),
            'ǈ' => out.push_str("Lj"),
            'ǉ' => out.push_str("lj"),
            'Ǌ' => out.push_str("NJ"),
            'ǋ' => out.push_str("Nj"),
            'ǌ' => out.push_str("nj"),
            'ﬀ' => out.push_str("ff"),
            'ﬁ' => out.push_str("fi"),
            'ﬂ' => out.push_str("fl"),
            'ﬃ' => out.push_str("ffi"),
            'ﬄ' => out.push_str("ffl"),
            'ﬅ' => out.push_str("ſt"),
            'ﬆ' => out.push_str("st"),
            '\u{3000}' => out.push(' '),
            '\u{ff01}'..='\u{ffef}' => out.extend(std::iter::once(c).nfkc()),
            c => out.push(c),
        }
    }
    // Uncurling runs on the width fix's output, then escapes and controls go.
    let out: String = out
        .chars()
        .map(|c| match c {
            '\u{2bc}' | '\u{2018}'..='\u{201b}' => '\'',
            '\u{201c}'..='\u{201f}' => '"',
            c => c,
        })
        .collect();
    static ANSI: std::sync::OnceLock<Regex> = std::sync::OnceLock::new();
    let ansi = ANSI.get_or_init(|| Regex::new(r"\x1b\[[0-9;]*[a-zA-Z]").expect("ANSI pattern"));
    ansi.replace_all(&out, "")
        .chars()
        .filter(|&c| {
            !matches!(c, '\0'..='\u{8}' | '\u{b}' | '\u{e}'..='\u{1f}' | '\u{7f}' | '\u{206a}'..='\u{206f}' | '\u{feff}' | '\u{fff9}'..='\u{fffc}')
        })
        .nfc()
        .collect()
}

/// ftfy's `unescape_html`: `&name;` of HTML5 (and the uppercased form of a lowercase name that
/// is no entity itself, giving the uppercased character), and numeric references with `;`.
fn ftfy_unescape(text: &str) -> String {
    static ENTITY: std::sync::OnceLock<Regex> = std::sync::OnceLock::new();
    let entity =
        ENTITY.get_or_init(|| Regex::new(r"&#?[0-9A-Za-z]{1,24};").expect("entity pattern"));
    entity
        .replace_all(text, |caps: &regex::Captures| {
            let reference = &caps[0];
            if let Some(value) = htmlize::ENTITIES.get(reference.as_bytes()) {
                return std::str::from_utf8(value)
                    .expect("entities are UTF-8")
                    .to_string();
            }
            if reference.starts_with("&#") {
                let unescaped = html_unescape(reference);
                return if unescaped.contains(';') {
                    reference.to_string()
                } else {
                    unescaped
                };
            }
            let lower = reference.to_lowercase();
            match htmlize::ENTITIES.get(lower.as_bytes()) {
                Some(value)
                    if reference == lower.to_uppercase()
                        && html_unescape(reference) == reference =>
                {
                    std::str::from_utf8(value)
                        .expect("entities are UTF-8")
                        .to_uppercase()
                }
                _ => reference.to_string(),
            }
        })
        .into_owned()
}

/// Python's `html.unescape`: named references of HTML5 (the legacy ones also without `;`, and the
/// longest such prefix of an unknown name), decimal and hex references with its replacements.
fn html_unescape(text: &str) -> String {
    if !text.contains('&') {
        return text.to_string();
    }
    let reference = charref_pattern();
    reference
        .replace_all(text, |caps: &regex::Captures| replace_charref(&caps[1]))
        .into_owned()
}

fn charref_pattern() -> &'static Regex {
    static PATTERN: std::sync::OnceLock<Regex> = std::sync::OnceLock::new();
    PATTERN.get_or_init(|| {
        Regex::new(r"&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\x0c <&#;]{1,32};?)")
            .expect("charref pattern")
    })
}

fn replace_charref(s: &str) -> String {
    if let Some(number) = s.strip_prefix('#') {
        let (digits, radix) = match number.strip_prefix(['x', 'X']) {
            Some(hex) => (hex, 16),
            None => (number, 10),
        };
        // Too long to parse means above U+10FFFF.
        let n = u32::from_str_radix(digits.trim_end_matches(';'), radix).unwrap_or(u32::MAX);
        return match n {
            0x00 => "\u{fffd}".into(),
            0x0d => "\r".into(),
            0x80..=0x9f => WINDOWS_1252[(n - 0x80) as usize].to_string(),
            0xd800..=0xdfff | 0x110000.. => "\u{fffd}".into(),
            0x01..=0x08 | 0x0b | 0x0e..=0x1f | 0x7f | 0xfdd0..=0xfdef => String::new(),
            n if n & 0xfffe == 0xfffe => String::new(),
            n => char::from_u32(n).map(String::from).unwrap_or_default(),
        };
    }
    let entity = |name: &str| {
        htmlize::ENTITIES
            .get(format!("&{name}").as_bytes())
            .map(|v| std::str::from_utf8(v).expect("entities are UTF-8"))
    };
    if let Some(value) = entity(s) {
        return value.to_string();
    }
    // The longest known prefix of at least two characters (only legacy names have no `;`).
    let ends: Vec<usize> = s.char_indices().map(|(i, _)| i).skip(2).collect();
    for &end in ends.iter().rev() {
        if let Some(value) = entity(&s[..end]) {
            return format!("{value}{}", &s[end..]);
        }
    }
    format!("&{s}")
}

/// Python's `html._invalid_charrefs` for U+0080–U+009F: Windows-1252, and the five bytes it leaves
/// undefined as themselves.
const WINDOWS_1252: [char; 32] = [
    '\u{20ac}', '\u{81}', '\u{201a}', '\u{192}', '\u{201e}', '\u{2026}', '\u{2020}', '\u{2021}',
    '\u{2c6}', '\u{2030}', '\u{160}', '\u{2039}', '\u{152}', '\u{8d}', '\u{17d}', '\u{8f}',
    '\u{90}', '\u{2018}', '\u{2019}', '\u{201c}', '\u{201d}', '\u{2022}', '\u{2013}', '\u{2014}',
    '\u{2dc}', '\u{2122}', '\u{161}', '\u{203a}', '\u{153}', '\u{9d}', '\u{17e}', '\u{178}',
];

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/it/fixtures/clip-tiny")
            .join(name)
    }

    fn tokenizer() -> ClipTokenizer {
        ClipTokenizer::from_vocab_file(&fixture("bpe_simple_vocab_16e6.txt.gz")).unwrap()
    }

    /// The ids open_clip 3.3 gives (recorded by `bench/clip_tokenizer_check.py`).
    #[test]
    fn matches_open_clip_on_recorded_strings() {
        let tok = tokenizer();
        let records = std::fs::read_to_string(fixture("tokenizer_reference.jsonl")).unwrap();
        let mut n = 0;
        for line in records.lines() {
            let record: serde_json::Value = serde_json::from_str(line).unwrap();
            let text = record["text"].as_str().unwrap();
            let expected: Vec<i64> = record["ids"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_i64().unwrap())
                .collect();
            assert_eq!(
                tok.tokenize(text, CONTEXT_LENGTH),
                expected,
                "text {text:?}"
            );
            n += 1;
        }
        assert!(n >= 50, "{n} recorded strings");
    }

    /// The agreement on a larger recorded set, which stays outside the repository:
    /// `CLIP_TOKENIZER_RECORDS=/tmp/clip_ref.jsonl cargo test --lib clip_tokenizer -- --ignored --nocapture`
    /// (`bench/clip_tokenizer_check.py` writes the records). Every string whose ids do not
    /// depend on ftfy must agree; it prints the agreement on all.
    #[test]
    #[ignore = "needs the records of bench/clip_tokenizer_check.py"]
    fn agrees_with_open_clip_on_a_recorded_set() {
        let tok = tokenizer();
        let path = std::env::var("CLIP_TOKENIZER_RECORDS").expect("CLIP_TOKENIZER_RECORDS");
        let (mut total, mut agree, mut plain, mut plain_agree) = (0, 0, 0, 0);
        for line in std::fs::read_to_string(path).unwrap().lines() {
            let record: serde_json::Value = serde_json::from_str(line).unwrap();
            let text = record["text"].as_str().unwrap();
            let expected: Vec<i64> = serde_json::from_value(record["ids"].clone()).unwrap();
            let ftfy_matters = record["ftfy_matters"].as_bool().unwrap();
            let same = tok.tokenize(text, CONTEXT_LENGTH) == expected;
            (total, agree) = (total + 1, agree + usize::from(same));
            if !ftfy_matters {
                (plain, plain_agree) = (plain + 1, plain_agree + usize::from(same));
            }
            if !same {
                let got = tok.tokenize(text, CONTEXT_LENGTH);
                let trim = |v: &[i64]| v.iter().copied().filter(|&i| i != 0).collect::<Vec<_>>();
                println!(
                    "differs (ftfy {ftfy_matters}): {text:?}\n  open_clip {:?}\n  imgtui    {:?}",
                    trim(&expected),
                    trim(&got)
                );
            }
        }
        println!(
            "agree on {agree}/{total} strings; on {plain_agree}/{plain} whose ids ftfy does not change"
        );
        assert!(
            total >= 1000 && plain_agree == plain,
            "{plain_agree}/{plain}"
        );
    }

    #[test]
    fn special_tokens_and_truncation() {
        let tok = tokenizer();
        assert_eq!((tok.sot(), tok.eot()), (49406, 49407));
        assert_eq!(
            tok.encode("a photo of a cat"),
            vec![320, 1125, 539, 320, 2368]
        );
        let long = tok.tokenize(&"cat ".repeat(200), CONTEXT_LENGTH);
        assert_eq!(long.len(), CONTEXT_LENGTH);
        assert_eq!((long[0], long[76]), (49406, 49407));
        assert!(long[1..76].iter().all(|&id| id == 2368));
        let short = tok.tokenize("", 5);
        assert_eq!(short, vec![49406, 49407, 0, 0, 0]);
    }

    #[test]
    fn unescapes_html_as_python_does() {
        assert_eq!(
            html_unescape("&amp;amp; &lt &copyright &notit; &#128; &#0; &#127;x &bogus;"),
            "&amp; < ©right ¬it; € \u{fffd} x &bogus;"
        );
        assert_eq!(
            html_unescape("&#x1F600;&#1114112;&#55296;"),
            "😀\u{fffd}\u{fffd}"
        );
    }

    #[test]
    fn a_missing_or_short_vocabulary_is_an_error() {
        assert!(ClipTokenizer::from_vocab_file(Path::new("/nonexistent/bpe.txt.gz")).is_err());
        assert!(ClipTokenizer::from_merges("#version: 0.2\ni n\nt h\n").is_err());
    }
}

//! Search by words (and by images and words together) with a CLIP-type model, as rclip does:
//! each term embedded and normalised, the terms added or subtracted, the sum normalised, and the
//! collection ranked by cosine similarity to it.

use std::path::{Path, PathBuf};

use super::Session;
use crate::analysis::neighbours::Neighbour;
use crate::collection::Collection;
use crate::error::{Error, ErrorKind, Result};
use crate::features::l2_normalize;

/// How to get a model that searches by words, for the command line's message.
pub const NO_TEXT_ENCODER: &str = "export one with `python models/export_clip.py --model ViT-B-32 \
    --pretrained laion2b_s34b_b79k --out DIR` where the internet is reachable, then pass --model \
    DIR/spec.toml (docs/guide/models.md, \"Search by words\")";

/// One term of a query: words, or an image whose vector joins the query.
#[derive(Debug, Clone, PartialEq)]
pub enum Term {
    /// Words, embedded by the text encoder.
    Text(String),
    /// An image file, embedded by the image encoder (its stored vector when it is one of the
    /// collection's images).
    Image(PathBuf),
}

/// A term with its sign: `+` adds its direction to the query, `−` takes it away.
#[derive(Debug, Clone, PartialEq)]
pub struct Signed {
    /// Whether the term is taken away (`- TERM`).
    pub minus: bool,
    /// The term.
    pub term: Term,
}

impl Signed {
    /// Reads a query as rclip writes it: terms separated by `+` or `-` standing alone (each
    /// argument is split at them too, as [`split_query`] does, so `"snow - rain"` quoted reads
    /// as two terms), the first term added. A term is an image when it names an existing file
    /// (relative to the working folder, else to `collection`); a term that looks like a path
    /// (a `/`, or an image file's extension) and names none is an error; the rest are words.
    ///
    /// Errors: no term, a sign with no term after it, two signs in a row, two terms without a
    /// sign, a path that names no file.
    pub fn parse(
        words: &[String],
        collection: Option<&Path>,
    ) -> std::result::Result<Vec<Signed>, String> {
        let words: Vec<String> = words.iter().flat_map(|w| split_query(w)).collect();
        let mut terms = Vec::new();
        let mut minus = false;
        // A term may follow (at the start, or after a sign); a sign was just read.
        let (mut term_may_follow, mut sign_read) = (true, false);
        for w in &words {
            match w.as_str() {
                "+" | "-" if sign_read => {
                    return Err(format!("two signs in a row before {w:?}"));
                }
                "+" | "-" => {
                    minus = w == "-";
                    (term_may_follow, sign_read) = (true, true);
                }
                _ if !term_may_follow => {
                    return Err(format!(
                        "{w:?} follows a term without + or -: quote words that belong together"
                    ));
                }
                _ => {
                    let path = PathBuf::from(w);
                    let inside = collection.map(|c| c.join(&path));
                    let term = if path.is_file() {
                        Term::Image(path)
                    } else if let Some(inside) = inside.filter(|p| p.is_file()) {
                        Term::Image(inside)
                    } else if w.contains('/') || crate::scan::is_image_path(&path) {
                        return Err(format!(
                            "{}: no such image file (a term with a slash or an image file's \
                             extension must name one)",
                            crate::text::shown(&path)
                        ));
                    } else {
                        Term::Text(w.clone())
                    };
                    terms.push(Signed { minus, term });
                    minus = false;
                    (term_may_follow, sign_read) = (false, false);
                }
            }
        }
        if terms.is_empty() {
            return Err("the query is empty: give some words".into());
        }
        if sign_read {
            return Err("the query ends with a sign: give a term after it".into());
        }
        Ok(terms)
    }
}

/// The words of a query line, as a shell would give them to `imgtui search`: split at `+` and
/// `-` that stand alone (blanks on both sides), the words between kept together as one term.
/// `"blue waves - foam"` gives `["blue waves", "-", "foam"]`.
pub fn split_query(line: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut term: Vec<&str> = Vec::new();
    for word in line.split_whitespace() {
        if word == "+" || word == "-" {
            if !term.is_empty() {
                out.push(term.join(" "));
                term.clear();
            }
            out.push(word.to_owned());
        } else {
            term.push(word);
        }
    }
    if !term.is_empty() {
        out.push(term.join(" "));
    }
    out
}

impl Session {
    /// Whether the model has a text encoder (a CLIP-type spec's `[text]`), so that it can
    /// search by words; nothing is loaded.
    pub fn searches_by_words(&self) -> bool {
        self.extractor.has_text_encoder()
    }

    /// The unit vector of `text` in the image model's space.
    ///
    /// Fails with [`ErrorKind::BadRequest`] when the model has no text encoder, when its text
    /// encoder cannot be loaded, and for an empty or over-long text.
    pub fn embed_text(&self, text: &str) -> Result<Vec<f32>> {
        let encoder = self
            .extractor
            .text_encoder()
            .map_err(|e| Error::with_kind(ErrorKind::BadRequest, e))?
            .ok_or_else(|| {
                Error::bad_request(format_args!(
                    "search by words needs a CLIP-type model (a spec with a text encoder); {} \
                     has none",
                    self.extractor.name()
                ))
            })?;
        let mut v = encoder.embed(text).map_err(Error::bad_request)?;
        l2_normalize(&mut v);
        Ok(v)
    }

    /// The query vector of `terms` (unit length): each term's unit vector, added or
    /// subtracted, the sum normalised. Images are embedded from their files (as an indexed
    /// image's stored vector was), so a query is checked whole before any indexing.
    ///
    /// Fails as [`Session::embed_text`] for words, with [`ErrorKind::MissingInput`] for an image
    /// that cannot be read, and with [`ErrorKind::BadRequest`] for one that cannot be decoded,
    /// when the terms cancel out, and when the session compares by another facet than content.
    pub fn query_vector(&self, terms: &[Signed]) -> Result<Vec<f32>> {
        if self.space().single() != Some(crate::features::Facet::Content) {
            return Err(Error::bad_request(format_args!(
                "search by words compares with the model's own vectors, and this view compares \
                 by {}: switch back to content (f in the explorer, or leave out --facet)",
                self.space()
            )));
        }
        let mut sum: Vec<f32> = Vec::new();
        for t in terms {
            let v = match &t.term {
                Term::Text(words) => self.embed_text(words)?,
                Term::Image(path) => {
                    let bytes = std::fs::read(path).map_err(|e| {
                        Error::with_kind(
                            ErrorKind::MissingInput,
                            anyhow::anyhow!("{}: {e}", crate::text::shown(path)),
                        )
                    })?;
                    self.embed(&bytes)
                        .map_err(|e| e.context(crate::text::shown(path).to_string()))?
                }
            };
            if sum.is_empty() {
                sum = vec![0f32; v.len()];
            }
            if v.len() != sum.len() {
                return Err(Error::bad_request(format_args!(
                    "the query's terms give vectors of {} and {} numbers",
                    sum.len(),
                    v.len()
                )));
            }
            let sign = if t.minus { -1.0 } else { 1.0 };
            sum.iter_mut().zip(&v).for_each(|(s, x)| *s += sign * x);
        }
        if l2_normalize(&mut sum) < 1e-6 {
            return Err(Error::bad_request(
                "the query's terms cancel out: nothing is left to search for",
            ));
        }
        Ok(sum)
    }

    /// The `n` images of `c` nearest `query` (from [`Session::query_vector`]), most similar
    /// first, each with its cosine distance (1 − cosine similarity; see
    /// [`Session::nearest`]).
    ///
    /// Fails with [`ErrorKind::BadRequest`] when the query's length is not the collection's,
    /// and when the store cannot be read.
    pub fn search(&self, c: &Collection, query: &[f32], n: usize) -> Result<Vec<Neighbour>> {
        if !c.is_empty() && query.len() != c.dim() {
            return Err(Error::bad_request(format_args!(
                "the query has {} numbers and the collection's vectors {}",
                query.len(),
                c.dim()
            )));
        }
        self.nearest(c, query, n, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &[&str]) -> Vec<String> {
        s.iter().map(|w| w.to_string()).collect()
    }

    #[test]
    fn a_query_line_splits_at_signs_that_stand_alone() {
        assert_eq!(
            split_query("  blue waves - foam +  a-b  night "),
            words(&["blue waves", "-", "foam", "+", "a-b night"])
        );
        assert_eq!(split_query(""), Vec::<String>::new());
        assert_eq!(split_query("- red"), words(&["-", "red"]));
    }

    #[test]
    fn rclip_style_queries_parse_into_signed_terms() {
        let q = Signed::parse(&words(&["blue waves", "-", "foam", "+", "night"]), None).unwrap();
        let text = |minus, t: &str| Signed {
            minus,
            term: Term::Text(t.into()),
        };
        assert_eq!(
            q,
            vec![
                text(false, "blue waves"),
                text(true, "foam"),
                text(false, "night")
            ]
        );
        let file = std::env::temp_dir().join(format!("imgtui-query-{}.png", std::process::id()));
        std::fs::write(&file, b"x").unwrap();
        let q = Signed::parse(&words(&[file.to_str().unwrap(), "-", "red"]), None).unwrap();
        assert_eq!(q[0].term, Term::Image(file.clone()));
        std::fs::remove_file(&file).unwrap();
        assert!(Signed::parse(&[], None).is_err());
        assert!(Signed::parse(&words(&["a", "b"]), None).is_err());
        assert!(Signed::parse(&words(&["a", "-"]), None).is_err());
        assert!(Signed::parse(&words(&["a", "-", "+", "b"]), None).is_err());
        assert!(Signed::parse(&words(&["-", "+", "b"]), None).is_err());
        // Quoted, "a - b" is two terms; a path that names nothing is refused.
        assert_eq!(Signed::parse(&words(&["a - b"]), None).unwrap().len(), 2);
        assert!(Signed::parse(&words(&["/no/such.png"]), None).is_err());
        assert!(Signed::parse(&words(&["nothing.jpg"]), None).is_err());
        // A query may start with a sign: "- red" is everything but red.
        let q = Signed::parse(&words(&["-", "red"]), None).unwrap();
        assert!(q[0].minus);
    }
}

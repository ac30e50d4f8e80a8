//! Facets: in what way two images are alike. Content is the model's vectors; colour and
//! texture are descriptors computed at index time beside them, from the same decoded image,
//! and stored under their own feature ids. A [`Space`] is one facet or a weighted blend.

use super::{Colour, Extractor, Texture};

/// One way images are alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Facet {
    /// What the model sees: objects, shapes, style (the extractor's own vectors).
    Content,
    /// The palette: [`Colour`], a joint HSV histogram, square-rooted.
    Colour,
    /// Edges, their directions and local patterns wherever they are: [`Texture`], grey
    /// levels only.
    Texture,
}

/// The facets, in the order the explorer's `f` cycles them.
pub const FACETS: [Facet; 3] = [Facet::Content, Facet::Colour, Facet::Texture];

impl Facet {
    /// Its name as `--facet` takes it: `content`, `colour` or `texture`.
    pub fn name(self) -> &'static str {
        match self {
            Facet::Content => "content",
            Facet::Colour => "colour",
            Facet::Texture => "texture",
        }
    }

    /// The descriptor that makes this facet's vectors at index time; `None` for
    /// [`Facet::Content`], whose vectors the session's extractor makes.
    pub fn descriptor(self) -> Option<&'static dyn Extractor> {
        match self {
            Facet::Content => None,
            Facet::Colour => Some(&Colour),
            Facet::Texture => Some(&Texture),
        }
    }
}

/// The descriptors every image gets at index time beside its model vector.
pub fn facet_descriptors() -> impl Iterator<Item = &'static dyn Extractor> {
    FACETS.into_iter().filter_map(Facet::descriptor)
}

impl std::str::FromStr for Facet {
    type Err = String;

    fn from_str(s: &str) -> Result<Facet, String> {
        match s.trim() {
            "content" => Ok(Facet::Content),
            "colour" | "color" => Ok(Facet::Colour),
            "texture" => Ok(Facet::Texture),
            _ => Err(format!(
                "unknown facet {s:?}: expected content, colour or texture"
            )),
        }
    }
}

/// What "similar" means for a question: one facet, or a blend of facets whose cosine
/// similarity is the weighted mean of theirs. Each part's unit vector is scaled by √w and the
/// parts are concatenated, so the blended vector has unit length and its dot products are
/// Σ wᵢ · cosᵢ.
///
/// Written `content`, `colour`, `texture`, or as a blend `content:0.7,colour:0.3` (weights
/// positive, scaled to sum to 1; a facet without a weight weighs 1).
#[derive(Debug, Clone, PartialEq)]
pub struct Space {
    parts: Vec<(Facet, f32)>,
}

impl Space {
    /// The space of one facet.
    pub fn of(facet: Facet) -> Space {
        Space {
            parts: vec![(facet, 1.0)],
        }
    }

    /// Its facets and their weights (summing to 1), in the order written.
    pub fn parts(&self) -> &[(Facet, f32)] {
        &self.parts
    }

    /// The facet, when it is one and not a blend.
    pub fn single(&self) -> Option<Facet> {
        match self.parts[..] {
            [(facet, _)] => Some(facet),
            _ => None,
        }
    }
}

impl Default for Space {
    /// Content alone.
    fn default() -> Space {
        Space::of(Facet::Content)
    }
}

impl std::fmt::Display for Space {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(facet) = self.single() {
            return f.write_str(facet.name());
        }
        let parts: Vec<String> = self
            .parts
            .iter()
            .map(|(facet, w)| format!("{}:{}", facet.name(), (w * 1000.0).round() / 1000.0))
            .collect();
        f.write_str(&parts.join(","))
    }
}

impl std::str::FromStr for Space {
    type Err = String;

    /// Fails naming the part that is wrong: an unknown facet, a weight that is not a positive
    /// number, a facet named twice.
    fn from_str(s: &str) -> Result<Space, String> {
        let mut parts: Vec<(Facet, f32)> = Vec::new();
        for part in s.split(',') {
            let (name, weight) = match part.split_once(':') {
                Some((name, w)) => {
                    let w: f32 = w.trim().parse().map_err(|_| {
                        format!("{part:?}: the weight after ':' is a positive number")
                    })?;
                    (name, w)
                }
                None => (part, 1.0),
            };
            let facet: Facet = name.parse()?;
            if !(weight.is_finite() && weight > 0.0) {
                return Err(format!("{part:?}: the weight is a positive number"));
            }
            if parts.iter().any(|(f, _)| *f == facet) {
                return Err(format!("{} is named twice", facet.name()));
            }
            parts.push((facet, weight));
        }
        let total: f32 = parts.iter().map(|(_, w)| w).sum();
        parts.iter_mut().for_each(|(_, w)| *w /= total);
        Ok(Space { parts })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spaces_parse_and_print_back() {
        let s: Space = "colour".parse().unwrap();
        assert_eq!(s.single(), Some(Facet::Colour));
        assert_eq!("color".parse::<Space>().unwrap(), s);
        let blend: Space = "content:3,colour:1".parse().unwrap();
        assert_eq!(
            blend.parts(),
            &[(Facet::Content, 0.75), (Facet::Colour, 0.25)]
        );
        assert_eq!(blend.to_string(), "content:0.75,colour:0.25");
        assert_eq!(blend.to_string().parse::<Space>().unwrap(), blend);
        for bad in [
            "",
            "shape",
            "colour:0",
            "colour:-1",
            "colour:x",
            "colour,color",
        ] {
            assert!(bad.parse::<Space>().is_err(), "{bad}");
        }
    }
}

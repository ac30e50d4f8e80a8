//! Writing answers for scripts: JSON or CSV on stdout.

use std::io::Write;

/// How a headless command prints its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    #[default]
    Json,
    Csv,
}

/// A CSV writer that quotes fields when needed (commas, quotes, line breaks in file names).
pub struct Csv<W: Write> {
    out: W,
}

impl<W: Write> Csv<W> {
    pub fn new(out: W) -> Self {
        Csv { out }
    }

    pub fn row<I, S>(&mut self, fields: I) -> std::io::Result<()>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut first = true;
        for f in fields {
            if !first {
                self.out.write_all(b",")?;
            }
            first = false;
            let f = f.as_ref();
            if f.contains([',', '"', '\n', '\r']) {
                write!(self.out, "\"{}\"", f.replace('"', "\"\""))?;
            } else {
                self.out.write_all(f.as_bytes())?;
            }
        }
        self.out.write_all(b"\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_with_separators_are_quoted() {
        let mut buf = Vec::new();
        Csv::new(&mut buf)
            .row(["a", "b,c", "say \"hi\"", "x\ny"])
            .unwrap();
        assert_eq!(
            String::from_utf8(buf).unwrap(),
            "a,\"b,c\",\"say \"\"hi\"\"\",\"x\ny\"\n"
        );
    }
}

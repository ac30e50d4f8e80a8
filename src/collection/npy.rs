//! NumPy's `.npy` format, version 1.0, for a matrix of `f32`: what `numpy.load` reads.
//!
//! The format (numpy.lib.format, "NEP 1"): the magic `\x93NUMPY`, the version bytes `1 0`, a
//! little-endian `u16` header length, then an ASCII Python dict literal giving `descr`,
//! `fortran_order` and `shape`, padded with spaces and ended by `\n` so that the data starts
//! at a multiple of 64 bytes; then the values, row after row.

use std::io::{self, Write};

use super::matrix::Rows;

/// The first bytes of every `.npy` file.
pub const MAGIC: &[u8; 6] = b"\x93NUMPY";

/// Writes `m` as a `.npy` v1.0 array of little-endian `f32` (`<f4`), shape `(rows, cols)`,
/// C order (the collection's half-precision vectors widened).
///
/// Fails when the writer fails.
pub fn write(m: &(impl Rows + ?Sized), out: &mut dyn Write) -> io::Result<()> {
    let (rows, cols) = m.shape();
    let dict = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({rows}, {cols}), }}");
    // magic (6) + version (2) + length (2) + dict + padding + '\n', a multiple of 64.
    let unpadded = MAGIC.len() + 4 + dict.len() + 1;
    let header_len = dict.len() + 1 + unpadded.next_multiple_of(64) - unpadded;
    let header = format!("{dict:<width$}\n", width = header_len - 1);
    out.write_all(MAGIC)?;
    out.write_all(&[1, 0])?;
    let len = u16::try_from(header_len).expect("a short header");
    out.write_all(&len.to_le_bytes())?;
    out.write_all(header.as_bytes())?;
    let mut result = Ok(());
    m.for_each_block(|_, block| {
        if result.is_ok() {
            let bytes: Vec<u8> = block.iter().flat_map(|v| v.to_le_bytes()).collect();
            result = out.write_all(&bytes);
        }
    });
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_is_numpys_and_the_data_starts_at_a_multiple_of_64() {
        let m = crate::collection::matrix::Matrix {
            rows: 2,
            cols: 3,
            data: vec![1.0, -2.5, 0.25, 3.0, 4.0, 5.5],
        };
        let mut out = Vec::new();
        write(&m, &mut out).unwrap();
        assert_eq!(&out[..8], b"\x93NUMPY\x01\x00");
        let len = usize::from(u16::from_le_bytes([out[8], out[9]]));
        assert_eq!((10 + len) % 64, 0);
        let header = std::str::from_utf8(&out[10..10 + len]).unwrap();
        assert_eq!(
            header.trim_end(),
            "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"
        );
        assert!(header.ends_with('\n'));
        let values: Vec<f32> = out[10 + len..]
            .chunks(4)
            .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
            .collect();
        assert_eq!(values, m.data);
    }
}

//! Exact sums of floating-point values, so that merging summaries is
//! associative and commutative bit for bit.
//!
//! A run merges block summaries; a sum rounded at every step depends on the
//! order of the merges, so a split run could only match a single pass if
//! both merged along the same tree, which costs memory that grows with the
//! iterations. An exact sum has one value whatever the order: every finite
//! `f64` is an integer multiple of 2^-1074 below 2^1024, so the sum is kept
//! as a fixed-point integer over that whole range (a superaccumulator, as
//! in Neal, "Fast exact summation using small and large
//! superaccumulators", 2015) and rounded once, when it is read.

use crate::math;

/// Bits per chunk. Each chunk is an `i64`, so it absorbs 2^30 additions of
/// a 32-bit piece (or merges) before its carries must be propagated.
const CHUNK_BITS: u32 = 32;
const CHUNK_MASK: i64 = (1 << CHUNK_BITS) - 1;
/// Bit 0 is 2^-1074; the largest finite value's top bit is bit 2097; one
/// more chunk holds the carries and the sign.
const CHUNKS: usize = 2098 / CHUNK_BITS as usize + 2;
/// Additions between carry propagations: each adds less than 2^32 in
/// magnitude to a chunk, which stays far inside `i64`.
const ADDS_BEFORE_CARRY: u32 = 1 << 30;

/// An exact sum of `f64` values (see the module docs). Infinities and NaN
/// are counted apart: the sum is then infinite or NaN, as IEEE arithmetic
/// would make it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ExactSum {
    #[serde(with = "chunks")]
    chunks: [i64; CHUNKS],
    adds: u32,
    positive_infinities: u32,
    negative_infinities: u32,
    nans: u32,
}

impl Default for ExactSum {
    fn default() -> Self {
        ExactSum {
            chunks: [0; CHUNKS],
            adds: 0,
            positive_infinities: 0,
            negative_infinities: 0,
            nans: 0,
        }
    }
}

impl ExactSum {
    /// Adds `x` exactly.
    #[inline]
    pub fn add(&mut self, x: f64) {
        let bits = x.to_bits();
        let biased = ((bits >> 52) & 0x7ff) as u32;
        let fraction = bits & ((1 << 52) - 1);
        if biased == 0x7ff {
            match (fraction != 0, x > 0.0) {
                (true, _) => self.nans = self.nans.saturating_add(1),
                (false, true) => {
                    self.positive_infinities = self.positive_infinities.saturating_add(1)
                }
                (false, false) => {
                    self.negative_infinities = self.negative_infinities.saturating_add(1)
                }
            }
            return;
        }
        // x = mantissa * 2^(position - 1074).
        let (mantissa, position) = if biased == 0 {
            (fraction, 0)
        } else {
            (fraction | 1 << 52, biased - 1)
        };
        if mantissa == 0 {
            return;
        }
        if self.adds == ADDS_BEFORE_CARRY {
            self.carry();
        }
        self.adds += 1;
        let chunk = (position / CHUNK_BITS) as usize;
        let wide = (mantissa as u128) << (position % CHUNK_BITS);
        let pieces = [
            (wide as i64) & CHUNK_MASK,
            ((wide >> 32) as i64) & CHUNK_MASK,
            (wide >> 64) as i64,
        ];
        if x < 0.0 {
            for (c, p) in self.chunks[chunk..chunk + 3].iter_mut().zip(pieces) {
                *c -= p;
            }
        } else {
            for (c, p) in self.chunks[chunk..chunk + 3].iter_mut().zip(pieces) {
                *c += p;
            }
        }
    }

    /// Adds the product `x * y` exactly (as two products of halves, so no
    /// fused multiply-add and no rounding).
    #[inline]
    pub fn add_product(&mut self, x: f64, y: f64) {
        let p = x * y;
        if !p.is_finite() {
            self.add(p);
            return;
        }
        let (xh, xl) = split(x);
        let (yh, yl) = split(y);
        // Dekker's two-product: p + e == x * y exactly, barring underflow
        // of the partial products (below 2^-969, far below any figure).
        let e = ((xh * yh - p) + xh * yl + xl * yh) + xl * yl;
        self.add(p);
        self.add(e);
    }

    /// Adds another sum.
    pub fn merge(&mut self, o: &ExactSum) {
        self.carry();
        let mut o = o.clone();
        o.carry();
        for (a, b) in self.chunks.iter_mut().zip(o.chunks) {
            *a += b;
        }
        self.adds = 2;
        self.positive_infinities = self
            .positive_infinities
            .saturating_add(o.positive_infinities);
        self.negative_infinities = self
            .negative_infinities
            .saturating_add(o.negative_infinities);
        self.nans = self.nans.saturating_add(o.nans);
    }

    /// Propagates carries: every chunk but the top one in `[0, 2^32)`, the
    /// top one signed.
    fn carry(&mut self) {
        for i in 0..CHUNKS - 1 {
            let c = self.chunks[i] >> CHUNK_BITS;
            self.chunks[i] -= c << CHUNK_BITS;
            self.chunks[i + 1] += c;
        }
        self.adds = 0;
    }

    /// The sum rounded to the nearest `f64` (ties to even).
    pub fn value(&self) -> f64 {
        if self.nans > 0 || (self.positive_infinities > 0 && self.negative_infinities > 0) {
            return f64::NAN;
        }
        if self.positive_infinities > 0 {
            return f64::INFINITY;
        }
        if self.negative_infinities > 0 {
            return f64::NEG_INFINITY;
        }
        let mut s = self.clone();
        s.carry();
        let negative = s.chunks[CHUNKS - 1] < 0;
        if negative {
            for c in s.chunks.iter_mut() {
                *c = -*c;
            }
            s.carry();
        }
        let magnitude = s.round_positive();
        if negative { -magnitude } else { magnitude }
    }

    /// The sum as an unevaluated pair `hi + lo`: `hi` the rounded sum and
    /// `lo` the rounded remainder, about 106 bits in all.
    pub fn double(&self) -> (f64, f64) {
        let hi = self.value();
        if !hi.is_finite() {
            return (hi, 0.0);
        }
        let mut rest = self.clone();
        rest.add(-hi);
        (hi, rest.value())
    }

    /// Rounds a non-negative, carried sum.
    fn round_positive(&self) -> f64 {
        let Some(top) = self.chunks.iter().rposition(|&c| c != 0) else {
            return 0.0;
        };
        // The top three chunks (96 bits) and whether anything lies below.
        let low = top.saturating_sub(2);
        let mut m: u128 = 0;
        for i in (low..=top).rev() {
            m = (m << CHUNK_BITS) | self.chunks[i] as u128;
        }
        if top < 2 {
            m <<= CHUNK_BITS * (2 - top) as u32;
        }
        let sticky = self.chunks[..low].iter().any(|&c| c != 0);
        // m * 2^lsb, with lsb the exponent of m's last bit.
        let lsb = (CHUNK_BITS as i64) * (top as i64 - 2) - 1074;
        let bits = 128 - m.leading_zeros() as i64;
        // Drop bits to keep 53, or fewer where the result is subnormal.
        let drop = (bits - 53).max(-1074 - lsb);
        let (mut q, mut exponent) = if drop <= 0 {
            (m << (-drop) as u32, lsb + drop)
        } else {
            let d = drop as u32;
            let q = m >> d;
            let rest = m & ((1u128 << d) - 1);
            let half = 1u128 << (d - 1);
            let up = rest > half || (rest == half && (sticky || q & 1 == 1));
            (q + up as u128, lsb + drop)
        };
        if q >> 53 != 0 {
            q >>= 1;
            exponent += 1;
        }
        if q >> 52 == 0 {
            // Subnormal (exponent is -1074 here) or zero.
            return f64::from_bits(q as u64);
        }
        let biased = exponent + 1075;
        if biased >= 0x7ff {
            return f64::INFINITY;
        }
        f64::from_bits(((biased as u64) << 52) | (q as u64 & ((1 << 52) - 1)))
    }
}

/// Veltkamp's split of `x` into two halves of 26 bits each, `x == h + l`.
#[inline]
fn split(x: f64) -> (f64, f64) {
    // Scaled down first when the split's product would overflow.
    if x.abs() > 1e300 {
        let (h, l) = split(x * math::powi(2.0, -60));
        return (h * math::powi(2.0, 60), l * math::powi(2.0, 60));
    }
    let c = 134_217_729.0 * x; // 2^27 + 1
    let h = c - (c - x);
    (h, x - h)
}

/// The chunks as a list (serde implements arrays up to 32 only).
mod chunks {
    use super::CHUNKS;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(c: &[i64; CHUNKS], s: S) -> Result<S::Ok, S::Error> {
        c.as_slice().serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[i64; CHUNKS], D::Error> {
        let v = Vec::<i64>::deserialize(d)?;
        let n = v.len();
        v.try_into().map_err(|_| {
            serde::de::Error::custom(format!(
                "expected {CHUNKS} chunks of an exact sum, found {n}"
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small generator, so the tests need no dependency.
    fn values(n: usize, seed: u64) -> Vec<f64> {
        let mut s = seed;
        (0..n)
            .map(|_| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let mantissa = (s >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
                let exponent = ((s >> 3) % 80) as i32 - 40;
                mantissa * math::powi(2.0, exponent.into())
            })
            .collect()
    }

    fn sum_of(xs: &[f64]) -> ExactSum {
        let mut s = ExactSum::default();
        xs.iter().for_each(|&x| s.add(x));
        s
    }

    #[test]
    fn small_integer_sums_are_exact() {
        let s = sum_of(&[1.0, 2.0, -0.5, 1e16, 1.0, -1e16]);
        assert_eq!(s.value(), 3.5);
        // 1e16 + 1 is not representable: the exact sum is, rounded once.
        let s = sum_of(&[1e16, 1.0, 1.0]);
        assert_eq!(s.value(), 1e16 + 2.0);
        assert_eq!(ExactSum::default().value(), 0.0);
        assert_eq!(sum_of(&[-3.0]).value(), -3.0);
    }

    #[test]
    fn the_order_of_additions_and_merges_changes_nothing() {
        let xs = values(5000, 7);
        let whole = sum_of(&xs).value();
        let mut reversed: Vec<f64> = xs.clone();
        reversed.reverse();
        assert_eq!(sum_of(&reversed).value().to_bits(), whole.to_bits());
        for size in [1, 3, 64, 999] {
            let mut merged = ExactSum::default();
            for chunk in xs.rchunks(size) {
                merged.merge(&sum_of(chunk));
            }
            assert_eq!(
                merged.value().to_bits(),
                whole.to_bits(),
                "chunks of {size}"
            );
        }
    }

    #[test]
    fn matches_an_independent_exact_sum() {
        // Integer multiples of 2^-60 below 2^40: exact as i128 too.
        let xs: Vec<f64> = values(3000, 11)
            .into_iter()
            .map(|x| (x * math::powi(2.0, 20)).round() * math::powi(2.0, -20))
            .collect();
        let exact: i128 = xs.iter().map(|&x| (x * math::powi(2.0, 60)) as i128).sum();
        let s = sum_of(&xs);
        // i128 -> f64 rounds to nearest, ties to even, as the sum must.
        assert_eq!(s.value(), exact as f64 * math::powi(2.0, -60));
        let (hi, lo) = s.double();
        let rest = exact - (hi * math::powi(2.0, 60)) as i128;
        assert_eq!(lo, rest as f64 * math::powi(2.0, -60));
    }

    #[test]
    fn rounds_to_nearest_even_at_the_half() {
        // 1 + 2^-53 is exactly half-way between 1 and its successor: even is 1.
        assert_eq!(sum_of(&[1.0, math::powi(2.0, -53)]).value(), 1.0);
        // Anything beyond the half rounds up.
        let up = sum_of(&[1.0, math::powi(2.0, -53), math::powi(2.0, -200)]).value();
        assert_eq!(up, 1.0 + f64::EPSILON);
        // The successor of 1 is odd, so its half-way point rounds up.
        let odd = sum_of(&[1.0 + f64::EPSILON, math::powi(2.0, -53)]).value();
        assert_eq!(odd, 1.0 + 2.0 * f64::EPSILON);
        assert_eq!(sum_of(&[-1.0, -(math::powi(2.0, -53))]).value(), -1.0);
    }

    #[test]
    fn extremes_subnormals_and_specials() {
        let tiny = f64::from_bits(1);
        assert_eq!(sum_of(&[tiny, tiny, tiny]).value(), f64::from_bits(3));
        assert_eq!(
            sum_of(&[f64::MIN_POSITIVE, -tiny]).value(),
            f64::MIN_POSITIVE - tiny
        );
        assert_eq!(sum_of(&[f64::MAX, -f64::MAX, 1.0]).value(), 1.0);
        assert_eq!(sum_of(&[f64::MAX, f64::MAX]).value(), f64::INFINITY);
        assert_eq!(sum_of(&[f64::MAX, f64::MAX, -f64::MAX]).value(), f64::MAX);
        assert!(sum_of(&[1.0, f64::NAN]).value().is_nan());
        assert_eq!(sum_of(&[1.0, f64::INFINITY]).value(), f64::INFINITY);
        assert!(sum_of(&[f64::INFINITY, f64::NEG_INFINITY]).value().is_nan());
    }

    #[test]
    fn products_are_exact() {
        for (x, y) in [
            (0.1, 0.1),
            (1e12 / 3.0, 7.0 / 3.0),
            (-123.456, 0.001),
            (1e200, 1e100),
        ] {
            let mut s = ExactSum::default();
            s.add_product(x, y);
            s.add(-(x * y));
            // What remains is the product's rounding error, which an
            // independent two-product (with a fused multiply-add) gives.
            let e = x.mul_add(y, -(x * y));
            assert_eq!(s.value(), e, "{x} * {y}");
        }
    }

    #[test]
    fn carries_survive_many_additions() {
        let mut s = ExactSum {
            adds: ADDS_BEFORE_CARRY - 3,
            ..Default::default()
        };
        for _ in 0..10 {
            s.add(f64::MAX / 4.0);
            s.add(-(f64::MAX / 4.0));
            s.add(0.75);
        }
        assert_eq!(s.value(), 7.5);
        let json = serde_json::to_string(&s).unwrap();
        let back: ExactSum = serde_json::from_str(&json).unwrap();
        assert_eq!(back.value(), 7.5);
    }
}

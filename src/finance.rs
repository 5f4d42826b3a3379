//! Investment arithmetic: internal rate of return of monthly cash flows.

use crate::math;

/// The annual internal rate of return of monthly cash flows (month `t` at
/// index `t`), or `None` when there is none: no flows of both signs, or no
/// rate in (-99.98%, +5,960,000%) a year at which their present value is zero.
///
/// Solved by bisection on the monthly rate, until the bracket is two adjacent
/// floating-point numbers; for the usual investor pattern
/// (money out first, back later) the present value falls as the rate rises
/// and the root is unique.
pub fn irr(flows: &[i64]) -> Option<f64> {
    irr_with_steps(flows).0
}

/// [`irr`], and the number of bisection steps it took.
fn irr_with_steps(flows: &[i64]) -> (Option<f64>, u32) {
    let has_out = flows.iter().any(|&f| f < 0);
    let has_in = flows.iter().any(|&f| f > 0);
    if !has_out || !has_in {
        return (None, 0);
    }
    let npv = |r: f64| -> f64 {
        let d = 1.0 / (1.0 + r);
        let mut factor = 1.0;
        let mut total = 0.0;
        for &f in flows {
            total += f as f64 * factor;
            factor *= d;
        }
        total
    };
    let (mut lo, mut hi) = (-0.5_f64, 1.5_f64);
    let (f_lo, f_hi) = (npv(lo), npv(hi));
    if f_lo == 0.0 {
        return (Some(math::powi(1.0 + lo, 12) - 1.0), 0);
    }
    if f_lo.signum() == f_hi.signum() {
        return (None, 0);
    }
    let mut steps = 0;
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        // Adjacent floats: every further step would leave lo and hi as they
        // are (lo keeps the sign of f_lo, hi the other), so stop here.
        if mid == lo || mid == hi {
            break;
        }
        steps += 1;
        let f_mid = npv(mid);
        if f_mid == 0.0 {
            lo = mid;
            hi = mid;
            break;
        }
        if f_mid.signum() == f_lo.signum() {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    (Some(math::powi(1.0 + 0.5 * (lo + hi), 12) - 1.0), steps)
}

#[cfg(test)]
mod tests {
    use super::{irr, irr_with_steps};

    #[test]
    fn the_bisection_stops_once_it_no_longer_moves() {
        // From [-0.5, 1.5] to two adjacent doubles takes at most about 60
        // halvings (the bracket's width over the spacing of doubles near
        // the root); the bound of 200 is never reached.
        let mut f = vec![0i64; 25];
        f[0] = -100;
        f[24] = 131;
        let (rate, steps) = irr_with_steps(&f);
        assert!(rate.is_some());
        assert!((40..=64).contains(&steps), "{steps} steps");
    }

    #[test]
    fn hand_computed_cash_flows() {
        // 100 out, 110 back a year later: 10% a year.
        let mut f = vec![0i64; 13];
        f[0] = -100;
        f[12] = 110;
        assert!((irr(&f).unwrap() - 0.10).abs() < 1e-12);
        // 100 back: 0%.
        f[12] = 100;
        assert!(irr(&f).unwrap().abs() < 1e-12);
        // 50 back: -50%.
        f[12] = 50;
        assert!((irr(&f).unwrap() + 0.5).abs() < 1e-12);
        // Two draws and one repayment: 100 at 0 and 100 at 12, 231 at 24
        // is exactly 10% a year (100 x 1.21 + 100 x 1.1 = 231).
        let mut g = vec![0i64; 25];
        g[0] = -100;
        g[12] = -100;
        g[24] = 231;
        assert!((irr(&g).unwrap() - 0.10).abs() < 1e-12);
    }

    #[test]
    fn no_irr_without_both_signs_or_a_root() {
        assert_eq!(irr(&[]), None);
        assert_eq!(irr(&[-100, 0, 0]), None);
        assert_eq!(irr(&[0, 50, 50]), None);
        // Everything lost but a penny: below -99.99% a year, out of range.
        let mut f = vec![0i64; 13];
        f[0] = -1_000_000_000;
        f[12] = 1;
        assert_eq!(irr(&f), None);
    }
}

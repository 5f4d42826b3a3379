//! The one place random generators are made.
//!
//! Iteration `i` of a run with seed `s` draws only from generators built here
//! from `(s, i)`, so a result never depends on the thread count, on how a run
//! is sharded, or on what else ran before it.
//!
//! **Invariant:** nothing else in the crate constructs an RNG.
//!
//! Each iteration has two independent streams, keyed by purpose:
//! [`Purpose::Parameters`] for the scenario-level (epistemic) draws and
//! [`Purpose::Participants`] for the participant-level (aleatory) events.
//! Keeping them apart means that changing how many participant events a
//! scenario draws never shifts its parameter draws, which is what common
//! random numbers between contract variants rely on.

use rand::SeedableRng;
pub use rand::rngs::ChaCha8Rng;

/// What a stream is used for; part of the ChaCha key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// Scenario-level uncertain parameters and shared factors.
    Parameters = 1,
    /// Referrals, outcomes and every other participant-level event.
    Participants = 2,
    /// The points of a sampled sweep design (one stream per design).
    Design = 3,
    /// The score of one plain key given a distribution ([`key_stream`]).
    Key = 4,
    /// The coefficient draws that measure a value-of-information fit's
    /// Monte Carlo error (one stream per analysis).
    Evidence = 5,
}

/// The generator for `iteration` of a run with `seed`, for `purpose`.
///
/// ChaCha8 keyed by `(seed, purpose)` with the stream (nonce) set to the
/// global iteration index: 2^64 independent streams per key.
pub fn stream(seed: u64, iteration: u64, purpose: Purpose) -> ChaCha8Rng {
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&seed.to_le_bytes());
    key[8..16].copy_from_slice(&(purpose as u64).to_le_bytes());
    key[16..].copy_from_slice(b"pbrsim-iteration");
    let mut rng = ChaCha8Rng::from_seed(key);
    rng.set_stream(iteration);
    rng
}

/// The generator of the score of the uncertain key tagged `tag` (a hash
/// of its path) in `iteration`: one stream per key, so that making one key
/// uncertain, or listing it elsewhere in the file, never moves another
/// key's draw.
pub fn key_stream(seed: u64, iteration: u64, tag: u64) -> ChaCha8Rng {
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&seed.to_le_bytes());
    key[8..16].copy_from_slice(&(Purpose::Key as u64).to_le_bytes());
    key[16..24].copy_from_slice(&tag.to_le_bytes());
    key[24..].copy_from_slice(b"pbrsim-k");
    let mut rng = ChaCha8Rng::from_seed(key);
    rng.set_stream(iteration);
    rng
}

/// A stable 64-bit tag of a key path (FNV-1a): the same on every platform
/// and build, so a key's draws are reproducible from its path alone.
pub fn path_tag(path: &str) -> u64 {
    path.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::RngExt;

    #[test]
    fn golden_values_pin_the_stream() {
        // A silent change in the generator or its keying breaks every
        // published result; this pins the first draws of one stream.
        let mut rng = stream(1, 0, Purpose::Participants);
        let got: Vec<u64> = (0..3).map(|_| rng.random::<u64>()).collect();
        let mut again = stream(1, 0, Purpose::Participants);
        let twice: Vec<u64> = (0..3).map(|_| again.random::<u64>()).collect();
        assert_eq!(got, twice);
        assert_eq!(got, GOLDEN);
    }

    const GOLDEN: [u64; 3] = [
        3974781661597641492,
        6474745914758249419,
        8061688098026135075,
    ];

    #[test]
    fn streams_differ_by_iteration_and_purpose() {
        let a = stream(7, 0, Purpose::Participants).random::<u64>();
        let b = stream(7, 1, Purpose::Participants).random::<u64>();
        let c = stream(7, 0, Purpose::Parameters).random::<u64>();
        let d = stream(8, 0, Purpose::Participants).random::<u64>();
        assert!(a != b && a != c && a != d && b != c);
    }
}

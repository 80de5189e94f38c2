//! The simulator's random source and the few distributions it needs.
//!
//! Every stream is a ChaCha8 generator keyed by a hash of (seed, stream tag,
//! index), so that each account, and the CSM roster, has its own independent
//! sequence. The distributions are written out here rather than taken from
//! `rand_distr`: the simulator needs only a handful, and owning them keeps the
//! output stable across dependency upgrades.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Stream tag for the per-account simulation.
pub(super) const STREAM_ACCOUNT: u64 = 0xACC0;
/// Stream tag for the CSM roster.
pub(super) const STREAM_CSMS: u64 = 0xC5A1;
/// Stream tag for assigning an account to a CSM within its tier.
pub(super) const STREAM_ASSIGN: u64 = 0xA551;

fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A well-mixed 64-bit hash of (seed, stream, index).
pub(super) fn hash3(seed: u64, stream: u64, index: u64) -> u64 {
    let mut s = seed;
    let a = splitmix(&mut s);
    let mut s = a ^ stream;
    let b = splitmix(&mut s);
    let mut s = b ^ index;
    splitmix(&mut s)
}

/// A random source with a cached second normal deviate (Box-Muller makes two).
pub(super) struct Rng {
    inner: ChaCha8Rng,
    spare: Option<f64>,
}

impl Rng {
    pub(super) fn new(seed: u64, stream: u64, index: u64) -> Rng {
        let mut state = hash3(seed, stream, index);
        let mut key = [0u8; 32];
        for chunk in key.chunks_exact_mut(8) {
            chunk.copy_from_slice(&splitmix(&mut state).to_le_bytes());
        }
        Rng {
            inner: ChaCha8Rng::from_seed(key),
            spare: None,
        }
    }

    /// Uniform in [0, 1).
    pub(super) fn f(&mut self) -> f64 {
        self.inner.random::<f64>()
    }

    /// Uniform in [lo, hi).
    pub(super) fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.f()
    }

    /// Uniform whole number in lo..=hi.
    pub(super) fn int(&mut self, lo: i32, hi: i32) -> i32 {
        self.inner.random_range(lo..=hi)
    }

    /// Uniform index in 0..n (n > 0).
    pub(super) fn index(&mut self, n: usize) -> usize {
        self.inner.random_range(0..n)
    }

    /// Bernoulli: true with probability p.
    pub(super) fn chance(&mut self, p: f64) -> bool {
        self.f() < p
    }

    /// Standard normal deviate (Box-Muller).
    pub(super) fn normal(&mut self) -> f64 {
        if let Some(z) = self.spare.take() {
            return z;
        }
        let u1 = 1.0 - self.f(); // (0, 1], so ln is finite
        let u2 = self.f();
        let r = (-2.0 * u1.ln()).sqrt();
        let theta = std::f64::consts::TAU * u2;
        self.spare = Some(r * theta.sin());
        r * theta.cos()
    }

    /// Log-normal deviate: exp(N(mu, sigma)).
    pub(super) fn lognormal(&mut self, mu: f64, sigma: f64) -> f64 {
        (mu + sigma * self.normal()).exp()
    }

    /// Exponential deviate with the given mean.
    pub(super) fn exponential(&mut self, mean: f64) -> f64 {
        -mean * (1.0 - self.f()).ln()
    }

    /// Poisson deviate: Knuth's product method for small means, a rounded
    /// normal approximation above 30 (where it is accurate enough here).
    pub(super) fn poisson(&mut self, lambda: f64) -> u32 {
        if lambda <= 0.0 {
            return 0;
        }
        if lambda < 30.0 {
            let limit = (-lambda).exp();
            let mut k = 0;
            let mut p = self.f();
            while p > limit {
                k += 1;
                p *= self.f();
            }
            k
        } else {
            let x = lambda + lambda.sqrt() * self.normal();
            x.round().max(0.0) as u32
        }
    }

    /// Picks an item by weight; weights need not sum to one.
    pub(super) fn pick<T: Copy>(&mut self, items: &[(T, f64)]) -> T {
        let total: f64 = items.iter().map(|(_, w)| w).sum();
        let mut u = self.f() * total;
        for &(item, w) in items {
            if u < w {
                return item;
            }
            u -= w;
        }
        items[items.len() - 1].0
    }
}

/// The logistic function.
pub(super) fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn moments(xs: &[f64]) -> (f64, f64) {
        let n = xs.len() as f64;
        let mean = xs.iter().sum::<f64>() / n;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
        (mean, var)
    }

    #[test]
    fn distributions_have_their_moments() {
        let mut rng = Rng::new(7, 1, 2);
        let normals: Vec<f64> = (0..50_000).map(|_| rng.normal()).collect();
        let (m, v) = moments(&normals);
        assert!(m.abs() < 0.02 && (v - 1.0).abs() < 0.03, "normal {m} {v}");
        for lambda in [0.3, 4.0, 45.0] {
            let xs: Vec<f64> = (0..50_000)
                .map(|_| f64::from(rng.poisson(lambda)))
                .collect();
            let (m, v) = moments(&xs);
            assert!(
                (m - lambda).abs() < 0.03 * lambda.max(1.0),
                "poisson mean {m}"
            );
            assert!(
                (v - lambda).abs() < 0.08 * lambda.max(1.0),
                "poisson var {v}"
            );
        }
        let xs: Vec<f64> = (0..50_000).map(|_| rng.exponential(3.0)).collect();
        assert!((moments(&xs).0 - 3.0).abs() < 0.08);
        let hits = (0..50_000).filter(|_| rng.chance(0.2)).count();
        assert!((hits as f64 / 50_000.0 - 0.2).abs() < 0.01);
    }

    #[test]
    fn streams_are_independent_of_each_other() {
        let a: Vec<f64> = {
            let mut r = Rng::new(42, STREAM_ACCOUNT, 1);
            (0..4).map(|_| r.f()).collect()
        };
        let b: Vec<f64> = {
            let mut r = Rng::new(42, STREAM_ACCOUNT, 2);
            (0..4).map(|_| r.f()).collect()
        };
        let a2: Vec<f64> = {
            let mut r = Rng::new(42, STREAM_ACCOUNT, 1);
            (0..4).map(|_| r.f()).collect()
        };
        assert_ne!(a, b);
        assert_eq!(a, a2);
    }
}

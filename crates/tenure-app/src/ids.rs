//! New record ids: a short prefix naming the kind (`pln`, `tsk`, `eng`)
//! and 16 random hex digits.

use rand::RngExt;

/// A new id such as `tsk_3f9a0c1b7e2d4a6f`.
pub fn new_id(prefix: &str) -> String {
    let n: u64 = rand::rng().random();
    format!("{prefix}_{n:016x}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn ids_have_the_prefix_and_differ() {
        let (a, b) = (super::new_id("tsk"), super::new_id("tsk"));
        assert!(a.starts_with("tsk_") && a.len() == 20);
        assert_ne!(a, b);
    }
}

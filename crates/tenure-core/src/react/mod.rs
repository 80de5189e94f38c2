//! React (docs/REACT.md): what Tenure does about the warning health gives.
//! `risk`: who is on the early-warning risk board, the ARR at risk, and
//! when a leadership review opens (a threshold crossed, once per crossing).
//! `digest`: the weekly email to leaders with the board's changes.

pub mod digest;
pub mod risk;

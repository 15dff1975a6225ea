//! `shipit scan`.

//! Checks of configuration values, each failure naming its field by its path in a run's
//! `config.json` (`stage1.latent`, `schedule2.lr`, `stage1.hidden[1]`). Every configuration
//! type validates all of its fields with these (`TrainConfig::validate` and the types it holds),
//! so the CLI, the benchmarks, library callers and a `config.json` read back are held to the
//! same rules; the CLI maps a field back to the flag that sets it.

use std::fmt::Display;

/// A setting that cannot train.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{field} = {value}: {problem}")]
pub struct InvalidSetting {
    /// The value's path in `config.json`.
    pub field: String,
    /// The value as given.
    pub value: String,
    pub problem: &'static str,
}

pub type Checked = std::result::Result<(), InvalidSetting>;

pub fn fail(field: &str, value: impl Display, problem: &'static str) -> Checked {
    Err(InvalidSetting {
        field: field.to_string(),
        value: value.to_string(),
        problem,
    })
}

/// A count of at least 1.
pub fn at_least_one(field: &str, value: usize) -> Checked {
    if value == 0 {
        return fail(field, value, "must be at least 1");
    }
    Ok(())
}

/// A finite number above 0.
pub fn positive(field: &str, value: f64) -> Checked {
    if !(value.is_finite() && value > 0.0) {
        return fail(field, value, "must be a positive number");
    }
    Ok(())
}

/// A finite number, 0 or more.
pub fn non_negative(field: &str, value: f64) -> Checked {
    if !(value.is_finite() && value >= 0.0) {
        return fail(field, value, "must be a number, 0 or more");
    }
    Ok(())
}

/// Which ends of [0, 1] a fraction may take.
#[derive(Clone, Copy, Debug)]
pub enum Fraction {
    /// (0, 1)
    Open,
    /// [0, 1)
    UpToOne,
    /// [0, 1]
    Closed,
}

pub fn fraction(field: &str, value: f64, kind: Fraction) -> Checked {
    let (inside, problem) = match kind {
        Fraction::Open => (value > 0.0 && value < 1.0, "must be a fraction in (0, 1)"),
        Fraction::UpToOne => ((0.0..1.0).contains(&value), "must be a fraction in [0, 1)"),
        Fraction::Closed => ((0.0..=1.0).contains(&value), "must be a fraction in [0, 1]"),
    };
    if !inside {
        return fail(field, value, problem);
    }
    Ok(())
}

/// Every entry of a list of counts at least 1, named `field[i]`.
pub fn all_at_least_one(field: &str, values: &[usize]) -> Checked {
    for (i, &v) in values.iter().enumerate() {
        at_least_one(&format!("{field}[{i}]"), v)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_name_the_field_and_the_value() {
        let e = all_at_least_one("stage1.hidden", &[4, 0]).unwrap_err();
        assert_eq!(e.to_string(), "stage1.hidden[1] = 0: must be at least 1");
        assert!(positive("x", f64::NAN).is_err());
        assert!(positive("x", 0.0).is_err());
        assert!(non_negative("x", 0.0).is_ok());
        assert!(non_negative("x", -1e-9).is_err());
        assert!(fraction("f", 0.0, Fraction::Open).is_err());
        assert!(fraction("f", 0.0, Fraction::UpToOne).is_ok());
        assert!(fraction("f", 1.0, Fraction::UpToOne).is_err());
        assert!(fraction("f", 1.0, Fraction::Closed).is_ok());
        assert!(fraction("f", f64::NAN, Fraction::Closed).is_err());
    }
}

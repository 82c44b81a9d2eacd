//! The harness the three hardening tests share (included with `#[path]`): every case runs under
//! `catch_unwind`, must fail, and must fail with the error its check expects; the per-category
//! counts and the total are printed as `hardening[<crate>]: N cases, P panics`, which
//! `tests/corpus/count.sh` sums.

// Each test crate uses part of it.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// What a check says about an error: `Ok(())` when it is the one expected, else why not.
pub type Verdict = Result<(), String>;

/// `Ok(())` when `cond` holds, else `Err(why)`.
pub fn ensure(cond: bool, why: impl FnOnce() -> String) -> Verdict {
    if cond {
        Ok(())
    } else {
        Err(why())
    }
}

/// Checks that `message` contains `needle`.
pub fn mentions(message: &str, needle: &str) -> Verdict {
    ensure(message.contains(needle), || {
        format!("message {message:?} does not mention {needle:?}")
    })
}

pub struct Corpus {
    name: &'static str,
    counts: BTreeMap<&'static str, usize>,
    panics: Vec<String>,
    failures: Vec<String>,
}

impl Corpus {
    pub fn new(name: &'static str) -> Self {
        Self {
            name,
            counts: BTreeMap::new(),
            panics: Vec::new(),
            failures: Vec::new(),
        }
    }

    /// One case of `category`: `run` must return an error that `check` accepts; returning `Ok`
    /// or panicking fails the case.
    pub fn case<T, E: Debug>(
        &mut self,
        category: &'static str,
        name: impl Into<String>,
        run: impl FnOnce() -> Result<T, E>,
        check: impl FnOnce(&E) -> Verdict,
    ) {
        let name = name.into();
        *self.counts.entry(category).or_default() += 1;
        match catch_unwind(AssertUnwindSafe(run)) {
            Err(payload) => {
                let what = payload
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                self.panics
                    .push(format!("{category}/{name}: panicked: {what}"));
            }
            Ok(Ok(_)) => self.failures.push(format!(
                "{category}/{name}: succeeded, an error was expected"
            )),
            Ok(Err(e)) => {
                if let Err(why) = check(&e) {
                    self.failures
                        .push(format!("{category}/{name}: wrong error {e:?}: {why}"));
                }
            }
        }
    }

    /// How many cases ran so far.
    pub fn total(&self) -> usize {
        self.counts.values().sum()
    }

    /// Prints the counts and fails the test on any panic or unexpected outcome.
    pub fn finish(self) {
        for (category, n) in &self.counts {
            eprintln!("hardening[{}]   {category:<18} {n:>4}", self.name);
        }
        eprintln!(
            "hardening[{}]: {} cases, {} panics",
            self.name,
            self.total(),
            self.panics.len()
        );
        let problems: Vec<&String> = self.panics.iter().chain(&self.failures).collect();
        assert!(
            problems.is_empty(),
            "{} of {} cases went wrong:\n{}",
            problems.len(),
            self.total(),
            problems
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}

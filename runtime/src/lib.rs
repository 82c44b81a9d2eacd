//! Placeholder: the runtime arrives with the export issue.
#![cfg_attr(not(feature = "std"), no_std)]

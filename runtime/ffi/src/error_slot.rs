//! The per-thread error slot: the boundary stores every failing call's message here, and
//! `edgevae_last_error` reads it. It sits below both, so neither depends on the other's module.

use std::cell::RefCell;

thread_local! {
    static LAST_ERROR: RefCell<String> = const { RefCell::new(String::new()) };
}

/// Stores `message` as the calling thread's last error, reusing the slot's allocation.
pub(crate) fn set(message: &str) {
    // `try_with`: during thread teardown the slot may be gone; the message is then dropped.
    let _ = LAST_ERROR.try_with(|slot| {
        if let Ok(mut slot) = slot.try_borrow_mut() {
            slot.clear();
            slot.push_str(message);
        }
    });
}

/// A copy of the calling thread's last error (empty when none), for tests and diagnostics.
pub fn get() -> String {
    LAST_ERROR
        .try_with(|slot| slot.borrow().clone())
        .unwrap_or_default()
}

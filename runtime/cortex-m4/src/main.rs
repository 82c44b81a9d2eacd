//! The runtime core on a Cortex-M4F: parses the quickstart model's manifest (in flash), draws
//! from the core RNG and scores, masks and cleans a fixed row through `core::outlier`, checking
//! every value against the host's (`runtime/tests/support/core_vectors.rs`, the same file the
//! host test runs). Exits through semihosting with status 0 when all hold, 1 otherwise. It links
//! without a global allocator, so the core needs no `alloc`.
//!
//! It also measures the peak stack of each entry point: the stack below the current frame is
//! painted with a pattern, the entry point runs, and the deepest word no longer holding the
//! pattern is its high-water mark.
//!
//! Run: `cargo run --release` in this directory (qemu-system-arm, `-machine mps2-an386`).

#![no_std]
#![no_main]

use cortex_m_rt::entry;
use cortex_m_semihosting::{debug, hprintln};
use edgevae_runtime::core::outlier::{filter_row, InputGate, RowOutput};
use edgevae_runtime::core::{GaussianRng, Manifest};

#[path = "../../tests/support/core_vectors.rs"]
mod core_vectors;

static MANIFEST: &[u8] = include_bytes!("../../../models/quickstart/manifest.json");

/// Bytes of stack painted below the caller's frame: more than any entry point needs, less than
/// the RAM of memory.x.
const PAINTED: usize = 1024 * 1024;
const PAINT: u32 = 0xa5c3_5a3c;

/// The peak stack `f` uses below the caller's frame, in bytes (at most [`PAINTED`]).
#[inline(never)]
fn peak_stack(f: impl FnOnce()) -> usize {
    let top = cortex_m::register::msp::read() as usize - 256;
    let bottom = top - PAINTED;
    for addr in (bottom..top).step_by(4) {
        // SAFETY: [bottom, top) is stack memory below this frame (memory.x gives the stack all
        // of RAM above .data and .bss, far more than PAINTED), not in use by any live frame;
        // aligned to 4 bytes because the stack pointer is 8-byte aligned.
        unsafe { core::ptr::write_volatile(addr as *mut u32, PAINT) };
    }
    f();
    let first_used = (bottom..top)
        .step_by(4)
        // SAFETY: as above; reading back the words just painted or since overwritten by `f`.
        .find(|&addr| unsafe { core::ptr::read_volatile(addr as *const u32) } != PAINT)
        .unwrap_or(top);
    top - first_used + 256
}

#[inline(never)]
fn parse_manifest() {
    let m = Manifest::parse(MANIFEST);
    core::hint::black_box(&m);
}

#[inline(never)]
fn draw_normals() {
    let mut out = [0f32; 64];
    GaussianRng::new(3).fill_normal(&mut out);
    core::hint::black_box(&out);
}

#[inline(never)]
fn filter_a_row() {
    let (x, mean, log_var) = ([0.5f32; 64], [0.4f32; 64], [-4.0f32; 64]);
    let (mut mask, mut cleaned, mut scores) = ([0u8; 64], [0f32; 64], [0f32; 64]);
    let out = RowOutput {
        mask: &mut mask,
        cleaned: &mut cleaned,
        element_scores: &mut scores,
    };
    let score = filter_row(&x, &mean, &log_var, 4.0, &InputGate::UNIT, out);
    core::hint::black_box(&score);
}

#[entry]
fn main() -> ! {
    let failed = core_vectors::check(MANIFEST);
    hprintln!(
        "peak stack: Manifest::parse {} B, GaussianRng::fill_normal {} B, outlier::filter_row {} B",
        peak_stack(parse_manifest),
        peak_stack(draw_normals),
        peak_stack(filter_a_row)
    );
    if failed == 0 {
        hprintln!("edgevae core on cortex-m4: manifest, rng, filter_row: all match the host");
        debug::exit(debug::EXIT_SUCCESS);
    } else {
        hprintln!(
            "edgevae core on cortex-m4: FAILED checks (bits) {:#x}",
            failed
        );
        debug::exit(debug::EXIT_FAILURE);
    }
    // Not reached under qemu: semihosting's exit stops the machine.
    loop {
        cortex_m::asm::wfi();
    }
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    hprintln!("panic: {}", info);
    debug::exit(debug::EXIT_FAILURE);
    loop {
        cortex_m::asm::wfi();
    }
}

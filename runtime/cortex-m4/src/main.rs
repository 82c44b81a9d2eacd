//! The runtime core on a Cortex-M4F: parses the quickstart model's manifest (in flash), draws
//! from the core RNG and scores, masks and cleans a fixed row through `core::outlier`, checking
//! every value against the host's (`runtime/tests/support/core_vectors.rs`, the same file the
//! host test runs). Then the micro backend samples and filters with the quickstart's int8
//! blobs, in flash, against the host's values (`runtime/tests/support/micro_vectors.rs`).
//! Exits through semihosting with status 0 when all hold, 1 otherwise. It links
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
#[path = "../../tests/support/micro_vectors.rs"]
mod micro_vectors;

static MANIFEST: &[u8] = include_bytes!("../../../models/quickstart/manifest.json");

/// Bytes of stack painted below the caller's frame: more than any entry point needs (the micro
/// check, about 32 KiB with its buffers), less than the stack memory.x leaves (64 KiB of RAM
/// less .data and .bss: about 46 KiB). A measurement that reaches it fails the run: the entry
/// point may have used more.
const PAINTED: usize = 40 * 1024;
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
fn parse_manifest(into: &mut Manifest) {
    let parsed = Manifest::parse_into(MANIFEST, into);
    core::hint::black_box(&parsed);
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

/// Kept out of line so that its buffers (about 22 KiB) are in its own frame, below the painted
/// region's top, and not in `main`'s: inlined, they would move the painting down into .bss.
#[inline(never)]
fn micro_sample_and_filter(manifest: &Manifest) -> u32 {
    micro_vectors::check(manifest).0
}

/// SysTick ticks of qemu's mps2 board: 25 MHz. Under `-icount shift=0` (the runner's flag in
/// .cargo/config.toml) qemu's clock advances 1 ns per guest instruction, so one tick is 40
/// instructions: the count is qemu's, not a Cortex-M4's cycles (no flash wait states, FPU
/// latencies or pipeline are modelled).
const INSTRUCTIONS_PER_TICK: u32 = 1_000_000_000 / 25_000_000;

/// Guest instructions `f` runs, counted through SysTick (at most 2^24 ticks, 671 M instructions).
fn instructions(syst: &mut cortex_m::peripheral::SYST, f: impl FnOnce()) -> u32 {
    use cortex_m::peripheral::syst::SystClkSource;
    syst.set_clock_source(SystClkSource::Core);
    syst.set_reload(0x00ff_ffff);
    syst.clear_current();
    syst.enable_counter();
    let start = cortex_m::peripheral::SYST::get_current();
    f();
    let end = cortex_m::peripheral::SYST::get_current();
    syst.disable_counter();
    (start.wrapping_sub(end) & 0x00ff_ffff) * INSTRUCTIONS_PER_TICK
}

/// Instructions to open both blobs (SHA-256 over 1 MB included), to draw one sample and to
/// filter one row in two passes, each alone.
#[inline(never)]
fn micro_instruction_counts(
    manifest: &Manifest,
    syst: &mut cortex_m::peripheral::SYST,
) -> [u32; 3] {
    use edgevae_runtime::micro::{MicroFilterOutput, MicroModel};
    use micro_vectors::{D, FILTER_ARENA, SAMPLER_ARENA, SEED};
    let mut opened = None;
    let open = instructions(syst, || {
        opened = match (
            MicroModel::from_blob(&micro_vectors::SAMPLER.0, manifest),
            MicroModel::from_blob(&micro_vectors::FILTER.0, manifest),
        ) {
            (Ok(s), Ok(f)) => Some((s, f)),
            _ => None,
        }
    });
    let Some((sampler, filter)) = opened else {
        return [open, 0, 0];
    };
    let mut arena = [0u32; FILTER_ARENA / 4];
    let bytes: &mut [u8] = bytemuck::cast_slice_mut(&mut arena);
    let mut x = [0.0f32; D];
    let sample = instructions(syst, || {
        let _ = sampler.sample_into(&mut bytes[..SAMPLER_ARENA], 1, SEED, &mut x);
    });
    let mut scores = [0.0f32; 1];
    let mut element_scores = [0.0f32; D];
    let mut cleaned = [0.0f32; D];
    let mut reconstruction = [0.0f32; D];
    let mut mask = [0u8; D];
    let filter_row = instructions(syst, || {
        let out = MicroFilterOutput {
            scores: &mut scores,
            element_scores: &mut element_scores,
            mask: &mut mask,
            cleaned: &mut cleaned,
            reconstruction: &mut reconstruction,
        };
        let _ = filter.filter_into(bytes, &x, 1, 2, out);
    });
    [open, sample, filter_row]
}

/// Where the parsed manifest lives: a `static`, so its 17 KiB are counted in .bss (by `size`)
/// and not in any entry point's stack. A `static mut` would need `unsafe`; cortex-m's
/// singleton hands out the one `&'static mut` safely.
fn manifest_storage() -> &'static mut Manifest {
    match cortex_m::singleton!(: Manifest = Manifest::EMPTY) {
        Some(m) => m,
        None => {
            hprintln!("manifest storage taken twice");
            debug::exit(debug::EXIT_FAILURE);
            loop {
                cortex_m::asm::wfi();
            }
        }
    }
}

#[entry]
fn main() -> ! {
    let manifest = manifest_storage();
    let Some(mut peripherals) = cortex_m::Peripherals::take() else {
        hprintln!("core peripherals taken twice");
        debug::exit(debug::EXIT_FAILURE);
        loop {
            cortex_m::asm::wfi();
        }
    };
    let mut failed = core_vectors::check(MANIFEST, manifest);
    // Micro: the manifest parsed above, the blobs in flash; stack measured with its buffers
    // (arena and outputs live on the stack here).
    let mut micro_failed = 0;
    let micro_peak = peak_stack(|| micro_failed = micro_sample_and_filter(manifest));
    failed |= micro_failed << 8;
    let peaks = [
        peak_stack(|| parse_manifest(manifest)),
        peak_stack(draw_normals),
        peak_stack(filter_a_row),
    ];
    if peaks.iter().chain([&micro_peak]).any(|&p| p >= PAINTED) {
        hprintln!("an entry point used all {} painted bytes of stack", PAINTED);
        failed |= 1 << 31;
    }
    hprintln!(
        "peak stack: Manifest::parse_into {} B, GaussianRng::fill_normal {} B, \
         outlier::filter_row {} B; Manifest {} B (static)",
        peaks[0],
        peaks[1],
        peaks[2],
        core::mem::size_of::<Manifest>()
    );
    hprintln!(
        "micro int8: sample 1 + filter 1 row (2 passes) from flash: peak stack {} B \
         (arena and output buffers included)",
        micro_peak
    );
    let counts = micro_instruction_counts(manifest, &mut peripherals.SYST);
    hprintln!(
        "micro int8 instructions (qemu -icount shift=0, via SysTick, +-40): open both blobs {}, \
         sample 1 row {}, filter 1 row in 2 passes {}",
        counts[0],
        counts[1],
        counts[2]
    );
    if failed == 0 {
        hprintln!(
            "edgevae core on cortex-m4: manifest, rng, filter_row, micro sampler and filter: \
             all match the host"
        );
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

//! Flush-to-zero and denormals-are-zero on the threads that run candle's CPU work.
//!
//! Training drives some values into the subnormal range (below 1.18e-38 in f32: products of
//! small gradients, Adam's second moments of pruned latent dimensions). Intel cores take a
//! microcode assist for every subnormal operand or result, so an MNIST stage-1 epoch grew from
//! 25.8 s at epoch 0 to 40-45 s from epoch 8 on, and one epoch from an epoch-13 checkpoint
//! took 41.4 s as shipped and 17.8 s with these modes set (issue 17; Intel Xeon, model 207).
//! Values that small carry nothing a VAE needs; PyTorch's `torch.set_flush_denormal(True)` and
//! TensorFlow's default on x86 make the same trade.
//!
//! x86-64: MXCSR bits FTZ (15: subnormal results become 0) and DAZ (6: subnormal operands read
//! as 0). aarch64: FPCR.FZ (bit 24, both at once for f32 and f64). Other targets keep IEEE
//! behaviour and [`flush_denormals`] says so.
//!
//! The mode is per thread, and a Linux thread starts with the mode of the thread that made it:
//! [`crate::cpu_threads::with_cpu_threads`] sets it on its caller before any pool exists, and
//! again in the start handler of its rayon pool, so candle's barrier pool and its rayon pool
//! (both made lazily by the first tensor op inside the work) have it too. Tested in
//! `trainer/tests/cpu_threads.rs` by reading the mode on every worker and by feeding subnormals
//! through candle's element-wise ops and matrix products on the pools.
//!
//! Rust's own docs call changing these modes undefined behaviour because the compiler assumes
//! IEEE defaults when it folds constants; the effect is limited to constant expressions on
//! subnormals evaluated at compile time, which this crate's numerics do not depend on.

/// Sets flush-to-zero and denormals-are-zero on the calling thread. Returns false (and changes
/// nothing) on a target without such a mode.
pub fn flush_denormals() -> bool {
    arch::set()
}

/// Whether the calling thread flushes subnormals to zero.
pub fn denormals_flushed() -> bool {
    arch::is_set()
}

#[cfg(target_arch = "x86_64")]
mod arch {
    /// MXCSR.FTZ and MXCSR.DAZ.
    const FLUSH: u32 = (1 << 15) | (1 << 6);

    fn read() -> u32 {
        let mut csr = 0u32;
        // SAFETY: stmxcsr stores the 4-byte MXCSR at the address of `csr`, a live local; SSE
        // is part of the x86-64 baseline.
        unsafe {
            core::arch::asm!("stmxcsr [{}]", in(reg) &mut csr, options(nostack, preserves_flags));
        }
        csr
    }

    pub fn set() -> bool {
        let csr = read() | FLUSH;
        // SAFETY: ldmxcsr loads MXCSR from `csr`, a live local holding the current value with
        // only FTZ and DAZ added (both defined on every x86-64 CPU; no reserved bit is set).
        unsafe {
            core::arch::asm!("ldmxcsr [{}]", in(reg) &csr, options(nostack, readonly, preserves_flags));
        }
        true
    }

    pub fn is_set() -> bool {
        read() & FLUSH == FLUSH
    }
}

#[cfg(target_arch = "aarch64")]
mod arch {
    /// FPCR.FZ.
    const FLUSH: u64 = 1 << 24;

    fn read() -> u64 {
        let fpcr: u64;
        // SAFETY: reading FPCR has no side effect; it is accessible at EL0 on every AArch64 CPU.
        unsafe {
            core::arch::asm!("mrs {}, fpcr", out(reg) fpcr, options(nomem, nostack, preserves_flags));
        }
        fpcr
    }

    pub fn set() -> bool {
        let fpcr = read() | FLUSH;
        // SAFETY: writes back the current FPCR with only FZ added, an architected bit writable
        // at EL0.
        unsafe {
            core::arch::asm!("msr fpcr, {}", in(reg) fpcr, options(nomem, nostack, preserves_flags));
        }
        true
    }

    pub fn is_set() -> bool {
        read() & FLUSH == FLUSH
    }
}

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
mod arch {
    pub fn set() -> bool {
        false
    }

    pub fn is_set() -> bool {
        false
    }
}

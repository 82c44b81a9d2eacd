//! `--device cpu|cuda[:N]` parsing and the CUDA feature gate.

use candle_core::Device;

use crate::error::{Error, Result};

/// Parses a device name. Asking for CUDA in a build without the `cuda` feature is an error that
/// says how to get one, never a silent fallback.
pub fn parse(name: &str) -> Result<Device> {
    let name = name.trim();
    if name == "cpu" {
        return Ok(Device::Cpu);
    }
    let ordinal = match name.strip_prefix("cuda") {
        Some("") => 0,
        Some(rest) => rest
            .strip_prefix(':')
            .and_then(|n| n.parse::<usize>().ok())
            .ok_or_else(|| {
                Error::Device(format!(
                    "cannot parse {name:?}: expected cpu, cuda or cuda:N"
                ))
            })?,
        None => {
            return Err(Error::Device(format!(
                "unknown device {name:?}: expected cpu, cuda or cuda:N"
            )))
        }
    };
    cuda(ordinal)
}

/// A build whose cudarc loads the CUDA libraries at run time (`scripts/gpu-check.sh`) panics when
/// one is missing; that panic becomes the same error as any other failure to open the device.
#[cfg(feature = "cuda")]
fn cuda(ordinal: usize) -> Result<Device> {
    let opened = std::panic::catch_unwind(|| Device::new_cuda(ordinal)).map_err(|panic| {
        let why = panic
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| panic.downcast_ref::<&str>().copied())
            .unwrap_or("the CUDA libraries could not be loaded");
        Error::Device(format!("cannot open cuda:{ordinal}: {why}"))
    })?;
    opened.map_err(|e| Error::Device(format!("cannot open cuda:{ordinal}: {e}")))
}

#[cfg(not(feature = "cuda"))]
fn cuda(ordinal: usize) -> Result<Device> {
    Err(Error::Device(format!(
        "cuda:{ordinal} requested, but this edgevae was built without CUDA; \
         rebuild with `cargo build --release --features cuda` (needs the CUDA toolkit)"
    )))
}

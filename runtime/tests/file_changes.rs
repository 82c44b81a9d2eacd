//! A graph file truncated or rewritten in place while models load from it (a device whose
//! storage is being updated, a user copying a new model over the old one): every load either
//! gives the sampler of the original bytes or fails with an error naming the file, never a
//! crash (a memory-mapped graph truncated under the hash was a SIGBUS that killed the process)
//! and never a session built from bytes other than those hashed.

mod common;

use std::io::{Seek, SeekFrom, Write};
use std::sync::atomic::{AtomicBool, Ordering};

use edgevae_runtime::{ModelDir, RuntimeError, RuntimeOptions};

use common::calibrated_quickstart;

#[test]
fn a_graph_changed_while_loading_is_an_error_never_a_crash() {
    let dir = calibrated_quickstart();
    let path = dir.path().join("sampler_fp32.onnx");
    let original = std::fs::read(&path).expect("sampler graph");
    let options = RuntimeOptions {
        threads: Some(1),
        ..RuntimeOptions::default()
    };
    let model = ModelDir::open(dir.path(), options).expect("model");
    let n = 4;
    let mut reference = vec![0.0f32; n * model.input_dim()];
    model
        .sampler()
        .expect("sampler")
        .sample_into(n, 1, &mut reference)
        .expect("reference samples");

    let stop = AtomicBool::new(false);
    let (mut loaded, mut refused) = (0, 0);
    std::thread::scope(|scope| {
        let changer = scope.spawn(|| {
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .open(&path)
                .expect("open the graph for writing");
            let len = original.len() as u64;
            let mut round = 0u64;
            while !stop.load(Ordering::Relaxed) {
                // Truncate in place, then restore; or rewrite one byte in place, then restore.
                if round.is_multiple_of(2) {
                    file.set_len(len / 3).expect("truncate");
                } else {
                    let at = (round * 7919) % len;
                    file.seek(SeekFrom::Start(at)).expect("seek");
                    file.write_all(&[original[at as usize] ^ 0xff])
                        .expect("rewrite");
                }
                std::thread::yield_now();
                file.seek(SeekFrom::Start(0)).expect("seek");
                file.write_all(&original).expect("restore");
                file.set_len(len).expect("restore length");
                round += 1;
            }
            round
        });
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while (loaded < 5 || refused < 20) && std::time::Instant::now() < deadline {
            match model.sampler() {
                Ok(mut sampler) => {
                    let mut out = vec![0.0f32; reference.len()];
                    sampler.sample_into(n, 1, &mut out).expect("samples");
                    assert_eq!(
                        out, reference,
                        "a session from other bytes than the original"
                    );
                    loaded += 1;
                }
                Err(e @ (RuntimeError::GraphMismatch { .. } | RuntimeError::Checksum { .. })) => {
                    assert!(e.to_string().contains("sampler_fp32.onnx"), "{e}");
                    refused += 1;
                }
                Err(e) => panic!("unexpected error: {e}"),
            }
        }
        stop.store(true, Ordering::Relaxed);
        let rounds = changer.join().expect("changer");
        assert!(rounds > 0);
    });
    assert!(
        loaded > 0 && refused > 0,
        "{loaded} loads, {refused} refusals: the changes were not seen while loading"
    );
}

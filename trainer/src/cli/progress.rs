//! Progress bars for training events (indicatif), one per stage.

use indicatif::{ProgressBar, ProgressStyle};

use edgevae_trainer::train::{Flow, TrainEvent};

pub struct TrainProgress {
    bar: Option<ProgressBar>,
    epochs: usize,
    last_val: Option<f64>,
    quiet: bool,
}

impl TrainProgress {
    pub fn new(quiet: bool) -> Self {
        Self {
            bar: None,
            epochs: 0,
            last_val: None,
            quiet,
        }
    }

    pub fn on_event(&mut self, event: &TrainEvent) -> Flow {
        match event {
            TrainEvent::StageStart {
                stage,
                first_epoch,
                epochs,
                steps_per_epoch,
            } => {
                self.epochs = *epochs;
                self.last_val = None;
                let total = (epochs.saturating_sub(*first_epoch) * steps_per_epoch) as u64;
                let bar = if self.quiet {
                    ProgressBar::hidden()
                } else {
                    ProgressBar::new(total)
                };
                bar.set_style(
                    ProgressStyle::with_template(
                        "stage {prefix} [{elapsed_precise}] {bar:30.cyan/blue} {pos}/{len} steps, eta {eta} | {msg}",
                    )
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
                );
                bar.set_prefix(stage.to_string());
                if *first_epoch > 0 {
                    bar.println(format!(
                        "stage {stage}: resuming at epoch {}",
                        first_epoch + 1
                    ));
                }
                self.bar = Some(bar);
            }
            TrainEvent::Step {
                epoch,
                loss,
                kl,
                gamma,
                ..
            } => {
                if let Some(bar) = &self.bar {
                    bar.inc(1);
                    let val = self
                        .last_val
                        .map(|v| format!(" val {v:.1}"))
                        .unwrap_or_default();
                    bar.set_message(format!(
                        "epoch {}/{} loss {loss:.1} γ {gamma:.2e} KL {kl:.1}{val}",
                        epoch + 1,
                        self.epochs
                    ));
                }
            }
            TrainEvent::EpochEnd { stage, record } => {
                self.last_val = Some(record.val_loss);
                if let Some(bar) = &self.bar {
                    if self.quiet {
                        return Flow::Continue;
                    }
                    bar.println(format!(
                        "stage {stage} epoch {:>3}/{}: loss {:.2} val {:.2} KL {:.2} mse {:.5} γ {:.3e} ({:.1}s)",
                        record.epoch + 1,
                        self.epochs,
                        record.train_loss,
                        record.val_loss,
                        record.train_kl,
                        record.train_mse,
                        record.gamma,
                        record.seconds
                    ));
                }
            }
            TrainEvent::StageEnd { .. } => {
                if let Some(bar) = self.bar.take() {
                    bar.finish_and_clear();
                }
            }
            // The caller writes the reports from these once training is done.
            TrainEvent::ReportInputs(_) => {}
            TrainEvent::Info(line) => match &self.bar {
                Some(bar) => bar.println(line),
                None => eprintln!("{line}"),
            },
        }
        Flow::Continue
    }
}

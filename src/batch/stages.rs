//! INTEGRATION SEAM for `roomtone batch --separate` and `--remix`.
//!
//! Separation (`src/separate`) and remix (`src/mix`) are built on other branches. Until they are
//! merged, [`plan_stages`] refuses those options before any file is read, so a batch never runs
//! half of what was asked. The integrator wires them here: return a plan that the worker loop in
//! `batch::run` calls after tagging each file (stems under `OUTDIR/stems/`, mirroring the input tree).

use super::BatchError;

/// Which stages after tagging a batch runs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StageOptions {
    /// `--separate`: write dialogue/background stems under `OUTDIR/stems/`.
    pub separate: bool,
    /// `--remix OPTIONS`: remix the stems with these options.
    pub remix: Option<String>,
}

/// The stages a batch will run after tagging (tag-only in this build).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StagePlan {}

/// Checks the requested stages at start-up. In this build tagging is the only stage, so asking for
/// separation or remix fails here, before any file is processed.
pub fn plan_stages(options: &StageOptions) -> Result<StagePlan, BatchError> {
    if options.separate {
        return Err(BatchError::Unavailable(
            "--separate is not available in this build (separation is not part of it yet)".into(),
        ));
    }
    if options.remix.is_some() {
        return Err(BatchError::Unavailable(
            "--remix is not available in this build (remix is not part of it yet)".into(),
        ));
    }
    Ok(StagePlan {})
}
